"""Maximally selected log-rank statistic for a data-driven cut-point (sensitivity analysis only).

The statistic is that of R ``maxstat::maxstat.test(Surv(time, event) ~ x, smethod = "LogRank")``:
the standardized linear rank statistic of the log-rank scores of Hothorn & Lausen (2003),
a_i = delta_i - sum_{j: t_j <= t_i} delta_j / (N - r_j + 1) with r_j the number of observations with
time <= t_j, using the permutation mean and variance; the maximum of |T_m| over the cut-points x <= c
between the ``minprop`` and ``maxprop`` quantiles. Its p-value is never the naive one: it uses the
improved Bonferroni inequality of Lausen, Sauerbrei & Schumacher (1994) ("Lau94", Worsley 1982 type
approximation), or the asymptotic Lausen & Schumacher (1992) bound ("Lau92"), both as in maxstat.

References: Lausen B, Schumacher M. Maximally selected rank statistics. Biometrics 1992;48:73-85.
Lausen B, Sauerbrei W, Schumacher M. Classification and regression trees (CART) used for the
exploration of prognostic factors measured on different scales. In: Dirschedl P, Ostermann R (eds),
Computational Statistics, Physica-Verlag 1994:483-496. Hothorn T, Lausen B. On the exact distribution
of maximally selected rank statistics. Comput Stat Data Anal 2003;43:121-137.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def logrank_scores(time, event) -> np.ndarray:
    """Log-rank scores of Hothorn & Lausen (as exactRankTests ``cscores.Surv``); ties share the
    largest rank (number of observations with time <= t)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    n = time.size
    order = np.argsort(time, kind="stable")
    # r_i = number of observations with time <= time_i
    rank_max = np.searchsorted(np.sort(time), time, side="right")
    fact = event / (n - rank_max + 1)
    cum = np.cumsum(fact[order])
    # cumsum(fact[ot])[rt]: value of the cumulative sum at position r_i (1-based)
    return event - cum[rank_max - 1]


def p_lausen94(b: float, n: int, m) -> float:
    """Lausen, Sauerbrei & Schumacher (1994) improved-Bonferroni p-value of the maximum |T| = b over
    the cut-points with sample sizes ``m`` (number of observations <= cut); as maxstat ``pLausen94``
    (not truncated to [0, 1])."""
    m = np.asarray(m, dtype=float)
    if m.size <= 1:
        d = 0.0
    else:
        m1, m2 = m[:-1], m[1:]
        t = np.sqrt(1 - m1 * (n - m2) / ((n - m1) * m2))
        d = float(np.sum(1 / math.pi * math.exp(-b * b / 2) * (t - (b * b / 4 - 1) * t**3 / 6)))
    return 1 - (stats.norm.cdf(b) - stats.norm.cdf(-b)) + d


def p_lausen92(b: float, minprop: float = 0.1, maxprop: float = 0.9) -> float:
    """Lausen & Schumacher (1992) asymptotic approximation, as maxstat ``pLausen92``."""
    db = stats.norm.pdf(b)
    p = 4 * db / b + db * (b - 1 / b) * math.log((maxprop * (1 - minprop)) / ((1 - maxprop) * minprop))
    return max(p, 0.0)


def maxstat_logrank(x, time, event, minprop: float = 0.1, maxprop: float = 0.9) -> dict:
    """Maximally selected log-rank statistic of ``x`` for (time, event).

    Returns cutpoint (groups x <= cutpoint vs x > cutpoint), statistic M, p_lau94, p_lau92, n,
    n_low (size of the x <= cutpoint group), and the arrays ``cuts``/``stats`` of all candidates.
    Raises ValueError when no cut-point lies between minprop and maxprop.
    """
    x = np.asarray(x, dtype=float)
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    ok = ~(np.isnan(x) | np.isnan(time) | np.isnan(event))
    x, time, event = x[ok], time[ok], event[ok]
    n = x.size
    scores = logrank_scores(time, event)
    order = np.argsort(x, kind="stable")
    y = scores[order]
    xs = x[order]
    not_tie = np.ones(n, dtype=bool)
    not_tie[1:] = xs[1:] != xs[:-1]
    m = np.flatnonzero(not_tie)  # which(!ties) - 1, i.e. size of the group strictly below each new value
    if minprop == 0 and maxprop == 1:
        m = m[1:-1] if m.size > 2 else m[1:1]
    else:
        lo, hi = math.floor(n * minprop), math.floor(n * maxprop)
        if np.all(m < lo):
            raise ValueError("minprop too large")
        if np.all(m > hi):
            raise ValueError("maxprop too small")
        m = m[(m >= max(1, lo)) & (m <= hi)]
    if m.size < 1:
        raise ValueError("no data between minprop, maxprop")
    ss = float(np.sum(y))
    e = m / n * ss
    v = m * (n - m) / (n**2 * (n - 1)) * (n * float(np.sum(y**2)) - ss**2)
    csum = np.cumsum(y)
    test = np.abs((csum[m - 1] - e) / np.sqrt(v))
    stat = float(np.max(test))
    best = int(np.flatnonzero(test == stat)[0])
    cutpoint = float(xs[m[best] - 1])
    return {
        "cutpoint": cutpoint,
        "statistic": stat,
        "p_lau94": float(p_lausen94(stat, n, m)),
        "p_lau92": float(p_lausen92(stat, minprop, maxprop)),
        "n": int(n),
        "n_low": int(m[best]),
        "n_cutpoints": int(m.size),
        "cuts": xs[m - 1],
        "stats": test,
    }

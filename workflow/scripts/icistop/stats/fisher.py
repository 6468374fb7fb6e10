"""Fisher's exact test with the conventions of R's ``stats::fisher.test``.

2 x 2 tables: two-sided p by the minimum-likelihood rule (sum of the null hypergeometric
probabilities not larger than the observed one, relative tolerance 1e-7), the conditional
maximum-likelihood odds ratio (mean of Fisher's noncentral hypergeometric distribution equal to
the observed count) and the conditional exact ("Cornfield") confidence interval. The root finding
reproduces R's ``uniroot`` (Brent's zeroin with tolerance ``eps**0.25``) so that the estimate and
interval agree with R to rounding error, not only to that tolerance.
r x c tables: exact p-value only (same minimum-likelihood rule), computed by a network-style
enumeration over columns with exact bounds on the remaining sub-tables (Mehta & Patel 1983).
Note that ``scipy.stats.fisher_exact`` returns the sample odds ratio ad/bc, not this estimate.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats
from scipy.special import gammaln

EPS = sys.float_info.epsilon
DBL_MAX = sys.float_info.max
R_UNIROOT_TOL = EPS**0.25
REL_ERR_2X2 = 1 + 1e-7  # fisher.test's relErr for the 2 x 2 two-sided p-value
LOG_TOL_RXC = 3.45254e-7  # FEXACT's tolerance on the log probability scale


@dataclass(frozen=True)
class FisherResult:
    p_value: float
    odds_ratio: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    conf_level: float = math.nan
    method: str = ""


def r_uniroot(f, lower: float, upper: float, tol: float = R_UNIROOT_TOL, maxiter: int = 1000) -> float:
    """Root of ``f`` in [lower, upper] exactly as R's ``uniroot`` (no interval extension).

    Brent's (1973) zeroin as in R's ``R_zeroin2``: a bracketing secant / inverse quadratic
    interpolation with bisection safeguard; non-finite function values become +-DBL_MAX.
    """

    def fv(x):
        y = float(f(x))
        if not math.isfinite(y):
            return -DBL_MAX if y == -math.inf else DBL_MAX
        return y

    fa, fb = fv(lower), fv(upper)
    if not (np.sign(fa) * np.sign(fb) <= 0):
        raise ValueError("f() values at end points not of opposite sign")
    a, b = float(lower), float(upper)
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * EPS * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = fv(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b  # R warns "_NOT_ converged" and returns the last iterate


class ConditionalLaw:
    """Exact conditional law of a count given all margins, tilted by an odds ratio ``ncp``:
    P(x) proportional to dc(x) ncp^x on ``support`` (``logdc`` = log dc). Fisher's noncentral
    hypergeometric law of the (1,1) cell of a 2 x 2 table (:meth:`hypergeometric`), or of the sum of the
    (1,1) cells of a 2 x 2 x K table (the convolution of K of them, R ``mantelhaen.test(exact = TRUE)``)."""

    def __init__(self, x: int, support: np.ndarray, logdc: np.ndarray, null_cdf=None):
        self.x, self.support, self.logdc, self.null_cdf = x, np.asarray(support, float), np.asarray(logdc, float), null_cdf
        self.lo, self.hi = int(self.support[0]), int(self.support[-1])

    @classmethod
    def hypergeometric(cls, x: int, m: int, n: int, k: int) -> "ConditionalLaw":
        lo, hi = max(0, k - n), min(k, m)
        support = np.arange(lo, hi + 1, dtype=float)

        def null_cdf(upper_tail: bool) -> float:  # as fisher.test: phyper at the observed x
            return float(stats.hypergeom.sf(x - 1, m + n, m, k) if upper_tail else stats.hypergeom.cdf(x, m + n, m, k))

        return cls(x, support, stats.hypergeom.logpmf(support, m + n, m, k), null_cdf)

    def density(self, ncp: float) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            d = self.logdc + math.log(ncp) * self.support if ncp > 0 else self.logdc + np.where(
                self.support == 0, 0.0, -np.inf)
        d = np.exp(d - np.max(d))
        return d / np.sum(d)

    def mean(self, ncp: float) -> float:
        if ncp == 0:
            return float(self.lo)
        if ncp == math.inf:
            return float(self.hi)
        return float(np.sum(self.support * self.density(ncp)))

    def cdf(self, q: int, ncp: float, upper_tail: bool = False) -> float:
        if ncp == 1 and self.null_cdf is not None:
            return self.null_cdf(upper_tail)
        if ncp == 0:
            return float(q <= self.lo) if upper_tail else float(q >= self.lo)
        if ncp == math.inf:
            return float(q <= self.hi) if upper_tail else float(q >= self.hi)
        d = self.density(ncp)
        mask = self.support >= q if upper_tail else self.support <= q
        return float(np.sum(d[mask]))


def conditional_inference(h: ConditionalLaw, alternative: str = "two-sided", conf_level: float = 0.95
                          ) -> tuple[float, float, tuple[float, float]]:
    """(p-value of ncp = 1, conditional MLE of ncp, exact CI) of the observed ``h.x`` as R ``fisher.test``
    and ``mantelhaen.test(exact = TRUE)``: two-sided p by the minimum-likelihood rule (relative
    tolerance 1e-7), the MLE solving E(x; ncp) = x, limits inverting the one-sided tail probabilities."""
    x, lo, hi = h.x, h.lo, h.hi
    alt = alternative.replace("_", "-").replace(".", "-")
    if alt == "less":
        p = h.cdf(x, 1)
    elif alt == "greater":
        p = h.cdf(x, 1, upper_tail=True)
    elif alt == "two-sided":
        d = h.density(1.0)
        p = float(np.sum(d[d <= d[x - lo] * REL_ERR_2X2]))
    else:
        raise ValueError(f"unknown alternative {alternative!r}")

    def mle() -> float:
        if x == lo:
            return 0.0
        if x == hi:
            return math.inf
        mu = h.mean(1.0)
        if mu > x:
            return r_uniroot(lambda t_: h.mean(t_) - x, 0.0, 1.0)
        if mu < x:
            return 1.0 / r_uniroot(lambda t_: h.mean(1.0 / t_) - x, EPS, 1.0)
        return 1.0

    def ncp_upper(alpha: float) -> float:
        if x == hi:
            return math.inf
        p1 = h.cdf(x, 1)
        if p1 < alpha:
            return r_uniroot(lambda t_: h.cdf(x, t_) - alpha, 0.0, 1.0)
        if p1 > alpha:
            return 1.0 / r_uniroot(lambda t_: h.cdf(x, 1.0 / t_) - alpha, EPS, 1.0)
        return 1.0

    def ncp_lower(alpha: float) -> float:
        if x == lo:
            return 0.0
        p1 = h.cdf(x, 1, upper_tail=True)
        if p1 > alpha:
            return r_uniroot(lambda t_: h.cdf(x, t_, upper_tail=True) - alpha, 0.0, 1.0)
        if p1 < alpha:
            return 1.0 / r_uniroot(lambda t_: h.cdf(x, 1.0 / t_, upper_tail=True) - alpha, EPS, 1.0)
        return 1.0

    if alt == "less":
        ci = (0.0, ncp_upper(1 - conf_level))
    elif alt == "greater":
        ci = (ncp_lower(1 - conf_level), math.inf)
    else:
        a2 = (1 - conf_level) / 2
        ci = (ncp_lower(a2), ncp_upper(a2))
    return p, mle(), ci


def fisher_2x2(table, conf_level: float = 0.95, alternative: str = "two-sided") -> FisherResult:
    """Fisher's exact test of a 2 x 2 table [[a, b], [c, d]] as R ``fisher.test`` (or = 1).

    The odds ratio is that of row 1 vs row 2 for column 1 (a*d / b*c in the sample version),
    estimated by conditional maximum likelihood; ``alternative`` in two-sided / less / greater.
    """
    t = np.asarray(table)
    if t.shape != (2, 2):
        raise ValueError("fisher_2x2 needs a 2 x 2 table")
    if np.any(t < 0) or not np.all(np.isfinite(t)) or np.any(np.round(t) != t):
        raise ValueError("table entries must be non-negative integers")
    t = t.astype(np.int64)
    h = ConditionalLaw.hypergeometric(int(t[0, 0]), int(t[:, 0].sum()), int(t[:, 1].sum()), int(t[0, :].sum()))
    p, estimate, ci = conditional_inference(h, alternative, conf_level)
    return FisherResult(p_value=p, odds_ratio=estimate, ci_low=ci[0], ci_high=ci[1], conf_level=conf_level,
                        method="Fisher exact 2x2: conditional MLE odds ratio, conditional exact CI")


def _log_factorial(v):
    return gammaln(np.asarray(v, dtype=float) + 1.0)


def _compositions(total: int, caps: tuple[int, ...]):
    """All integer vectors x with 0 <= x_i <= caps_i and sum(x) == total."""
    if len(caps) == 1:
        if total <= caps[0]:
            yield (total,)
        return
    rest = sum(caps[1:])
    for first in range(max(0, total - rest), min(caps[0], total) + 1):
        for tail in _compositions(total - first, caps[1:]):
            yield (first,) + tail


class RxcTooLarge(RuntimeError):
    """The exact r x c enumeration would exceed the work limit (see :func:`fisher_rxc_pvalue`)."""


def fisher_rxc_pvalue(table, max_work: int | None = None) -> float:
    """Exact two-sided p-value of an r x c table (R ``fisher.test``, minimum-likelihood rule).

    Sums the probabilities (product multinomial given both margins) of all tables with probability
    not above the observed one (log tolerance 3.45e-7 as R's FEXACT). Columns are processed one at
    a time; at each node (remaining row sums) the exact maximum and minimum of the remaining
    log-probability and the closed-form total mass let whole sub-networks be counted or discarded
    (network algorithm, Mehta & Patel 1983); past paths with equal probability are merged.
    ``max_work``: limit on the number of column compositions generated (a deterministic measure
    of the work, a few seconds per 10^6 here); beyond it :class:`RxcTooLarge` is raised. The work grows
    steeply with n and the number of levels (e.g. 6 x 2 with n = 1800: ~10^8).
    """
    work = [0]

    def compositions(total, caps):
        for x in _compositions(total, caps):
            work[0] += 1
            if max_work is not None and work[0] > max_work:
                raise RxcTooLarge(f"exact r x c enumeration over {max_work} steps")
            yield x

    t = np.asarray(table)
    if t.ndim != 2 or np.any(t < 0) or np.any(np.round(t) != t):
        raise ValueError("table must be a 2-D array of non-negative integers")
    t = t.astype(np.int64)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return 1.0
    if t.shape[0] > t.shape[1]:
        t = t.T
    rows = tuple(int(v) for v in t.sum(axis=1))
    cols = tuple(int(v) for v in t.sum(axis=0))
    ncol = len(cols)
    lf = _log_factorial(np.arange(int(t.sum()) + 1))

    def value(x):  # -sum log x! of a column (probability kernel)
        return -float(sum(lf[v] for v in x))

    @lru_cache(maxsize=None)
    def log_total(j: int, rem: tuple[int, ...]) -> float:
        # log of sum over sub-tables of prod 1/x! = log( (sum rem)! / (prod rem! prod cols[j:]!) )
        return float(lf[sum(rem)] - sum(lf[v] for v in rem) - sum(lf[c] for c in cols[j:]))

    @lru_cache(maxsize=None)
    def bounds(j: int, rem: tuple[int, ...]) -> tuple[float, float]:
        if j == ncol - 1:
            v = value(rem)
            return v, v
        hi_v, lo_v = -math.inf, math.inf
        for x in compositions(cols[j], rem):
            nxt = tuple(sorted(r - xi for r, xi in zip(rem, x)))
            bmax, bmin = bounds(j + 1, nxt)
            v = value(x)
            hi_v = max(hi_v, v + bmax)
            lo_v = min(lo_v, v + bmin)
        return hi_v, lo_v

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * ncol + 1000))
    observed = sum(value(tuple(int(v) for v in t[:, j])) for j in range(ncol))
    threshold = observed + LOG_TOL_RXC
    root = tuple(sorted(rows))
    log_norm = log_total(0, root)
    pvalue = 0.0
    # nodes of the current stage: rem -> {rounded past value: [past value, number of paths]}
    stage = {root: {0.0: [0.0, 1]}}
    for j in range(ncol):
        nxt_stage: dict = {}
        for rem, pasts in stage.items():
            bmax, bmin = bounds(j, rem)
            lt = log_total(j, rem)
            for past, count in pasts.values():
                if past + bmax <= threshold:
                    pvalue += count * math.exp(past + lt - log_norm)
                    continue
                if past + bmin > threshold:
                    continue
                if j == ncol - 1:  # single completion, value(rem) == bmax == bmin: handled above
                    continue
                for x in compositions(cols[j], rem):
                    child = tuple(sorted(r - xi for r, xi in zip(rem, x)))
                    pv = past + value(x)
                    slot = nxt_stage.setdefault(child, {})
                    key = round(pv, 9)
                    if key in slot:
                        slot[key][1] += count
                    else:
                        slot[key] = [pv, count]
        stage = nxt_stage
    return float(max(0.0, min(1.0, pvalue)))


def fisher_test(table, conf_level: float = 0.95, alternative: str = "two-sided",
                max_work: int | None = None) -> FisherResult:
    """Dispatch as R: 2 x 2 -> p, conditional MLE odds ratio and exact CI; larger tables -> p only
    (``max_work``: see :func:`fisher_rxc_pvalue`)."""
    t = np.asarray(table)
    if t.ndim != 2 or min(t.shape) < 2:
        raise ValueError("table must have at least 2 rows and 2 columns")
    if t.shape == (2, 2):
        return fisher_2x2(t, conf_level=conf_level, alternative=alternative)
    if alternative not in ("two-sided", "two.sided", "two_sided"):
        raise ValueError("r x c tables support the two-sided test only")
    return FisherResult(p_value=fisher_rxc_pvalue(t, max_work=max_work), method="Fisher exact r x c (network algorithm)")

"""Cochran-Mantel-Haenszel analysis of K stratified 2 x 2 tables, as R ``mantelhaen.test``.

Tables are given as an array of shape (K, 2, 2) (R's ``x[, , k]``); the odds ratio is that of row 1 vs
row 2 for column 1, common to the strata.

- Asymptotic (``exact=False``): the Mantel-Haenszel chi-square, sum over strata of a_k - E(a_k) against
  the sum of the hypergeometric variances r1 r2 c1 c2 / (n^2 (n - 1)), with Yates' 0.5 continuity
  correction when |difference| >= 0.5 (R's default ``correct = TRUE``), 1 df; the Mantel-Haenszel
  estimate sum(a d / n) / sum(b c / n) with the Robins-Breslow-Greenland variance of its log.
- Exact (``exact=True``): the conditional law of sum a_k given every stratum's margins (the convolution
  of K hypergeometric laws): minimum-likelihood two-sided p, conditional MLE of the common odds ratio
  and the exact CI (:func:`icistop.stats.fisher.conditional_inference`, as ``fisher.test`` for K = 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from icistop.stats.fisher import ConditionalLaw, conditional_inference


@dataclass(frozen=True)
class MantelHaenszelResult:
    statistic: float       # chi-square (asymptotic); sum of the (1,1) cells (exact)
    p_value: float
    odds_ratio: float      # MH estimate (asymptotic) / conditional MLE (exact)
    ci_low: float
    ci_high: float
    n_strata: int
    method: str


def _tables(tables) -> np.ndarray:
    t = np.asarray(tables, float)
    if t.ndim != 3 or t.shape[1:] != (2, 2):
        raise ValueError("tables must have shape (K, 2, 2)")
    if np.any(t < 0) or np.any(np.round(t) != t):
        raise ValueError("table entries must be non-negative integers")
    return t


def mantelhaen(tables, exact: bool = False, correct: bool = True, conf_level: float = 0.95,
               alternative: str = "two-sided") -> MantelHaenszelResult:
    """Test of conditional independence (common odds ratio 1) in K 2 x 2 tables and the common odds ratio."""
    t = _tables(tables)
    n = t.sum(axis=(1, 2))
    if np.any(n < 2):
        raise ValueError("sample size in each stratum must be > 1")
    a, b, c, d = t[:, 0, 0], t[:, 0, 1], t[:, 1, 0], t[:, 1, 1]
    if exact:
        m, nn, r1 = (a + c).astype(int), (b + d).astype(int), (a + b).astype(int)
        dc = np.array([1.0])
        lo = 0
        for mk, nk, tk in zip(m, nn, r1):
            lo_k, hi_k = max(0, tk - nk), min(mk, tk)
            dc = np.convolve(dc, stats.hypergeom.pmf(np.arange(lo_k, hi_k + 1), mk + nk, mk, tk))
            lo += lo_k
        support = np.arange(lo, lo + len(dc), dtype=float)
        with np.errstate(divide="ignore"):
            law = ConditionalLaw(int(a.sum()), support, np.log(dc))
        p, estimate, ci = conditional_inference(law, alternative, conf_level)
        return MantelHaenszelResult(float(a.sum()), p, estimate, ci[0], ci[1], len(t),
                                    "Exact conditional test of independence in 2 x 2 x k tables")
    delta = float((a - (a + b) * (a + c) / n).sum())
    var = float(((a + b) * (c + d) * (a + c) * (b + d) / (n ** 2 * (n - 1))).sum())
    yates = 0.5 if correct and abs(delta) >= 0.5 else 0.0
    stat = (abs(delta) - yates) ** 2 / var
    alt = alternative.replace("_", "-").replace(".", "-")
    if alt == "two-sided":
        p = float(stats.chi2.sf(stat, 1))
    else:
        z = math.copysign(math.sqrt(stat), delta)
        p = float(stats.norm.cdf(z) if alt == "less" else stats.norm.sf(z))
    s_diag, s_off = float((a * d / n).sum()), float((b * c / n).sum())
    if s_diag == 0 or s_off == 0:  # estimate 0 or infinite: no Wald interval on the log scale
        estimate = 0.0 if s_diag == 0 and s_off > 0 else (math.inf if s_off == 0 and s_diag > 0 else math.nan)
        return MantelHaenszelResult(stat, p, estimate, math.nan, math.nan, len(t),
                                    "Mantel-Haenszel chi-squared test" + (" with continuity correction" if yates else ""))
    sd = math.sqrt(float(((a + d) * a * d / n ** 2).sum()) / (2 * s_diag ** 2)
                   + float((((a + d) * b * c + (b + c) * a * d) / n ** 2).sum()) / (2 * s_diag * s_off)
                   + float(((b + c) * b * c / n ** 2).sum()) / (2 * s_off ** 2))
    estimate = s_diag / s_off
    if alt == "less":
        ci = (0.0, estimate * math.exp(stats.norm.ppf(conf_level) * sd))
    elif alt == "greater":
        ci = (estimate * math.exp(-stats.norm.ppf(conf_level) * sd), math.inf)
    else:
        zq = stats.norm.ppf(1 - (1 - conf_level) / 2)
        ci = (estimate * math.exp(-zq * sd), estimate * math.exp(zq * sd))
    return MantelHaenszelResult(stat, p, estimate, ci[0], ci[1], len(t),
                                "Mantel-Haenszel chi-squared test" + (" with continuity correction" if yates else ""))

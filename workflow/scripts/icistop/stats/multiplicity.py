"""Multiplicity adjustment of p-values as R ``stats::p.adjust``.

Missing p-values (NaN/None) stay missing and do not count in the number of tests, as in R
(``n`` defaults to the number of non-missing p-values).
"""

from __future__ import annotations

import numpy as np

METHODS = ("BH", "BY", "holm", "bonferroni")


def p_adjust(p, method: str = "BH") -> np.ndarray:
    """Adjusted p-values. BH: Benjamini & Hochberg (1995) step-up q-values; BY: Benjamini &
    Yekutieli (2001); holm: Holm (1979) step-down; bonferroni: min(1, n p)."""
    if method == "fdr":
        method = "BH"
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    p_all = np.asarray(p, dtype=float).ravel()
    out = np.full(p_all.shape, np.nan)
    ok = ~np.isnan(p_all)
    pv = p_all[ok]
    n = pv.size
    if n == 0:
        return out
    if n == 1:
        out[ok] = pv
        return out
    if method == "bonferroni":
        adj = np.minimum(1.0, n * pv)
    elif method == "holm":
        order = np.argsort(pv, kind="stable")
        i = np.arange(1, n + 1)
        adj_sorted = np.minimum(1.0, np.maximum.accumulate((n + 1 - i) * pv[order]))
        adj = np.empty(n)
        adj[order] = adj_sorted
    else:
        # R: i <- lp:1; o <- order(p, decreasing = TRUE); pmin(1, cummin(q * n / i * p[o]))[order(o)]
        order = np.argsort(-pv, kind="stable")
        i = np.arange(n, 0, -1)
        q = float(np.sum(1.0 / np.arange(1, n + 1))) if method == "BY" else 1.0
        adj_sorted = np.minimum(1.0, np.minimum.accumulate(q * n / i * pv[order]))
        adj = np.empty(n)
        adj[order] = adj_sorted
    out[ok] = adj
    return out

"""Restricted cubic splines (Stone & Koo 1985; Harrell, Regression Modeling Strategies, 2.4.5).

Knot placement and the truncated-power basis follow ``Hmisc::rcspline.eval`` (default ``norm = 2``,
``fractied = 0.05``): knots at Harrell's default quantiles (3 knots .10/.50/.90; 4-6 knots equally
spaced between .05 and .95; 7+ between .025 and .975), with the outer knots moved to the 5th
smallest / largest value when n < 100. The basis is linear beyond the outer knots.
"""

from __future__ import annotations

import numpy as np


def harrell_knots(x, nk: int = 4, fractied: float = 0.05) -> np.ndarray:
    """Default knot locations of ``Hmisc::rcspline.eval(x, nk = nk, knots.only = TRUE)``."""
    xx = np.asarray(x, dtype=float)
    xx = xx[~np.isnan(xx)]
    n = xx.size
    if n < 6:
        raise ValueError("fewer than 6 non-missing observations")
    if nk < 3:
        raise ValueError("nk must be >= 3")
    xu = np.unique(xx)
    nxu = xu.size
    if nxu - 2 <= nk:
        knots = xu[1:-1]
    else:
        outer = 0.05 if nk > 3 else 0.1
        if nk > 6:
            outer = 0.025
        nke = nk
        first, last = [], []
        override_first = override_last = False
        if 0 < fractied < 1:
            vals, counts = np.unique(xx, return_counts=True)
            f = counts / n
            if np.max(f[1:-1]) < fractied:
                if f[0] >= fractied:
                    first = [float(np.min(xx[xx > np.min(xx)]))]
                    xx = xx[xx > first[0]]
                    nke -= 1
                    override_first = True
                if f[-1] >= fractied:
                    last = [float(np.max(xx[xx < np.max(xx)]))]
                    xx = xx[xx < last[0]]
                    nke -= 1
                    override_last = True
        if nke == 1:
            knots = np.array([np.median(xx)])
        else:
            if nxu <= nke:
                knots = xu.copy()
            else:
                p = np.linspace(0.5, 1 - outer, nke) if nke == 2 else np.linspace(outer, 1 - outer, nke)
                knots = np.quantile(xx, p)
                if np.unique(knots).size < min(nke, 3):
                    knots = np.quantile(xx, np.linspace(outer, 1 - outer, 2 * nke))
                    if first and np.unique(knots).size < 3:
                        midval = (first[0] + last[0]) / 2 if (first and last) else float(np.median(xx))
                        tail = last if last else [float(np.quantile(xx, 1 - outer))]
                        knots = np.sort(np.array(first + [midval] + tail))
                    if np.unique(knots).size < 3:
                        raise ValueError("fewer than 3 unique knots")
            if xx.size < 100:
                xs = np.sort(xx)
                knots = np.array(knots, dtype=float)
                if not override_first:
                    knots[0] = xs[4]
                if not override_last:
                    knots[nke - 1] = xs[xs.size - 5]
        knots = np.concatenate([first, np.asarray(knots, dtype=float), last])
    knots = np.unique(knots)
    if knots.size < 3:
        raise ValueError("fewer than 3 unique knots")
    return knots


def rcs_basis(x, knots, include_linear: bool = True) -> np.ndarray:
    """Restricted cubic spline basis (n x (k-1) with the linear term, n x (k-2) without), scaled by
    (t_k - t_1)^(2/3) as Hmisc (``norm = 2``); identical columns to ``rms::rcs``."""
    x = np.asarray(x, dtype=float)
    t = np.asarray(knots, dtype=float)
    k = t.size
    kd = (t[-1] - t[0]) ** (2.0 / 3.0)
    cols = []
    for j in range(k - 2):
        term = (np.maximum((x - t[j]) / kd, 0) ** 3
                + ((t[-2] - t[j]) * np.maximum((x - t[-1]) / kd, 0) ** 3
                   - (t[-1] - t[j]) * np.maximum((x - t[-2]) / kd, 0) ** 3) / (t[-1] - t[-2]))
        cols.append(term)
    basis = np.column_stack(cols) if cols else np.empty((x.size, 0))
    if include_linear:
        basis = np.column_stack([x, basis])
    return basis

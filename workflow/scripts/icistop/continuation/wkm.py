"""Weighted Kaplan-Meier for counting-process rows, with influence functions.

Estimand: S(t) = prod_{s <= t} (1 - dN_w(s) / Y_w(s)) where dN_w is the weighted number of events
at s and Y_w(s) the weighted number of rows at risk (start < s <= stop); this is R
``survfit(Surv(start, stop, event) ~ 1, weights = w)``. Standard errors from the influence
function with rows grouped by ``cluster`` (weights treated as known): the robust variance R reports
with ``survfit(..., id = cluster, robust = TRUE)``. Also RMST (area under S up to tau) and its
influence function. Vectorised: one sort, cumulative sums, searchsorted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class KMFit:
    time: np.ndarray      # unique event times
    n_risk: np.ndarray    # weighted at risk
    n_event: np.ndarray   # weighted events
    surv: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    event: np.ndarray
    w: np.ndarray

    @property
    def last_time(self) -> float:
        """End of follow-up: the latest exit time of a row with positive weight (-inf when none)."""
        positive = self.w > 0
        return float(self.stop[positive].max()) if positive.any() else -np.inf

    def at(self, t) -> np.ndarray:
        """S(t) (right-continuous step function). After the end of follow-up S is known only when it
        has reached 0 (R ``summary(survfit, extend = TRUE)``); otherwise NaN (unknown)."""
        t = np.atleast_1d(np.asarray(t, float))
        if len(self.time) == 0:
            out = np.ones(len(t))
        else:
            idx = np.searchsorted(self.time, t, side="right") - 1
            out = np.where(idx >= 0, self.surv[np.maximum(idx, 0)], 1.0)
        return np.where((t > self.last_time) & (out > 0), np.nan, out)

    def rmst(self, tau: float) -> float:
        """Area under S up to tau; NaN when follow-up ends before tau with S > 0 (S unknown there)."""
        if tau > self.last_time and self.at(self.last_time)[0] > 0:
            return np.nan
        grid = np.concatenate([[0.0], self.time[self.time < tau], [tau]])
        s = np.concatenate([[1.0], self.surv[self.time < tau]])
        return float(np.sum(s * np.diff(grid)))

    def _row_influence(self, g_time: np.ndarray) -> np.ndarray:
        """Per-row sum over event times s of g(s) * w (dN_r(s) - Y_r(s) dN(s)/Y(s)) / (Y(s) - dN(s)).

        The divisor Y - dN (not Y) is the 1 / (1 - dLambda) factor of the product-limit map; it
        makes the unit-weight variance the Greenwood-type variance R reports.
        """
        y_minus = self.n_risk - self.n_event
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = np.where(y_minus > 0, 1.0 / y_minus, 0.0)
        haz_den = self.n_event / self.n_risk * inv
        term2 = np.concatenate([[0.0], np.cumsum(g_time * haz_den)])
        hi = np.searchsorted(self.time, self.stop, side="right")
        lo = np.searchsorted(self.time, self.start, side="right")
        out = -self.w * (term2[hi] - term2[lo])
        ev = self.event > 0
        j = np.searchsorted(self.time, self.stop[ev])
        out[ev] += self.w[ev] * g_time[j] * inv[j]
        return out

    def influence_surv(self, t: float) -> np.ndarray:
        """Per-row influence of S(t): -S(t) * sum_{s<=t} dM_r(s)/(Y(s)-dN(s)) (sum rows by cluster)."""
        g = (self.time <= t).astype(float)
        return -self.at(t)[0] * self._row_influence(g)

    def influence_rmst(self, tau: float) -> np.ndarray:
        """Per-row influence of RMST(tau) = -sum_s dM_r(s)/(Y(s)-dN(s)) * int_s^tau S(u) du."""
        inside = self.time <= tau
        grid = np.concatenate([self.time[inside], [tau]])
        area_after = np.concatenate([np.cumsum((self.surv[inside] * np.diff(grid))[::-1])[::-1]])
        g = np.zeros(len(self.time))
        g[inside] = area_after
        return -self._row_influence(g)


class KMIndex:
    """Weight-free part of the weighted KM of fixed (start, stop, event) rows: event times and the
    sort orders of the at-risk sums, so that refits with new weights (bootstrap frequencies times
    IPC weights) need only cumulative sums."""

    def __init__(self, start, stop, event):
        self.stop = np.asarray(stop, float)
        self.start = np.full(len(self.stop), -np.inf) if start is None else np.asarray(start, float)
        self.event = np.asarray(event, float)
        ev = self.event > 0
        self.ev = ev
        self.times = np.unique(self.stop[ev])
        self.j = np.searchsorted(self.times, self.stop[ev])
        self.order_stop = np.argsort(self.stop, kind="mergesort")
        self.order_start = np.argsort(self.start, kind="mergesort")
        self.pos_stop = np.searchsorted(self.stop[self.order_stop], self.times, side="left")
        self.pos_start = np.searchsorted(self.start[self.order_start], self.times, side="left")

    def fit(self, weights=None) -> KMFit:
        w = np.ones(len(self.stop)) if weights is None else np.asarray(weights, float)
        d = np.bincount(self.j, weights=w[self.ev], minlength=len(self.times))
        csum_stop = np.concatenate([[0.0], np.cumsum(w[self.order_stop])])
        csum_start = np.concatenate([[0.0], np.cumsum(w[self.order_start])])
        total = csum_stop[-1]
        # weight with stop >= t minus weight with start >= t
        y = (total - csum_stop[self.pos_stop]) - (total - csum_start[self.pos_start])
        with np.errstate(divide="ignore", invalid="ignore"):
            surv = np.cumprod(1.0 - np.where(y > 0, d / y, 0.0))
        return KMFit(self.times, y, d, surv, self.start, self.stop, self.event, w)


def km_fit(start, stop, event, weights=None) -> KMFit:
    """Weighted KM; ``start=None`` for right-censored data without entry times."""
    return KMIndex(start, stop, event).fit(weights)


def cluster_sum(values: np.ndarray, cluster) -> np.ndarray:
    codes = np.unique(np.asarray(cluster), return_inverse=True)[1]
    return np.bincount(codes, weights=values)

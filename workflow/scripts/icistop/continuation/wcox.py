"""Weighted Cox model for counting-process data (start, stop], fully vectorised.

Estimand: log hazard ratio(s) from the partial likelihood with case weights, left truncation /
time-varying covariates via (start, stop] rows. Ties: ``"efron"`` (R's default, weighted as in
R survival: the tied deaths share their mean weight) or ``"breslow"``. Variance: model-based
inverse information and, with ``cluster``, the robust sandwich sum over clusters of the weighted
dfbeta residuals (R ``coxph(..., cluster = id)``; independent rows when ``robust=True`` without
cluster). No Python loop over times or subjects: risk-set sums come from cumulative sums over rows
sorted by stop and start time, so 10^6 rows fit in seconds.

Discrete covariates (at most ``MAX_GROUPS`` distinct covariate rows, e.g. arm x marker in the CCW
analysis) take an exact shortcut when no robust variance is asked for: the partial likelihood
depends on the rows only through the weighted risk-set and death sums per covariate pattern, so
these are summed once and the Newton iterations cost O(event times x patterns) instead of
O(rows x p^2). Same estimator, same Efron sub-steps; the bootstrap refits use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse


NOT_CONVERGED = "the Cox model did not converge to finite estimates (monotone likelihood)"


@dataclass
class CoxResult:
    coef: np.ndarray
    var: np.ndarray
    robust_var: np.ndarray | None
    loglik: float
    n_events: float
    n_rows: int
    iterations: int
    converged: bool

    @property
    def usable(self) -> bool:
        """Converged to finite coefficients with finite, positive model variances (False for a
        monotone likelihood, where a coefficient drifts towards infinity)."""
        with np.errstate(invalid="ignore"):
            d = np.diag(self.var)
        return bool(self.converged and np.all(np.isfinite(self.coef)) and np.all(np.isfinite(d)) and np.all(d > 0))

    @property
    def se(self) -> np.ndarray:
        v = self.robust_var if self.robust_var is not None else self.var
        return np.sqrt(np.diag(v))

    @property
    def model_se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.var))


class _RiskSets:
    """Index structure: unique event times and, per time, which rows are at risk / die. Weights
    are attached with :meth:`weighted` (the structure is reused when only weights change)."""

    def __init__(self, start, stop, event, weights=None):
        self.stop = np.asarray(stop, float)
        self.start = np.full(len(self.stop), -np.inf) if start is None else np.asarray(start, float)
        self.event = np.asarray(event, float) > 0
        ev_idx = np.flatnonzero(self.event)
        self.times = np.unique(self.stop[ev_idx])  # sorted unique event times
        # deaths: event rows mapped to time index
        self.death_rows = ev_idx
        self.death_time = np.searchsorted(self.times, self.stop[ev_idx])
        # number of event times <= stop / <= start: row at risk at time j iff bin_start <= j < bin_stop
        self.bin_stop = np.searchsorted(self.times, self.stop, side="right")
        self.bin_start = np.searchsorted(self.times, self.start, side="right")
        self._bins = self._death_bins = None  # sparse bin matrices, built on first use
        self.weighted(np.ones(len(self.stop)) if weights is None else weights)

    def weighted(self, weights, freq=None) -> "_RiskSets":
        """Attach case weights ``w`` (in place; returns self). ``freq``: row multiplicities (bootstrap
        counts) for the Efron tie count d, so a row with frequency c counts as c tied deaths exactly
        as c duplicated rows would; ``weights`` must already include the multiplicity."""
        self.w = np.asarray(weights, float)
        f = np.ones(len(self.death_rows)) if freq is None else np.asarray(freq, float)[self.death_rows]
        self.d = np.bincount(self.death_time, weights=f, minlength=len(self.times))
        self.wd = np.bincount(self.death_time, weights=self.w[self.death_rows], minlength=len(self.times))
        return self

    def risk_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` (rows x ...) over rows at risk (start < t <= stop) at each event time:
        per-bin sums by one sparse product (bin = event times <= the row's stop, minus the same
        for its start), then a reverse cumulative sum over the bins. No sort or copy of the rows."""
        if self._bins is None:
            n, m = len(self.stop), len(self.times)
            rows = np.arange(n)
            self._bins = sparse.csr_matrix(
                (np.concatenate([np.ones(n), -np.ones(n)]),
                 (np.concatenate([self.bin_stop, self.bin_start]), np.concatenate([rows, rows]))), shape=(m + 1, n))
        flat = values.reshape(len(values), -1)
        per_bin = np.asarray(self._bins @ flat)
        out = np.cumsum(per_bin[::-1], axis=0)[::-1][1:]
        return out.reshape((len(self.times),) + values.shape[1:])

    def death_sum(self, values: np.ndarray) -> np.ndarray:
        if self._death_bins is None:
            self._death_bins = sparse.csr_matrix(
                (np.ones(len(self.death_rows)), (self.death_time, self.death_rows)), shape=(len(self.times), len(self.stop)))
        flat = values.reshape(len(values), -1)
        return np.asarray(self._death_bins @ flat).reshape((len(self.times),) + values.shape[1:])

    def cum_over_rows(self, per_time: np.ndarray) -> np.ndarray:
        """For each row, sum of ``per_time`` over event times t with start < t <= stop."""
        zero = np.zeros((1,) + per_time.shape[1:])
        c = np.concatenate([zero, np.cumsum(per_time, axis=0)])
        return c[self.bin_stop] - c[self.bin_start]


def _substeps(rs: _RiskSets, ties: str):
    """(time index, fraction k/d, mean weight) for each Efron sub-step (one per death)."""
    if ties == "breslow":
        j = np.arange(len(rs.times))
        return j, np.zeros(len(j)), rs.wd
    if ties != "efron":
        raise ValueError("ties must be 'efron' or 'breslow'")
    d = np.rint(rs.d).astype(int)
    j = np.repeat(np.arange(len(rs.times)), d)
    first = np.repeat(np.cumsum(d) - d, d)
    k = np.arange(len(j)) - first
    frac = k / rs.d[j]
    meanwt = rs.wd[j] / rs.d[j]
    return j, frac, meanwt


def _pieces(rs: _RiskSets, X: np.ndarray, beta: np.ndarray, ties: str):
    eta = X @ beta
    eta_c = eta - eta.max() if len(eta) else eta
    r = rs.w * np.exp(eta_c)
    p = X.shape[1]
    S0 = rs.risk_sum(r)
    S1 = rs.risk_sum(r[:, None] * X)
    D0 = rs.death_sum(r)
    D1 = rs.death_sum(r[:, None] * X)
    j, frac, meanwt = _substeps(rs, ties)
    den = S0[j] - frac * D0[j]
    num1 = S1[j] - frac[:, None] * D1[j]
    xbar = num1 / den[:, None]
    return eta_c, r, S0, S1, D0, D1, j, frac, meanwt, den, xbar, p


def _info(S2, D2, j, frac, meanwt, den, xbar) -> np.ndarray:
    num2 = S2[j] - frac[:, None, None] * D2[j]
    return (meanwt[:, None, None] * (num2 / den[:, None, None] - xbar[:, :, None] * xbar[:, None, :])).sum(0)


def _loglik_score_info(rs, X, beta, ties, need_info=True):
    eta_c, r, S0, S1, D0, D1, j, frac, meanwt, den, xbar, p = _pieces(rs, X, beta, ties)
    wdeath = rs.w[rs.death_rows]
    ll = np.sum(wdeath * eta_c[rs.death_rows]) - np.sum(meanwt * np.log(den))
    U = (wdeath[:, None] * X[rs.death_rows]).sum(0) - (meanwt[:, None] * xbar).sum(0)
    if not need_info:
        return ll, U, None
    iu = np.triu_indices(p)  # x x' is symmetric: sum its upper triangle only
    rxx = r[:, None] * X[:, iu[0]] * X[:, iu[1]]
    S2, D2 = np.zeros((len(rs.times), p, p)), np.zeros((len(rs.times), p, p))
    for M, half in ((S2, rs.risk_sum(rxx)), (D2, rs.death_sum(rxx))):
        M[:, iu[0], iu[1]] = half
        M[:, iu[1], iu[0]] = half
    return ll, U, _info(S2, D2, j, frac, meanwt, den, xbar)


def covariate_patterns(X: np.ndarray, max_groups: int):
    """(patterns G x p, code per row) when X has at most ``max_groups`` distinct rows, else None.
    Column-wise codes combined in mixed radix (np.unique(axis=0) is slow on long arrays)."""
    code = np.zeros(len(X), np.int64)
    size = 1
    for col in X.T:
        levels, c = np.unique(col, return_inverse=True)
        size *= len(levels)
        if size > max_groups ** 2:
            return None
        code = code * len(levels) + c.ravel()
    used, codes = np.unique(code, return_inverse=True)
    if len(used) > max_groups:
        return None
    first = np.zeros(len(used), np.int64)
    first[codes[::-1]] = np.arange(len(X))[::-1]
    return X[first], codes.ravel()


class _PatternSums:
    """Weighted at-risk (S) and death (D) sums per event time and covariate pattern (times x G),
    the total death weight per pattern, and the pattern matrix (G x p). Binned sums (bincount over
    event-time bin x pattern, then a reverse cumulative sum over bins): no sort, no 2-D gather."""

    def __init__(self, rs: _RiskSets, xg: np.ndarray, codes: np.ndarray, ties: str):
        self.xg = xg
        G, m = len(xg), len(rs.times)

        def binned(bins, rows=None):
            w = rs.w if rows is None else rs.w[rows]
            c = codes if rows is None else codes[rows]
            return np.bincount(bins * G + c, weights=w, minlength=(m + 1) * G).reshape(m + 1, G)

        def at_or_after(counts):  # sum over bins >= j + 1 for j = 0 .. m - 1
            return np.cumsum(counts[::-1], axis=0)[::-1][1:]

        self.S = at_or_after(binned(rs.bin_stop)) - at_or_after(binned(rs.bin_start))
        self.D = binned(rs.death_time, rs.death_rows)[:m]
        self.wdeath = self.D.sum(0)
        self.steps = _substeps(rs, ties)

    def loglik_score_info(self, beta: np.ndarray):
        eta = self.xg @ beta
        eta_c = eta - eta.max()
        e = np.exp(eta_c)
        xg = self.xg
        xx = xg[:, :, None] * xg[:, None, :]
        j, frac, meanwt = self.steps
        Se, De = self.S * e, self.D * e
        den = Se.sum(1)[j] - frac * De.sum(1)[j]
        xbar = ((Se @ xg)[j] - frac[:, None] * (De @ xg)[j]) / den[:, None]
        ll = float(self.wdeath @ eta_c) - np.sum(meanwt * np.log(den))
        U = self.wdeath @ xg - (meanwt[:, None] * xbar).sum(0)
        S2 = np.tensordot(Se, xx, axes=(1, 0))
        D2 = np.tensordot(De, xx, axes=(1, 0))
        return ll, U, _info(S2, D2, j, frac, meanwt, den, xbar)


def score_residuals(rs: _RiskSets, X: np.ndarray, beta: np.ndarray, ties: str) -> np.ndarray:
    """Unweighted score residuals per row (R ``residuals(fit, 'score')``)."""
    eta_c, r, S0, S1, D0, D1, j, frac, meanwt, den, xbar, p = _pieces(rs, X, beta, ties)
    m = len(rs.times)
    dlam = meanwt / den  # hazard increment per sub-step (relative to exp(eta_c))
    A = np.bincount(j, weights=dlam, minlength=m)
    B = np.zeros((m, p))
    np.add.at(B, j, xbar * dlam[:, None])
    # Efron: the dying rows carry (1 - k/d) risk at their own time
    A_d = np.bincount(j, weights=(1 - frac) * dlam, minlength=m)
    B_d = np.zeros((m, p))
    np.add.at(B_d, j, xbar * ((1 - frac) * dlam)[:, None])
    if ties == "breslow":
        xbar_mean = xbar  # one sub-step per time
    else:
        xbar_mean = np.zeros((m, p))
        np.add.at(xbar_mean, j, xbar)
        xbar_mean /= np.where(rs.d > 0, rs.d, 1.0)[:, None]
    ex = np.exp(eta_c)
    cumA = rs.cum_over_rows(A)
    cumB = rs.cum_over_rows(B)
    resid = -(ex[:, None] * (X * cumA[:, None] - cumB))
    dr = rs.death_rows
    jt = rs.death_time
    corr = ex[dr, None] * (X[dr] * (A[jt] - A_d[jt])[:, None] - (B[jt] - B_d[jt]))
    resid[dr] += corr + (X[dr] - xbar_mean[jt])
    return resid


MAX_GROUPS = 16  # distinct covariate rows up to which the pattern-sum shortcut is used


def _newton(evaluate, p: int, max_iter: int, tol: float):
    """Newton-Raphson with step halving on ``evaluate(beta) -> (loglik, score, information)``."""
    beta = np.zeros(p)
    ll, U, I = evaluate(beta)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        try:
            step = np.linalg.solve(I, U)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(I, U, rcond=None)[0]
        new = beta + step
        ll_new, U_new, I_new = evaluate(new)
        halv = 0
        while (not np.isfinite(ll_new) or ll_new < ll - 1e-12) and halv < 30:
            step /= 2
            new = beta + step
            ll_new, U_new, I_new = evaluate(new)
            halv += 1
        if not (np.isfinite(ll_new) and np.all(np.isfinite(I_new))):
            break  # monotone likelihood (an infinite coefficient): keep the last finite iterate
        done = abs(ll_new - ll) <= tol * max(1.0, abs(ll_new))
        beta, ll, U, I = new, ll_new, U_new, I_new
        if done:
            converged = True
            break
    return beta, ll, I, it, converged


def cox_fit(start, stop, event, X, weights=None, ties: str = "efron", cluster=None, robust: bool = False,
            max_iter: int = 30, tol: float = 1e-10) -> CoxResult:
    """Fit a weighted Cox model to (start, stop] rows by Newton-Raphson with step halving.

    ``start=None``: plain right-censored data (no left truncation, times may be 0).
    ``X``: rows x p covariate matrix (no intercept). Convergence when the relative change in the
    log partial likelihood is below ``tol`` (R uses 1e-9 by default).
    """
    X = np.asarray(X, float)
    if X.ndim == 1:
        X = X[:, None]
    n, p = X.shape
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    rs = _RiskSets(start, stop, event, w)
    need_rows = cluster is not None or robust
    patterns = covariate_patterns(X, MAX_GROUPS) if n and not need_rows else None
    if patterns is not None:
        evaluate = _PatternSums(rs, *patterns, ties).loglik_score_info
    else:
        def evaluate(b):
            return _loglik_score_info(rs, X, b, ties)
    beta, ll, I, it, converged = _newton(evaluate, p, max_iter, tol)
    if not (np.all(np.isfinite(I)) and np.all(np.isfinite(beta))):
        raise FloatingPointError("Cox fit failed (non-finite information matrix; extreme weights?)")
    var = np.linalg.pinv(I)
    rvar = None
    if need_rows:
        resid = score_residuals(rs, X, beta, ties) * w[:, None]
        dfb = resid @ var
        if cluster is not None:
            codes = np.unique(np.asarray(cluster), return_inverse=True)[1]
            agg = np.zeros((codes.max() + 1, p))
            np.add.at(agg, codes, dfb)
            dfb = agg
        rvar = dfb.T @ dfb
    return CoxResult(beta, var, rvar, float(ll), float(rs.wd.sum()), n, it, converged)


class CoxRefit:
    """Refit of a Cox model with discrete covariates (at most ``MAX_GROUPS`` patterns) to fixed
    (start, stop, event, X) rows under changing weights, e.g. bootstrap frequencies times weights:
    the sort orders are computed once; each :meth:`coef` costs a few cumulative sums."""

    def __init__(self, start, stop, event, X, ties: str = "efron", max_iter: int = 30, tol: float = 1e-10):
        X = np.asarray(X, float)
        self.X = X[:, None] if X.ndim == 1 else X
        patterns = covariate_patterns(self.X, MAX_GROUPS)
        if patterns is None:
            raise ValueError(f"CoxRefit needs at most {MAX_GROUPS} distinct covariate patterns")
        self.xg, self.codes = patterns
        self.rs = _RiskSets(start, stop, event)
        self.ties, self.max_iter, self.tol = ties, max_iter, tol

    def fit(self, weights, freq=None) -> tuple[np.ndarray, bool]:
        """(coefficients, converged) under case weights ``weights`` (including multiplicities) and
        Efron tie counts from ``freq`` (row multiplicities; None = 1). Not converged: e.g. a monotone
        likelihood (no event in a group), the coefficient drifting towards infinity."""
        rs = self.rs.weighted(weights, freq)
        sums = _PatternSums(rs, self.xg, self.codes, self.ties)
        beta, ll, I, it, converged = _newton(sums.loglik_score_info, self.X.shape[1], self.max_iter, self.tol)
        if not (np.all(np.isfinite(I)) and np.all(np.isfinite(beta))):
            raise FloatingPointError("Cox fit failed (non-finite information matrix; extreme weights?)")
        return beta, bool(converged)

    def coef(self, weights, freq=None) -> np.ndarray:
        """Coefficients of :meth:`fit`."""
        return self.fit(weights, freq)[0]

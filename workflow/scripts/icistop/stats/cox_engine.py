"""The Cox engine: weighted partial likelihood of (start, stop] rows within strata, on arrays.

Estimand: log hazard ratios beta in h(t | x, stratum) = h_s(t) exp(x'beta + offset). Ties: ``"efron"``
(R's default, weighted as R ``survival``: the tied deaths share their mean case weight) or ``"breslow"``.
Rows are (start, stop] counting-process rows (``start=None``: right-censored data, times may be 0), so
left truncation and time-varying covariates are covered. Newton-Raphson with step halving from beta = 0
on centred covariates (as R), stopping when the step is below ``tol`` (default 1e-12) or the
log-likelihood no longer changes (1e-15 relative); a monotone likelihood (an infinite coefficient)
does not converge and is flagged (``converged`` False, ``usable`` False).

Variance: model-based inverse information and, with ``cluster`` or ``robust=True``, the infinitesimal-
jackknife sandwich V (sum_c u_c u_c') V from the weighted score residuals summed by cluster (R
``coxph(..., robust = TRUE)`` / ``cluster()``). Also the null log-likelihood and the score test.

No Python loop over subjects or event times: risk-set sums come from one sparse "row -> event-time
bin" product and a reverse cumulative sum over the bins; the Efron sub-steps are vectorised. Discrete
covariates (at most ``MAX_GROUPS`` distinct rows, e.g. arm x marker) take an exact shortcut when no
robust variance is asked for: the likelihood depends on the rows only through risk-set and death sums
per covariate pattern. :class:`CoxRefit` refits such a model under new weights (bootstrap frequencies
times weights), Efron ties counted with multiplicity.

Used by every stage (:func:`icistop.stats.cox.cox_fit` is the DataFrame front end). Checked against R
``coxph`` (tests/test_oracle_survival.py, test_continuation_oracle.py, test_oracle_report_gaps.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

NOT_CONVERGED = "the Cox model did not converge to finite estimates (monotone likelihood)"
MAX_GROUPS = 16  # distinct covariate rows up to which the pattern-sum shortcut is used


@dataclass
class CoxFit:
    coef: np.ndarray
    var: np.ndarray                 # model-based (inverse information)
    robust_var: np.ndarray | None   # sandwich, when asked for
    loglik: float
    loglik0: float                  # at beta = 0
    score_test: float               # score test of beta = 0
    n_events: float                 # weighted
    n_rows: int
    iterations: int
    converged: bool
    last_step: np.ndarray           # |Newton step| at the estimate (R's check for an infinite coefficient)

    @property
    def usable(self) -> bool:
        """Converged to finite coefficients with finite, positive model variances (False for a
        monotone likelihood, where a coefficient drifts towards infinity)."""
        with np.errstate(invalid="ignore"):
            d = np.diag(self.var)
        return bool(self.converged and np.all(np.isfinite(self.coef)) and np.all(np.isfinite(d)) and np.all(d > 0))

    @property
    def se(self) -> np.ndarray:
        """Robust SE when computed, else model-based (what the CIs use, as R)."""
        v = self.robust_var if self.robust_var is not None else self.var
        with np.errstate(invalid="ignore"):
            return np.sqrt(np.diag(v))

    @property
    def model_se(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.sqrt(np.diag(self.var))


class RiskSets:
    """Index structure of (start, stop] rows within strata: the distinct (stratum, event time) pairs
    and, per row, the range of them at which it is at risk. Weights are attached with :meth:`weighted`
    (the structure is reused when only the weights change)."""

    def __init__(self, start, stop, event, strata=None, weights=None):
        stop = np.asarray(stop, float)
        n = len(stop)
        start = np.full(n, -np.inf) if start is None else np.asarray(start, float)
        codes = np.zeros(n, np.int64) if strata is None else np.asarray(strata, np.int64)
        self.n = n
        self.event = np.asarray(event, float) > 0
        # integer keys: time rank offset by stratum, so that risk sets never cross strata
        finite = np.isfinite(start)
        uniq = np.unique(np.concatenate([start[finite], stop]))
        span = len(uniq) + 2
        off = codes * span
        self.stop_key = np.searchsorted(uniq, stop).astype(np.int64) + 1 + off
        self.start_key = np.where(finite, np.searchsorted(uniq, np.where(finite, start, 0.0)) + 1, 0) + off
        self.death_rows = np.flatnonzero(self.event)
        self.keys, self.death_time = np.unique(self.stop_key[self.death_rows], return_inverse=True)
        self.m = len(self.keys)
        # row at risk at event key j iff bin_start <= j < bin_stop (bin = number of event keys <= the row's key)
        self.bin_stop = np.searchsorted(self.keys, self.stop_key, side="right")
        self.bin_start = np.searchsorted(self.keys, self.start_key, side="right")
        self.late_entry = bool(finite.any() or len(np.unique(codes)) > 1)
        self._bins = self._death_bins = None
        self.weighted(np.ones(n) if weights is None else weights)

    def weighted(self, weights, freq=None) -> "RiskSets":
        """Attach case weights (in place; returns self). ``freq``: row multiplicities (bootstrap counts)
        for the Efron tie count d, so that a row drawn c times counts as c tied deaths exactly as c
        duplicated rows would; ``weights`` must already include the multiplicity."""
        self.w = np.asarray(weights, float)
        f = np.ones(len(self.death_rows)) if freq is None else np.asarray(freq, float)[self.death_rows]
        self.d = np.bincount(self.death_time, weights=f, minlength=self.m)
        self.wd = np.bincount(self.death_time, weights=self.w[self.death_rows], minlength=self.m)
        return self

    def risk_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` (rows x ...) over the rows at risk at each event key: per-bin sums by one
        sparse product, then a reverse cumulative sum over the bins."""
        if self._bins is None:
            rows = np.arange(self.n)
            if self.late_entry:
                data = (np.concatenate([np.ones(self.n), -np.ones(self.n)]),
                        (np.concatenate([self.bin_stop, self.bin_start]), np.concatenate([rows, rows])))
            else:  # nobody enters late: no entry subtraction
                data = (np.ones(self.n), (self.bin_stop, rows))
            self._bins = sparse.csr_matrix(data, shape=(self.m + 1, self.n))
        flat = values.reshape(len(values), -1)
        per_bin = np.asarray(self._bins @ flat)
        out = np.cumsum(per_bin[::-1], axis=0)[::-1][1:]
        return out.reshape((self.m,) + values.shape[1:])

    def death_sum(self, values: np.ndarray) -> np.ndarray:
        if self._death_bins is None:
            self._death_bins = sparse.csr_matrix(
                (np.ones(len(self.death_rows)), (self.death_time, self.death_rows)), shape=(self.m, self.n))
        flat = values.reshape(len(values), -1)
        return np.asarray(self._death_bins @ flat).reshape((self.m,) + values.shape[1:])

    def cum_over_rows(self, per_time: np.ndarray) -> np.ndarray:
        """For each row, the sum of ``per_time`` over the event keys at which it is at risk."""
        zero = np.zeros((1,) + per_time.shape[1:])
        c = np.concatenate([zero, np.cumsum(per_time, axis=0)])
        return c[self.bin_stop] - c[self.bin_start]


def _substeps(rs: RiskSets, ties: str):
    """(event key index, fraction k/d, mean weight) for each Efron sub-step (one per death; Breslow: one
    per event key with the total death weight)."""
    if ties == "breslow":
        return np.arange(rs.m), np.zeros(rs.m), rs.wd
    if ties != "efron":
        raise ValueError("ties must be 'efron' or 'breslow'")
    d = np.rint(rs.d).astype(int)
    j = np.repeat(np.arange(rs.m), d)
    k = np.arange(len(j)) - np.repeat(np.cumsum(d) - d, d)
    return j, k / rs.d[j], rs.wd[j] / rs.d[j]


def _pieces(rs: RiskSets, X: np.ndarray, beta: np.ndarray, offset: np.ndarray, ties: str):
    eta = X @ beta + offset
    eta_c = eta - eta.max() if len(eta) else eta
    r = rs.w * np.exp(eta_c)
    S0, S1 = rs.risk_sum(r), rs.risk_sum(r[:, None] * X)
    D0, D1 = rs.death_sum(r), rs.death_sum(r[:, None] * X)
    j, frac, meanwt = _substeps(rs, ties)
    den = S0[j] - frac * D0[j]
    xbar = (S1[j] - frac[:, None] * D1[j]) / den[:, None]
    return eta_c, r, j, frac, meanwt, den, xbar


def _info(S2, D2, j, frac, meanwt, den, xbar) -> np.ndarray:
    num2 = S2[j] - frac[:, None, None] * D2[j]
    return (meanwt[:, None, None] * (num2 / den[:, None, None] - xbar[:, :, None] * xbar[:, None, :])).sum(0)


def _loglik_score_info(rs: RiskSets, X, beta, offset, ties):
    eta_c, r, j, frac, meanwt, den, xbar = _pieces(rs, X, beta, offset, ties)
    p = X.shape[1]
    wdeath = rs.w[rs.death_rows]
    ll = float(np.sum(wdeath * eta_c[rs.death_rows]) - np.sum(meanwt * np.log(den)))
    U = (wdeath[:, None] * X[rs.death_rows]).sum(0) - (meanwt[:, None] * xbar).sum(0)
    iu = np.triu_indices(p)  # x x' is symmetric: sum its upper triangle only
    rxx = r[:, None] * X[:, iu[0]] * X[:, iu[1]]
    S2, D2 = np.zeros((rs.m, p, p)), np.zeros((rs.m, p, p))
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
    """Weighted at-risk (S) and death (D) sums per event key and covariate pattern (keys x G), the death
    weight per pattern and the pattern matrix (G x p). The likelihood of a model with discrete
    covariates (no offset) depends on the rows only through these."""

    def __init__(self, rs: RiskSets, xg: np.ndarray, codes: np.ndarray, ties: str):
        self.xg = xg
        G, m = len(xg), rs.m

        def binned(bins, rows=None):
            w = rs.w if rows is None else rs.w[rows]
            c = codes if rows is None else codes[rows]
            return np.bincount(bins * G + c, weights=w, minlength=(m + 1) * G).reshape(m + 1, G)

        def at_or_after(counts):  # sum over bins >= j + 1 for j = 0 .. m - 1
            return np.cumsum(counts[::-1], axis=0)[::-1][1:]

        self.S = at_or_after(binned(rs.bin_stop))
        if rs.late_entry:
            self.S = self.S - at_or_after(binned(rs.bin_start))
        self.D = binned(rs.death_time, rs.death_rows)[:m]
        self.wdeath = self.D.sum(0)
        self.steps = _substeps(rs, ties)

    def loglik_score_info(self, beta: np.ndarray):
        eta = self.xg @ beta
        e = np.exp(eta - eta.max())
        eta_c = eta - eta.max()
        xg = self.xg
        j, frac, meanwt = self.steps
        Se, De = self.S * e, self.D * e
        den = Se.sum(1)[j] - frac * De.sum(1)[j]
        xbar = ((Se @ xg)[j] - frac[:, None] * (De @ xg)[j]) / den[:, None]
        ll = float(self.wdeath @ eta_c) - np.sum(meanwt * np.log(den))
        U = self.wdeath @ xg - (meanwt[:, None] * xbar).sum(0)
        xx = xg[:, :, None] * xg[:, None, :]
        S2 = np.tensordot(Se, xx, axes=(1, 0))
        D2 = np.tensordot(De, xx, axes=(1, 0))
        return ll, U, _info(S2, D2, j, frac, meanwt, den, xbar)


def score_residuals(rs: RiskSets, X: np.ndarray, beta: np.ndarray, offset: np.ndarray, ties: str) -> np.ndarray:
    """Unweighted score residuals per row (R ``residuals(fit, "score")``; Efron or Breslow)."""
    eta_c, r, j, frac, meanwt, den, xbar = _pieces(rs, X, beta, offset, ties)
    m, p = rs.m, X.shape[1]
    dlam = meanwt / den  # hazard increment per sub-step (relative to exp(eta_c))
    A = np.bincount(j, weights=dlam, minlength=m)
    B = np.zeros((m, p))
    np.add.at(B, j, xbar * dlam[:, None])
    # Efron: the dying rows carry (1 - k/d) of the risk at their own time
    A_d = np.bincount(j, weights=(1 - frac) * dlam, minlength=m)
    B_d = np.zeros((m, p))
    np.add.at(B_d, j, xbar * ((1 - frac) * dlam)[:, None])
    if ties == "breslow":
        xbar_mean = xbar  # one sub-step per key
    else:
        xbar_mean = np.zeros((m, p))
        np.add.at(xbar_mean, j, xbar)
        xbar_mean /= np.where(rs.d > 0, rs.d, 1.0)[:, None]
    ex = np.exp(eta_c)
    resid = -(ex[:, None] * (X * rs.cum_over_rows(A)[:, None] - rs.cum_over_rows(B)))
    dr, jt = rs.death_rows, rs.death_time
    resid[dr] += ex[dr, None] * (X[dr] * (A[jt] - A_d[jt])[:, None] - (B[jt] - B_d[jt]))
    resid[dr] += X[dr] - xbar_mean[jt]
    return resid


def _solve(I, U):
    try:
        return np.linalg.solve(I, U)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(I, U, rcond=None)[0]


def newton(evaluate, p: int, max_iter: int = 50, tol: float = 1e-12):
    """Newton-Raphson with step halving on ``evaluate(beta) -> (loglik, score, information)`` from 0.

    Returns (beta, loglik, information, iterations, converged, (loglik, score, information) at 0).
    A trial step that overflows (non-finite log-likelihood, e.g. towards an infinite coefficient) is
    halved, so floating-point warnings of those trial evaluations are silenced."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _newton(evaluate, p, max_iter, tol)


def _newton(evaluate, p: int, max_iter: int, tol: float):
    beta = np.zeros(p)
    ll, U, I = evaluate(beta)
    at_zero = (ll, U, I)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        step = _solve(I, U)
        new = beta + step
        ll_new, U_new, I_new = evaluate(new)
        halvings = 0
        while (not np.isfinite(ll_new) or ll_new < ll - 1e-12 * abs(ll)) and halvings < 30:
            step = step / 2
            new = beta + step
            ll_new, U_new, I_new = evaluate(new)
            halvings += 1
        if not (np.isfinite(ll_new) and np.all(np.isfinite(I_new))):
            break  # monotone likelihood: keep the last finite iterate
        change = abs(ll_new - ll)
        beta, ll, U, I = new, ll_new, U_new, I_new
        if np.max(np.abs(step), initial=0.0) < tol or change <= 1e-15 * max(1.0, abs(ll)):
            converged = True
            break
    return beta, ll, U, I, it, converged, at_zero


def cox_arrays(start, stop, event, X, *, strata=None, weights=None, offset=None, ties: str = "efron",
               cluster=None, robust: bool = False, freq=None, max_iter: int = 50, tol: float = 1e-12) -> CoxFit:
    """Fit the Cox model to arrays: ``start`` (None = right-censored), ``stop``, ``event`` (0/1), ``X``
    (rows x p, no intercept), optional ``strata`` codes, case ``weights``, ``offset``, ``cluster`` labels
    (robust variance by cluster) or ``robust`` (each row its own cluster). ``freq``: integer row
    multiplicities (a row standing for that many identical patients, e.g. aggregated counts): the fit,
    model variance and Efron tie counts equal those of the expanded rows; ``weights`` must already
    include them. No robust variance with ``freq`` (it needs the individual rows)."""
    if freq is not None and (cluster is not None or robust):
        raise ValueError("freq (aggregated rows) and a robust variance cannot be combined")
    X = np.asarray(X, float)
    X = X[:, None] if X.ndim == 1 else X
    n, p = X.shape
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    off = np.zeros(n) if offset is None else np.asarray(offset, float)
    rs = RiskSets(start, stop, event, strata, w)
    if freq is not None:
        rs.weighted(w, freq)
    Xc = X - X.mean(axis=0) if n else X  # centring (as R) changes nothing but rounding
    need_rows = cluster is not None or robust
    patterns = covariate_patterns(Xc, MAX_GROUPS) if n and p and not need_rows and offset is None else None
    if patterns is not None:
        evaluate = _PatternSums(rs, *patterns, ties).loglik_score_info
    else:
        def evaluate(b):
            return _loglik_score_info(rs, Xc, b, off, ties)
    beta, ll, U, I, it, converged, (ll0, U0, I0) = newton(evaluate, p, max_iter, tol)
    if not (np.all(np.isfinite(I)) and np.all(np.isfinite(beta))):
        raise FloatingPointError("Cox fit failed (non-finite information matrix; extreme weights?)")
    var = np.linalg.pinv(I) if p else np.zeros((0, 0))
    with np.errstate(all="ignore"):
        score_test = float(U0 @ _solve(I0, U0)) if p else np.nan
        last_step = np.abs(var @ U) if p else np.zeros(0)
    rvar = None
    if need_rows:
        dfb = (score_residuals(rs, Xc, beta, off, ties) * w[:, None]) @ var
        if cluster is not None:
            codes = np.unique(np.asarray(cluster), return_inverse=True)[1].ravel()
            agg = np.zeros((codes.max() + 1 if len(codes) else 0, p))
            np.add.at(agg, codes, dfb)
            dfb = agg
        rvar = dfb.T @ dfb
    return CoxFit(beta, var, rvar, float(ll), float(ll0), score_test, float(rs.wd.sum()), n, it, converged,
                  last_step)


class CoxRefit:
    """Refits of a Cox model with discrete covariates (at most ``MAX_GROUPS`` patterns) to fixed
    (start, stop, event, X) rows under changing weights, e.g. bootstrap frequencies times weights:
    the index structure is built once; each :meth:`fit` costs a few cumulative sums."""

    def __init__(self, start, stop, event, X, ties: str = "efron", max_iter: int = 50, tol: float = 1e-12):
        X = np.asarray(X, float)
        X = X[:, None] if X.ndim == 1 else X
        self.X = X - X.mean(axis=0) if len(X) else X
        patterns = covariate_patterns(self.X, MAX_GROUPS)
        if patterns is None:
            raise ValueError(f"CoxRefit needs at most {MAX_GROUPS} distinct covariate patterns")
        self.xg, self.codes = patterns
        self.rs = RiskSets(start, stop, event)
        self.ties, self.max_iter, self.tol = ties, max_iter, tol

    def fit(self, weights, freq=None) -> tuple[np.ndarray, bool]:
        """(coefficients, converged) under case weights ``weights`` (including multiplicities) and Efron
        tie counts from ``freq`` (row multiplicities; None = 1). Not converged: e.g. a monotone likelihood
        (no event in a group), the coefficient drifting towards infinity."""
        rs = self.rs.weighted(weights, freq)
        sums = _PatternSums(rs, self.xg, self.codes, self.ties)
        beta, ll, U, I, it, converged, _ = newton(sums.loglik_score_info, self.X.shape[1], self.max_iter, self.tol)
        if not (np.all(np.isfinite(I)) and np.all(np.isfinite(beta))):
            raise FloatingPointError("Cox fit failed (non-finite information matrix; extreme weights?)")
        return beta, bool(converged)

    def coef(self, weights, freq=None) -> np.ndarray:
        """Coefficients of :meth:`fit`."""
        return self.fit(weights, freq)[0]

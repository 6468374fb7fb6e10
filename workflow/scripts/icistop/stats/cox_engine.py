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

No Python loop over subjects or event times: risk-set sums come from per-bin sums (``np.bincount`` of each
row at its event-time bin) and a reverse cumulative sum over the bins; the Efron sub-steps are vectorised.
The information matrix is never formed per event time: sum_t a_t S2(t) = X' diag(r A) X with A_i the sum
of a_t over the event times at which row i is at risk (a cumulative-sum difference), so a fit costs
O(n p^2) time and O(n p) memory per Newton step. Discrete
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
import pandas as pd

NOT_CONVERGED = "the Cox model did not converge to finite estimates (monotone likelihood)"
# distinct covariate rows up to which the pattern-sum shortcut is used (a Newton step then costs
# O(keys x patterns + deaths x p^2) instead of O(rows x p^2); e.g. a 9-level factor split at 2 cuts has 25)
MAX_GROUPS = 64
FLAT_STEP = 1e-3  # a last Newton step this large with an unchanged log-likelihood: a monotone likelihood


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
        return self.usable_for(range(len(self.coef)))

    def usable_for(self, terms) -> bool:
        """As :attr:`usable` for the coefficients ``terms`` (indices) only: a nuisance covariate whose
        coefficient drifts towards infinity (R: "coefficient may be infinite") leaves the others estimable,
        as R reports them."""
        terms = np.asarray(list(terms), int)
        return bool(self.converged and np.all(np.isfinite(self.coef)) and not self.infinite[terms].any())

    @property
    def infinite(self) -> np.ndarray:
        """Per coefficient: drifting towards infinity (last Newton step not at most FLAT_STEP, or model
        variance not finite and positive)."""
        with np.errstate(invalid="ignore"):
            d = np.diag(self.var)
        return ~(self.last_step <= FLAT_STEP) | ~(np.isfinite(d) & (d > 0))

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


def _ranks(sorted_values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """np.searchsorted(sorted_values, x), searching only the distinct values of x (times repeat a lot)."""
    codes, distinct = pd.factorize(x, use_na_sentinel=False)
    return np.searchsorted(sorted_values, distinct).astype(np.int64)[codes]


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
        uniq = np.unique(np.concatenate([pd.unique(start[finite]), pd.unique(stop)]))  # distinct times, sorted
        span = len(uniq) + 2
        off = codes * span
        self.stop_key = _ranks(uniq, stop) + 1 + off
        self.start_key = np.where(finite, _ranks(uniq, np.where(finite, start, 0.0)) + 1, 0) + off
        self.death_rows = np.flatnonzero(self.event)
        self.death_time, self.keys = pd.factorize(self.stop_key[self.death_rows], sort=True)
        self.m = len(self.keys)
        # row at risk at event key j iff bin_start <= j < bin_stop (bin = number of event keys <= the row's key)
        top = int(max(self.stop_key.max(), self.start_key.max())) + 1 if n else 0
        if top <= 4 * n + 1024:  # a table of the number of event keys <= k, for every key k
            at_most = np.cumsum(np.bincount(self.keys, minlength=top))
            self.bin_stop, self.bin_start = at_most[self.stop_key], at_most[self.start_key]
        else:
            self.bin_stop = np.searchsorted(self.keys, self.stop_key, side="right")
            self.bin_start = np.searchsorted(self.keys, self.start_key, side="right")
        self.late_entry = bool(finite.any() or (n and codes.min() != codes.max()))
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

    def risk_sums(self, r: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Columns (r, r x_1, ..., r x_p) summed over the rows at risk at each event key (keys x (1 + p))."""
        per_bin = _bin_columns(self.bin_stop, r, X, self.m + 1)
        if self.late_entry:  # rows entering after a key are not at risk there
            per_bin -= _bin_columns(self.bin_start, r, X, self.m + 1)
        return np.cumsum(per_bin[::-1], axis=0)[::-1][1:]

    def death_sums(self, r: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Columns (r, r x_1, ..., r x_p) summed over the deaths at each event key (keys x (1 + p))."""
        dr = self.death_rows
        return _bin_columns(self.death_time, r[dr], X[dr], self.m)

    def cum_over_rows(self, per_time: np.ndarray) -> np.ndarray:
        """For each row, the sum of ``per_time`` over the event keys at which it is at risk."""
        zero = np.zeros((1,) + per_time.shape[1:])
        c = np.concatenate([zero, np.cumsum(per_time, axis=0)])
        return c[self.bin_stop] - c[self.bin_start]


def _bin_columns(bins: np.ndarray, r: np.ndarray, X: np.ndarray, size: int) -> np.ndarray:
    """Per-bin sums of r and of r * X[:, k] (size x (1 + p)), one bincount per column (no rows x p temporary)."""
    out = np.empty((size, 1 + X.shape[1]))
    out[:, 0] = np.bincount(bins, weights=r, minlength=size)
    for k in range(X.shape[1]):
        out[:, k + 1] = np.bincount(bins, weights=r * X[:, k], minlength=size)
    return out


def _gram(X: np.ndarray, v: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
    """X' diag(v) X, summed over row chunks (no rows x p temporary)."""
    p = X.shape[1]
    out = np.zeros((p, p))
    for s in range(0, len(X), chunk):
        xs = X[s:s + chunk]
        out += (xs.T * v[s:s + chunk]) @ xs
    return (out + out.T) / 2


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
    S, D = rs.risk_sums(r, X), rs.death_sums(r, X)
    j, frac, meanwt = _substeps(rs, ties)
    den = S[j, 0] - frac * D[j, 0]
    xbar = (S[j, 1:] - frac[:, None] * D[j, 1:]) / den[:, None]
    return eta_c, r, j, frac, meanwt, den, xbar


def _info_weights(m: int, j, frac, meanwt, den):
    """Per event key a = sum of meanwt / den and b = sum of meanwt * frac / den over its sub-steps: the
    information is sum_j a_j S2[j] - b_j D2[j] - sum over sub-steps of meanwt xbar xbar'."""
    return (np.bincount(j, weights=meanwt / den, minlength=m),
            np.bincount(j, weights=meanwt * frac / den, minlength=m))


def _loglik_score_info(rs: RiskSets, X, beta, offset, ties):
    eta_c, r, j, frac, meanwt, den, xbar = _pieces(rs, X, beta, offset, ties)
    dr = rs.death_rows
    wdeath = rs.w[dr]
    ll = float(np.sum(wdeath * eta_c[dr]) - np.sum(meanwt * np.log(den)))
    U = (wdeath[:, None] * X[dr]).sum(0) - (meanwt[:, None] * xbar).sum(0)
    a, b = _info_weights(rs.m, j, frac, meanwt, den)
    # sum_j a_j S2[j] = X' diag(r A) X, A_i = sum of a_j over the keys at which row i is at risk
    info = _gram(X, r * rs.cum_over_rows(a)) - _gram(X[dr], r[dr] * b[rs.death_time]) - _gram(xbar, meanwt)
    return ll, U, info


def _loglik(rs: RiskSets, X, beta, offset, ties) -> float:
    """The log-likelihood of :func:`_loglik_score_info` alone, by the same operations on the risk-weight column
    only (no covariate sums, no information): the trial steps of the step halving."""
    eta = X @ beta + offset
    eta_c = eta - eta.max() if len(eta) else eta
    r = rs.w * np.exp(eta_c)
    none = X[:, :0]
    S0, D0 = rs.risk_sums(r, none)[:, 0], rs.death_sums(r, none)[:, 0]
    j, frac, meanwt = _substeps(rs, ties)
    den = S0[j] - frac * D0[j]
    dr = rs.death_rows
    return float(np.sum(rs.w[dr] * eta_c[dr]) - np.sum(meanwt * np.log(den)))


def covariate_patterns(X: np.ndarray, max_groups: int):
    """(patterns G x p, code per row) when X has at most ``max_groups`` distinct rows, else None.
    Column-wise codes combined in mixed radix, renumbered when the radix product grows (np.unique(axis=0)
    is slow on long arrays)."""
    code = np.zeros(len(X), np.int64)
    size = 1
    for col in X.T:
        c, levels = pd.factorize(col, sort=True)  # = np.unique(col, return_inverse=True), by hashing
        if len(levels) > max_groups:
            return None
        if size * len(levels) > max_groups ** 2:
            # renumber the combinations present so far by rank (order kept, so the final codes are the same)
            code, present = pd.factorize(code, sort=True)
            size = len(present)
            if size > max_groups:
                return None
        size *= len(levels)
        code = code * len(levels) + c
    codes, used = pd.factorize(code, sort=True)
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
        self.m = m

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
        a, b = _info_weights(self.m, j, frac, meanwt, den)
        # sum_j a_j S2[j] - b_j D2[j] = xg' diag(a Se - b De) xg
        info = _gram(xg, a @ Se - b @ De) - _gram(xbar, meanwt)
        return ll, U, info


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


def newton(evaluate, p: int, max_iter: int = 50, tol: float = 1e-12, loglik=None):
    """Newton-Raphson with step halving on ``evaluate(beta) -> (loglik, score, information)`` from 0.
    ``loglik(beta)``: optional cheaper log-likelihood alone (the same value) for the trial steps; the score and
    information are then evaluated once per accepted step.

    Returns (beta, loglik, score, information, iterations, converged, (loglik, score, information) at 0,
    the last step taken).
    A trial step that overflows (non-finite log-likelihood, e.g. towards an infinite coefficient) is
    halved, so floating-point warnings of those trial evaluations are silenced."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _newton(evaluate, p, max_iter, tol, loglik)


def _newton(evaluate, p: int, max_iter: int, tol: float, loglik=None):
    beta = np.zeros(p)
    ll, U, I = evaluate(beta)
    at_zero = (ll, U, I)
    converged = False
    it = 0
    taken = np.zeros(p)
    full = None  # the full evaluation of the last trial step, when ``loglik`` is not given

    def trial(b):
        nonlocal full
        if loglik is not None:
            return loglik(b)
        full = evaluate(b)
        return full[0]

    for it in range(1, max_iter + 1):
        step = _solve(I, U)
        new = beta + step
        full = None
        ll_new = trial(new)
        halvings = 0
        while (not np.isfinite(ll_new) or ll_new < ll - 1e-12 * abs(ll)) and halvings < 30:
            step = step / 2
            new = beta + step
            ll_new = trial(new)
            halvings += 1
        if not np.isfinite(ll_new):
            break  # monotone likelihood: keep the last finite iterate
        ll_new, U_new, I_new = full if full is not None else evaluate(new)
        if not (np.isfinite(ll_new) and np.all(np.isfinite(I_new))):
            break  # monotone likelihood: keep the last finite iterate
        change = abs(ll_new - ll)
        beta, ll, U, I, taken = new, ll_new, U_new, I_new, step
        if np.max(np.abs(step), initial=0.0) < tol or change <= 1e-15 * max(1.0, abs(ll)):
            converged = True
            break
    return beta, ll, U, I, it, converged, at_zero, taken


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
    trial = None if patterns is not None else (lambda b: _loglik(rs, Xc, b, off, ties))
    beta, ll, U, I, it, converged, (ll0, U0, I0), taken = newton(evaluate, p, max_iter, tol, loglik=trial)
    if not (np.all(np.isfinite(I)) and np.all(np.isfinite(beta))):
        raise FloatingPointError("Cox fit failed (non-finite information matrix; extreme weights?)")
    var = np.linalg.pinv(I) if p else np.zeros((0, 0))
    with np.errstate(all="ignore"):
        score_test = float(U0 @ _solve(I0, U0)) if p else np.nan
        last_step = np.abs(var @ U) if p else np.zeros(0)
    # a coefficient that still moved by more than FLAT_STEP in the last iteration, although the log-likelihood no
    # longer changed, lies on a flat ridge (monotone likelihood); there the information is ~0 and var @ U is lost in
    # rounding, so the step taken stands for the Newton step at the estimate
    last_step = np.where(np.abs(taken) > FLAT_STEP, np.maximum(last_step, np.abs(taken)), last_step)
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
        beta, ll, U, I, it, converged, *_ = newton(sums.loglik_score_info, self.X.shape[1], self.max_iter, self.tol)
        if not (np.all(np.isfinite(I)) and np.all(np.isfinite(beta))):
            raise FloatingPointError("Cox fit failed (non-finite information matrix; extreme weights?)")
        return beta, bool(converged)

    def coef(self, weights, freq=None) -> np.ndarray:
        """Coefficients of :meth:`fit`."""
        return self.fit(weights, freq)[0]

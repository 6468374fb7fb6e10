"""Proportional-hazards test of R ``cox.zph`` (survival >= 3.0): the exact score test.

Estimand: gamma in the extended Cox model h(t | x) = h_s(t) exp(x'beta + g(t) x'gamma), g a transform of
time centred at its mean over the deaths; H0 (proportional hazards) is gamma = 0. Test (Therneau, survival
>= 3.0): score test at (beta_hat, 0), i.e. one Newton step of the extended model from the fitted Cox model,
T = u' I^{-1} u with u = (0, U_gamma) and the full 2p x 2p information of (beta, gamma):
  U_gamma = sum over deaths of w_i g(t_i) (x_i - xbar(t_i)),
  I = sum over deaths of w_i [[V, g V], [g V, g^2 V]](t_i),
xbar and V the weighted mean and variance of x over the risk set (Breslow: the whole risk set; Efron: the
average over the d tied-death sub-steps with the deaths down-weighted by 0, 1/d, ..., (d-1)/d). Per term
(the columns of one covariate; a k-level categorical covariate is one term with k-1 df, R ``terms=TRUE``)
and GLOBAL (all p columns, p df); chi-square p-values. Not the Grambsch-Therneau (1994) approximation
(scaled Schoenfeld residuals with the model variance) of survival < 3.0 and lifelines.

Transforms (as R, of each row's stop time, all rows pooled, strata and case weights ignored):
``km`` 1 - S(t-) of the unweighted Kaplan-Meier (delayed entry for (start, stop] rows), ``identity``,
``rank`` (average ranks of all rows' stop times), ``log``. Right-censored or counting-process (start, stop]
rows, strata, case weights, Efron or Breslow ties.

Computation: per stratum (Python loops only over strata and columns, none over rows or deaths), risk-set
sums of w exp(x'beta) (1, x) by a reverse cumulative sum over event-time bins; the second moments are never
formed per event time:
sum_t a_t S2(t) = X' diag(r A) X, A_i = sum of a_t over the event times at which row i is at risk
(a cumulative sum difference). O(n p^2 + n log n).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import chi2, rankdata

from icistop.stats.km import _km_core

TRANSFORMS = ("km", "identity", "rank", "log")


def time_transform(stop, event, kind: str = "km", start=None) -> np.ndarray:
    """g(t) for every row (R cox.zph ``ttimes``, before centring at the mean over the deaths)."""
    stop = np.asarray(stop, float)
    if kind == "identity":
        return stop.copy()
    if kind == "log":
        with np.errstate(divide="ignore"):
            return np.log(stop)
    if kind == "rank":
        return rankdata(stop, method="average")
    if kind != "km":
        raise ValueError(f"transform {kind!r}: use one of {TRANSFORMS}")
    entry = np.full(len(stop), -np.inf) if start is None else np.asarray(start, float)
    km = _km_core(entry, stop, np.asarray(event, float), np.ones(len(stop)), "greenwood")
    before = np.searchsorted(km["time"], stop, side="left")  # number of KM times < t: S(t-)
    return 1.0 - np.concatenate([[1.0], km["surv"]])[before]


def _bin_sums(idx, F, size) -> np.ndarray:
    """Column sums of F (n x k) by bin index."""
    return np.column_stack([np.bincount(idx, weights=F[:, j], minlength=size) for j in range(F.shape[1])])


def _stratum_sums(start, stop, event, Xc, w, eta, g, ties: str, with_g: bool) -> dict:
    """Log partial likelihood, score for beta and gamma, information blocks M_m = sum over death
    sub-steps of c g^m V (m = 0, 1, 2; only m = 0 without ``with_g``) for the rows of one stratum."""
    n, p = Xc.shape
    dead = np.flatnonzero(event == 1)
    out = dict(loglik=0.0, u=np.zeros(p), ug=np.zeros(p), M=[np.zeros((p, p)) for _ in range(3)])
    if not len(dead):
        return out
    etimes, jd = np.unique(stop[dead], return_inverse=True)
    nt = len(etimes)
    shift = eta.max()
    r = w * np.exp(eta - shift)
    F = np.column_stack([r, r[:, None] * Xc])
    # row i is at risk at event time j (start < t_j <= stop) iff lo_i <= j < hi_i
    hi = np.searchsorted(etimes, stop, side="right")
    per_bin = _bin_sums(hi, F, nt + 1)
    lo = None
    if start is not None:
        lo = np.searchsorted(etimes, start, side="right")
        per_bin -= _bin_sums(lo, F, nt + 1)
    S = np.cumsum(per_bin[::-1], axis=0)[::-1][1:]          # S[j] = sum over bins > j
    d = np.bincount(jd, minlength=nt)
    wD = np.bincount(jd, weights=w[dead], minlength=nt)
    D = _bin_sums(jd, F[dead], nt)
    if ties == "efron":
        js = np.repeat(np.arange(nt), d)
        frac = (np.arange(len(dead)) - np.repeat(np.cumsum(d) - d, d)) / d[js]
        c = (wD / d)[js]
    elif ties == "breslow":
        js, frac, c = np.arange(nt), np.zeros(nt), wD
    else:
        raise ValueError("ties must be efron or breslow")
    den = S[js, 0] - frac * D[js, 0]
    xbar = (S[js, 1:] - frac[:, None] * D[js, 1:]) / den[:, None]
    Xd, wd = Xc[dead], w[dead]
    out["loglik"] = float(wd @ (eta[dead] - shift) - c @ np.log(den))
    out["u"] = wd @ Xd - c @ xbar
    gt = np.zeros(nt)
    gt[jd] = g[dead]
    gs = gt[js]
    out["ug"] = (wd * g[dead]) @ Xd - (c * gs) @ xbar
    a = c / den
    for m in range(3 if with_g else 1):
        gm = gs ** m
        A = np.concatenate([[0.0], np.cumsum(np.bincount(js, weights=a * gm, minlength=nt))])
        B = np.bincount(js, weights=a * frac * gm, minlength=nt)
        Arow = A[hi] - (A[lo] if lo is not None else 0.0)
        out["M"][m] = ((Xc * (r * Arow)[:, None]).T @ Xc - (Xd * (r[dead] * B[jd])[:, None]).T @ Xd
                       - (xbar * (c * gm)[:, None]).T @ xbar)
    return out


class _ZphData:
    """Validated arrays, globally centred X (as R) and row indices per stratum."""

    def __init__(self, stop, event, X, start=None, strata=None, weights=None):
        self.stop = np.asarray(stop, float)
        n = len(self.stop)
        self.event = np.asarray(event, float)
        self.X = np.asarray(X, float).reshape(n, -1)
        self.start = None if start is None else np.asarray(start, float)
        self.w = np.ones(n) if weights is None else np.asarray(weights, float)
        arrays = [self.stop, self.event, self.X, self.w] + ([self.start] if self.start is not None else [])
        if not all(np.isfinite(a).all() for a in arrays):
            raise ValueError("cox_zph: missing or non-finite values (drop incomplete rows first)")
        codes = np.zeros(n, np.int64) if strata is None else pd.factorize(pd.Series(np.asarray(strata)), sort=True)[0]
        order = np.argsort(codes, kind="stable")
        bounds = np.flatnonzero(np.diff(codes[order])) + 1
        self.groups = np.split(order, bounds) if n else []
        self.Xc = self.X - self.X.mean(axis=0) if n else self.X

    def sums(self, beta, g=None, ties="efron") -> dict:
        p = self.X.shape[1]
        eta = self.Xc @ beta
        gg = np.zeros(len(self.stop)) if g is None else g
        tot = dict(loglik=0.0, u=np.zeros(p), ug=np.zeros(p), M=[np.zeros((p, p)) for _ in range(3)])
        for rows in self.groups:
            part = _stratum_sums(None if self.start is None else self.start[rows], self.stop[rows],
                                 self.event[rows], self.Xc[rows], self.w[rows], eta[rows], gg[rows], ties,
                                 with_g=g is not None)
            tot["loglik"] += part["loglik"]
            tot["u"] += part["u"]
            tot["ug"] += part["ug"]
            tot["M"] = [a + b for a, b in zip(tot["M"], part["M"])]
        return tot


def cox_fit_beta(data: _ZphData, ties: str = "efron", max_iter: int = 50, tol: float = 1e-12) -> np.ndarray:
    """Maximum partial likelihood beta (Newton-Raphson with step halving) on the same risk-set sums."""
    beta = np.zeros(data.X.shape[1])
    cur = data.sums(beta, ties=ties)
    for _ in range(max_iter):
        step = np.linalg.solve(cur["M"][0], cur["u"])
        for _halving in range(30):
            new = data.sums(beta + step, ties=ties)
            if np.isfinite(new["loglik"]) and new["loglik"] >= cur["loglik"] - 1e-12 * abs(cur["loglik"]):
                break
            step = step / 2
        beta, cur = beta + step, new
        if np.max(np.abs(step), initial=0.0) < tol:
            break
    return beta


def cox_zph(stop, event, X, beta=None, *, start=None, strata=None, weights=None, ties: str = "efron",
            transform: str = "km", terms: dict | None = None, global_test: bool = True) -> pd.DataFrame:
    """R ``cox.zph(fit, transform, terms)`` for the Cox model of ``event`` at ``stop`` (entry ``start`` for
    (start, stop] rows) on the columns of ``X`` (DataFrame or array), ``strata`` labels, case ``weights``.

    ``beta``: the fitted coefficients (None: fitted here with the same ``ties``). ``terms``: {term: [column
    names or positions]} (R ``terms=TRUE``: one entry per covariate); None: one term per column (``terms=FALSE``).
    Returns term, statistic, df, p; a last row "GLOBAL" when ``global_test``.
    """
    names = list(X.columns) if isinstance(X, pd.DataFrame) else [f"x{j + 1}" for j in range(np.shape(X)[1])]
    data = _ZphData(stop, event, X, start, strata, weights)
    p = data.X.shape[1]
    if terms is None:
        terms = {c: [c] for c in names}
    pos = {c: j for j, c in enumerate(names)}
    idx = {t: [pos[c] if c in pos else int(c) for c in cols] for t, cols in terms.items()}
    beta = cox_fit_beta(data, ties) if beta is None else np.asarray(beta, float)
    ttimes = time_transform(data.stop, data.event, transform, data.start)
    dead = data.event == 1
    if not np.isfinite(ttimes[dead]).all():  # R: "system is computationally singular"
        raise ValueError(f"transform {transform!r}: non-finite g(t) at an event time (log of a time <= 0)")
    g = ttimes - (ttimes[dead].mean() if dead.any() else 0.0)
    s = data.sums(beta, g=g, ties=ties)
    M0, M1, M2 = s["M"]
    imat = np.block([[M0, M1], [M1.T, M2]])
    u = np.concatenate([np.zeros(p), s["ug"]])
    rows = [(t, np.concatenate([np.arange(p), p + np.asarray(j, int)]), len(j)) for t, j in idx.items()]
    if global_test:
        rows.append(("GLOBAL", np.arange(2 * p), p))
    out = []
    for term, kk, df in rows:
        try:
            stat = float(u[kk] @ np.linalg.solve(imat[np.ix_(kk, kk)], u[kk]))
        except np.linalg.LinAlgError:
            stat = np.nan
        out.append(dict(term=term, statistic=stat, df=df, p=float(chi2.sf(stat, df)) if np.isfinite(stat) else np.nan))
    return pd.DataFrame(out, columns=["term", "statistic", "df", "p"])

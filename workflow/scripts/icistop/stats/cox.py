"""Cox proportional-hazards models reproducing R ``coxph`` (Efron ties).

Estimand: log hazard ratios beta in h(t | x, stratum) = h_s(t) exp(x'beta), by maximum partial
likelihood with Efron's tie correction (R's weighted form: the tied-death term is multiplied by the
mean case weight of the tied deaths). Two engines give the same estimates (tests check both against R):
- ``"lifelines"``: lifelines ``CoxPHFitter`` (right-censored data; ``LIFELINES_FIT_OPTIONS``: precision
  1e-12, because lifelines' Newton-decrement stopping rule at precision 1e-9 stops ~1e-6 short);
- ``"efron"``: own vectorised Newton-Raphson (right-censored or counting-process (start, stop] rows,
  strata, case weights; sort once, cumulative sums over risk sets, ~1 s for 10^5 subjects).
``engine="auto"`` uses lifelines for right-censored data without robust variance, else "efron".

Variance: model-based inverse information (``se``) and, when ``robust`` (R default: non-integer
weights or a cluster), the infinitesimal-jackknife sandwich V (sum_c u_c u_c') V from weighted Efron
score residuals summed by cluster (each row its own cluster by default), as R ``coxph(..., robust=TRUE)``
/ ``cluster()``. CIs and p-values (Wald, normal) use the robust SE when it is computed (as R).

PH check (:func:`ph_test`): R ``cox.zph`` of survival >= 3.0, the exact score test of g(t) x
interactions per term and GLOBAL (own vectorised code in :mod:`icistop.stats.coxzph`, equal to R to ~1e-12,
tests/test_coxzph.py); the ``test`` column names it. Fallback for non-proportional hazards
(:func:`time_split_hr`): HRs within time intervals from episode splitting and covariate-by-interval terms.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import chi2, norm

from icistop.stats.coxzph import cox_zph
from icistop.stats.km import group_levels

PH_TEST_NAME = "cox.zph score test (R survival >= 3.0; Efron ties, time transform {tt})"

# lifelines stops when norm(step) < precision OR the Newton decrement g'H^-1 g / 2 < precision OR the
# relative log-likelihood change < r_precision. With the decrement rule, precision=1e-9 left
# coefficients up to 3.4e-6 from the maximum (tie-heavy oracle case); 1e-12 gives ~1e-12.
LIFELINES_FIT_OPTIONS = {"precision": 1e-12, "r_precision": 1e-14}

TABLE_COLUMNS = ["term", "coef", "se", "se_robust", "hr", "lower", "upper", "z", "p", "se_type"]


# ----------------------------------------------------------------------------------------------
# design matrix
# ----------------------------------------------------------------------------------------------
def design_matrix(df: pd.DataFrame, covariates: list[str], categorical: dict | None = None,
                  ) -> tuple[pd.DataFrame, dict]:
    """Numeric design matrix: numeric covariates as is, categorical ones as 0/1 dummies.

    ``categorical`` maps column -> reference level (None: first level in R factor order). Dummy
    columns are named ``"col=level"`` for each non-reference level (R treatment contrasts).
    Returns (X, info) where info maps each categorical column to (reference, [levels]).
    """
    categorical = dict(categorical or {})
    cols = {}
    info = {}
    for c in covariates:
        if c in categorical:
            levels = group_levels(df[c])
            ref = categorical[c] if categorical[c] is not None else levels[0]
            if ref not in levels:
                raise ValueError(f"reference level {ref!r} not present in {c!r} (levels {levels})")
            others = [lv for lv in levels if lv != ref]
            info[c] = (ref, [ref] + others)
            for lv in others:
                cols[f"{c}={lv}"] = (df[c] == lv).astype(float).to_numpy()
        else:
            cols[c] = df[c].to_numpy(dtype=float)
    return pd.DataFrame(cols, index=df.index), info


# ----------------------------------------------------------------------------------------------
# own Efron engine
# ----------------------------------------------------------------------------------------------
class _EfronData:
    """Sorted index structures for risk sets of (start, stop] rows within strata."""

    def __init__(self, start, stop, event, X, strata_codes, w):
        n = len(stop)
        self.X = np.asarray(X, dtype=float).reshape(n, -1)
        self.center = self.X.mean(axis=0) if n else np.zeros(self.X.shape[1])
        self.Xc = self.X - self.center
        self.w = np.asarray(w, dtype=float)
        self.event = np.asarray(event, dtype=float)
        finite = np.isfinite(start)
        uniq = np.unique(np.concatenate([start[finite], stop]))
        span = len(uniq) + 2
        skey = np.where(finite, np.searchsorted(uniq, np.where(finite, start, 0.0)) + 1, 0)
        xkey = np.searchsorted(uniq, stop) + 1
        off = np.asarray(strata_codes, dtype=np.int64) * span
        self.start_key = skey.astype(np.int64) + off
        self.stop_key = xkey.astype(np.int64) + off
        dead = self.event == 1
        self.etimes, dead_t = np.unique(self.stop_key[dead], return_inverse=True)
        self.dead_rows = np.flatnonzero(dead)
        self.dead_t = dead_t
        nt = len(self.etimes)
        self.m = np.bincount(dead_t, minlength=nt).astype(float)
        self.wD = np.bincount(dead_t, weights=self.w[dead], minlength=nt)
        # row r is at risk at event time j (start < t_j <= stop, same stratum) iff
        # bin_start[r] <= j < bin_stop[r], bin = number of event keys <= the row's key
        bin_stop = np.searchsorted(self.etimes, self.stop_key, side="right")
        bin_start = np.searchsorted(self.etimes, self.start_key, side="right")
        # without entry times and with one stratum nobody enters late: skip the entry subtraction
        self.right_censored = not finite.any() and len(np.unique(strata_codes)) <= 1
        rows = np.arange(n)
        self.death_bins = sparse.csr_matrix((np.ones(len(self.dead_rows)), (self.dead_t, self.dead_rows)),
                                            shape=(nt, n))
        if self.right_censored:
            self.bins = sparse.csr_matrix((np.ones(n), (bin_stop, rows)), shape=(nt + 1, n))
        else:
            self.bins = sparse.csr_matrix((np.concatenate([np.ones(n), -np.ones(n)]),
                                           (np.concatenate([bin_stop, bin_start]), np.concatenate([rows, rows]))),
                                          shape=(nt + 1, n))

    def _risk_sums(self, f):
        """Sum of f over rows at risk at each event time (start < t <= stop): per-bin sums (one
        sparse product, no sort or copy of the rows) and a reverse cumulative sum over the bins."""
        per_bin = self.bins @ f
        return np.cumsum(per_bin[::-1], axis=0)[::-1][1:]

    def evaluate(self, beta, second: bool = True, residual_parts: bool = False):
        """Efron log partial likelihood, score, information at beta (centred covariates)."""
        Xc, w = self.Xc, self.w
        n, p = Xc.shape
        eta = Xc @ beta
        shift = eta.max() if n else 0.0
        r = np.exp(eta - shift)
        wr = w * r
        nt = len(self.etimes)
        parts = [wr[:, None], wr[:, None] * Xc]
        iu = np.triu_indices(p)
        if second:  # upper triangle of x x' only (symmetric)
            parts.append(wr[:, None] * Xc[:, iu[0]] * Xc[:, iu[1]])
        f = np.concatenate(parts, axis=1)
        risk = self._risk_sums(f)
        dead = self.dead_rows
        fd = self.death_bins @ f
        s0, s1 = risk[:, 0], risk[:, 1:1 + p]
        d0, d1 = fd[:, 0], fd[:, 1:1 + p]
        if second:
            s2, d2 = np.zeros((nt, p, p)), np.zeros((nt, p, p))
            s2[:, iu[0], iu[1]] = risk[:, 1 + p:]
            d2[:, iu[0], iu[1]] = fd[:, 1 + p:]
            s2[:, iu[1], iu[0]] = risk[:, 1 + p:]
            d2[:, iu[1], iu[0]] = fd[:, 1 + p:]
        meanwt = self.wD / self.m
        loglik = float(np.sum(w[dead] * (eta[dead] - shift)))
        score = np.sum((w[dead])[:, None] * Xc[dead], axis=0)
        info = np.zeros((p, p))
        if residual_parts:
            H, HX = np.zeros(nt), np.zeros((nt, p))
            H2, HX2, XBM = np.zeros(nt), np.zeros((nt, p)), np.zeros((nt, p))
        mmax = int(self.m.max()) if nt else 0
        for k in range(mmax):
            act = np.flatnonzero(self.m > k)
            frac = k / self.m[act]
            den = s0[act] - frac * d0[act]
            num1 = s1[act] - frac[:, None] * d1[act]
            mw = meanwt[act]
            loglik -= float(np.sum(mw * np.log(den)))
            xbar = num1 / den[:, None]
            score -= np.sum(mw[:, None] * xbar, axis=0)
            if second:
                num2 = s2[act] - frac[:, None, None] * d2[act]
                info += np.einsum("t,tij->ij", mw / den, num2) - np.einsum("t,ti,tj->ij", mw, xbar, xbar)
            if residual_parts:
                haz = mw / den
                H[act] += haz
                HX[act] += haz[:, None] * xbar
                H2[act] += (1 - frac) * haz
                HX2[act] += ((1 - frac) * haz)[:, None] * xbar
                XBM[act] += xbar / self.m[act][:, None]
        out = dict(loglik=loglik, score=score, info=info)
        if residual_parts:
            out.update(r=r, H=H, HX=HX, H2=H2, HX2=HX2, XBM=XBM)
        return out

    def score_residuals(self, beta):
        """Per-row Efron score residuals (derivative of the score w.r.t. the row's case weight)."""
        ev = self.evaluate(beta, second=False, residual_parts=True)
        Xc, r = self.Xc, ev["r"]
        nt = len(self.etimes)
        cH = np.concatenate([[0.0], np.cumsum(ev["H"])])
        cHX = np.concatenate([np.zeros((1, Xc.shape[1])), np.cumsum(ev["HX"], axis=0)])
        hi = np.searchsorted(self.etimes, self.stop_key, side="right")
        lo = np.searchsorted(self.etimes, self.start_key, side="right")
        sumH = cH[hi] - cH[lo]
        sumHX = cHX[hi] - cHX[lo]
        resid = -r[:, None] * (Xc * sumH[:, None] - sumHX)
        d, t = self.dead_rows, self.dead_t
        if nt:
            xd = Xc[d]
            resid[d] += r[d][:, None] * (xd * ev["H"][t][:, None] - ev["HX"][t])
            resid[d] -= r[d][:, None] * (xd * ev["H2"][t][:, None] - ev["HX2"][t])
            resid[d] += xd - ev["XBM"][t]
        return resid


def efron_fit(start, stop, event, X, strata=None, weights=None, max_iter: int = 50,
              tol: float = 1e-12) -> dict:
    """Newton-Raphson (with step halving) for the Efron partial likelihood.

    Arrays: start (use -inf / None for right-censored), stop, event (0/1), X (n x p), strata codes,
    weights. Returns dict(beta, var (inverse information), loglik, loglik0, score_test, iterations,
    converged, data (the index structure, for residuals)).
    """
    stop = np.asarray(stop, dtype=float)
    n = len(stop)
    start = np.full(n, -np.inf) if start is None else np.asarray(start, dtype=float)
    strata = np.zeros(n, dtype=np.int64) if strata is None else np.asarray(strata)
    weights = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    data = _EfronData(start, stop, np.asarray(event, dtype=float), X, strata, weights)
    p = data.X.shape[1]
    beta = np.zeros(p)
    cur = data.evaluate(beta)
    loglik0 = cur["loglik"]
    try:
        u0 = np.linalg.solve(cur["info"], cur["score"])
        score_test = float(cur["score"] @ u0)
    except np.linalg.LinAlgError:
        score_test = np.nan
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        step = np.linalg.solve(cur["info"], cur["score"])
        new_beta = beta + step
        new = data.evaluate(new_beta)
        halvings = 0
        while not np.isfinite(new["loglik"]) or new["loglik"] < cur["loglik"] - 1e-12 * abs(cur["loglik"]):
            halvings += 1
            if halvings > 30:
                break
            step = step / 2
            new_beta = beta + step
            new = data.evaluate(new_beta)
        change = abs(new["loglik"] - cur["loglik"])
        beta, cur = new_beta, new
        if np.max(np.abs(step)) < tol or change <= 1e-15 * max(1.0, abs(cur["loglik"])):
            converged = True
            break
    var = np.linalg.inv(cur["info"]) if p else np.zeros((0, 0))
    return dict(beta=beta, var=var, loglik=cur["loglik"], loglik0=loglik0, score_test=score_test,
                iterations=it, converged=converged, data=data)


def robust_variance(data: _EfronData, beta, var, cluster=None) -> np.ndarray:
    """Sandwich V (sum_c u_c u_c') V with u_c = sum over rows in c of w_i * score residual_i (R dfbeta)."""
    resid = data.score_residuals(beta) * data.w[:, None]
    dfb = resid @ var
    if cluster is not None:
        codes = pd.factorize(pd.Series(cluster), sort=True)[0]
        agg = np.zeros((codes.max() + 1, dfb.shape[1]))
        np.add.at(agg, codes, dfb)
        dfb = agg
    return dfb.T @ dfb


# ----------------------------------------------------------------------------------------------
# public wrapper
# ----------------------------------------------------------------------------------------------
@dataclass
class CoxResult:
    table: pd.DataFrame          # term, coef, se, se_robust, hr, lower, upper, z, p, se_type
    counts: pd.DataFrame         # covariate, level, n, events (categorical covariates)
    n: int                       # rows used
    n_events: float
    loglik: float
    loglik_null: float
    lrt_chisq: float
    lrt_df: int
    lrt_p: float
    score_chisq: float
    vcov: np.ndarray             # the variance used for CIs (robust when computed)
    vcov_model: np.ndarray
    engine: str
    design_columns: list
    converged: bool
    model: object = field(default=None, repr=False)   # lifelines CoxPHFitter (lifelines engine)
    notes: list = field(default_factory=list)         # convergence / infinite-coefficient warnings
    fit_data: pd.DataFrame = field(default=None, repr=False)  # design + outcome columns used


def _strata_codes(df, strata):
    if strata is None:
        return None
    cols = [strata] if isinstance(strata, str) else list(strata)
    return df[cols].astype(str).agg("\x1f".join, axis=1).factorize(sort=True)[0]


def cox_fit(df: pd.DataFrame, time: str, event: str, covariates: list[str], *,
            categorical: dict | None = None, strata: str | list[str] | None = None,
            weights: str | None = None, entry: str | None = None, cluster: str | None = None,
            robust: bool | str = "auto", engine: str = "auto", conf_level: float = 0.95) -> CoxResult:
    """Cox model, Efron ties. ``entry`` makes (entry, time] counting-process rows (time-varying
    covariates, left truncation): R ``coxph(Surv(entry, time, event) ~ ...)``.

    Rows with missing values in the used columns are dropped (complete cases, as R na.omit).
    ``categorical``: {column: reference level or None}. ``robust="auto"``: True when ``cluster`` is
    given or any weight is non-integer (R's default).
    Returns :class:`CoxResult`; ``table`` has one row per design column with coef, se (model),
    se_robust (NaN unless robust), hr = exp(coef), CI limits (lower, upper on the HR scale), z, p and
    se_type ("model"/"robust", the one used for CI and p).
    """
    strata_cols = [] if strata is None else ([strata] if isinstance(strata, str) else list(strata))
    used = [time, event, *covariates, *strata_cols] + [c for c in (weights, entry, cluster) if c]
    data = df.dropna(subset=used).copy()
    X, info = design_matrix(data, covariates, categorical)
    w = np.ones(len(data)) if weights is None else data[weights].to_numpy(float)
    if robust == "auto":
        robust = cluster is not None or not np.all(w == np.floor(w))
    if engine == "auto":
        engine = "lifelines" if (entry is None and not robust) else "efron"
    if engine == "lifelines" and entry is not None:
        raise ValueError("lifelines engine: right-censored data only; use engine='efron'")
    scodes = _strata_codes(data, strata)
    start = None if entry is None else data[entry].to_numpy(float)
    stop = data[time].to_numpy(float)
    status = data[event].to_numpy(float)
    if entry is not None and not np.all(start < stop):
        raise ValueError("entry must be < time on every row")
    model = None
    fit = efron_fit(start, stop, status, X.to_numpy(), scodes, w) if engine == "efron" else None
    if engine == "lifelines":
        from lifelines import CoxPHFitter
        frame = X.copy()
        frame["_T"], frame["_E"] = stop, status
        kw = {}
        if weights is not None:
            frame["_W"] = w
            kw["weights_col"] = "_W"
        if scodes is not None:
            frame["_S"] = scodes
            kw["strata"] = ["_S"]
        model = CoxPHFitter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(frame, "_T", "_E", robust=False, fit_options=dict(LIFELINES_FIT_OPTIONS), **kw)
        beta = model.params_.reindex(X.columns).to_numpy()
        vmodel = model.variance_matrix_.loc[X.columns, X.columns].to_numpy()
        loglik = float(model.log_likelihood_)
        # null log-likelihood and score test from the own engine (identical definitions)
        null = efron_fit(None, stop, status, X.to_numpy(), scodes, w, max_iter=0)
        loglik0, score_chisq = null["loglik0"], null["score_test"]
        converged = True
        data_struct = null["data"]
    else:
        beta, vmodel, loglik = fit["beta"], fit["var"], fit["loglik"]
        loglik0, score_chisq, converged = fit["loglik0"], fit["score_test"], fit["converged"]
        data_struct = fit["data"]
    se = np.sqrt(np.diag(vmodel))
    notes = [] if converged else ["Newton-Raphson did not converge"]
    # R coxph's check for a monotone likelihood: the Newton step at the estimate is not ~0
    with np.errstate(all="ignore"):
        last_step = np.abs(vmodel @ data_struct.evaluate(beta, second=False)["score"]) if len(beta) else []
    for term, st, b in zip(X.columns, last_step, beta):
        if st > 1e-9 and st > np.sqrt(1e-9) * abs(b):
            notes.append(f"{term}: log-likelihood converged before the coefficient; it may be infinite")
    if robust:
        cl = None if cluster is None else data[cluster].to_numpy()
        vrob = robust_variance(data_struct, beta, vmodel, cl)
        se_rob = np.sqrt(np.diag(vrob))
        vuse, se_use, se_type = vrob, se_rob, "robust"
    else:
        se_rob = np.full(len(beta), np.nan)
        vuse, se_use, se_type = vmodel, se, "model"
    z = norm.ppf(1 - (1 - conf_level) / 2)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        table = pd.DataFrame(dict(term=list(X.columns), coef=beta, se=se, se_robust=se_rob, hr=np.exp(beta),
                                  lower=np.exp(beta - z * se_use), upper=np.exp(beta + z * se_use),
                                  z=beta / se_use, p=2 * norm.sf(np.abs(beta / se_use)), se_type=se_type))
    counts = []
    for c, (ref, levels) in info.items():
        for lv in levels:
            m = (data[c] == lv).to_numpy()
            counts.append(dict(covariate=c, level=lv, reference=lv == ref, n=int(m.sum()),
                               events=float(status[m].sum())))
    counts = pd.DataFrame(counts, columns=["covariate", "level", "reference", "n", "events"])
    lrt = 2 * (loglik - loglik0)
    k = len(beta)
    if engine == "lifelines":
        fit_data = frame
    else:
        fit_data = X.assign(_T=stop, _E=status)
        if weights is not None:
            fit_data["_W"] = w
        if scodes is not None:
            fit_data["_S"] = scodes
        if entry is not None:
            fit_data["_S0"] = start
    return CoxResult(table=table[TABLE_COLUMNS], counts=counts, n=len(data), n_events=float(status.sum()),
                     loglik=loglik, loglik_null=loglik0, lrt_chisq=lrt, lrt_df=k,
                     lrt_p=float(chi2.sf(lrt, k)) if k else np.nan, score_chisq=score_chisq,
                     vcov=vuse, vcov_model=vmodel, engine=engine, design_columns=list(X.columns),
                     converged=converged, model=model, fit_data=fit_data, notes=notes)


# ----------------------------------------------------------------------------------------------
# proportional hazards
# ----------------------------------------------------------------------------------------------
def ph_terms(result: CoxResult) -> dict:
    """Design columns per model term: a categorical covariate's dummies ("col=level") form one term."""
    cats = set(result.counts["covariate"]) if len(result.counts) else set()
    terms: dict = {}
    for col in result.design_columns:
        head = col.split("=", 1)[0]
        terms.setdefault(head if "=" in col and head in cats else col, []).append(col)
    return terms


def ph_test(result: CoxResult, time_transform: str = "km", alpha: float = 0.05, terms: bool = True
            ) -> pd.DataFrame:
    """PH test of R ``cox.zph(fit, transform=time_transform, terms=terms)`` (survival >= 3.0) for a fitted
    model (right-censored or (entry, time] rows, strata, case weights; Efron ties as the fit): the exact
    score test of gamma = 0 in h_s(t) exp(x'beta + g(t) x'gamma) at (beta_hat, 0), per term (a categorical
    covariate is one term with k-1 df; ``terms=False``: per design column) and GLOBAL (all columns).
    See :mod:`icistop.stats.coxzph`. Columns: term, statistic, df, p, ph_violated (p < alpha), test.
    """
    fd = result.fit_data
    cols = list(result.design_columns)
    beta = result.table.set_index("term").loc[cols, "coef"].to_numpy(float)
    out = cox_zph(fd["_T"], fd["_E"], fd[cols], beta, start=fd["_S0"] if "_S0" in fd else None,
                  strata=fd["_S"] if "_S" in fd else None, weights=fd["_W"] if "_W" in fd else None,
                  ties="efron", transform=time_transform, terms=ph_terms(result) if terms else None)
    out["ph_violated"] = out["p"] < alpha
    out["test"] = PH_TEST_NAME.format(tt=time_transform)
    return out


def split_episodes(df: pd.DataFrame, time: str, event: str, cuts, entry: str | None = None,
                   interval_col: str = "interval") -> pd.DataFrame:
    """Split each row at the cut points into (start, stop] episodes (R ``survSplit``).

    Without ``entry`` episodes start at 0 (at -inf if some time is <= 0, so that such rows keep
    their place in the risk sets). Adds columns ``_start``, ``_stop``, ``_event`` (event only on
    the last episode) and
    ``interval`` (index 0.. of the [cut_k, cut_{k+1}) interval) plus ``interval_label``.
    """
    cuts = np.sort(np.asarray(cuts, dtype=float))
    edges = np.concatenate([[-np.inf], cuts, [np.inf]])
    stop = df[time].to_numpy(float)
    if entry is None:
        # time origin 0; -inf when some times are <= 0 so that every row keeps its first episode
        start = np.full(len(df), 0.0 if np.all(stop > 0) else -np.inf)
    else:
        start = df[entry].to_numpy(float)
    status = df[event].to_numpy(float)
    pieces = []
    for k in range(len(edges) - 1):
        lo, hi = edges[k], edges[k + 1]
        s = np.maximum(start, lo)
        e = np.minimum(stop, hi)
        keep = e > s
        part = df.loc[keep].copy()
        part["_start"], part["_stop"] = s[keep], e[keep]
        part["_event"] = np.where(stop[keep] <= hi, status[keep], 0.0)
        part[interval_col] = k
        left = "0" if k == 0 else f"{lo:g}"
        part[interval_col + "_label"] = f"({left},{hi:g}]" if np.isfinite(hi) else f"({left},inf)"
        pieces.append(part)
    return pd.concat(pieces).sort_index(kind="stable")


def time_split_hr(df: pd.DataFrame, time: str, event: str, covariates: list[str], split_terms: list[str],
                  cuts=(12.0, 24.0), *, categorical: dict | None = None, strata=None,
                  weights: str | None = None, entry: str | None = None, cluster: str | None = None,
                  conf_level: float = 0.95) -> pd.DataFrame:
    """Hazard ratios within time intervals (fallback when PH fails), by episode splitting.

    Rows are split at ``cuts``; every design column of the covariates in ``split_terms`` is replaced by
    one column per interval (column x 1{episode in interval}); other covariates keep one common HR.
    Fit by the Efron engine on (start, stop] episodes (R: ``survSplit`` + ``coxph(Surv(tstart, tstop,
    event) ~ x:strata(interval) + ...)``). Columns: term, interval, interval_label, events, coef, se,
    se_robust, hr, lower, upper, z, p, se_type.
    """
    strata_cols = [] if strata is None else ([strata] if isinstance(strata, str) else list(strata))
    used = [time, event, *covariates, *strata_cols] + [c for c in (weights, entry, cluster) if c]
    data = df.dropna(subset=used).reset_index(drop=True)
    X, _ = design_matrix(data, covariates, categorical)
    split_cols = [c for c in X.columns if c.split("=")[0] in split_terms]
    frame = pd.concat([data, X.add_prefix("_x_")], axis=1)
    ep = split_episodes(frame, time, event, cuts, entry=entry)
    design = {}
    labels = ep.drop_duplicates("interval").set_index("interval")["interval_label"].to_dict()
    for c in X.columns:
        if c in split_cols:
            for k in sorted(labels):
                design[f"{c}@{k}"] = ep["_x_" + c].to_numpy() * (ep["interval"].to_numpy() == k)
        else:
            design[c] = ep["_x_" + c].to_numpy()
    des = pd.DataFrame(design, index=ep.index)
    des = des.loc[:, des.abs().sum() > 0]
    work = pd.concat([ep[["_start", "_stop", "_event", "interval"] + strata_cols +
                         [c for c in (weights, cluster) if c]], des], axis=1)
    if cluster is None and weights is not None:
        work["_id"] = ep.index  # episodes of one subject form a cluster for the robust variance
        cl = "_id"
    else:
        cl = cluster
    res = cox_fit(work, "_stop", "_event", list(des.columns), strata=strata, weights=weights,
                  entry="_start", cluster=cl, engine="efron", conf_level=conf_level)
    tab = res.table.copy()
    parts = tab["term"].str.split("@", expand=True)
    if parts.shape[1] == 1:
        parts[1] = None
    tab["interval"] = pd.to_numeric(parts[1], errors="coerce")
    tab["term"] = parts[0]
    tab["interval_label"] = tab["interval"].map(labels)
    ev = work.groupby("interval")["_event"].sum()
    tab["events"] = tab["interval"].map(ev)
    tab = tab[tab["term"].isin(split_cols)]
    return tab[["term", "interval", "interval_label", "events", "coef", "se", "se_robust", "hr", "lower",
                "upper", "z", "p", "se_type"]].reset_index(drop=True)


def ph_check(df: pd.DataFrame, time: str, event: str, covariates: list[str], *, cuts=(12.0, 24.0),
             alpha: float = 0.05, time_transform: str = "km", categorical: dict | None = None,
             strata=None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """PH test (R ``cox.zph``, per term and GLOBAL) and, for the covariates whose term fails (p < alpha;
    the GLOBAL row alone triggers nothing), time-split HRs. Returns (ph_table, split_table or None).
    """
    res = cox_fit(df, time, event, covariates, categorical=categorical, strata=strata, engine="efron")
    tab = ph_test(res, time_transform=time_transform, alpha=alpha)
    failing = sorted(set(tab.loc[tab["ph_violated"] & (tab["term"] != "GLOBAL"), "term"]))
    if not failing:
        return tab, None
    split = time_split_hr(df, time, event, covariates, failing, cuts, categorical=categorical, strata=strata)
    return tab, split

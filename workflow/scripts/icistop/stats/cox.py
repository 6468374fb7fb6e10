"""Cox proportional-hazards models from a data frame, reproducing R ``coxph``.

Estimand: log hazard ratios beta in h(t | x, stratum) = h_s(t) exp(x'beta), by maximum partial
likelihood with Efron's tie correction (R's weighted form). :func:`cox_fit` builds the design matrix
(treatment contrasts for categorical covariates, R's naming ``col=level``), drops incomplete rows and
fits with the package's one Cox engine (:mod:`icistop.stats.cox_engine`: right-censored or (entry, time]
rows, strata, case weights). ``engine="lifelines"`` refits with lifelines ``CoxPHFitter`` instead, for
cross-checks in the tests only (``LIFELINES_FIT_OPTIONS``: precision 1e-12, because lifelines'
Newton-decrement stopping rule at precision 1e-9 stops ~1e-6 short).

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
from scipy.stats import chi2, norm

from icistop.stats.cox_engine import cox_arrays
from icistop.stats.coxzph import cox_zph
from icistop.stats.km import group_levels, strata_codes

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
    names, fills = [], []  # column names and how to fill each (one float block, no consolidation copy)
    info = {}
    for c in covariates:
        if c in categorical:
            levels = group_levels(df[c])
            ref = categorical[c] if categorical[c] is not None else levels[0]
            if ref not in levels:
                raise ValueError(f"reference level {ref!r} not present in {c!r} (levels {levels})")
            others = [lv for lv in levels if lv != ref]
            info[c] = (ref, [ref] + others)
            codes, uniques = pd.factorize(df[c])  # compare integer codes, not the (string) values, per level
            position = {v: k for k, v in enumerate(uniques)}
            for lv in others:
                names.append(f"{c}={lv}")
                fills.append((codes, position[lv]))
        else:
            names.append(c)
            fills.append((df[c], None))
    X = np.empty((len(df), len(names)))
    for k, (values, code) in enumerate(fills):
        X[:, k] = values.to_numpy(dtype=float) if code is None else (values == code)
    return pd.DataFrame(X, index=df.index, columns=names), info


def _complete_rows(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The rows of ``df[columns]`` without missing values (as ``dropna``, without a copy when none is missing)."""
    data = df[columns]
    keep = data.notna().all(axis=1).to_numpy()
    return data if keep.all() else data[keep]


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


def cox_fit(df: pd.DataFrame, time: str, event: str, covariates: list[str], *,
            categorical: dict | None = None, strata: str | list[str] | None = None,
            weights: str | None = None, entry: str | None = None, cluster: str | None = None,
            robust: bool | str = "auto", engine: str = "efron", conf_level: float = 0.95,
            freq: str | None = None, ties: str = "efron") -> CoxResult:
    """Cox model, Efron ties (``ties="breslow"``: Breslow's). ``entry`` makes (entry, time] counting-process rows (time-varying
    covariates, left truncation): R ``coxph(Surv(entry, time, event) ~ ...)``.

    Rows with missing values in the used columns are dropped (complete cases, as R na.omit).
    ``categorical``: {column: reference level or None}. ``robust="auto"``: True when ``cluster`` is
    given or any weight is non-integer (R's default). ``freq``: a column of integer row multiplicities
    (aggregated data: each row stands for that many patients with the same time, status and covariates);
    every result equals that of the expanded rows (model variance; no robust variance).
    Returns :class:`CoxResult`; ``table`` has one row per design column with coef, se (model),
    se_robust (NaN unless robust), hr = exp(coef), CI limits (lower, upper on the HR scale), z, p and
    se_type ("model"/"robust", the one used for CI and p).
    """
    strata_cols = [] if strata is None else ([strata] if isinstance(strata, str) else list(strata))
    used = list(dict.fromkeys([time, event, *covariates, *strata_cols]
                              + [c for c in (weights, entry, cluster, freq) if c]))
    data = _complete_rows(df, used)  # only the used columns: no copy of the others
    mult = None
    if freq is not None:
        data = data[data[freq] > 0]
        mult = data[freq].to_numpy(float)
        if not np.all(mult == np.floor(mult)):
            raise ValueError(f"frequency column {freq!r} must hold whole numbers")
        if engine != "efron":
            raise ValueError("freq needs the package's engine (engine='efron')")
    X, info = design_matrix(data, covariates, categorical)
    w = np.ones(len(data)) if weights is None else data[weights].to_numpy(float)
    if mult is not None:
        w = w * mult
    if robust == "auto":
        robust = cluster is not None or not np.all(w == np.floor(w))
    if engine not in ("efron", "lifelines"):
        raise ValueError("engine must be 'efron' (the package's engine) or 'lifelines' (cross-check only)")
    if engine == "lifelines" and (entry is not None or robust or ties != "efron"):
        raise ValueError("lifelines engine: right-censored data without robust variance only; use engine='efron'")
    scodes = strata_codes(data, strata)
    start = None if entry is None else data[entry].to_numpy(float)
    stop = data[time].to_numpy(float)
    status = data[event].to_numpy(float)
    if entry is not None and not np.all(start < stop):
        raise ValueError("entry must be < time on every row")
    cl = None if cluster is None else data[cluster].to_numpy()
    fit = cox_arrays(start, stop, status, X.to_numpy(), strata=scodes, weights=w, cluster=cl, robust=bool(robust),
                     freq=mult, ties=ties)
    model = None
    beta, vmodel, loglik, converged = fit.coef, fit.var, fit.loglik, fit.converged
    if engine == "lifelines":  # an independent implementation, for cross-checks in the tests
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
        loglik, converged = float(model.log_likelihood_), True
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diag(vmodel))
    notes = [] if converged else ["Newton-Raphson did not converge"]
    # R coxph's check for a monotone likelihood: the Newton step at the estimate is not ~0
    for term, st, b in zip(X.columns, fit.last_step, beta):
        if st > 1e-9 and st > np.sqrt(1e-9) * abs(b):
            notes.append(f"{term}: log-likelihood converged before the coefficient; it may be infinite")
    if robust:
        vrob = fit.robust_var
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
    f = np.ones(len(data)) if mult is None else mult
    counts = []
    for c, (ref, levels) in info.items():
        codes, uniques = pd.factorize(data[c])
        position = {v: k for k, v in enumerate(uniques)}
        for lv in levels:
            m = codes == position[lv]
            counts.append(dict(covariate=c, level=lv, reference=lv == ref, n=int(f[m].sum()),
                               events=float((status * f)[m].sum())))
    counts = pd.DataFrame(counts, columns=["covariate", "level", "reference", "n", "events"])
    loglik0, score_chisq = fit.loglik0, fit.score_test
    lrt = 2 * (loglik - loglik0)
    k = len(beta)
    if engine == "lifelines":
        fit_data = frame
    else:
        extra = {"_T": stop, "_E": status, "_W": None if weights is None else w, "_S": scodes, "_S0": start}
        Xv = X.to_numpy()
        fit_data = pd.DataFrame({**{c: Xv[:, k] for k, c in enumerate(X.columns)},  # views of X: no copy
                                 **{k: v for k, v in extra.items() if v is not None}}, index=X.index, copy=False)
    return CoxResult(table=table[TABLE_COLUMNS], counts=counts, n=int(f.sum()), n_events=float((status * f).sum()),
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
    pieces = []
    for k, keep, s, e, ev, label in _interval_pieces(df, time, event, cuts, entry):
        part = df.loc[keep].copy()
        part["_start"], part["_stop"], part["_event"] = s, e, ev
        part[interval_col] = k
        part[interval_col + "_label"] = label
        pieces.append(part)
    return pd.concat(pieces).sort_index(kind="stable")


def _interval_pieces(df: pd.DataFrame, time: str, event: str, cuts, entry: str | None = None):
    """Per interval k of the cuts: (k, rows kept (mask), episode start, stop, event, label), as
    :func:`split_episodes`."""
    cuts = np.sort(np.asarray(cuts, dtype=float))
    edges = np.concatenate([[-np.inf], cuts, [np.inf]])
    stop = df[time].to_numpy(float)
    if entry is None:
        # time origin 0; -inf when some times are <= 0 so that every row keeps its first episode
        start = np.full(len(df), 0.0 if np.all(stop > 0) else -np.inf)
    else:
        start = df[entry].to_numpy(float)
    status = df[event].to_numpy(float)
    for k in range(len(edges) - 1):
        lo, hi = edges[k], edges[k + 1]
        s = np.maximum(start, lo)
        e = np.minimum(stop, hi)
        keep = e > s
        left = "0" if k == 0 else f"{lo:g}"
        yield (k, keep, s[keep], e[keep], np.where(stop[keep] <= hi, status[keep], 0.0),
               f"({left},{hi:g}]" if np.isfinite(hi) else f"({left},inf)")


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
    used = list(dict.fromkeys([time, event, *covariates, *strata_cols] + [c for c in (weights, entry, cluster) if c]))
    data = _complete_rows(df, used).reset_index(drop=True)
    X, _ = design_matrix(data, covariates, categorical)
    split_cols = [c for c in X.columns if c.split("=")[0] in split_terms]
    # episodes as arrays (as split_episodes: per row, its intervals in order), without copying data frames
    pieces = list(_interval_pieces(data, time, event, cuts, entry))
    labels = {k: label for k, keep, *_, label in pieces if keep.any()}
    rows = np.concatenate([np.flatnonzero(keep) for _, keep, *_ in pieces])
    order = np.argsort(rows, kind="stable")
    rows = rows[order]
    interval = np.concatenate([np.full(keep.sum(), k) for k, keep, *_ in pieces])[order]
    columns = {name: np.concatenate([piece[j] for piece in pieces])[order]
               for j, name in ((2, "_start"), (3, "_stop"), (4, "_event"))}
    columns["interval"] = interval
    for c in strata_cols + [c for c in (weights, cluster) if c]:
        columns[c] = data[c].iloc[rows].to_numpy()
    if cluster is None and weights is not None:
        columns["_id"] = rows  # episodes of one subject form a cluster for the robust variance
        cl = "_id"
    else:
        cl = cluster
    Xv = X.to_numpy()
    design = []
    for j, c in enumerate(X.columns):
        x = Xv[rows, j]
        if c in split_cols:
            design += [(f"{c}@{k}", x * (interval == k)) for k in sorted(labels)]
        else:
            design.append((c, x))
    design = [(name, x) for name, x in design if np.abs(x).sum() > 0]
    work = pd.DataFrame({**columns, **dict(design)}, copy=False)
    res = cox_fit(work, "_stop", "_event", [name for name, _ in design], strata=strata, weights=weights,
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

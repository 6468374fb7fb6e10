"""Biomarkers of recurrence after stopping ICI without progression (question 3).

Cohort: ``in_stop_cohort``; time origin the stop date; endpoint stop PFS (``stop_pfs_time``,
``stop_pfs_event``; ``stop_pfs_cause`` 1 = progression, 2 = death without progression).

Unknown marker values (configured ``unknown_values`` plus a marker's own ``unknown`` list, and
missing values) are excluded marker by marker and counted; nothing is imputed. A marker whose
known values are all missing or form a single level is skipped with its reason in ``status`` /
``note``. Markers are binary, categorical (treatment coding against ``reference``) or continuous
(analysed continuously on the ``transform`` scale divided by ``scale``; restricted cubic splines and
a maximally selected log-rank cut-point are sensitivity analyses).

Analyses:
- horizon (Simmons-style): recurrence by ``horizon.months`` after the stop vs each marker by
  Fisher's exact test (R fisher.test conventions) with the conditional MLE odds ratio;
- univariable Cox per marker (Efron ties) with HR, CI and events/n per level, the Wald p per level,
  the marker's likelihood-ratio test (the one p per marker, Benjamini-Hochberg q across markers)
  and the k-sample log-rank test for categorical markers;
- a multivariable Cox model with prespecified covariates (complete cases) with drop-one LR tests;
- competing risks (cumulative incidence of progression, death as competing event) for the top
  markers; discrimination (Harrell's C, IPCW AUC at a horizon, bootstrap optimism) and calibration
  of the multivariable model; outcomes of re-challenge after progression.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from icistop.stats import discrimination as disc
from icistop.stats.fisher import RxcTooLarge, fisher_test
from icistop.stats.maxstat import maxstat_logrank
from icistop.stats.multiplicity import p_adjust
from icistop.stats.splines import harrell_knots, rcs_basis

MARKER_TYPES = ("binary", "categorical", "continuous")
TRANSFORMS = ("none", "log", "log2", "log2p1", "log1p")
RESERVED = ("patient_id", "time", "event", "cause")


# ----------------------------------------------------------------------------- marker specifications
@dataclass(frozen=True)
class MarkerSpec:
    name: str
    column: str
    type: str
    reference: str | None = None
    levels: tuple = ()
    unknown: tuple = ()
    recode: dict = field(default_factory=dict)
    transform: str = "none"
    scale: float = 1.0
    unit: str = ""
    label: str = ""

    @property
    def display(self) -> str:
        return self.label or self.name

    def per_unit(self) -> str:
        """Human-readable unit of a continuous marker's HR."""
        if self.unit:
            return self.unit
        if self.transform == "log2p1":
            return f"per doubling of ({self.column} + 1)"
        if self.transform == "log2":
            return f"per doubling of {self.column}"
        if self.transform in ("log", "log1p"):
            return f"per e-fold increase of {self.column}" + (" + 1" if self.transform == "log1p" else "")
        return f"per {self.scale:g} units" if self.scale != 1 else "per unit"


def marker_specs(cfg: dict) -> list[MarkerSpec]:
    """Marker specifications from the ``biomarkers`` config section (validated here too)."""
    specs = []
    seen = set()
    for m in cfg["markers"]:
        name = m["name"]
        if name in seen:
            raise ValueError(f"duplicate marker name {name!r}")
        if name in RESERVED:
            raise ValueError(f"marker name {name!r} is reserved")
        seen.add(name)
        mtype = m["type"]
        if mtype not in MARKER_TYPES:
            raise ValueError(f"marker {name}: type must be one of {MARKER_TYPES}")
        transform = m.get("transform") or "none"
        if transform not in TRANSFORMS:
            raise ValueError(f"marker {name}: transform must be one of {TRANSFORMS}")
        specs.append(MarkerSpec(
            name=name, column=m.get("column", name), type=mtype,
            reference=None if m.get("reference") is None else str(m["reference"]),
            levels=tuple(str(v) for v in (m.get("levels") or ())),
            unknown=tuple(str(v) for v in (m.get("unknown") or ())),
            recode={str(k): str(v) for k, v in (m.get("recode") or {}).items()},
            transform=transform, scale=float(m.get("scale", 1.0) or 1.0),
            unit=m.get("unit", "") or "", label=m.get("label", "") or "",
        ))
    return specs


def transform_values(x: pd.Series, spec: MarkerSpec) -> pd.Series:
    """Analysis scale of a continuous marker: transform(x) / scale."""
    x = pd.to_numeric(x, errors="coerce").astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if spec.transform == "log":
            y = np.log(x.where(x > 0))
        elif spec.transform == "log2":
            y = np.log2(x.where(x > 0))
        elif spec.transform == "log2p1":
            y = np.log2(x.where(x > -1) + 1)
        elif spec.transform == "log1p":
            y = np.log1p(x.where(x > -1))
        else:
            y = x
    return y / spec.scale


# ----------------------------------------------------------------------------- data preparation
def derive_ctdna_at_stop(endpoints: pd.DataFrame, ctdna: pd.DataFrame | None,
                         lookback_months: float | None = None) -> pd.Series:
    """Last ctDNA result on or before the stop date (times in months from course-1 start;
    the stop is at ``time_on_ici`` for stopped patients), optionally within ``lookback_months``.
    NaN for patients without a stop or without a qualifying result."""
    out = pd.Series(np.nan, index=endpoints.index, dtype=object)
    if ctdna is None or ctdna.empty:
        return out
    stop = endpoints.set_index("patient_id")["time_on_ici"].where(endpoints.set_index("patient_id")["stopped"].astype(bool))
    c = ctdna.dropna(subset=["time", "result"]).copy()
    c["stop"] = c["patient_id"].map(stop)
    keep = c["time"] <= c["stop"] + 1e-9
    if lookback_months is not None:
        keep &= c["time"] >= c["stop"] - lookback_months - 1e-9
    c = c[keep].sort_values(["patient_id", "time"], kind="stable")
    last = c.groupby("patient_id", sort=False)["result"].last()
    return endpoints["patient_id"].map(last).astype(object)


def _clean_categorical(x: pd.Series, spec: MarkerSpec, unknown_values) -> pd.Series:
    def norm(v):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            return np.nan
        if isinstance(v, (bool, np.bool_)):
            s = "yes" if v else "no"
        elif isinstance(v, (float, np.floating)) and float(v).is_integer():
            s = str(int(v))
        else:
            s = str(v).strip()
        s = spec.recode.get(s, s)
        if s in unknown_values or s in spec.unknown:
            return np.nan
        return s

    return x.map(norm).astype(object)


def prepare_analysis_data(endpoints: pd.DataFrame, ctdna: pd.DataFrame | None, cfg: dict
                          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per stop-cohort patient with time, event, cause and one cleaned column per marker
    (categorical: string levels, unknown -> NaN; continuous: original scale, NaN when unknown),
    and a per-marker inventory (counts per level, unknown, status/note)."""
    specs = marker_specs(cfg)
    unknown_values = set(str(v) for v in cfg.get("unknown_values", ["unknown"]))
    ep = endpoints.copy()
    if any(s.column == "ctdna_at_stop" for s in specs) and "ctdna_at_stop" not in ep.columns:
        ep["ctdna_at_stop"] = derive_ctdna_at_stop(ep, ctdna, cfg.get("ctdna", {}).get("lookback_months"))
    cohort = ep[ep["in_stop_cohort"].fillna(False).astype(bool)].copy()
    data = pd.DataFrame({
        "patient_id": cohort["patient_id"].to_numpy(),
        "time": pd.to_numeric(cohort["stop_pfs_time"], errors="coerce").to_numpy(dtype=float),
        "event": pd.to_numeric(cohort["stop_pfs_event"], errors="coerce").to_numpy(dtype=float),
        "cause": pd.to_numeric(cohort["stop_pfs_cause"], errors="coerce").to_numpy(dtype=float),
    })
    inventory = []
    for spec in specs:
        if spec.column not in cohort.columns:
            data[spec.name] = np.nan
            inventory.append({"marker": spec.name, "type": spec.type, "level": "", "n": 0,
                              "n_unknown": len(cohort), "status": "skipped",
                              "note": f"column {spec.column!r} not in the endpoints table"})
            continue
        raw = cohort[spec.column].reset_index(drop=True)
        if spec.type == "continuous":
            vals = raw.map(lambda v: np.nan if (isinstance(v, str) and (v.strip() in unknown_values or v.strip() in spec.unknown)) else v)
            vals = pd.to_numeric(vals, errors="coerce").astype(float)
            data[spec.name] = vals.to_numpy()
            n_known = int(vals.notna().sum())
            tx = transform_values(vals, spec)
            status, note = "ok", ""
            if n_known == 0:
                status, note = "skipped", "all values unknown"
            elif tx.notna().sum() < n_known:
                note = f"{n_known - int(tx.notna().sum())} values outside the domain of transform {spec.transform}"
            if status == "ok" and tx.dropna().nunique() < 2:
                status, note = "skipped", "a single distinct value"
            inventory.append({"marker": spec.name, "type": spec.type, "level": "(continuous)", "n": n_known,
                              "n_unknown": int(len(vals) - n_known), "median": float(vals.median()) if n_known else math.nan,
                              "q1": float(vals.quantile(0.25)) if n_known else math.nan,
                              "q3": float(vals.quantile(0.75)) if n_known else math.nan,
                              "status": status, "note": note})
        else:
            vals = _clean_categorical(raw, spec, unknown_values)
            data[spec.name] = vals.to_numpy()
            counts = vals.value_counts(dropna=True)
            n_unknown = int(vals.isna().sum())
            status, note = _categorical_status(spec, counts)
            if counts.empty:
                inventory.append({"marker": spec.name, "type": spec.type, "level": "", "n": 0,
                                  "n_unknown": n_unknown, "status": status, "note": note})
            for level in _level_order(spec, counts):
                inventory.append({"marker": spec.name, "type": spec.type, "level": level,
                                  "is_reference": level == _reference(spec, counts),
                                  "n": int(counts.get(level, 0)), "n_unknown": n_unknown,
                                  "status": status, "note": note})
    inv = pd.DataFrame(inventory)
    return data, inv


def _reference(spec: MarkerSpec, counts: pd.Series) -> str | None:
    if counts.empty:
        return None
    if spec.reference is not None and spec.reference in counts.index and counts[spec.reference] > 0:
        return spec.reference
    # most frequent level, ties broken alphabetically (deterministic)
    top = counts.max()
    return sorted(str(v) for v in counts.index[counts == top])[0]


def _level_order(spec: MarkerSpec, counts: pd.Series) -> list[str]:
    ref = _reference(spec, counts)
    present = [str(v) for v in counts.index if counts[v] > 0]
    ordered = [v for v in spec.levels if v in present] + sorted(v for v in present if v not in spec.levels)
    if ref is None:
        return ordered
    return [ref] + [v for v in ordered if v != ref]


def _categorical_status(spec: MarkerSpec, counts: pd.Series) -> tuple[str, str]:
    counts = counts[counts > 0]
    if counts.empty:
        return "skipped", "all values unknown"
    if len(counts) < 2:
        return "skipped", f"a single known level ({counts.index[0]})"
    notes = []
    if spec.type == "binary" and len(counts) > 2:
        notes.append(f"binary marker has {len(counts)} levels; analysed as categorical")
    if spec.reference is not None and _reference(spec, counts) != spec.reference:
        notes.append(f"reference {spec.reference!r} absent; most frequent level used")
    return "ok", "; ".join(notes)


# ----------------------------------------------------------------------------- Cox fitting (adapter)
@dataclass
class CoxFit:
    names: list
    coef: np.ndarray
    se: np.ndarray
    cov: np.ndarray
    loglik: float
    loglik_null: float
    n: int
    events: int
    warnings: list

    def lr_test(self) -> tuple[float, int, float]:
        stat = max(0.0, 2 * (self.loglik - self.loglik_null))
        df = len(self.coef)
        return stat, df, float(stats.chi2.sf(stat, df))

    def wald_test(self, idx=None) -> tuple[float, int, float]:
        idx = list(range(len(self.coef))) if idx is None else list(idx)
        b = self.coef[idx]
        v = self.cov[np.ix_(idx, idx)]
        try:
            stat = float(b @ np.linalg.solve(v, b))
        except np.linalg.LinAlgError:
            return math.nan, len(idx), math.nan
        return stat, len(idx), float(stats.chi2.sf(stat, len(idx)))


def fit_cox(X: pd.DataFrame, time, event) -> CoxFit:
    """Cox proportional hazards fit of ``event`` on the columns of ``X``: Efron ties, Newton-Raphson
    with step halving to |step| < 1e-12 (``icistop.coxph.efron_fit``, checked against R coxph)."""
    from icistop.stats.cox import efron_fit

    Xv = X.astype(float).to_numpy()
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    if Xv.shape[1] == 0:
        raise ValueError("no covariates")
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        fit = efron_fit(None, t, e, Xv)
    msgs = sorted({str(w.message).split(".")[0] for w in caught})
    if not fit["converged"]:
        msgs.append("Newton-Raphson did not converge")
    cov = np.asarray(fit["var"], dtype=float)
    return CoxFit(
        names=list(X.columns),
        coef=np.asarray(fit["beta"], dtype=float),
        se=np.sqrt(np.maximum(np.diag(cov), 0)),
        cov=cov,
        loglik=float(fit["loglik"]),
        loglik_null=float(fit["loglik0"]),
        n=int(len(t)),
        events=int(e.sum()),
        warnings=msgs,
    )


def logrank_pvalue(time, event, group) -> tuple[float, int, float]:
    """k-sample log-rank test as R ``survdiff`` (chi-square, df, p; ``icistop.stats.logrank``)."""
    from icistop.stats.logrank import logrank

    df = pd.DataFrame({"time": np.asarray(time, float), "event": np.asarray(event, float),
                       "group": np.asarray(group).astype(str)})
    res = logrank(df, "time", "event", "group")
    return float(res.chisq), int(res.df), float(res.p)


# ----------------------------------------------------------------------------- design matrices
def marker_design(values: pd.Series, spec: MarkerSpec) -> tuple[pd.DataFrame, list[str], str | None]:
    """Design columns of one marker for rows with a known value (treatment coding vs reference).

    Returns (X indexed like the known rows, level order with the reference first, reference)."""
    if spec.type == "continuous":
        x = transform_values(values, spec).dropna()
        return pd.DataFrame({spec.name: x}), [], None
    v = values.dropna().astype(str)
    counts = v.value_counts()
    levels = _level_order(spec, counts)
    if not levels:
        return pd.DataFrame(index=v.index), [], None
    ref = levels[0]
    X = pd.DataFrame({f"{spec.name}={lv}": (v == lv).astype(float) for lv in levels[1:]}, index=v.index)
    return X, levels, ref


MAX_ESTIMABLE_SE = 20.0  # larger SEs of a log-HR signal a (quasi-)monotone likelihood


def hr_summary(b: float, se: float, z: float) -> dict:
    """coef, se, HR, CI and Wald p of one log hazard ratio; NaN HR/CI/p when not estimable
    (infinite or huge SE: monotone likelihood, e.g. a level without events)."""
    if not (np.isfinite(b) and np.isfinite(se)) or se > MAX_ESTIMABLE_SE or se <= 0:
        return {"coef": b, "se": se, "hr": math.nan, "hr_ci_low": math.nan, "hr_ci_high": math.nan,
                "p_level": math.nan}
    with np.errstate(over="ignore"):
        return {"coef": b, "se": se, "hr": float(np.exp(b)), "hr_ci_low": float(np.exp(b - z * se)),
                "hr_ci_high": float(np.exp(b + z * se)), "p_level": float(2 * stats.norm.sf(abs(b / se)))}


def _z(conf_level: float) -> float:
    return float(stats.norm.ppf(1 - (1 - conf_level) / 2))


# ----------------------------------------------------------------------------- horizon analysis
def horizon_outcome(data: pd.DataFrame, months: float, event: str = "progression") -> pd.Series:
    """Recurrence by ``months`` after the stop: 1 = event by the horizon, 0 = followed at least to the
    horizon without it, NaN = not evaluable (censored - or, for ``event = progression``, died without
    progression - before the horizon). ``event``: progression (cause 1) or pfs (progression or death)."""
    t, e, c = data["time"], data["event"], data["cause"]
    hit = (c == 1) if event == "progression" else (e == 1)
    rec = hit & (t <= months)
    out = pd.Series(np.nan, index=data.index)
    out[rec] = 1.0
    out[~rec & (t >= months)] = 0.0
    return out


def horizon_fisher(data: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Recurrence by the horizon vs each marker: Fisher exact (levels > 2 and an exact enumeration
    beyond ``horizon.exact_rxc_max_work`` steps: Pearson chi-square, no continuity correction, as R
    ``chisq.test(correct = FALSE)``); per-level odds ratios vs the reference always from the exact
    2 x 2 test; Wilcoxon rank-sum for continuous markers."""
    specs = marker_specs(cfg)
    hcfg = cfg.get("horizon", {})
    months = float(hcfg.get("months", 24))
    ev = hcfg.get("event", "progression")
    max_work = int(hcfg.get("exact_rxc_max_work", 1_000_000))
    conf = float(cfg.get("conf_level", 0.95))
    y = horizon_outcome(data, months, ev)
    evaluable = y.notna()
    n_not_eval = int((~evaluable).sum())
    rows = []
    for spec in specs:
        base = {"marker": spec.name, "type": spec.type, "horizon_months": months, "horizon_event": ev,
                "n_cohort": len(data), "n_not_evaluable": n_not_eval}
        vals = data[spec.name]
        known = evaluable & vals.notna()
        n_unknown = int((evaluable & vals.isna()).sum())
        base.update(n_evaluable=int(known.sum()), n_unknown_excluded=n_unknown)
        if spec.type == "continuous":
            x = vals[known].astype(float)
            yy = y[known]
            if known.sum() == 0 or yy.nunique() < 2 or x.nunique() < 2:
                rows.append({**base, "level": "(continuous)", "status": "skipped",
                             "note": "no evaluable patients with both outcomes" if known.sum() else "all values unknown"})
                continue
            a, b = x[yy == 1], x[yy == 0]
            res = stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic", use_continuity=True)
            rows.append({**base, "level": "(continuous)", "n_level": int(known.sum()), "recurred_level": int(yy.sum()),
                         "median_recurred": float(a.median()), "median_not_recurred": float(b.median()),
                         "test": "Wilcoxon rank-sum (normal approximation, continuity correction)",
                         "p_marker": float(res.pvalue), "status": "ok", "note": ""})
            continue
        v = vals[known].astype(str)
        yy = y[known]
        counts = v.value_counts()
        if counts.size < 2:
            rows.append({**base, "level": "", "status": "skipped",
                         "note": "all values unknown" if counts.empty else f"a single known level ({counts.index[0]})"})
            continue
        levels = _level_order(spec, counts)
        ref = levels[0]
        table = np.array([[int(((v == lv) & (yy == 1)).sum()), int(((v == lv) & (yy == 0)).sum())] for lv in levels])
        note = "" if yy.nunique() == 2 else "no variation in the outcome"
        try:
            p_marker = fisher_test(table, max_work=max_work).p_value
            test = "Fisher exact 2x2" if len(levels) == 2 else f"Fisher exact {len(levels)}x2"
        except RxcTooLarge:
            # the exact r x c enumeration grows steeply with n and levels: Pearson's test instead
            p_marker = float(stats.chi2_contingency(table, correction=False).pvalue)
            test = f"Pearson chi-square {len(levels)}x2 (exact test over the work limit)"
        for i, lv in enumerate(levels):
            row = {**base, "level": lv, "reference": ref, "is_reference": i == 0,
                   "n_level": int(table[i].sum()), "recurred_level": int(table[i, 0]),
                   "pct_recurred_level": 100 * table[i, 0] / table[i].sum(),
                   "test": test, "p_marker": p_marker, "status": "ok", "note": note}
            if i > 0:
                sub = np.array([table[i], table[0]])
                fr = fisher_test(sub, conf_level=conf)
                row.update(odds_ratio=fr.odds_ratio, or_ci_low=fr.ci_low, or_ci_high=fr.ci_high, p_level=fr.p_value)
            rows.append(row)
    out = pd.DataFrame(rows)
    out = _add_q(out, cfg.get("fdr_method", "BH"))
    cols = ["marker", "type", "level", "reference", "is_reference", "n_level", "recurred_level",
            "pct_recurred_level", "odds_ratio", "or_ci_low", "or_ci_high", "p_level", "median_recurred",
            "median_not_recurred", "test", "p_marker", "q_marker", "n_evaluable", "n_unknown_excluded",
            "n_not_evaluable", "n_cohort", "horizon_months", "horizon_event", "status", "note"]
    return out.reindex(columns=cols)


def _add_q(frame: pd.DataFrame, method: str) -> pd.DataFrame:
    """q-values across markers (one p per marker, first row of each marker)."""
    if frame.empty or "p_marker" not in frame:
        frame["q_marker"] = np.nan
        return frame
    per = frame.groupby("marker", sort=False)["p_marker"].first()
    q = pd.Series(p_adjust(per.to_numpy(dtype=float), method), index=per.index)
    frame["q_marker"] = frame["marker"].map(q)
    return frame


# ----------------------------------------------------------------------------- univariable Cox
def univariable_cox(data: pd.DataFrame, cfg: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-marker Cox models. Returns (rows per level/term, one row per marker with tests and q)."""
    specs = marker_specs(cfg)
    conf = float(cfg.get("conf_level", 0.95))
    z = _z(conf)
    level_rows, marker_rows = [], []
    for spec in specs:
        vals = data[spec.name]
        base = {"marker": spec.name, "type": spec.type}
        X, levels, ref = marker_design(vals, spec)
        idx = X.index
        n_unknown = int(len(data) - len(idx))
        t, e = data.loc[idx, "time"], data.loc[idx, "event"]
        mrow = {**base, "reference": ref if ref is not None else "", "n": int(len(idx)), "events": int(e.sum()),
                "n_unknown_excluded": n_unknown, "n_cohort": len(data)}
        skip = None
        if len(idx) == 0:
            skip = "all values unknown"
        elif spec.type != "continuous" and len(levels) < 2:
            skip = f"a single known level ({levels[0]})"
        elif spec.type == "continuous" and X[spec.name].nunique() < 2:
            skip = "a single distinct value"
        elif e.sum() == 0:
            skip = "no events among patients with a known value"
        if skip:
            marker_rows.append({**mrow, "status": "skipped", "note": skip})
            level_rows.append({**base, "level": "", "status": "skipped", "note": skip,
                               "n_unknown_excluded": n_unknown})
            continue
        notes = []
        if spec.type != "continuous":
            ev_by = {lv: int(e[vals.loc[idx] == lv].sum()) for lv in levels}
            zero = [lv for lv, k in ev_by.items() if k == 0]
            if zero:
                notes.append("no events in level(s) " + ", ".join(zero) + ": HR not estimable (monotone likelihood)")
        try:
            fit = fit_cox(X, t, e)
        except Exception as exc:  # noqa: BLE001 - report, do not crash
            marker_rows.append({**mrow, "status": "failed", "note": f"Cox fit failed: {exc}"})
            level_rows.append({**base, "level": "", "status": "failed", "note": str(exc)})
            continue
        lr, lr_df, p_lr = fit.lr_test()
        wald, _, p_wald = fit.wald_test()
        p_lrk = math.nan
        if spec.type != "continuous":
            _, _, p_lrk = logrank_pvalue(t, e, vals.loc[idx].astype(str))
        note = "; ".join(notes)
        marker_rows.append({**mrow, "df": lr_df, "lr_stat": lr, "p_lr": p_lr, "wald_stat": wald, "p_wald": p_wald,
                            "p_logrank": p_lrk, "p_marker": p_lr, "status": "ok", "note": note})
        if spec.type == "continuous":
            raw = vals.loc[idx].astype(float)
            b, se = fit.coef[0], fit.se[0]
            level_rows.append({**base, "level": spec.per_unit(), "reference": "", "is_reference": False,
                               "n_level": int(len(idx)), "events_level": int(e.sum()),
                               "median_value": float(raw.median()), "q1_value": float(raw.quantile(.25)),
                               "q3_value": float(raw.quantile(.75)),
                               **hr_summary(b, se, z),
                               "status": "ok", "note": note, "n_unknown_excluded": n_unknown})
            continue
        zero_levels = set(lv for lv in levels if int(e[vals.loc[idx] == lv].sum()) == 0)
        ref_zero = ref in zero_levels
        for i, lv in enumerate(levels):
            sel = vals.loc[idx] == lv
            row = {**base, "level": lv, "reference": ref, "is_reference": i == 0, "n_level": int(sel.sum()),
                   "events_level": int(e[sel].sum()), "status": "ok", "note": note, "n_unknown_excluded": n_unknown}
            if i == 0:
                row.update(hr=1.0)
            else:
                b, se = fit.coef[i - 1], fit.se[i - 1]
                if lv in zero_levels or ref_zero:
                    row.update(coef=b, se=se, hr=math.nan, hr_ci_low=math.nan, hr_ci_high=math.nan, p_level=math.nan)
                else:
                    row.update(hr_summary(b, se, z))
                    if math.isnan(row["hr"]):
                        row["note"] = "; ".join(x for x in [note, f"{lv}: HR not estimable (SE {se:.3g})"] if x)
            level_rows.append(row)
    levels_df = pd.DataFrame(level_rows)
    markers_df = pd.DataFrame(marker_rows)
    method = cfg.get("fdr_method", "BH")
    if not markers_df.empty:
        markers_df["q_marker"] = p_adjust(markers_df.get("p_marker", pd.Series(np.nan, index=markers_df.index))
                                          .to_numpy(dtype=float), method)
        markers_df["fdr_method"] = method
        qmap = markers_df.set_index("marker")["q_marker"]
        if "p_marker" not in markers_df:  # every marker skipped (e.g. an empty stop cohort)
            markers_df["p_marker"] = np.nan
        if not levels_df.empty:
            levels_df["q_marker"] = levels_df["marker"].map(qmap)
            levels_df["p_marker"] = levels_df["marker"].map(markers_df.set_index("marker")["p_marker"])
        markers_df["rank"] = markers_df["q_marker"].rank(method="first").astype("Int64")
    lcols = ["marker", "type", "level", "reference", "is_reference", "n_level", "events_level", "median_value",
             "q1_value", "q3_value", "coef", "se", "hr", "hr_ci_low", "hr_ci_high", "p_level", "p_marker", "q_marker",
             "n_unknown_excluded", "status", "note"]
    mcols = ["marker", "type", "reference", "n", "events", "n_unknown_excluded", "n_cohort", "df", "lr_stat", "p_lr",
             "wald_stat", "p_wald", "p_logrank", "p_marker", "q_marker", "fdr_method", "rank", "status", "note"]
    return levels_df.reindex(columns=lcols), markers_df.reindex(columns=mcols)


# ----------------------------------------------------------------------------- multivariable Cox
def multivariable_design(data: pd.DataFrame, cfg: dict, covariates=None) -> tuple[pd.DataFrame, dict, pd.Index]:
    """Design matrix of the prespecified covariates on complete cases; returns (X, term columns per
    marker, index of complete cases)."""
    specs = {s.name: s for s in marker_specs(cfg)}
    covs = list(covariates if covariates is not None else cfg.get("multivariable", {}).get("covariates", []))
    missing = [c for c in covs if c not in specs]
    if missing:
        raise ValueError(f"multivariable covariates not in the marker list: {missing}")
    complete = data[covs].notna().all(axis=1) if covs else pd.Series(True, index=data.index)
    sub = data[complete]
    parts, terms = [], {}
    for c in covs:
        X, _, _ = marker_design(sub[c], specs[c])
        X = X.reindex(sub.index)
        parts.append(X)
        terms[c] = list(X.columns)
    X = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=sub.index)
    ok = X.notna().all(axis=1)
    return X[ok], terms, X.index[ok]


def multivariable_cox(data: pd.DataFrame, cfg: dict) -> tuple[pd.DataFrame, CoxFit | None]:
    """Multivariable Cox model of the configured covariates on complete cases, with HR/CI/Wald p per
    term and a drop-one likelihood-ratio test per covariate."""
    conf = float(cfg.get("conf_level", 0.95))
    z = _z(conf)
    specs = {s.name: s for s in marker_specs(cfg)}
    covs = list(cfg.get("multivariable", {}).get("covariates", []))
    if not covs:
        return pd.DataFrame([{"term": "", "status": "skipped", "note": "no covariates configured"}]), None
    X, terms, idx = multivariable_design(data, cfg)
    n_excl = int(len(data) - len(idx))
    t, e = data.loc[idx, "time"], data.loc[idx, "event"]
    dropped = [c for c in covs if X[terms[c]].shape[1] == 0 or (X[terms[c]].nunique() < 2).all()]
    if dropped:
        note = "covariates without variation among complete cases dropped: " + ", ".join(dropped)
        keep = [c for c in covs if c not in dropped]
        X = X[[col for c in keep for col in terms[c]]]
        covs = keep
    else:
        note = ""
    if not covs or e.sum() == 0:
        return pd.DataFrame([{"term": "", "status": "skipped", "note": note or "no events"}]), None
    try:
        fit = fit_cox(X, t, e)
    except Exception as exc:  # noqa: BLE001
        return pd.DataFrame([{"term": "", "status": "failed", "note": f"Cox fit failed: {exc}"}]), None
    rows = []
    for c in covs:
        others = [col for o in covs if o != c for col in terms[o]]
        if others:
            try:
                reduced = fit_cox(X[others], t, e)
                ll_red = reduced.loglik
            except Exception:  # noqa: BLE001
                ll_red = math.nan
        else:
            ll_red = fit.loglik_null
        lr = max(0.0, 2 * (fit.loglik - ll_red))
        p_drop = float(stats.chi2.sf(lr, len(terms[c])))
        for col in terms[c]:
            j = list(X.columns).index(col)
            b, se = fit.coef[j], fit.se[j]
            level = col.split("=", 1)[1] if "=" in col else specs[c].per_unit()
            sel = X[col] == 1 if "=" in col else pd.Series(True, index=X.index)
            rows.append({"marker": c, "term": col, "level": level,
                         "reference": "" if specs[c].type == "continuous" else _level_order(specs[c], data.loc[idx, c].astype(str).value_counts())[0],
                         "n_level": int(sel.sum()), "events_level": int(e[sel].sum()),
                         **hr_summary(b, se, z),
                         "lr_drop_stat": lr, "lr_drop_df": len(terms[c]), "p_marker_lr": p_drop})
    out = pd.DataFrame(rows)
    bad_terms = [t for t, h in zip(out["term"], out["hr"]) if not np.isfinite(h)]
    if bad_terms:
        note = "; ".join(x for x in [note, "HR not estimable (monotone likelihood, e.g. no events in a level among "
                                     "complete cases): " + ", ".join(bad_terms)] if x)
    lr_all, df_all, p_all = fit.lr_test()
    out["n"] = fit.n
    out["events"] = fit.events
    out["n_incomplete_excluded"] = n_excl
    out["model_lr_stat"] = lr_all
    out["model_df"] = df_all
    out["model_p_lr"] = p_all
    out["status"] = "ok"
    out["note"] = "; ".join([x for x in [note] + fit.warnings if x])
    return out, fit


# ----------------------------------------------------------------------------- splines and cut-points
def spline_analysis(data: pd.DataFrame, cfg: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Restricted cubic spline Cox model per continuous marker (on the transform scale; Harrell's
    default knot quantiles). Returns (tests: overall LR, nonlinearity LR vs the linear model; curve:
    HR(x) relative to the reference value with pointwise delta-method CI, on the original scale)."""
    specs = [s for s in marker_specs(cfg) if s.type == "continuous"]
    scfg = cfg.get("splines", {})
    nk = int(scfg.get("knots", 4))
    npts = int(scfg.get("grid_points", 100))
    ref_rule = scfg.get("reference", "median")
    conf = float(cfg.get("conf_level", 0.95))
    z = _z(conf)
    tests, curves = [], []
    for spec in specs:
        raw = data[spec.name].astype(float)
        u = transform_values(raw, spec)
        ok = u.notna()
        base = {"marker": spec.name, "n": int(ok.sum()), "events": int(data.loc[ok, "event"].sum()),
                "n_unknown_excluded": int((~ok).sum()), "knots_requested": nk}
        try:
            knots = harrell_knots(u[ok].to_numpy(), nk)
        except ValueError as exc:
            tests.append({**base, "status": "skipped", "note": f"spline not estimable: {exc}"})
            continue
        if base["events"] == 0:
            tests.append({**base, "status": "skipped", "note": "no events"})
            continue
        B = rcs_basis(u[ok].to_numpy(), knots)
        cols = [f"rcs{j}" for j in range(B.shape[1])]
        t, e = data.loc[ok, "time"], data.loc[ok, "event"]
        try:
            fit = fit_cox(pd.DataFrame(B, columns=cols, index=u[ok].index), t, e)
            lin = fit_cox(pd.DataFrame({"rcs0": u[ok]}), t, e)
        except Exception as exc:  # noqa: BLE001
            tests.append({**base, "status": "failed", "note": f"Cox fit failed: {exc}"})
            continue
        lr_all, df_all, p_all = fit.lr_test()
        lr_nl = max(0.0, 2 * (fit.loglik - lin.loglik))
        df_nl = B.shape[1] - 1
        ref_val = float(raw[ok].median()) if ref_rule == "median" else float(ref_rule)
        tests.append({**base, "knots": len(knots),
                      "knot_locations": ";".join(f"{k:.6g}" for k in _inverse_transform(knots, spec)),
                      "reference_value": ref_val, "lr_overall": lr_all, "df_overall": df_all, "p_overall": p_all,
                      "lr_nonlinear": lr_nl, "df_nonlinear": df_nl, "p_nonlinear": float(stats.chi2.sf(lr_nl, df_nl)),
                      "status": "ok", "note": "; ".join(fit.warnings)})
        lo, hi = np.quantile(raw[ok], [0.05, 0.95]) if ok.sum() >= 20 else (raw[ok].min(), raw[ok].max())
        grid = np.unique(np.concatenate([np.linspace(lo, hi, npts), [ref_val]]))
        ug = transform_values(pd.Series(grid), spec).to_numpy()
        uref = float(transform_values(pd.Series([ref_val]), spec).iloc[0])
        D = rcs_basis(ug, knots) - rcs_basis(np.array([uref]), knots)
        lp = D @ fit.coef
        se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", D, fit.cov, D), 0))
        with np.errstate(over="ignore"):
            hr, lo_ci, hi_ci = np.exp(lp), np.exp(lp - z * se), np.exp(lp + z * se)
        for x, h, lo_, hi_ in zip(grid, hr, lo_ci, hi_ci):
            curves.append({"marker": spec.name, "value": float(x), "reference_value": ref_val,
                           "hr": float(h), "hr_ci_low": float(lo_), "hr_ci_high": float(hi_)})
    return pd.DataFrame(tests), pd.DataFrame(curves)


def _inverse_transform(u, spec: MarkerSpec) -> np.ndarray:
    u = np.asarray(u, dtype=float) * spec.scale
    if spec.transform == "log":
        return np.exp(u)
    if spec.transform == "log2":
        return 2.0**u
    if spec.transform == "log2p1":
        return 2.0**u - 1
    if spec.transform == "log1p":
        return np.expm1(u)
    return u


def cutpoint_analysis(data: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Sensitivity analysis: maximally selected log-rank cut-point per continuous marker with the
    Lausen-Sauerbrei-Schumacher (1994) corrected p-value; the HR of the dichotomy is optimistic."""
    specs = [s for s in marker_specs(cfg) if s.type == "continuous"]
    ccfg = cfg.get("cutpoint", {})
    minprop, maxprop = float(ccfg.get("minprop", 0.1)), float(ccfg.get("maxprop", 0.9))
    conf = float(cfg.get("conf_level", 0.95))
    z = _z(conf)
    rows = []
    for spec in specs:
        x = data[spec.name].astype(float)
        ok = x.notna()
        base = {"marker": spec.name, "n": int(ok.sum()), "events": int(data.loc[ok, "event"].sum()),
                "n_unknown_excluded": int((~ok).sum()), "minprop": minprop, "maxprop": maxprop}
        if ok.sum() < 4 or x[ok].nunique() < 2 or base["events"] == 0:
            rows.append({**base, "status": "skipped", "note": "too few distinct values or no events"})
            continue
        try:
            res = maxstat_logrank(x[ok], data.loc[ok, "time"], data.loc[ok, "event"], minprop, maxprop)
        except ValueError as exc:
            rows.append({**base, "status": "skipped", "note": str(exc)})
            continue
        high = (x[ok] > res["cutpoint"]).astype(float)
        row = {**base, "cutpoint": res["cutpoint"], "rule": f"high = {spec.name} > cutpoint",
               "n_high": int(high.sum()), "statistic": res["statistic"],
               "p_lau94": min(1.0, res["p_lau94"]), "p_lau92": min(1.0, res["p_lau92"]),
               "p_method": "Lausen, Sauerbrei & Schumacher 1994 improved Bonferroni (maxstat Lau94)",
               "status": "ok", "note": "data-driven cut-point: sensitivity analysis only; HR is optimistic"}
        try:
            fit = fit_cox(pd.DataFrame({"high": high}), data.loc[ok, "time"], data.loc[ok, "event"])
            b, se = fit.coef[0], fit.se[0]
            h = hr_summary(b, se, z)
            row.update(hr_high_vs_low=h["hr"], hr_ci_low=h["hr_ci_low"], hr_ci_high=h["hr_ci_high"])
        except Exception:  # noqa: BLE001
            pass
        rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- competing risks
def top_markers(markers: pd.DataFrame, k: int, categorical_only: bool = True) -> list[str]:
    """The k markers with the smallest q (then p) among analysed markers."""
    m = markers[markers["status"] == "ok"]
    if categorical_only:
        m = m[m["type"] != "continuous"]
    m = m.sort_values(["q_marker", "p_marker", "marker"], kind="stable")
    return list(m["marker"].head(k))


def competing_risks(data: pd.DataFrame, cfg: dict, markers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Aalen-Johansen cumulative incidence of progression (cause 1) and death without progression
    (cause 2) by level of the top-k categorical markers (``icistop.stats.cif``: exact ties, infinitesimal-
    jackknife SE and log CI as R ``survfit``). Returns (step curves, values at the configured times)."""
    from icistop.stats.cif import cif_at, cif_table

    ccfg = cfg.get("competing_risks", {})
    k = int(ccfg.get("top_k", 3))
    times = [float(v) for v in ccfg.get("times", [12, 24])]
    conf = float(cfg.get("conf_level", 0.95))
    curves, summary = [], []
    for rank, name in enumerate(top_markers(markers, k), start=1):
        sub = data.loc[data[name].notna(), ["time", "cause", name]].copy()
        sub["level"] = sub[name].astype(str)
        sub["cause"] = sub["cause"].astype(int)
        tab = cif_table(sub, "time", "cause", group="level", causes=[1, 2], conf_level=conf)
        for lv, g in tab.groupby("group", sort=True):
            prog = g[g["cause"] == 1].reset_index(drop=True)
            death = g[g["cause"] == 2].reset_index(drop=True)
            curves.append(pd.DataFrame({
                "marker": name, "rank": rank, "level": lv, "time": prog["time"], "n_risk": prog["n_risk"],
                "cif_progression": prog["cif"], "cif_progression_low": prog["lower"],
                "cif_progression_high": prog["upper"], "cif_death": death["cif"],
                "cif_death_low": death["lower"], "cif_death_high": death["upper"]}))
        at = cif_at(tab, times)
        for lv in sorted(sub["level"].unique()):
            sel = sub["level"] == lv
            a1 = at[(at["group"] == lv) & (at["cause"] == 1)].set_index("time")
            a2 = at[(at["group"] == lv) & (at["cause"] == 2)].set_index("time")
            for t in times:
                summary.append({"marker": name, "rank": rank, "level": lv, "n": int(sel.sum()),
                                "progressions": int((sub.loc[sel, "cause"] == 1).sum()),
                                "deaths": int((sub.loc[sel, "cause"] == 2).sum()), "time": t,
                                "cif_progression": a1.loc[t, "cif"], "cif_progression_low": a1.loc[t, "lower"],
                                "cif_progression_high": a1.loc[t, "upper"], "cif_death": a2.loc[t, "cif"],
                                "cif_death_low": a2.loc[t, "lower"], "cif_death_high": a2.loc[t, "upper"],
                                "beyond_followup": bool(a1.loc[t, "beyond_followup"]),
                                "method": "Aalen-Johansen; infinitesimal-jackknife SE, log CI"})
    curve_cols = ["marker", "rank", "level", "time", "n_risk", "cif_progression", "cif_progression_low",
                  "cif_progression_high", "cif_death", "cif_death_low", "cif_death_high"]
    curves_df = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=curve_cols)
    return curves_df, pd.DataFrame(summary)


# ----------------------------------------------------------------------------- discrimination
def discrimination_analysis(data: pd.DataFrame, cfg: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Harrell's C and IPCW AUC(t) of the multivariable model, optimism-corrected by the bootstrap,
    and calibration of the predicted t-month risk vs KM by risk groups."""
    dcfg = cfg.get("discrimination", {})
    t = float(dcfg.get("horizon_months", 24))
    n_boot = int(dcfg.get("n_boot", 200))
    seed = int(dcfg.get("seed", 1))
    n_groups = int(dcfg.get("calibration_groups", 3))
    conf = float(cfg.get("conf_level", 0.95))
    covs = list(cfg.get("multivariable", {}).get("covariates", []))
    if not covs:
        empty = pd.DataFrame([{"metric": "", "status": "skipped", "note": "no covariates configured"}])
        return empty, pd.DataFrame()
    X, terms, idx = multivariable_design(data, cfg)
    X = X.loc[:, X.nunique() > 1]
    frame = pd.concat([X, data.loc[idx, ["time", "event"]]], axis=1).reset_index(drop=True)
    cols = list(X.columns)

    def fit(df):
        if df["event"].sum() == 0:
            raise ValueError("no events")
        use = [c for c in cols if df[c].nunique() > 1]
        if len(use) < len(cols):
            raise ValueError("a covariate without variation in the resample")
        return fit_cox(df[cols], df["time"], df["event"])

    def evaluate(model, df):
        lp = df[cols].to_numpy(float) @ model.coef
        return {"harrell_c": disc.harrell_c(df["time"], df["event"], lp)["c"],
                f"auc_{t:g}": disc.auc_ipcw(df["time"], df["event"], lp, t)}

    def skipped(note):
        row = {"metric": "", "n": len(frame), "events": int(frame["event"].sum()) if len(frame) else 0,
               "horizon_months": t, "covariates": ",".join(covs), "status": "skipped", "note": note}
        return pd.DataFrame([row]), pd.DataFrame()

    if frame.empty or frame["event"].sum() == 0:
        return skipped("no patients with events and complete covariates")
    if not cols:
        return skipped("no covariate varies in the complete cases")
    try:
        res = disc.bootstrap_optimism(frame, fit, evaluate, n_boot, seed)
        model = fit(frame)
    except (ValueError, np.linalg.LinAlgError) as exc:
        return skipped(f"model not estimable on these data ({exc})")
    res["n"] = len(frame)
    res["events"] = int(frame["event"].sum())
    res["horizon_months"] = t
    res["covariates"] = ",".join(covs)
    res["auc_estimator"] = "cumulative/dynamic IPCW (KM censoring weights; Uno 2007)"
    res["status"] = "ok"
    res["note"] = ""
    lp = frame[cols].to_numpy(float) @ model.coef
    risk = disc.breslow_risk(lp, frame["time"], frame["event"], lp, t)
    cal = disc.calibration_groups(frame["time"], frame["event"], risk, t, n_groups, conf)
    cal["horizon_months"] = t
    cal["predicted_method"] = "Cox model, Breslow baseline hazard"
    cal["observed_method"] = "1 - Kaplan-Meier, log(-log) CI"
    return res, cal


# ----------------------------------------------------------------------------- re-challenge
def rechallenge_analysis(endpoints: pd.DataFrame, cfg: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Re-challenge after progression following the stop: best-response distribution and PFS from
    the course-2 start (KM median and rate at ``rate_months``). Returns (response, pfs, km curve)."""
    rcfg = cfg.get("rechallenge", {})
    rate_t = float(rcfg.get("rate_months", 12))
    conf = float(cfg.get("conf_level", 0.95))
    ep = endpoints[endpoints["in_stop_cohort"].fillna(False).astype(bool)]
    progressed = ep[pd.to_numeric(ep["stop_pfs_cause"], errors="coerce") == 1]
    rech = progressed[progressed["has_rechallenge"].fillna(False).astype(bool)]
    n_prog, n_rech = len(progressed), len(rech)
    resp = rech["rechallenge_best_response"].where(rech["rechallenge_best_response"].notna(), "unknown").astype(str)
    resp = resp.replace({"": "unknown", "nan": "unknown", "None": "unknown"})
    order = ["CR", "PR", "SD", "PD", "NE", "unknown"]
    rows = []
    for lv in order + sorted(set(resp) - set(order)):
        k = int((resp == lv).sum())
        if lv not in order[:4] and k == 0:
            continue
        rows.append({"response": lv, "n": k, "pct": 100 * k / n_rech if n_rech else math.nan,
                     "n_rechallenged": n_rech, "n_progressed_after_stop": n_prog})
    known = resp.isin(["CR", "PR", "SD", "PD"])
    orr_k = int(resp.isin(["CR", "PR"]).sum())
    response = pd.DataFrame(rows)
    if n_rech:
        ci = stats.binomtest(orr_k, int(known.sum())).proportion_ci(conf, method="exact") if known.sum() else None
        response = pd.concat([response, pd.DataFrame([{
            "response": "objective response (CR+PR) among evaluable", "n": orr_k,
            "pct": 100 * orr_k / known.sum() if known.sum() else math.nan,
            "pct_ci_low": 100 * ci.low if ci else math.nan, "pct_ci_high": 100 * ci.high if ci else math.nan,
            "n_rechallenged": n_rech, "n_progressed_after_stop": n_prog}])], ignore_index=True)
    t = pd.to_numeric(rech["rechallenge_pfs_time"], errors="coerce")
    e = pd.to_numeric(rech["rechallenge_pfs_event"], errors="coerce")
    ok = t.notna() & e.notna()
    pfs = {"n_progressed_after_stop": n_prog, "n_rechallenged": n_rech, "n": int(ok.sum()),
           "events": int(e[ok].sum()), "rate_months": rate_t}
    km_cols = ["time", "n_risk", "n_event", "n_censor", "surv", "lower", "upper"]
    km = pd.DataFrame(columns=km_cols)
    if ok.sum():
        from icistop.stats import km as kmod

        frame = pd.DataFrame({"time": t[ok].to_numpy(float), "event": e[ok].to_numpy(float)})
        km = kmod.km_table(frame, "time", "event", conf_level=conf, conf_type="log-log")
        med = kmod.km_median(km).iloc[0]
        at = kmod.km_at(km, [rate_t]).iloc[0]
        pfs.update(median=med["median"], median_ci_low=med["lower"], median_ci_high=med["upper"],
                   rate=at["surv"], rate_ci_low=at["lower"], rate_ci_high=at["upper"],
                   method="Kaplan-Meier, Greenwood variance, log(-log) CI (R survfit rules)", status="ok",
                   note="median not reached" if med["median_not_reached"] else "")
        km = km[km_cols]
    else:
        pfs.update(status="skipped", note="no re-challenged patients after progression")
    return response, pd.DataFrame([pfs]), km


def params_config(params) -> dict:
    """The ``biomarkers`` config as a dict from a Snakemake ``params`` object (params named like
    the config keys each rule uses)."""
    return {k: v for k, v in params.items()}

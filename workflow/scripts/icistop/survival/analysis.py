"""Question 1: survival after stopping ICI (and from ICI start), as tidy tables for the report.

Builds on the R-verified engine (km, logrank, coxph, rmst, cif, piecewise). Four endpoints:
PFS and OS from the stop date in the stop cohort, PFS and OS from ICI start in the treated cohort.
Group comparisons use only groupings fixed at the time origin: after stopping, stop reason, regimen,
best response and time on ICI are known at the stop date; from ICI start only baseline groupings
(e.g. regimen) are valid, since best response and time on ICI are only known later (immortal time).
Every function returns DataFrames with ``endpoint`` and ``grouping`` columns ("overall" when
ungrouped) and a list of notes on what was skipped and why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from icistop.stats.cif import cif_at, cif_table
from icistop.stats.cox import cox_fit, ph_check
from icistop.stats.km import followup_reverse_km, km_at, km_median, km_table, kmunicate_table
from icistop.stats.logrank import logrank
from icistop.stats.piecewise import piecewise_hazard
from icistop.stats.rmst import rmst_diff_from_rmst, rmst_from_table

OVERALL = "overall"
KEYS = ["endpoint", "grouping"]
COX_COLUMNS = ["term", "coef", "se", "se_robust", "hr", "lower", "upper", "z", "p", "se_type"]
# columns of each result table, so that a skipped analysis still writes a table with a header
EMPTY_COLUMNS = {
    "curves": KEYS + ["group", "time", "n_risk", "n_event", "n_censor", "surv", "se_surv", "se_log_surv",
                      "lower", "upper", "variance", "conf_type", "conf_level"],
    "landmarks": KEYS + ["group", "time", "n_risk", "n_event", "n_censor", "cum_events", "cum_censored", "surv",
                         "se_surv", "lower", "upper", "beyond_followup", "n"],
    "medians": KEYS + ["group", "n_max", "events", "median", "lower", "upper", "median_not_reached",
                       "lower_not_reached", "upper_not_reached"],
    "risktable": KEYS + ["group", "time", "n_risk", "cum_events", "cum_censored"],
    "followup": KEYS + ["group", "n", "n_censored", "median", "median_lower", "median_upper", "q1", "q3",
                        "min_time", "max_time", "min_censored", "max_censored"],
    "logrank": KEYS + ["test", "chisq", "df", "p", "strata"],
    "cox": KEYS + COX_COLUMNS + ["level", "n", "events", "reference", "reference_n", "reference_events", "strata",
                                 "lrt_p", "ties"],
    "ph_test": KEYS + ["term", "statistic", "df", "p", "ph_violated", "test"],
    "timesplit": KEYS + ["term", "interval", "interval_label", "events"] + COX_COLUMNS[1:],
    "rmst": KEYS + ["group", "tau", "rmst", "se", "lower", "upper", "events_before_tau", "last_time",
                    "tau_beyond_last_time"],
    "rmst_diff": KEYS + ["group", "reference", "tau", "rmst", "rmst_reference", "diff", "se", "lower", "upper", "z", "p"],
    "cif": KEYS + ["group", "time", "cause", "n_risk", "n_event", "n_censor", "cif", "se", "lower", "upper",
                   "event_free"],
    "cif_landmarks": KEYS + ["group", "cause", "time", "cif", "se", "lower", "upper", "n_risk", "beyond_followup"],
    "cause_specific_cox": KEYS + COX_COLUMNS + ["level", "reference", "cause"],
    "hazard": KEYS + ["group", "interval", "start", "end", "n_at_risk_start", "events", "person_months",
                      "person_years", "rate_per_person_month", "lower_per_person_month", "upper_per_person_month",
                      "rate_per_100py", "lower_per_100py", "upper_per_100py", "ci_method"],
}


def _combine(frames: list[pd.DataFrame], key: str) -> pd.DataFrame:
    """Concatenate result frames; an empty result keeps the table's columns."""
    if frames:
        return pd.concat(frames, ignore_index=True)
    return pd.DataFrame(columns=EMPTY_COLUMNS[key])


@dataclass(frozen=True)
class Endpoint:
    name: str
    label: str
    cohort: str  # endpoints column flagging the cohort
    time: str
    event: str
    cause: str | None  # competing-risk status column (0 censored, 1 progression, 2 death)
    origin: str  # "stop" or "start"


ENDPOINTS = {
    e.name: e
    for e in [
        Endpoint("pfs_after_stop", "PFS after stopping ICI", "in_stop_cohort", "stop_pfs_time", "stop_pfs_event",
                 "stop_pfs_cause", "stop"),
        Endpoint("os_after_stop", "OS after stopping ICI", "in_stop_cohort", "stop_os_time", "stop_os_event", None, "stop"),
        Endpoint("pfs_from_start", "PFS from ICI start", "in_treated", "pfs_time", "pfs_event", "pfs_cause", "start"),
        Endpoint("os_from_start", "OS from ICI start", "in_treated", "os_time", "os_event", None, "start"),
    ]
}


def unavailable_reason(endpoints: pd.DataFrame, endpoint: Endpoint) -> str | None:
    """Why an endpoint cannot be analysed at all (None when it can)."""
    cohort = endpoints if endpoint.cohort == "in_treated" else endpoints[endpoints[endpoint.cohort].astype(bool)]
    if cohort.empty:
        return "no patients in the cohort: skipped"
    if endpoint.name.startswith("pfs") and endpoints["last_assessment_time"].isna().all():
        return "no tumour assessments in the data, so progression is unknown: PFS not estimable, skipped"
    return None


def endpoint_data(endpoints: pd.DataFrame, endpoint: Endpoint) -> pd.DataFrame:
    """Rows of the endpoint's cohort with a time and event, as columns ``time``/``event`` (+ ``cause``);
    empty when the endpoint is unavailable (:func:`unavailable_reason`)."""
    if unavailable_reason(endpoints, endpoint):
        return endpoints.iloc[0:0].assign(time=pd.Series(dtype=float), event=pd.Series(dtype=int),
                                          cause=pd.Series(dtype=int))
    frame = endpoints if endpoint.cohort == "in_treated" else endpoints[endpoints[endpoint.cohort].astype(bool)]
    frame = frame[frame[endpoint.time].notna() & frame[endpoint.event].notna()].copy()
    frame["time"] = frame[endpoint.time].astype(float)
    frame["event"] = frame[endpoint.event].astype(int)
    if endpoint.cause:
        frame["cause"] = frame[endpoint.cause].astype(int)
    return frame


def _note(notes, endpoint, analysis, grouping, text):
    notes.append(dict(endpoint=endpoint, analysis=analysis, grouping=grouping, note=text))


def usable_groups(data: pd.DataFrame, grouping: str, min_n: int = 1) -> pd.DataFrame:
    """Rows with a known value of ``grouping`` ('unknown' and missing dropped)."""
    values = data[grouping]
    keep = values.notna() & (values.astype(str) != "unknown")
    out = data[keep].copy()
    out[grouping] = out[grouping].astype(str)
    counts = out[grouping].value_counts()
    return out[out[grouping].isin(counts[counts >= min_n].index)]


def groupings_for(endpoint: Endpoint, after_stop: list[str], from_start: list[str]) -> list[str]:
    return list(after_stop if endpoint.origin == "stop" else from_start)


def analysable(endpoints: pd.DataFrame, notes: list[dict], analysis: str, names=tuple(ENDPOINTS)):
    """(endpoint, its data) for each endpoint in ``names`` that can be analysed; an unavailable one gets
    a note for ``analysis`` with the reason (:func:`unavailable_reason`) instead."""
    for endpoint in (ENDPOINTS[name] for name in names):
        data = endpoint_data(endpoints, endpoint)
        if data.empty:
            _note(notes, endpoint.name, analysis, OVERALL, unavailable_reason(endpoints, endpoint))
            continue
        yield endpoint, data


def overall_and_groups(data: pd.DataFrame, groupings: list[str]):
    """(grouping or None, label, rows) for the whole data (``overall``) and then each grouping, with the
    rows of known values (:func:`usable_groups`)."""
    for grouping in [None, *groupings]:
        yield grouping, grouping or OVERALL, data if grouping is None else usable_groups(data, grouping)


def _tag(frame: pd.DataFrame, endpoint: str, grouping: str) -> pd.DataFrame:
    frame = frame.copy()
    frame.insert(0, "grouping", grouping)
    frame.insert(0, "endpoint", endpoint)
    return frame


def km_analyses(endpoints: pd.DataFrame, landmarks, risk_times, after_stop: list[str], from_start: list[str],
                conf_level: float = 0.95) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """KM curves, landmark survival, medians, KMunicate risk tables and reverse-KM follow-up."""
    out = {k: [] for k in ("curves", "landmarks", "medians", "risktable", "followup")}
    notes: list[dict] = []
    for endpoint, data in analysable(endpoints, notes, "Kaplan-Meier"):
        for grouping, label, sub in overall_and_groups(data, groupings_for(endpoint, after_stop, from_start)):
            if sub.empty:
                _note(notes, endpoint.name, "Kaplan-Meier", label, "no patients with a known value: skipped")
                continue
            table = km_table(sub, "time", "event", group=grouping, conf_level=conf_level)
            out["curves"].append(_tag(table, endpoint.name, label))
            at = km_at(table, landmarks)
            at = at.merge(sub.groupby(grouping).size().rename("n").reset_index().rename(columns={grouping: "group"})
                          if grouping else pd.DataFrame({"group": ["all"], "n": [len(sub)]}), on="group")
            out["landmarks"].append(_tag(at, endpoint.name, label))
            med = km_median(table)
            out["medians"].append(_tag(med, endpoint.name, label))
            out["risktable"].append(_tag(kmunicate_table(table, risk_times), endpoint.name, label))
            if grouping is None:
                out["followup"].append(_tag(followup_reverse_km(sub, "time", "event", conf_level=conf_level),
                                            endpoint.name, label))
    return {k: _combine(v, k) for k, v in out.items()}, notes


def compare_groups(endpoints: pd.DataFrame, after_stop: list[str], from_start: list[str], reference_levels: dict,
                   strata: list[str], ph_alpha: float, timesplit_cuts, conf_level: float = 0.95
                   ) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """Log-rank (plain and stratified), Cox HR per group vs reference (Efron ties; plain and
    stratified), PH test (R cox.zph, survival >= 3.0: the grouping's term and GLOBAL) and time-split HRs
    where the grouping's term fails."""
    out = {k: [] for k in ("logrank", "cox", "ph_test", "timesplit")}
    notes: list[dict] = []
    for endpoint, data in analysable(endpoints, notes, "group comparison"):
        groupings = groupings_for(endpoint, after_stop, from_start)
        # only the columns used below, so that the per-grouping copies stay small
        data = data[list(dict.fromkeys(["time", "event", *groupings, *[s for s in strata if s in data]]))]
        for grouping in groupings:
            sub = usable_groups(data, grouping)
            levels = sorted(sub[grouping].unique()) if not sub.empty else []
            if len(levels) < 2:
                _note(notes, endpoint.name, "group comparison", grouping, f"fewer than 2 groups with data ({len(levels)}): skipped")
                continue
            if sub["event"].sum() == 0:
                _note(notes, endpoint.name, "group comparison", grouping, "no events: skipped")
                continue
            usable_strata = [s for s in strata if s in sub and sub[s].nunique() > 1]
            tests = [logrank(sub, "time", "event", grouping)]
            if usable_strata:
                tests.append(logrank(sub, "time", "event", grouping, strata=usable_strata))
            for res in tests:
                row = res.summary()
                row["strata"] = ", ".join(usable_strata) if res.stratified else ""
                out["logrank"].append(_tag(row, endpoint.name, grouping))
            # Cox: a level without events has an infinite log-HR; leave such levels out, with a note
            events = sub.groupby(grouping)["event"].sum()
            empty = [lv for lv, ev in events.items() if ev == 0]
            for lv in empty:
                _note(notes, endpoint.name, "Cox", grouping, f"level '{lv}' has no events: left out of the Cox model")
            cox_data = sub[~sub[grouping].isin(empty)]
            if cox_data[grouping].nunique() < 2:
                continue
            ref = reference_levels.get(grouping)
            if ref not in set(cox_data[grouping]):
                ref = cox_data[grouping].value_counts().sort_index().idxmax()
            for model_strata in [None, *([usable_strata] if usable_strata else [])]:
                fit = safe_cox(cox_data, [grouping], notes, endpoint.name, grouping, categorical={grouping: ref},
                               strata=model_strata, conf_level=conf_level)
                if fit is None:
                    continue
                tab = fit.table.copy()
                tab["level"] = tab["term"].str.split("=", n=1).str[1]
                tab = tab.merge(fit.counts[["level", "n", "events"]], on="level", how="left")
                refrow = fit.counts[fit.counts["reference"]].iloc[0]
                tab["reference"] = ref
                tab["reference_n"], tab["reference_events"] = int(refrow["n"]), refrow["events"]
                tab["strata"] = ", ".join(model_strata) if model_strata else ""
                tab["lrt_p"] = fit.lrt_p
                tab["ties"] = "efron"
                out["cox"].append(_tag(tab, endpoint.name, grouping))
            try:
                ph, split = ph_check(cox_data, "time", "event", [grouping], cuts=timesplit_cuts, alpha=ph_alpha,
                                     categorical={grouping: ref})
            except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:  # no finite fit
                _note(notes, endpoint.name, "PH test", grouping, f"not computed: {type(exc).__name__}")
                continue
            out["ph_test"].append(_tag(ph, endpoint.name, grouping))
            if split is not None:
                out["timesplit"].append(_tag(split, endpoint.name, grouping))
    return {k: _combine(v, k) for k, v in out.items()}, notes


def rmst_analyses(endpoints: pd.DataFrame, taus, after_stop: list[str], from_start: list[str],
                  reference_levels: dict, conf_level: float = 0.95) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """RMST to each tau (Greenwood-type SE as R ``print(survfit, rmean=tau)``) and differences vs the
    reference level (SE from the two independent group SEs)."""
    out = {"rmst": [], "rmst_diff": []}
    notes: list[dict] = []
    for endpoint, data in analysable(endpoints, notes, "RMST"):
        # one Kaplan-Meier table per grouping, read at every tau
        overall = km_table(data, "time", "event", conf_level=conf_level)
        grouped = {}
        for grouping in groupings_for(endpoint, after_stop, from_start):
            sub = usable_groups(data, grouping)
            if sub[grouping].nunique() >= 2:
                ref = reference_levels.get(grouping)
                grouped[grouping] = (km_table(sub, "time", "event", group=grouping, conf_level=conf_level),
                                     ref if ref in set(sub[grouping]) else None)
        for tau in taus:
            out["rmst"].append(_tag(rmst_from_table(overall, tau, conf_level), endpoint.name, OVERALL))
            for grouping, (table, ref) in grouped.items():
                per = rmst_from_table(table, tau, conf_level)
                out["rmst"].append(_tag(per, endpoint.name, grouping))
                out["rmst_diff"].append(_tag(rmst_diff_from_rmst(per, tau, reference=ref, conf_level=conf_level),
                                             endpoint.name, grouping))
    return {k: _combine(v, k) for k, v in out.items()}, notes


def competing_risks(endpoints: pd.DataFrame, landmarks, after_stop: list[str], reference_levels: dict,
                    conf_level: float = 0.95) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """After stopping: exact Aalen-Johansen CIF of progression (cause 1) and death without
    progression (cause 2), overall and by grouping, and cause-specific Cox HRs per grouping."""
    out = {"cif": [], "cif_landmarks": [], "cause_specific_cox": []}
    notes: list[dict] = []
    for endpoint, data in analysable(endpoints, notes, "competing risks", ["pfs_after_stop"]):
        for grouping, label, sub in overall_and_groups(data, after_stop):
            if sub.empty:
                continue
            table = cif_table(sub, "time", "cause", group=grouping, causes=[1, 2], conf_level=conf_level)
            out["cif"].append(_tag(table, endpoint.name, label))
            out["cif_landmarks"].append(_tag(cif_at(table, landmarks), endpoint.name, label))
            if grouping is not None and sub[grouping].nunique() >= 2:
                out["cause_specific_cox"] += _cause_specific_cox(sub, grouping, reference_levels, notes, endpoint.name,
                                                                 conf_level)
    return {k: _combine(v, k) for k, v in out.items()}, notes


def _cause_specific_cox(sub: pd.DataFrame, grouping: str, reference_levels: dict, notes: list[dict], endpoint: str,
                        conf_level: float) -> list[pd.DataFrame]:
    """Cause-specific Cox HRs of ``grouping`` for progression (cause 1) and death without progression
    (cause 2): the other cause is censoring at its time; levels without events of the cause left out."""
    tables = []
    for cause in (1, 2):
        events = sub.assign(_e=(sub["cause"] == cause)).groupby(grouping)["_e"].sum()
        fit_data = sub[sub[grouping].isin(events[events > 0].index)]
        if fit_data[grouping].nunique() < 2:
            _note(notes, endpoint, "cause-specific Cox", grouping, f"cause {cause}: fewer than 2 levels with events")
            continue
        ref = reference_levels.get(grouping)
        if ref not in set(fit_data[grouping]):
            ref = fit_data[grouping].value_counts().sort_index().idxmax()
        cs_data = fit_data.assign(event=(fit_data["cause"] == cause).astype(int))
        fit = safe_cox(cs_data, [grouping], notes, endpoint, grouping, analysis=f"cause-specific Cox (cause {cause})",
                       categorical={grouping: ref}, conf_level=conf_level)
        if fit is None:
            continue
        tab = fit.table.copy()
        tab["level"] = tab["term"].str.split("=", n=1).str[1]
        tab["reference"] = ref
        tab["cause"] = cause
        tables.append(_tag(tab, endpoint, grouping))
    return tables


def hazard_by_interval(endpoints: pd.DataFrame, breaks, groupings: list[str], conf_level: float = 0.95
                       ) -> tuple[pd.DataFrame, list[dict]]:
    """Piecewise-constant hazard of progression or death after stopping, per interval (exact Poisson CI),
    overall and by each grouping with at least two levels."""
    notes: list[dict] = []
    frames = []
    for endpoint, data in analysable(endpoints, notes, "hazard by interval", ["pfs_after_stop"]):
        for grouping, label, sub in overall_and_groups(data, groupings):
            if grouping is None or sub[grouping].nunique() >= 2:
                frames.append(_tag(piecewise_hazard(sub, "time", "event", breaks=breaks, group=grouping,
                                                    conf_level=conf_level), endpoint.name, label))
    return _combine(frames, "hazard"), notes


def safe_cox(data: pd.DataFrame, covariates: list[str], notes: list[dict], endpoint: str, grouping: str,
             max_abs_coef: float = 10.0, analysis: str = "Cox", **kwargs):
    """Cox fit (Efron ties, the package's engine); None with a note when it does not converge to finite
    estimates (e.g. a level with events in no shared risk set: a monotone likelihood)."""
    try:
        fit = cox_fit(data, "time", "event", covariates, **kwargs)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        fit = None
    if fit is not None:
        coef = fit.table["coef"].to_numpy()
        if fit.converged and np.all(np.isfinite(coef)) and np.all(np.abs(coef) < max_abs_coef) \
                and np.all(np.isfinite(fit.table["se"])):
            return fit
    strata = kwargs.get("strata")
    _note(notes, endpoint, analysis, grouping,
          "model not estimable (no convergence to finite estimates)" + (f", stratified by {', '.join(strata)}" if strata else ""))
    return None


def notes_frame(notes: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(notes, columns=["endpoint", "analysis", "grouping", "note"])


def finite_or_nan(frame: pd.DataFrame) -> pd.DataFrame:
    """Replace +-inf by NaN (a 'not reached' median is NaN plus a flag, never inf)."""
    return frame.replace([np.inf, -np.inf], np.nan)

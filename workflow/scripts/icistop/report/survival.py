"""Report section: survival after stopping ICI without progression (question 1).

Inputs (named inputs of rule report_survival; files of rules survival_*). Every table has the columns
``endpoint`` (pfs_after_stop, os_after_stop, pfs_from_start, os_from_start), ``grouping`` ("overall"
or a column of endpoints.parquet) and, except the comparisons, ``group`` ("all" when overall):
- ``curves`` results/survival/km_curves.tsv: time, n_risk, n_event, n_censor, surv, lower, upper
  (one row per distinct exit time, R survfit);
- ``landmarks`` results/survival/km_landmarks.tsv: time, n_risk, cum_events, surv, lower, upper,
  beyond_followup, n;
- ``risktable`` results/survival/km_risktable.tsv: time, n_risk, cum_events, cum_censored (KMunicate);
- optional ``medians`` km_medians.tsv: events, median, lower, upper, median_not_reached;
- optional ``followup`` followup.tsv: n, median, median_lower, median_upper, q1, q3 (reverse KM);
- optional ``cox`` cox.tsv: level, reference, n, events, reference_n, reference_events, hr, lower,
  upper, p, strata, lrt_p; ``logrank`` logrank.tsv: test, chisq, df, p, strata; ``ph_test`` ph_test.tsv:
  term, p, ph_violated, test (R cox.zph: one row per term, the grouping's term with k-1 df, and GLOBAL);
- optional ``cif_curves`` cif_curves.tsv: cause (1 progression, 2 death without progression), time,
  cif, lower, upper; ``cif_landmarks`` cif_landmarks.tsv: cause, time, cif, lower, upper, n_risk,
  beyond_followup;
- optional ``hazard`` hazard_by_interval.tsv: interval, start, end, events, person_years,
  rate_per_100py, lower_per_100py, upper_per_100py, ci_method;
- optional ``rmst`` rmst.tsv: tau, rmst, lower, upper, tau_beyond_last_time;
- optional ``notes_*`` (km_notes.tsv, ...): endpoint, analysis, grouping, note (what was skipped).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icistop.report.privacy import suppress_count
from icistop.report.context import (SectionResult, add_figure, add_table, figure_spec, frame_from_cells, key_cell,
                             new_section, read_tsv, require_columns, table_spec)
from icistop.report.figures import bar_figure, curve_figure
from icistop.report.format import estimate_ci, label, missing, num, pvalue

TITLE = "Survival after stopping ICI"
OVERALL = "overall"
ENDPOINT_LABELS = {"pfs_after_stop": "PFS after stopping", "os_after_stop": "OS after stopping",
                   "pfs_from_start": "PFS from ICI start", "os_from_start": "OS from ICI start"}
ENDPOINT_ORDER = ["pfs_after_stop", "os_after_stop", "pfs_from_start", "os_from_start"]
CAUSE_LABELS = {1: "Progression", 2: "Death without progression", "1": "Progression",
                "2": "Death without progression"}
# figures drawn: stem -> (endpoint, grouping)
KM_FIGURES = {
    "survival_km_pfs_after_stop": ("pfs_after_stop", OVERALL),
    "survival_km_os_after_stop": ("os_after_stop", OVERALL),
    "survival_km_pfs_after_stop_by_stop_reason": ("pfs_after_stop", "stop_reason"),
    "survival_km_pfs_from_start": ("pfs_from_start", OVERALL),
    "survival_km_os_from_start": ("os_from_start", OVERALL),
}


def endpoint_label(e: str) -> str:
    return ENDPOINT_LABELS.get(str(e), label(e))


def _sel(frame: pd.DataFrame, endpoint: str, grouping: str = OVERALL) -> pd.DataFrame:
    return frame[(frame["endpoint"] == endpoint) & (frame["grouping"].astype(str) == grouping)]


def _f(x):
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def _true(x) -> bool:
    return str(x).strip().lower() in ("true", "1")


def _ordered(values) -> list:
    vals = list(dict.fromkeys(values))
    return sorted(vals, key=lambda e: (ENDPOINT_ORDER.index(e) if e in ENDPOINT_ORDER else 99, str(e)))


def curtail(curves: pd.DataFrame, min_frac: float) -> pd.DataFrame:
    """Curve rows while at least ``min_frac`` of the group's patients remain at risk (per group)."""
    if not min_frac:
        return curves
    parts = []
    for _, d in curves.groupby("group", sort=False):
        n0 = d["n_risk"].max()
        parts.append(d[d["n_risk"] >= min_frac * n0])
    return pd.concat(parts) if parts else curves


def landmark_rows(lm: pd.DataFrame, k: int, by_group: bool) -> tuple[list[str], list[list], dict]:
    columns = (["Endpoint"] if not by_group else ["Grouping", "Group"]) + \
        ["Months", "Survival (95% CI)", "At risk", "Events so far", "Patients"]
    rows, values = [], {}
    for r in lm.to_dict("records"):
        e, g, grp, t = str(r["endpoint"]), str(r["grouping"]), str(r["group"]), float(r["time"])
        beyond = _true(r.get("beyond_followup")) or missing(r.get("surv"))
        text = "not estimable (beyond follow-up)" if beyond else estimate_ci(r["surv"], r.get("lower"), r.get("upper"), "pct")
        key = f"surv_{e}_{g}_{grp}_{t:g}"
        lead = [endpoint_label(e)] if not by_group else [label(g), label(grp)]
        rows.append(lead + [f"{t:g}", key_cell(text, key, r.get("surv")),
                            key_cell(suppress_count(r.get("n_risk"), k), f"risk_{e}_{g}_{grp}_{t:g}", r.get("n_risk")),
                            suppress_count(r.get("cum_events"), k), suppress_count(r.get("n"), k)])
        values[key] = {"endpoint": e, "grouping": g, "group": grp, "time": t, "surv": _f(r.get("surv")),
                       "lower": _f(r.get("lower")), "upper": _f(r.get("upper")), "n_risk": _f(r.get("n_risk")),
                       "n": _f(r.get("n")), "beyond": bool(beyond)}
    return columns, rows, values


def km_figure(curves: pd.DataFrame, risk: pd.DataFrame | None, endpoint: str, grouping: str, k: int,
              min_frac: float, risk_times):
    c = curtail(_sel(curves, endpoint, grouping), min_frac).copy()
    c["group"] = c["group"].map(label)
    r = _sel(risk, endpoint, grouping).copy() if risk is not None else None
    if r is not None:
        r["group"] = r["group"].map(label)
    xmax = max(risk_times) if risk_times else None
    ylabel = "Progression-free survival" if endpoint.startswith("pfs") else "Overall survival"
    xlabel = "Months since stopping ICI" if endpoint.endswith("after_stop") else "Months since ICI start"
    return curve_figure(c, r, group="group", ylabel=ylabel, xlabel=xlabel, k=k, xmax=xmax,
                        risk_times=risk_times, group_label=(label(grouping) if grouping != OVERALL else None))


def survival_section(files: dict, k: int = 0, min_at_risk_frac: float = 0.0, risk_times=None,
                     figures_wanted=None) -> SectionResult:
    """``figures_wanted``: figure stems to draw (default: all of KM_FIGURES plus CIF and hazard)."""
    sec = new_section("survival", TITLE)
    tables, figures = {}, {}
    values: dict = {"milestones": {}, "followup": {}}
    wanted = set(figures_wanted) if figures_wanted is not None else set(KM_FIGURES) | {"survival_cif", "survival_hazard"}
    curves = read_tsv(files["curves"])
    require_columns(curves, ["endpoint", "grouping", "group", "time", "n_risk", "surv"], files["curves"])
    lm = read_tsv(files["landmarks"])
    require_columns(lm, ["endpoint", "grouping", "group", "time", "n_risk", "surv", "lower", "upper"], files["landmarks"])
    risk = read_tsv(files["risktable"]) if "risktable" in files else None
    if risk_times is None and risk is not None and len(risk):
        risk_times = sorted(set(risk["time"].astype(float)))
    endpoints = _ordered(curves["endpoint"])
    if "conf_type" in curves and curves["conf_type"].notna().any():
        values["conf_type"] = str(curves["conf_type"].dropna().iloc[0])

    # survival at the landmarks: overall per endpoint, then by group after stopping
    overall = lm[lm["grouping"].astype(str) == OVERALL].copy()
    overall["_o"] = overall["endpoint"].map(lambda e: ENDPOINT_ORDER.index(e) if e in ENDPOINT_ORDER else 99)
    overall = overall.sort_values(["_o", "time"], kind="mergesort")
    columns, rows, mvalues = landmark_rows(overall, k, by_group=False)
    values["milestones"].update(mvalues)
    display = frame_from_cells(columns, rows)
    add_table(sec, table_spec("survival_landmarks", "Kaplan-Meier survival at the landmark times (pointwise 95% CI, "
                              "log-log); stop cohort for the endpoints after stopping, treated cohort from ICI start.",
                              display, cells=rows, group_rows=True,
                              numeric=("Months", "Survival (95% CI)", "At risk", "Events so far", "Patients")))
    tables["survival_landmarks"] = display

    for stem, (endpoint, grouping) in KM_FIGURES.items():
        if stem not in wanted or _sel(curves, endpoint, grouping).empty:
            continue
        figures[stem] = km_figure(curves, risk, endpoint, grouping, k, min_at_risk_frac, risk_times)
        what = endpoint_label(endpoint) + (f" by {label(grouping)}" if grouping != OVERALL else "")
        add_figure(sec, figure_spec(stem, f"{what}: Kaplan-Meier estimate with pointwise 95% CI, censoring ticks and "
                                    "numbers at risk" + (f"; curves end when fewer than {100 * min_at_risk_frac:g}% "
                                                         "of the group remain at risk" if min_at_risk_frac else "") + ".",
                                    f"Kaplan-Meier curve, {what}"))

    by_group = lm[(lm["grouping"].astype(str) != OVERALL) & (lm["endpoint"] == "pfs_after_stop")]
    if len(by_group):
        columns, rows, gvalues = landmark_rows(by_group, k, by_group=True)
        values["milestones"].update(gvalues)
        display = frame_from_cells(columns, rows)
        add_table(sec, table_spec("survival_landmarks_by_group", "PFS after stopping at the landmark times by group.",
                                  display, cells=rows, group_rows=True,
                                  numeric=("Months", "Survival (95% CI)", "At risk", "Events so far", "Patients")))
        tables["survival_landmarks_by_group"] = display

    if "medians" in files:
        med = read_tsv(files["medians"])
        med = med[med["endpoint"].isin(endpoints)]
        frame = pd.DataFrame({
            "Endpoint": [endpoint_label(e) for e in med["endpoint"]],
            "Group": [f"{label(g)}: {label(gp)}" if str(g) != OVERALL else "all patients"
                      for g, gp in zip(med["grouping"], med["group"])],
            "Events": [suppress_count(x, k) for x in med.get("events", pd.Series([np.nan] * len(med)))],
            "Median, months (95% CI)": [_median_text(r) for r in med.to_dict("records")]})
        add_table(sec, table_spec("survival_medians", "Median survival (Kaplan-Meier; NR = not reached).", frame,
                                  group_rows=True, numeric=("Events", "Median, months (95% CI)")))
        tables["survival_medians"] = frame

    if "followup" in files:
        fu = read_tsv(files["followup"])
        frame = pd.DataFrame({
            "Endpoint": [endpoint_label(e) for e in fu["endpoint"]],
            "Patients": [suppress_count(n, k) for n in fu["n"]],
            "Median follow-up, months (95% CI)": [estimate_ci(m, lo, hi, "num") for m, lo, hi in
                                                  zip(fu["median"], fu["median_lower"], fu["median_upper"])],
            "IQR, months": [f"{num(a)}\u2013{num(b)}" for a, b in zip(fu["q1"], fu["q3"])]})
        if {"min_time", "max_time"} <= set(fu.columns):
            frame["Range of observed times, months"] = [f"{num(a)}\u2013{num(b)}" for a, b in
                                                        zip(fu["min_time"], fu["max_time"])]
        add_table(sec, table_spec("survival_followup", "Follow-up (reverse Kaplan-Meier: censoring as the event).",
                                  frame, numeric=tuple(c for c in frame.columns if c != "Endpoint")))
        tables["survival_followup"] = frame
        values["followup"] = {str(e): _f(m) for e, m in zip(fu["endpoint"], fu["median"])}

    if "cox" in files:
        frame, cells = comparison_table(read_tsv(files["cox"]),
                                        read_tsv(files["logrank"]) if "logrank" in files else None,
                                        read_tsv(files["ph_test"]) if "ph_test" in files else None, k)
        if frame is not None:
            add_table(sec, table_spec("survival_comparisons", "Comparisons after stopping: Cox hazard ratios versus the "
                                      "reference level (Efron ties, unstratified), log-rank test and proportional-hazards "
                                      "test per grouping.", frame, cells=cells, group_rows=True,
                                      numeric=("n", "Events", "HR (95% CI)", "p", "Log-rank p", "PH test p")))
            tables["survival_comparisons"] = frame
        cox_all = read_tsv(files["cox"])
        if "ties" in cox_all and cox_all["ties"].notna().any():
            values["ties"] = str(cox_all["ties"].dropna().iloc[0])
        if "ph_test" in files:
            ph = read_tsv(files["ph_test"])
            if "test" in ph and ph["test"].notna().any():
                values["ph_test_name"] = str(ph["test"].dropna().iloc[0])

    if "cif_landmarks" in files:
        cl = read_tsv(files["cif_landmarks"])
        cl = cl[cl["grouping"].astype(str) == OVERALL]
        frame = pd.DataFrame({
            "Event": [CAUSE_LABELS.get(c, label(c)) for c in cl["cause"]],
            "Months after stop": [f"{t:g}" for t in cl["time"]],
            "Cumulative incidence (95% CI)": ["not estimable (beyond follow-up)" if _true(b) else
                                              estimate_ci(c, lo, hi, "pct") for c, lo, hi, b in
                                              zip(cl["cif"], cl["lower"], cl["upper"], cl.get("beyond_followup", [False] * len(cl)))],
            "At risk": [suppress_count(n, k) for n in cl.get("n_risk", pd.Series([np.nan] * len(cl)))]})
        add_table(sec, table_spec("survival_competing", "Competing risks after stopping: cumulative incidence of "
                                  "progression and of death without progression (Aalen-Johansen).", frame,
                                  group_rows=True, numeric=("Months after stop", "Cumulative incidence (95% CI)", "At risk")))
        tables["survival_competing"] = frame
        values["cif"] = [{"cause": str(c), "time": float(t), "cif": _f(v)} for c, t, v in zip(cl["cause"], cl["time"], cl["cif"])]
    if "cif_curves" in files and "survival_cif" in wanted:
        cc = read_tsv(files["cif_curves"])
        cc = cc[cc["grouping"].astype(str) == OVERALL].copy()
        if len(cc):
            cc["group"] = [CAUSE_LABELS.get(c, str(c)) for c in cc["cause"]]
            cc = curtail(cc, 0.0)
            figures["survival_cif"] = curve_figure(cc, None, group="group", ylabel="Cumulative incidence",
                                                   xlabel="Months since stopping ICI", cumulative=True, ylim=(0.0, 1.0),
                                                   xmax=max(risk_times) if risk_times else None, risk_times=risk_times)
            add_figure(sec, figure_spec("survival_cif", "Cumulative incidence of progression and of death without "
                                        "progression after stopping ICI (Aalen-Johansen, pointwise 95% CI).",
                                        "Cumulative incidence curves after stopping"))

    if "hazard" in files:
        hz = read_tsv(files["hazard"])
        hz = hz[hz["grouping"].astype(str) == OVERALL]
        if len(hz):
            frame = pd.DataFrame({
                "Interval (months after stop)": [str(i) for i in hz["interval"]],
                "At risk at start": [suppress_count(n, k) for n in hz["n_at_risk_start"]],
                "Events": [suppress_count(n, k) for n in hz["events"]],
                "Person-years": [num(x) for x in hz["person_years"]],
                "Rate per 100 person-years (95% CI)": [estimate_ci(r, lo, hi, "num") for r, lo, hi in
                                                       zip(hz["rate_per_100py"], hz["lower_per_100py"], hz["upper_per_100py"])]})
            method = str(hz["ci_method"].dropna().iloc[0]) if "ci_method" in hz and hz["ci_method"].notna().any() else ""
            if method:
                values["hazard_ci"] = method
            add_table(sec, table_spec("survival_hazard", "Progression or death after stopping: event rate by interval "
                                      "since stopping" + (f" ({method} CI)." if method else "."), frame,
                                      numeric=tuple(frame.columns[1:])))
            tables["survival_hazard"] = frame
            values["hazard"] = [{"interval": str(i), "rate": _f(r)} for i, r in zip(hz["interval"], hz["rate_per_100py"])]
            if "survival_hazard" in wanted:
                figures["survival_hazard"] = bar_figure(hz.assign(_x=hz["interval"].astype(str)), x="_x", y="rate_per_100py",
                                                        lower="lower_per_100py", upper="upper_per_100py",
                                                        ylabel="Events per 100 person-years",
                                                        xlabel="Months since stopping ICI")
                add_figure(sec, figure_spec("survival_hazard", "Rate of progression or death per 100 person-years by "
                                            "interval since stopping ICI (95% CI).", "Event rate by interval"))

    if "rmst" in files:
        rm = read_tsv(files["rmst"])
        rm = rm[rm["grouping"].astype(str) == OVERALL]
        if len(rm):
            frame = pd.DataFrame({"Endpoint": [endpoint_label(e) for e in rm["endpoint"]],
                                  "Horizon (months)": [f"{t:g}" for t in rm["tau"]],
                                  "RMST, months (95% CI)": [estimate_ci(r, lo, hi, "num") for r, lo, hi in
                                                            zip(rm["rmst"], rm["lower"], rm["upper"])]})
            add_table(sec, table_spec("survival_rmst", "Restricted mean survival time up to each horizon.", frame,
                                      group_rows=True, numeric=("Horizon (months)", "RMST, months (95% CI)")))
            tables["survival_rmst"] = frame

    for key in sorted(f for f in files if f.startswith("notes")):
        notes = read_tsv(files[key])
        for r in notes.to_dict("records"):
            sec["notes"].append(f"{endpoint_label(r.get('endpoint'))}, {r.get('analysis')} ({label(r.get('grouping'))}): "
                                f"{r.get('note')}")
    sec["values"] = values
    return SectionResult(sec, figures=figures, tables=tables)


def _median_text(r: dict) -> str:
    if _true(r.get("median_not_reached")) or missing(r.get("median")):
        return "NR"
    lo = "NR" if missing(r.get("lower")) else num(r["lower"])
    hi = "NR" if missing(r.get("upper")) else num(r["upper"])
    return f"{num(r['median'])} ({lo}\u2013{hi})"


def comparison_table(cox: pd.DataFrame, logrank: pd.DataFrame | None, ph: pd.DataFrame | None, k: int):
    """One row per level of each grouping after stopping (reference first), unstratified Cox."""
    if cox is None or cox.empty:
        return None, None
    c = cox[cox["endpoint"].astype(str).str.endswith("after_stop")]
    if "strata" in c:
        c = c[c["strata"].isna() | (c["strata"].astype(str).isin(["", "nan"]))]
    columns = ["Endpoint / grouping", "Level", "n", "Events", "HR (95% CI)", "p", "Log-rank p", "PH test p"]
    rows = []
    for (e, g), d in c.groupby(["endpoint", "grouping"], sort=False):
        lr = ""
        if logrank is not None and len(logrank):
            m = logrank[(logrank["endpoint"] == e) & (logrank["grouping"] == g) & (logrank["test"] == "log-rank")]
            if len(m):
                lr = pvalue(m["p"].iloc[0])
        php = ""  # the grouping's cox.zph term (all its levels, k-1 df), not the GLOBAL row
        if ph is not None and len(ph):
            m = ph[(ph["endpoint"] == e) & (ph["grouping"] == g) & (ph["term"] == g)]
            if len(m):
                php = pvalue(m["p"].iloc[0])
        name = f"{endpoint_label(e)}: {label(g)}"
        first = d.iloc[0]
        rows.append([name, f"{label(first['reference'])} (reference)", suppress_count(first.get("reference_n"), k),
                     suppress_count(first.get("reference_events"), k), "1", "", lr, php])
        for r in d.to_dict("records"):
            rows.append([name, label(r["level"]), suppress_count(r.get("n"), k), suppress_count(r.get("events"), k),
                         key_cell(estimate_ci(r["hr"], r["lower"], r["upper"], "ratio"), f"hr_{e}_{g}_{r['level']}", r["hr"]),
                         pvalue(r.get("p")), lr, php])
    return frame_from_cells(columns, rows), rows

"""Report section: continuing versus stopping ICI (question 2).

Inputs (named inputs of rule report_continuation; files of rules continuation_*), per outcome
``o`` in ``continuation.outcomes`` (the first is the primary one used in the key findings):
- ``protocol`` results/continuation/protocol.tsv: item, target_trial, emulation;
- ``{o}_comparison`` results/continuation/{o}/comparison.tsv: method, label, population, time_origin,
  estimand, estimate, lower, upper, ci_method (naive, landmark, time-varying Cox and CCW side by side);
- ``{o}_estimates`` results/continuation/{o}/ccw_estimates.tsv: estimand (surv_A_h, surv_B_h, diff_h,
  ratio_h, rmst_A, rmst_B, rmst_diff, hr, loghr), estimate, lower, upper, n_boot, ci_method;
- ``{o}_km`` results/continuation/{o}/ccw_km.tsv: arm, time, surv, lower, upper (weighted KM per strategy);
- ``{o}_weights`` results/continuation/{o}/weight_diagnostics.tsv: arm, interval_start, n_clones, mean,
  sd, min, p01, median, p99, max, ess;
- optional ``{o}_censoring`` results/continuation/{o}/artificial_censoring.tsv: arm, interval_start,
  interval_end, n_at_risk_of_deviation, n_censored.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from icistop.stats.intervals import ANALYTIC_LABEL, ARM_SE_METHODS
from icistop.report.privacy import suppress_count
from icistop.report.context import (SectionResult, add_figure, add_table, figure_spec, frame_from_cells, key_cell,
                             new_section, read_tsv, require_columns, table_spec)
from icistop.report.figures import curve_figure, forest_figure, message_figure, weights_figure
from icistop.report.format import estimate_ci, missing, num

TITLE = "Continuing versus stopping ICI"
HR_AXIS = "Hazard ratio, continuing (on ICI) vs stopping (log scale; < 1 favours continuing)"


def estimand_kind(estimand: str) -> str:
    text = str(estimand)
    if text.upper().startswith("HR") or text.lower().startswith("interaction hr"):
        return "ratio"
    if "RMST" in text.upper():
        return "num"
    if "difference" in text.lower():
        return "pp"
    if "ratio" in text.lower():
        return "ratio"
    return "num"


def is_estimable(row) -> bool:
    """A result row may be printed (column ``estimable`` absent = yes)."""
    value = row.get("estimable", True) if hasattr(row, "get") else True
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return True
    return str(value).strip().lower() not in ("false", "0", "0.0")


def not_estimable(row) -> str:
    reason = row.get("reason") if hasattr(row, "get") else None
    return f"not estimable ({reason})" if not missing_text(reason) else "not estimable"


def missing_text(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or not str(value).strip()


def format_estimate(estimand, est, lo, hi) -> str:
    kind = estimand_kind(estimand)
    if kind == "num":
        return estimate_ci(est, lo, hi, "num", digits=2)
    return estimate_ci(est, lo, hi, kind)


def format_row(row, estimand_col: str = "estimand", est: str = "estimate") -> str:
    """The estimate (95% CI) of a result row, or "not estimable (reason)"."""
    if not is_estimable(row):
        return not_estimable(row)
    return format_estimate(row[estimand_col], row[est], row.get("lower"), row.get("upper"))


def method_family(method: str) -> str:
    m = str(method).lower()
    if m.startswith("naive"):
        return "naive"
    if m.startswith("landmark"):
        return "landmark"
    if m.startswith("time-varying"):
        return "time_varying"
    if m.startswith("ccw"):
        return "ccw"
    return re.sub(r"\W+", "_", m).strip("_")


def comparison_rows(comp: pd.DataFrame, outcome: str) -> tuple[list[str], list[list], list[str]]:
    columns = ["Method", "Estimand", "Estimate (95% CI)", "Events", "CI", "Population", "Time origin"]
    rows, labels = [], {}
    for i, r in comp.reset_index(drop=True).iterrows():
        est_text = format_row(r)
        fam = method_family(r["method"])
        key = f"cont_{outcome}_{fam}_{i}"
        if estimand_kind(r["estimand"]) == "ratio" and str(r["estimand"]).upper().startswith("HR"):
            key = f"cont_{outcome}_{fam}_hr" + ("" if fam != "landmark" else f"_{_landmark_of(r['method'])}")
        events = "" if missing_text(r.get("events")) else str(r.get("events"))
        rows.append([str(r["method"]), str(r["estimand"]),
                     key_cell(est_text, key, r["estimate"] if is_estimable(r) else None), events,
                     str(r.get("ci_method", "")), str(r.get("population", "")), str(r.get("time_origin", ""))])
        lab = "" if pd.isna(r.get("label")) else str(r.get("label"))
        if lab and lab not in labels:
            labels[lab] = str(r["method"])
    notes = [f"{method}: {lab}" for lab, method in labels.items()]
    return columns, rows, notes


def _landmark_of(method: str) -> str:
    m = re.search(r"landmark\s+([\d.]+)", str(method))
    return m.group(1) if m else "x"


def hr_rows(comp: pd.DataFrame) -> pd.DataFrame:
    """HRs that may be printed (not-estimable ones are left out of the forest plot)."""
    d = comp[comp["estimand"].astype(str).str.upper().str.startswith("HR")].copy()
    d = d[[is_estimable(r) for _, r in d.iterrows()]]
    d["label"] = d["method"].astype(str)
    d["note"] = [estimate_ci(e, lo, hi, "ratio") for e, lo, hi in zip(d["estimate"], d["lower"], d["upper"])]
    return d


def horizon_table(est: pd.DataFrame) -> pd.DataFrame | None:
    """Per-strategy survival at the horizons with difference and ratio (rows per horizon)."""
    e = est.set_index("estimand")
    horizons = sorted({float(m.group(1)) for k in e.index if (m := re.match(r"surv_A_([\d.]+)$", str(k)))})
    if not horizons:
        return None
    rows = []

    def get(name, kind):
        if name not in e.index:
            return "NE"
        r = e.loc[name]
        if not is_estimable(r):
            return not_estimable(r)
        if kind == "pct" and not missing(r["estimate"]) and float(r["estimate"]) >= 1 - 1e-12 \
                and missing(r.get("lower")):
            return f"{estimate_ci(r['estimate'], None, None, 'pct')} (no event; CI not estimable)"
        return estimate_ci(r["estimate"], r.get("lower"), r.get("upper"), kind)

    for h in horizons:
        rows.append({"Months after time zero": f"{h:g}", "A: stop": get(f"surv_A_{h:g}", "pct"),
                     "B: continue": get(f"surv_B_{h:g}", "pct"), "Difference B \u2212 A": get(f"diff_{h:g}", "pp"),
                     "Ratio B / A": get(f"ratio_{h:g}", "ratio")})
    if "rmst_diff" in e.index:
        def rmst(name):
            if name not in e.index:
                return "NE"
            r = e.loc[name]
            return num(r["estimate"], 2) if is_estimable(r) else not_estimable(r)
        r = e.loc["rmst_diff"]
        rows.append({"Months after time zero": "RMST (months)", "A: stop": rmst("rmst_A"), "B: continue": rmst("rmst_B"),
                     "Difference B \u2212 A": (estimate_ci(r["estimate"], r.get("lower"), r.get("upper"), "num", digits=2)
                                                if is_estimable(r) else not_estimable(r)),
                     "Ratio B / A": ""})
    return pd.DataFrame(rows)


PER_ARM = r"(surv_[AB]_[\d.]+|rmst_[AB])$"  # per-strategy estimands of ccw_estimates.tsv


def bootstrap_note(est: pd.DataFrame) -> str | None:
    """'500 bootstrap replicates; 8 failed or diverged for the HR (left out).' from ccw_estimates.tsv."""
    if "n_boot" not in est or not est["n_boot"].notna().any():
        return None
    failed = est.get("n_boot_failed", pd.Series(0, index=est.index)).fillna(0).astype(int)
    total = int((est["n_boot"].fillna(0) + failed).max())
    if not total:  # analytic SEs (no bootstrap)
        return None
    text = f"{total} bootstrap replicates"
    names = {"hr": "the hazard ratio", "rmst_diff": "the RMST difference"}
    bad = {names.get(str(k), str(k)): int(v) for k, v in zip(est["estimand"], failed) if v > 0 and str(k) != "loghr"}
    if bad:
        text += "; failed or diverged (left out): " + ", ".join(f"{n} for {k}" for k, n in bad.items())
    else:
        text += "; none failed"
    return text + "."


def arm_ci_text(est: pd.DataFrame) -> str:
    """': <method>' of the per-strategy rows' intervals (``ci_method`` of ccw_estimates.tsv; '' when absent)."""
    if "ci_method" not in est:
        return ""
    rows = est[est["estimand"].astype(str).str.match(PER_ARM)]
    return f": {rows['ci_method'].dropna().iloc[0]}" if rows["ci_method"].notna().any() else ""


def followed_note(est: pd.DataFrame, k: int = 0) -> str | None:
    """Who carries each arm after its decision window (the per-strategy estimates rest on them)."""
    if not {"n_followed_A", "n_followed_B"} <= set(est.columns) or not est["n_followed_A"].notna().any():
        return None
    a, b = int(est["n_followed_A"].dropna().iloc[0]), int(est["n_followed_B"].dropna().iloc[0])
    text = (f"After the grace period strategy A rests on the {suppress_count(a, k)} eligible patients who stopped "
            f"within it, strategy B on the {suppress_count(b, k)} who continued to planned completion (weighted "
            "to stand for all eligible patients). ")
    if arm_ci_text(est) == f": {ARM_SE_METHODS['working_cox']}":
        return text + ("Per-strategy intervals use the working-Cox information SE (see Methods), which lets the few "
                       "heavily weighted patients add the variance they carry; with the bootstrap SE such intervals "
                       "were too narrow in the workflow's simulation study (benchmarks/simulation_study.md).")
    per_arm = est[est["estimand"].astype(str).str.match(PER_ARM)] if "ci_method" in est else est.iloc[0:0]
    if (per_arm["ci_method"] == ANALYTIC_LABEL).any():
        return text + ("Per-strategy survival intervals use the influence-function SE treating the weights as known, "
                       "restricted means the working-Cox information SE (no bootstrap above "
                       "continuation.bootstrap.analytic_above_n eligible patients; see Methods).")
    return text + ("Per-strategy survival near 100% in an arm carried by few heavily weighted patients can have "
                   "bootstrap intervals that are too narrow (the workflow's simulation study, "
                   "benchmarks/simulation_study.md); its differences, ratios and HRs covered as intended.")


def weight_summary(weights: pd.DataFrame, censoring: pd.DataFrame | None, k: int = 0) -> pd.DataFrame:
    if "arm" not in weights or not len(weights):
        return pd.DataFrame({"Strategy": ["A (stop)", "B (continue)"],
                             "Weights": ["none: nobody eligible at time zero"] * 2})
    rows = []
    for arm, g in weights.groupby("arm", sort=False):
        row = {"Strategy": str(arm), "Intervals": str(len(g)),
               "Mean weight (range over intervals)": f"{g['mean'].min():.2f}\u2013{g['mean'].max():.2f}",
               "Largest 99th percentile": f"{g['p99'].max():.2f}" if "p99" in g else "NE",
               "Largest weight": f"{g['max'].max():.2f}",
               "Smallest effective sample size": num(g["ess"].min(), 1) if "ess" in g else "NE"}
        if censoring is not None and len(censoring) and "n_censored" in censoring:
            c = censoring[censoring["arm"] == arm]
            row["Artificially censored"] = suppress_count(int(c["n_censored"].sum()), k)
        rows.append(row)
    return pd.DataFrame(rows)


def continuation_section(files: dict, outcomes, k: int = 0) -> SectionResult:
    outcomes = list(outcomes)
    sec = new_section("continuation", TITLE)
    tables, figures = {}, {}
    if "protocol" in files:
        proto = read_tsv(files["protocol"])
        require_columns(proto, ["item", "target_trial", "emulation"], files["protocol"])
        frame = pd.DataFrame({"Protocol item": proto["item"], "Target trial": proto["target_trial"],
                              "Emulation": proto["emulation"]})
        add_table(sec, table_spec("continuation_protocol", "Target trial and its emulation.", frame))
        tables["continuation_protocol"] = frame
    per_outcome = {}
    for o in outcomes:
        comp = read_tsv(files[f"{o}_comparison"])
        require_columns(comp, ["method", "estimand", "estimate", "lower", "upper"], files[f"{o}_comparison"])
        columns, rows, notes = comparison_rows(comp, o)
        name = f"continuation_{o}_comparison"
        display = frame_from_cells(columns, rows)
        add_table(sec, table_spec(name, f"{o.upper()}: naive, landmark, time-varying Cox and target-trial "
                                        "emulation estimates side by side.", display, cells=rows, notes=notes,
                                  numeric=("Estimate (95% CI)",), group_rows=True))
        tables[name] = display
        hr = hr_rows(comp)
        fig_name = f"continuation_{o}_estimates"
        figures[fig_name] = (forest_figure(hr, label="label", est="estimate", lower="lower", upper="upper", note="note",
                                           xlabel=HR_AXIS) if len(hr) else message_figure("No hazard ratio estimated."))
        add_figure(sec, figure_spec(fig_name, f"{o.upper()}: hazard ratios of continuing vs stopping by method "
                                          "(95% CI). Naive comparisons are biased by immortal time.",
                                          "Hazard ratios by method"))
        est = read_tsv(files[f"{o}_estimates"]) if f"{o}_estimates" in files else None
        if est is not None:
            ht = horizon_table(est)
            if ht is not None:
                name = f"continuation_{o}_strategies"
                notes = [n for n in (bootstrap_note(est), followed_note(est, k)) if n]
                add_table(sec, table_spec(name, f"{o.upper()} per strategy in the emulated trial (weighted "
                                                f"Kaplan-Meier, 95% CI{arm_ci_text(est)}).", ht, notes=notes))
                tables[name] = ht
        if f"{o}_km" in files:
            km = read_tsv(files[f"{o}_km"])
            fig_name = f"continuation_{o}_ccw_km"
            figures[fig_name] = curve_figure(km, None, group="arm", ylabel=f"{o.upper()} (weighted)",
                                             xlabel="Months since time zero")
            how = f" ({km['se_method'].dropna().iloc[0]})" if "se_method" in km and km["se_method"].notna().any() else ""
            add_figure(sec, figure_spec(fig_name, f"Emulated trial: weighted Kaplan-Meier {o.upper()} per "
                                              f"strategy with pointwise 95% CI{how}.",
                                              "Weighted survival curves per strategy"))
        if f"{o}_weights" in files:
            w = read_tsv(files[f"{o}_weights"])
            cens = read_tsv(files[f"{o}_censoring"]) if files.get(f"{o}_censoring") else None
            ws = weight_summary(w, cens, k)
            name = f"continuation_{o}_weights"
            add_table(sec, table_spec(name, f"{o.upper()}: inverse-probability-of-censoring weights per "
                                            "strategy (diagnostics over the weight-model intervals).", ws))
            tables[name] = ws
            fig_name = f"continuation_{o}_weights"
            figures[fig_name] = weights_figure(w) if len(w) else message_figure("No weights: nobody eligible.")
            add_figure(sec, figure_spec(fig_name, f"{o.upper()}: mean, 99th percentile and maximum weight per "
                                              "interval and strategy.", "Weight diagnostics over time"))
        per_outcome[o] = _values(comp, est)
    unavailable = {}
    for o in outcomes:
        comp = read_tsv(files[f"{o}_comparison"])
        reasons = {str(r.get("reason")) for _, r in comp.iterrows() if not is_estimable(r)}
        if len(comp) and len(reasons) == 1 and not any(is_estimable(r) for _, r in comp.iterrows()):
            unavailable[o] = reasons.pop()
    sec["values"] = {"outcomes": outcomes, "primary": outcomes[0] if outcomes else None, "by_outcome": per_outcome,
                     "unavailable": unavailable}
    return SectionResult(sec, figures=figures, tables=tables)


def _pick(comp: pd.DataFrame, family: str) -> dict | None:
    d = comp[[method_family(m) == family for m in comp["method"]]]
    d = d[d["estimand"].astype(str).str.upper().str.startswith("HR")]
    if d.empty:
        return None
    r = d.iloc[0]
    ok = is_estimable(r)
    return {"method": str(r["method"]), "estimand": str(r["estimand"]), "estimate": _f(r["estimate"]) if ok else None,
            "lower": _f(r["lower"]) if ok else None, "upper": _f(r["upper"]) if ok else None,
            "ci_method": str(r.get("ci_method", "")), "estimable": ok,
            "reason": "" if ok or missing_text(r.get("reason")) else str(r.get("reason"))}


def _f(x):
    return None if missing(x) else float(x)


def _values(comp: pd.DataFrame, est: pd.DataFrame | None) -> dict:
    out = {"ccw_hr": _pick(comp, "ccw"), "naive_hr": _pick(comp, "naive"), "time_varying_hr": _pick(comp, "time_varying"),
           "landmark_hr": _pick(comp, "landmark")}
    if est is not None:
        e = est.set_index("estimand")
        diffs = {}
        for key in e.index:
            m = re.match(r"diff_([\d.]+)$", str(key))
            if m:
                r = e.loc[key]
                ok = is_estimable(r)
                diffs[m.group(1)] = {"estimate": _f(r["estimate"]) if ok else None,
                                     "lower": _f(r.get("lower", np.nan)) if ok else None,
                                     "upper": _f(r.get("upper", np.nan)) if ok else None, "estimable": ok,
                                     "reason": "" if ok or missing_text(r.get("reason")) else str(r.get("reason"))}
        out["ccw_diff"] = diffs
        if "n_boot" in est:
            failed = est["n_boot_failed"].fillna(0) if "n_boot_failed" in est else 0
            total = (est["n_boot"].fillna(0) + failed).max()
            out["n_boot"] = int(total) if est["n_boot"].notna().any() else None
            out["n_boot_failed"] = int(est["n_boot_failed"].fillna(0).max()) if "n_boot_failed" in est else 0
        if "ci_method" in est:  # comparisons and per-arm estimates may use different SEs (tables.ARM_SE_METHODS)
            per_arm = est["estimand"].astype(str).str.match(PER_ARM)
            for name, rows in (("ci_method", est[~per_arm]), ("arm_ci_method", est[per_arm])):
                if rows["ci_method"].notna().any():
                    out[name] = str(rows["ci_method"].dropna().iloc[0])
    return out

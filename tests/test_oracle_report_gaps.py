"""Oracle tests for the report estimates that had no R check (see docs/oracle-coverage.md).

On the embedded example (resources/example, default config) the package functions that write the
report's result tables are compared with R (``survival``, ``stats``, ``maxstat``) or with closed
formulas evaluated in base R code (tests/oracle/report_gaps_oracle.R):

- survival after stopping: landmark survival with events so far and patients, medians, reverse-KM
  follow-up, RMST with CI for the four endpoints; Cox HR / CI / Wald p / LR p and log-rank p per
  grouping; Aalen-Johansen CIF with its CI; interval event rates with exact Poisson CI
  (``poisson.test``) and person-time from ``survSplit``;
- Table 1 medians and IQR (``quantile(type = 7)``);
- biomarkers: the Simmons-style horizon table (``fisher.test`` OR, exact CI and p per level, r x 2 p,
  ``wilcox.test``, ``p.adjust``), univariable Cox per marker (HR, CI, Wald p, LR p, log-rank p, q),
  the multivariable Cox model with drop-one LR tests (``anova`` of nested ``coxph`` fits), restricted
  cubic splines (Harrell knots and basis in base R code as documented by icistop.stats.splines; overall and
  non-linearity LR tests; HR curve with delta-method CI), maximally selected log-rank cut-points
  (``maxstat.test``, Lau94/Lau92) with the dichotomy's HR, cumulative incidence by marker level,
  Harrell's C (``concordance``), IPCW AUC(t) by the docstring's formula, the bootstrap optimism
  correction on the same resamples, calibration by risk groups (Breslow risk from ``survfit.coxph``
  with ``ctype = 1``, KM per group), re-challenge outcomes (``binom.test``, ``survfit``);
- continuation: naive and landmark Cox HRs and KM differences with their SEs (``survfit`` Greenwood),
  time-varying Cox on the example's episodes; on the CCW clone rows of the continuation oracle
  fixture: weighted KM pointwise log-log CI with the clustered robust SE (``survfit(..., id =,
  robust = TRUE)``), RMST per arm, weight diagnostics; the pooled logistic deviation model
  (``glm(binomial)``).

``test_vs_committed_fixture`` compares with tests/fixtures/oracle/report_gaps_oracle.json (inputs and
R's answers) always; ``test_vs_live_r`` runs Rscript now (skips with a reason without Rscript; fails
when CI=true). ``test_inputs_are_the_current_example`` checks the fixture inputs are still the
example's. Regenerate with ``python tests/test_oracle_report_gaps.py --regenerate``; print the max abs
differences per quantity with ``python tests/test_oracle_report_gaps.py``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

from icistop import DAYS_PER_MONTH  # noqa: E402
from icistop.biomarkers.competing import competing_risks  # noqa: E402
from icistop.biomarkers.continuous import cutpoint_analysis, spline_analysis  # noqa: E402
from icistop.biomarkers.cox import multivariable_cox, multivariable_design, univariable_cox  # noqa: E402
from icistop.biomarkers.discrimination import discrimination_analysis  # noqa: E402
from icistop.biomarkers.horizon import horizon_fisher  # noqa: E402
from icistop.biomarkers.markers import marker_specs, prepare_analysis_data, transform_values  # noqa: E402
from icistop.biomarkers.populations import population_config  # noqa: E402
from icistop.biomarkers.rechallenge import rechallenge_analysis  # noqa: E402
from icistop.survival import analysis as sa  # noqa: E402
from icistop.continuation.ccw import clone_design, eligible, weight_diagnostics  # noqa: E402
from icistop.continuation.ccw import km_table as ccw_km_table  # noqa: E402
from icistop.continuation.panel import confounder_design, prepare_panel  # noqa: E402
from icistop.continuation.landmark import landmark_analysis, landmark_population  # noqa: E402
from icistop.stats.logistic import logit_fit  # noqa: E402
from icistop.continuation.naive import naive_ever_stopped, stopped_early  # noqa: E402
from icistop.continuation.protocol import protocol_from_config  # noqa: E402
from icistop.continuation.timevarying import timevarying_cox  # noqa: E402
from icistop.stats.km import km_fit  # noqa: E402
from icistop.report.table1 import table1  # noqa: E402
from icistop.stats.splines import harrell_knots  # noqa: E402

pytestmark = pytest.mark.oracle

R_SCRIPT = ROOT / "tests" / "oracle" / "report_gaps_oracle.R"
FIXTURE = ROOT / "tests" / "fixtures" / "oracle" / "report_gaps_oracle.json"
CONT_FIXTURE = ROOT / "tests" / "fixtures" / "oracle" / "continuation_oracle.json"
CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())

ENDPOINT_COLUMNS = ["patient_id", "in_stop_cohort", "stop_pfs_time", "stop_pfs_event", "stop_pfs_cause", "stop_os_time",
                    "stop_os_event", "pfs_time", "pfs_event", "pfs_cause", "os_time", "os_event", "last_assessment_time",
                    "stop_reason", "regimen", "best_response", "time_on_ici_group", "site", "age_at_ici_start", "tmb",
                    "time_on_ici", "has_rechallenge", "rechallenge_best_response", "rechallenge_pfs_time",
                    "rechallenge_pfs_event"]
TABLE1_CONTINUOUS = ["age_at_ici_start", "tmb", "time_on_ici"]
N_BOOT_DISCRIMINATION = 40  # the configured 200 resamples run the same code; fewer keep the test fast


# ----------------------------------------------------------------------------------------------- inputs
def example_tables() -> dict:
    """The example's endpoints, assessments and ctDNA, derived by the workflow's own code."""
    from icistop.cohort.cohorts import define_cohorts, resolve_cutoff
    from icistop.cohort.endpoints import derive_endpoints
    from icistop.data.validation import validate_directory

    tables, _, summary = validate_directory(ROOT / CONFIG["data_dir"])
    assert summary["status"] == "passed"
    cutoff = resolve_cutoff(tables, CONFIG["data_cutoff"])
    cohorts, _ = define_cohorts(tables, CONFIG["cohort"], cutoff)
    return derive_endpoints(tables, cohorts, cutoff, **CONFIG["endpoints"])


def _column(values) -> list:
    """JSON-safe column: NaN/inf/NA -> None, numpy scalars -> Python."""
    out = []
    for v in values:
        if v is None or v is pd.NA or (isinstance(v, (float, np.floating)) and not np.isfinite(v)):
            out.append(None)
        elif isinstance(v, (np.bool_, bool)):
            out.append(bool(v))
        elif isinstance(v, (np.integer,)):
            out.append(int(v))
        elif isinstance(v, (np.floating,)):
            out.append(float(v))
        else:
            out.append(v)
    return out


def _frame(df: pd.DataFrame) -> dict:
    return {c: _column(df[c].tolist()) for c in df.columns}


def _matrix(m: np.ndarray) -> list:
    return [_column(row) for row in np.asarray(m, float).tolist()]


def synthetic_rechallenge(n: int = 80, seed: int = 20240613) -> pd.DataFrame:
    """Endpoint rows with enough re-challenged patients for a KM median with a CI."""
    rng = np.random.default_rng(seed)
    cause = rng.choice([0, 1, 2], size=n, p=[0.2, 0.7, 0.1])
    rech = (cause == 1) & (rng.random(n) < 0.8)
    resp = rng.choice(["CR", "PR", "SD", "PD", "NE", None], size=n, p=[0.15, 0.3, 0.2, 0.2, 0.1, 0.05])
    t = np.round(rng.exponential(9, n), 1) + 0.1
    e = (rng.random(n) < 0.7).astype(float)
    return pd.DataFrame({"in_stop_cohort": True, "stop_pfs_cause": cause, "has_rechallenge": rech,
                         "rechallenge_best_response": np.where(rech, resp, None),
                         "rechallenge_pfs_time": np.where(rech, t, np.nan),
                         "rechallenge_pfs_event": np.where(rech, e, np.nan)})


def boot_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """The resamples of icistop.discrimination.bootstrap_optimism, in order (0-based rows)."""
    rng = np.random.default_rng(seed)
    return np.array([rng.integers(0, n, size=n) for _ in range(n_boot)])


def continuation_inputs(endpoints: pd.DataFrame, assessments: pd.DataFrame, outcome: str) -> dict:
    """Analysis populations and design matrices of the continuation analyses (the R side refits them)."""
    p = protocol_from_config(CONFIG["continuation"], outcome)
    panel = prepare_panel(endpoints, assessments, outcome)
    threshold = float(CONFIG["continuation"]["naive"]["stop_threshold_days"]) / DAYS_PER_MONTH
    pop = panel[panel["msi_h_or_dmmr"].to_numpy(bool)] if p.require_msi_h_or_dmmr else panel
    early = stopped_early(pop, threshold)
    out = {"landmark": p.landmark, "horizons": list(p.horizons), "tau": p.tau, "threshold": threshold,
           "naive": {"time": _column(pop["y_time"]), "event": _column(pop["y_event"]),
                     "continued": _column((~early).astype(float))}}
    lms = []
    for L in CONFIG["continuation"]["landmark"]["landmarks"]:
        lp = landmark_population(panel, float(L), p)
        Z, names = confounder_design(lp, list(p.confounders) + ["response_at_landmark"])
        lms.append({"L": float(L), "time": _column(lp["lm_time"]), "event": _column(lp["lm_event"]),
                    "on": _column(lp["on_ici"]), "Z": _matrix(Z), "names": names})
    out["landmarks"] = lms
    if outcome != CONFIG["continuation"]["outcomes"][0]:
        return out  # the secondary outcome runs the same code: naive and landmark analyses only
    tab, ep = timevarying_cox(panel, p, entry=float(CONFIG["continuation"]["timevarying"]["entry"]))
    Z, _ = confounder_design(pop.reset_index(drop=True), p.confounders)
    cols = [ep["on_ici"].to_numpy(), ep["cr"].to_numpy(), ep["pr"].to_numpy()]
    if outcome == "os":
        cols.append(ep["progressed"].to_numpy())
    X = np.column_stack(cols + [Z[ep["pid"].to_numpy()]])
    out["timevarying"] = {"start": _column(ep["start"]), "stop": _column(ep["stop"]), "event": _column(ep["event"]),
                          "X": _matrix(X), "terms": tab["term"].tolist()}
    design = clone_design(panel[eligible(panel, p)].reset_index(drop=True), p)
    out["deviation_model"] = {"X": _matrix(design.a_X), "y": _column(design.a_y)}
    return out


def oracle_inputs() -> dict:
    """Everything the R script needs (the example's data and the designs the package builds from it)."""
    ex = _example()
    ep, data, bcfg = ex["endpoints"], ex["data"], ex["bcfg"]
    X, _, _ = multivariable_design(data, bcfg)
    idx = boot_indices(len(X), N_BOOT_DISCRIMINATION, int(bcfg["discrimination"]["seed"]))
    scfg = CONFIG["survival"]
    return {
        "endpoints": _frame(ep[ENDPOINT_COLUMNS]),
        "survival": {k: scfg[k] for k in ("landmarks", "risk_table_times", "rmst_tau", "hazard_breaks",
                                          "groupings_after_stop",
                                          "groupings_from_start", "reference_levels", "strata", "conf_level")},
        "table1_continuous": TABLE1_CONTINUOUS,
        "biomarkers": {"data": _frame(data), "cfg": bcfg, "boot_index": idx.tolist()},
        "rechallenge_synthetic": _frame(synthetic_rechallenge()),
        "continuation": {o: continuation_inputs(ep, ex["assessments"], o) for o in CONFIG["continuation"]["outcomes"]},
        "ccw": ccw_inputs(),
        "intervals": interval_inputs(),
    }


def ccw_inputs() -> dict:
    """CCW clone rows (synthetic cohort) of the continuation oracle fixture, with the default protocol's tau."""
    from icistop.continuation.protocol import Protocol

    rows = json.loads(CONT_FIXTURE.read_text())["inputs"]["clones"]
    tau = Protocol().tau
    return {"rows": rows, "tau": tau, "grid": _column(np.arange(0.0, tau + 1.0))}


# ----------------------------------------------------------------------------------------------- package answers
def _put(out: dict, key: str, value) -> None:
    """One scalar answer; NaN/inf/None -> None (R: NA)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    out[key] = v if math.isfinite(v) else None


def _truthy(v) -> bool:
    return str(v).strip().lower() in ("true", "1", "1.0")


def survival_answers(ep: pd.DataFrame, scfg: dict) -> dict:
    """Tables of the report's survival section (icistop.survival.analysis, as rules survival_*)."""
    out: dict = {}
    after, start, refs = scfg["groupings_after_stop"], scfg["groupings_from_start"], scfg["reference_levels"]
    conf = scfg["conf_level"]
    km, _ = sa.km_analyses(ep, scfg["landmarks"], scfg["risk_table_times"], after, start, conf_level=conf)
    for r in km["landmarks"].to_dict("records"):
        for q in ("surv", "lower", "upper", "n_risk", "cum_events", "cum_censored", "n"):
            _put(out, f"landmark|{r['endpoint']}|{r['grouping']}|{r['group']}|{r['time']:g}|{q}", r[q])
    for r in km["risktable"].to_dict("records"):
        for q in ("n_risk", "cum_events", "cum_censored"):
            _put(out, f"risktable|{r['endpoint']}|{r['grouping']}|{r['group']}|{r['time']:g}|{q}", r[q])
    for r in km["medians"].to_dict("records"):
        for q in ("median", "lower", "upper", "events"):
            _put(out, f"median|{r['endpoint']}|{r['grouping']}|{r['group']}|{q}", r[q])
    for r in km["followup"].to_dict("records"):
        for q in ("median", "median_lower", "median_upper", "q1", "q3", "min_time", "max_time"):
            _put(out, f"followup|{r['endpoint']}|{q}", r[q])
    rm, _ = sa.rmst_analyses(ep, scfg["rmst_tau"], after, start, refs, conf_level=conf)
    for r in rm["rmst"].to_dict("records"):
        for q in ("rmst", "se", "lower", "upper"):
            _put(out, f"rmst|{r['endpoint']}|{r['grouping']}|{r['group']}|{r['tau']:g}|{q}", r[q])
    for r in rm["rmst_diff"].to_dict("records"):
        for q in ("diff", "se", "lower", "upper", "p"):
            _put(out, f"rmst_diff|{r['endpoint']}|{r['grouping']}|{r['group']}|{r['tau']:g}|{q}", r[q])
    cmp, _ = sa.compare_groups(ep, after, start, refs, scfg["strata"], 0.05, [12.0, 24.0], conf_level=conf)
    for r in cmp["cox"].to_dict("records"):
        strata = "stratified" if isinstance(r.get("strata"), str) and r["strata"] else "plain"
        for q in ("hr", "lower", "upper", "p", "lrt_p"):
            _put(out, f"cox|{r['endpoint']}|{r['grouping']}|{strata}|{r['level']}|{q}", r[q])
    for r in cmp["logrank"].to_dict("records"):
        strata = "stratified" if isinstance(r.get("strata"), str) and r["strata"] else "plain"
        for q in ("chisq", "p"):
            _put(out, f"logrank|{r['endpoint']}|{r['grouping']}|{strata}|{q}", r[q])
    cr, _ = sa.competing_risks(ep, scfg["landmarks"], after, refs, conf_level=conf)
    for r in cr["cif_landmarks"].to_dict("records"):
        for q in ("cif", "se", "lower", "upper", "n_risk"):
            _put(out, f"cif|{r['grouping']}|{r['group']}|{int(r['cause'])}|{r['time']:g}|{q}", r[q])
    hz, _ = sa.hazard_by_interval(ep, scfg["hazard_breaks"], ["stop_reason"], conf_level=conf)
    for r in hz.to_dict("records"):
        for q in ("n_at_risk_start", "events", "person_years", "rate_per_100py", "lower_per_100py", "upper_per_100py"):
            _put(out, f"hazard|{r['grouping']}|{r['group']}|{r['interval']}|{q}", r[q])
    return out


def table1_answers(ep: pd.DataFrame) -> dict:
    """Medians and IQR of the continuous Table 1 rows per stop reason and in total."""
    from icistop.report.format import label
    from icistop.report.table1 import TOTAL, VARIABLES

    _, raw = table1(ep)
    names = {name: col for col, name, kind, _ in VARIABLES if kind == "continuous"}
    stop = ep[ep["in_stop_cohort"].astype(bool)]
    codes = {label(r): r for r in stop["stop_reason"].dropna().unique()}
    codes[TOTAL] = "Total"
    out: dict = {}
    for (name, level, group), q in raw.items():
        if level != "median [IQR]" or names.get(name) not in TABLE1_CONTINUOUS or q is None:
            continue
        for tag, v in zip(("median", "q1", "q3"), q):
            _put(out, f"table1|{names[name]}|{codes[group]}|{tag}", v)
    return out


def biomarker_answers(data: pd.DataFrame, cfg: dict) -> dict:
    """Result tables of rules biomarker_horizon, biomarker_cox, biomarker_cif, biomarker_discrimination."""
    out: dict = {}
    hz = horizon_fisher(data, cfg)
    for r in hz[hz["status"] == "ok"].to_dict("records"):
        m, lv = r["marker"], r["level"]
        for q in ("n_level", "recurred_level", "odds_ratio", "or_ci_low", "or_ci_high", "p_level", "median_recurred",
                  "median_not_recurred", "p_marker", "q_marker"):
            per_level = q in ("odds_ratio", "or_ci_low", "or_ci_high", "p_level")
            if per_level and (lv == "(continuous)" or _truthy(r.get("is_reference"))):
                continue
            if q.startswith("median") and lv != "(continuous)":
                continue
            _put(out, f"horizon|{m}|{lv}|{q}", r[q])
    # the Pearson chi-square fallback for r x 2 tables over the exact-enumeration work limit
    forced = json.loads(json.dumps(cfg))
    forced["horizon"]["exact_rxc_max_work"] = 1
    hp = horizon_fisher(data, forced)
    for r in hp[(hp["status"] == "ok") & hp["test"].astype(str).str.startswith("Pearson")].to_dict("records"):
        _put(out, f"horizon_pearson|{r['marker']}|p_marker", r["p_marker"])
    lev, mk = univariable_cox(data, cfg)
    for r in lev[lev["status"] == "ok"].to_dict("records"):
        for q in ("n_level", "events_level", "hr", "hr_ci_low", "hr_ci_high", "p_level"):
            if _truthy(r["is_reference"]) and q not in ("n_level", "events_level"):
                continue
            _put(out, f"univariable|{r['marker']}|{r['level']}|{q}", r[q])
    for r in mk[mk["status"] == "ok"].to_dict("records"):
        for q in ("n", "events", "lr_stat", "p_lr", "wald_stat", "p_wald", "p_logrank", "q_marker"):
            _put(out, f"univariable|{r['marker']}|(marker)|{q}", r[q])
    mv, _ = multivariable_cox(data, cfg)
    for r in mv.to_dict("records"):
        for q in ("hr", "hr_ci_low", "hr_ci_high", "p_level", "lr_drop_stat", "p_marker_lr"):
            _put(out, f"multivariable|{r['term']}|{q}", r[q])
    for q in ("n", "events", "model_lr_stat", "model_p_lr"):
        _put(out, f"multivariable|(model)|{q}", mv[q].iloc[0])
    tests, curves = spline_analysis(data, cfg)
    specs = {s.name: s for s in marker_specs(cfg)}
    nk = int(cfg["splines"]["knots"])
    for r in tests.to_dict("records"):
        m = r["marker"]
        for q in ("n", "events", "reference_value", "lr_overall", "df_overall", "p_overall", "lr_nonlinear",
                  "df_nonlinear", "p_nonlinear"):
            _put(out, f"splines|{m}|{q}", r[q])
        u = transform_values(data[m], specs[m]).dropna().to_numpy()
        for j, k in enumerate(harrell_knots(u, nk)):
            _put(out, f"splines|{m}|knot{j}", k)
        c = curves[curves["marker"] == m].reset_index(drop=True)
        for i, row in c.iterrows():
            for q in ("value", "hr", "hr_ci_low", "hr_ci_high"):
                _put(out, f"spline_curve|{m}|{i}|{q}", row[q])
    cut = cutpoint_analysis(data, cfg)
    for r in cut.to_dict("records"):
        for q in ("n", "events", "cutpoint", "n_high", "statistic", "p_lau94", "p_lau92", "hr_high_vs_low",
                  "hr_ci_low", "hr_ci_high"):
            _put(out, f"cutpoint|{r['marker']}|{q}", r[q])
    _, csum = competing_risks(data, cfg, mk)
    for r in csum.to_dict("records"):
        for q in ("n", "progressions", "deaths", "cif_progression", "cif_progression_low", "cif_progression_high",
                  "cif_death", "cif_death_low", "cif_death_high"):
            _put(out, f"cif_marker|{r['marker']}|{r['level']}|{r['time']:g}|{q}", r[q])
    metrics, cal = discrimination_analysis(data, cfg)
    for r in metrics.to_dict("records"):
        for q in ("apparent", "optimism", "corrected", "n_boot_used", "n"):
            _put(out, f"discrimination|{r['metric']}|{q}", r[q])
    for r in cal.to_dict("records"):
        for q in ("n", "events", "predicted_min", "predicted_max", "predicted_mean", "observed", "observed_lower",
                  "observed_upper"):
            _put(out, f"calibration|{int(r['group'])}|{q}", r[q])
    return out


def rechallenge_answers(frames: dict, cfg: dict) -> dict:
    out: dict = {}
    for name, ep in frames.items():
        resp, pfs, _ = rechallenge_analysis(ep, cfg)
        for r in resp.to_dict("records"):
            for q in ("n", "pct", "pct_ci_low", "pct_ci_high"):
                if q in r and (q in ("n", "pct") or r["response"].startswith("objective")):
                    _put(out, f"rechallenge|{name}|{r['response']}|{q}", r[q])
        for q in ("n_rechallenged", "n", "events", "median", "median_ci_low", "median_ci_high", "rate", "rate_ci_low",
                  "rate_ci_high"):
            _put(out, f"rechallenge|{name}|pfs|{q}", pfs[q].iloc[0])
    return out


def continuation_answers(endpoints: pd.DataFrame, assessments: pd.DataFrame) -> dict:
    """Naive and landmark estimates (both outcomes), time-varying Cox and the deviation model (primary)."""
    out: dict = {}
    cc = CONFIG["continuation"]
    threshold = float(cc["naive"]["stop_threshold_days"]) / DAYS_PER_MONTH
    for o in cc["outcomes"]:
        p = protocol_from_config(cc, o)
        panel = prepare_panel(endpoints, assessments, o)
        nv = naive_ever_stopped(panel, p, threshold, cc["naive"].get("comparator", "all_others"))
        keys = ["loghr", "se_loghr"] + [f"{k}_{h:g}" for h in p.horizons
                                        for k in ("surv_stop", "surv_cont", "diff", "se_diff")]
        for k in keys:
            _put(out, f"naive|{o}|{k}", nv[k])
        for L in cc["landmark"]["landmarks"]:
            res = landmark_analysis(panel, float(L), p)
            keys = ["loghr", "se_loghr", "loghr_unadj", "se_loghr_unadj"] + [
                f"{k}_{h:g}" for h in p.horizons for k in ("surv_on", "surv_off", "diff", "se_diff")]
            for k in keys:
                _put(out, f"landmark|{o}|{float(L):g}|{k}", res[k])
        if o != cc["outcomes"][0]:
            continue
        tab, _ = timevarying_cox(panel, p, entry=float(cc["timevarying"]["entry"]))
        for r in tab.to_dict("records"):
            for q in ("coef", "se", "hr_lower", "hr_upper"):
                _put(out, f"timevarying|{o}|{r['term']}|{q}", r[q])
        design = clone_design(panel[eligible(panel, p)].reset_index(drop=True), p)
        for tag, ridge in (("glm", 0.0), ("ridge", 1e-6)):
            coef = logit_fit(design.a_X, design.a_y, ridge=ridge)
            for j, b in enumerate(coef):
                _put(out, f"deviation_model|{o}|{tag}|{j}", b)
    return out


def ccw_answers(clones: pd.DataFrame, tau: float, grid) -> dict:
    """Weighted KM curves with pointwise CI (continuation.ccw.km_table), RMST per arm and weight diagnostics
    on the clone rows of the continuation oracle fixture."""
    from icistop.continuation.protocol import Protocol

    p = Protocol(tau=tau)
    fits = {arm: km_fit(g["start"], g["stop"], g["event"], g["weight"]) for arm, g in clones.groupby("arm")}
    tab = ccw_km_table({"_clones": {"rows": clones}, "_km": fits}, p, grid=np.asarray(grid, float), arm_se="bootstrap")
    out: dict = {}
    for r in tab.to_dict("records"):
        for q in ("surv", "se", "lower", "upper"):
            _put(out, f"ccw_km|{r['arm'][0]}|{r['time']:g}|{q}", r[q])
    for arm, fit in fits.items():
        _put(out, f"ccw_rmst|{'AB'[arm]}|{tau:g}", fit.rmst(tau))
    wd = weight_diagnostics({"rows": clones}, p)
    for r in wd.to_dict("records"):
        for q in ("n_clones", "mean", "sd", "min", "p01", "median", "p99", "max", "ess"):
            _put(out, f"ccw_weights|{r['arm'][0]}|{r['interval_start']:g}|{q}", r[q])
    return out


def python_answers(inp: dict | None = None) -> dict:
    """{part: {key: value}} from the package on the current example (and the CCW fixture rows)."""
    ex = _example()
    ep, data = ex["endpoints"], ex["data"]
    cfg = ex["bcfg"]
    cont = continuation_answers(ep, ex["assessments"])
    ccw_in = ccw_inputs() if inp is None else inp["ccw"]
    bio = biomarker_answers(data, cfg)
    parts = {"horizon": ("horizon", "horizon_pearson"), "univariable": "univariable", "multivariable": "multivariable",
             "splines": ("splines", "spline_curve"), "cutpoints": "cutpoint", "cif_marker": "cif_marker",
             "discrimination": ("discrimination", "calibration")}
    out = {"survival": survival_answers(ep, CONFIG["survival"]), "table1": table1_answers(ep)}
    for part, prefix in parts.items():
        pre = (prefix,) if isinstance(prefix, str) else prefix
        out[part] = {k: v for k, v in bio.items() if k.split("|")[0] in pre}
    out["rechallenge"] = rechallenge_answers({"example": ep, "synthetic": synthetic_rechallenge()}, cfg)
    out["continuation"] = cont
    out["ccw"] = ccw_answers(pd.DataFrame(ccw_in["rows"]), float(ccw_in["tau"]), ccw_in["grid"])
    out["intervals"] = interval_answers(interval_inputs() if inp is None else inp["intervals"])
    return out


_CACHE: dict = {}


def _example() -> dict:
    """The example's tables and the biomarker analysis data (computed once per session)."""
    if not _CACHE:
        ex = example_tables()
        bcfg = population_config(json.loads(json.dumps(CONFIG["biomarkers"])), "post_stop")
        bcfg["discrimination"]["n_boot"] = N_BOOT_DISCRIMINATION
        data, _ = prepare_analysis_data(ex["endpoints"], ex.get("ctdna"), bcfg)
        _CACHE.update(endpoints=ex["endpoints"], assessments=ex["assessments"], ctdna=ex.get("ctdna"), data=data,
                      bcfg=bcfg)
    return _CACHE


def run_r(inp: dict, workdir: Path, parts=()) -> dict:
    src, dst = workdir / "report_gaps_input.json", workdir / "report_gaps_output.json"
    src.write_text(json.dumps(inp, separators=(",", ":")))
    proc = subprocess.run(["Rscript", str(R_SCRIPT), str(src), str(dst), *parts], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)
    if proc.returncode != 0:
        raise AssertionError(f"Rscript failed:\n{proc.stderr[-3000:]}")
    return json.loads(dst.read_text())


def interval_inputs(seed: int = 20240614) -> list[dict]:
    """Estimates with bootstrap replicates on each scale of icistop.stats.intervals (a probability near 1, a
    difference, a ratio, an HR, an RMST difference)."""
    rng = np.random.default_rng(seed)
    cases = [("surv_A_24", 0.942, 0.942 + 0.03 * rng.standard_normal(500)),
             ("surv_B_36", 0.989, np.minimum(0.989 + 0.012 * rng.standard_normal(500), 1.0)),
             ("diff_24", -0.018, -0.018 + 0.028 * rng.standard_normal(500)),
             ("ratio_36", 0.94, 0.94 * np.exp(0.08 * rng.standard_normal(500))),
             ("hr", 1.51, 1.51 * np.exp(0.47 * rng.standard_normal(500))),
             ("rmst_diff", -1.0, -1.0 + 0.9 * rng.standard_normal(500))]
    return [{"estimand": k, "estimate": e, "replicates": _column(b)} for k, e, b in cases]


def interval_answers(cases: list[dict]) -> dict:
    """icistop.intervals.bootstrap_interval (the continuation tables' CIs) per estimand and method."""
    from icistop.stats.intervals import bootstrap_interval, scale_of

    out: dict = {}
    for c in cases:
        for method in ("transformed_wald", "percentile"):
            lo, hi, se = bootstrap_interval(c["estimate"], np.asarray(c["replicates"], float), scale_of(c["estimand"]),
                                            method)
            for q, v in (("lower", lo), ("upper", hi), ("se", se)):
                _put(out, f"interval|{c['estimand']}|{method}|{q}", v)
    return out


# ----------------------------------------------------------------------------------------------- comparison
PARTS = ["survival", "table1", "horizon", "univariable", "multivariable", "splines", "cutpoints", "cif_marker",
         "discrimination", "rechallenge", "continuation", "ccw", "intervals"]
# input sections each part's R answers depend on (their hash is stored with the fixture)
PART_INPUTS = {"survival": ["endpoints", "survival"], "table1": ["endpoints", "table1_continuous"],
               "rechallenge": ["endpoints", "rechallenge_synthetic", "biomarkers"], "continuation": ["continuation"],
               "ccw": ["ccw"], "intervals": ["intervals"]}
CLOSED = 1e-10  # closed forms (KM, Greenwood, quantiles, exact tests, counts, weights)
FIT = 1e-6      # quantities from iterative fits (Cox partial likelihood, logistic regression)
RIDGE = 1e-5    # the deviation models' tiny ridge penalty (1e-6) vs unpenalised glm
FIT_FIELDS = {
    "survival": ("cox|",),
    "univariable": ("|hr", "|hr_ci_low", "|hr_ci_high", "|p_level", "|lr_stat", "|p_lr", "|wald_stat", "|p_wald",
                    "|q_marker"),
    "multivariable": ("|hr", "|hr_ci_low", "|hr_ci_high", "|p_level", "|lr_drop_stat", "|p_marker_lr", "|model_lr_stat",
                      "|model_p_lr"),
    "splines": ("|lr_overall", "|p_overall", "|lr_nonlinear", "|p_nonlinear", "|hr", "|hr_ci_low", "|hr_ci_high"),
    "cutpoints": ("|hr_high_vs_low", "|hr_ci_low", "|hr_ci_high"),
    "discrimination": ("|predicted_min", "|predicted_max", "|predicted_mean"),
    "continuation": ("|loghr", "|se_loghr", "|loghr_unadj", "|se_loghr_unadj", "timevarying|", "deviation_model|"),
}


def tolerance(part: str, key: str) -> float:
    if part == "continuation" and "|ridge|" in key:
        return RIDGE
    fields = FIT_FIELDS.get(part, ())
    if any(key.startswith(f) if f.endswith("|") else key.endswith(f) for f in fields):
        return FIT
    return CLOSED


def quantity(key: str) -> str:
    """Key without the row labels: first and last field (e.g. 'cox|hr')."""
    fields = key.split("|")
    tag = fields[-1] if not fields[-1].isdigit() else fields[-2]
    return f"{fields[0]}|{tag}"


def compare(part: str, py: dict, r: dict) -> tuple[list[str], dict]:
    """Failures (missing keys, NA mismatches, differences beyond the tolerance) and the max abs difference
    per quantity."""
    bad, diffs = [], {}
    for k in sorted(set(py) ^ set(r)):
        bad.append(f"{k}: {'missing in R' if k in py else 'missing in the package answers'}")
    for k in sorted(set(py) & set(r)):
        a, b = py[k], r[k]
        if a is None or b is None:
            if (a is None) != (b is None):
                bad.append(f"{k}: {a!r} vs R {b!r}")
            continue
        d = abs(float(a) - float(b))
        q = quantity(k)
        diffs[q] = max(diffs.get(q, 0.0), d)
        if d > tolerance(part, k):
            bad.append(f"{k}: {a!r} vs R {b!r} (|diff| {d:.3g} > {tolerance(part, k):g})")
    return bad, diffs


def _rounded(obj, digits: int = 12):
    """Floats rounded to ``digits`` significant digits (numpy's SIMD exp/log differ by an ulp between CPUs, so
    an exact hash of generated inputs would differ from machine to machine)."""
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}")
    if isinstance(obj, dict):
        return {k: _rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_rounded(v, digits) for v in obj]
    return obj


def input_hashes(inp: dict) -> dict:
    """sha256 per part of its inputs (floats to 12 significant digits)."""
    import hashlib

    out = {}
    for part in PARTS:
        sections = PART_INPUTS.get(part, ["biomarkers"])
        blob = json.dumps(_rounded({s: inp[s] for s in sections}), sort_keys=True, separators=(",", ":"))
        out[part] = hashlib.sha256(blob.encode()).hexdigest()
    return out


@pytest.fixture(scope="module")
def inputs():
    return oracle_inputs()


@pytest.fixture(scope="module")
def answers(inputs):
    return python_answers(inputs)


@pytest.fixture(scope="module")
def live_r(inputs, tmp_path_factory):
    if shutil.which("Rscript") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but Rscript is not installed: the R oracle must run in CI")
        pytest.skip("Rscript not found: live R comparison skipped (committed fixture still compared)")
    return run_r(inputs, tmp_path_factory.mktemp("report_gaps"))


@pytest.mark.parametrize("part", PARTS)
def test_vs_committed_fixture(part, inputs, answers):
    fixture = json.loads(FIXTURE.read_text())
    assert fixture["input_sha256"][part] == input_hashes(inputs)[part], (
        f"the inputs of part {part!r} changed (example data or the code that builds them): regenerate the "
        "fixture with `python tests/test_oracle_report_gaps.py --regenerate`")
    bad, _ = compare(part, answers[part], fixture["r"]["parts"][part])
    assert not bad, f"{len(bad)} differences:\n" + "\n".join(bad[:30])


@pytest.mark.parametrize("part", PARTS)
def test_vs_live_r(part, answers, live_r):
    if part not in live_r["parts"]:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"R gave no answers for {part!r} (R package maxstat missing?)")
        pytest.skip(f"R gave no answers for {part!r}: R package maxstat not installed (fixture still compared)")
    bad, _ = compare(part, answers[part], live_r["parts"][part])
    assert not bad, f"{len(bad)} differences:\n" + "\n".join(bad[:30])


def test_comparisons_are_not_empty(answers):
    """Every part compares numbers (a refactoring that drops the answers must not pass silently)."""
    minimum = {"survival": 2000, "table1": 60, "horizon": 200, "univariable": 300, "multivariable": 30, "splines": 400,
               "cutpoints": 20, "cif_marker": 200, "discrimination": 30, "rechallenge": 40, "continuation": 100,
               "ccw": 400, "intervals": 36}
    for part in PARTS:
        finite = sum(v is not None for v in answers[part].values())
        assert finite >= minimum[part], (part, finite)


def max_differences(r: dict | None = None) -> pd.DataFrame:
    """Max abs difference per part and quantity vs the committed fixture (or ``r``), with the tolerance."""
    inp = oracle_inputs()
    py = python_answers(inp)
    r = r or json.loads(FIXTURE.read_text())["r"]
    rows = []
    for part in PARTS:
        bad, diffs = compare(part, py[part], r["parts"][part])
        for q, d in sorted(diffs.items()):
            tol = max(tolerance(part, k) for k in py[part] if quantity(k) == q)
            rows.append({"part": part, "quantity": q, "max_abs_diff": d, "tolerance": tol, "failures": len(bad)})
    return pd.DataFrame(rows)


def regenerate() -> None:
    import tempfile

    inp = oracle_inputs()
    with tempfile.TemporaryDirectory() as tmp:
        r = run_r(inp, Path(tmp))
    FIXTURE.write_text(json.dumps({"description": "R answers for tests/test_oracle_report_gaps.py (inputs: the "
                                                  "embedded example; made by --regenerate)",
                                   "input_sha256": input_hashes(inp), "r": r}, indent=None, separators=(",", ":"))
                       + "\n")
    print(f"wrote {FIXTURE}")


if __name__ == "__main__":
    if "--regenerate" in sys.argv:
        regenerate()
    else:
        pd.set_option("display.max_rows", 500)
        pd.set_option("display.width", 160)
        print(max_differences().to_string(index=False))

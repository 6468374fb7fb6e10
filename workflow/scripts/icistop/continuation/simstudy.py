"""Simulation study: naive, landmark and clone-censor-weight estimators against the truth.

For each scenario (generator ``continuation_hr`` x ``confounding``, optionally a lower progression
hazard after the landmark, ``hazard_factor``) and replicate, draw one cohort from :mod:`icistop.data.synth`,
derive the endpoints once with :mod:`icistop.cohort.endpoints` (the workflow's own code path) and analyse
PFS and OS (one analysis panel each). Estimators and interval methods (column ``method``):

- naive: ever-stopped-early vs continued from ICI start (Cox log HR; KM difference at landmark + h);
  model-based / Greenwood-type SE; Wald CI (log scale for the HR, Fisher z for differences, as the
  report's comparison table);
- landmark: on vs off ICI at the landmark, Cox adjusted for the confounders and response at the
  landmark; KM difference; same CIs;
- ccw: every estimand of the report (``surv_A_h``, ``surv_B_h``, ``diff_h``, ``ratio_h``, ``rmst_A``,
  ``rmst_B``, ``rmst_diff``, and the HR, evaluated as ``loghr`` on the log scale) with ``n_boot``
  bootstrap replicates (patients resampled, weights refitted) and the report's own code,
  :func:`icistop.continuation.tables.estimates_table`, called once per ``ci_method`` on the same
  replicates: ``transformed_wald`` (the default) and ``percentile``, each with the report's
  ``estimable`` flag; for the per-arm probabilities and RMST ``transformed_wald`` uses the SE the report uses for
  that outcome (``continuation.bootstrap.arm_se``; default bootstrap for PFS, working-Cox for OS), and both
  choices are also given as ``bootstrap_wald`` and ``working_cox_wald`` (:mod:`icistop.continuation.arm_variance`).
  Reference rows, not offered by the report: ``known_weights`` (influence-function /
  robust sandwich SE treating the weights as known, on the same transformed scale as the default),
  ``plain_wald`` (estimate +/- z bootstrap SD on the natural scale; probabilities and differences only,
  shows where an untransformed interval fails) and ``transformed_sd`` (Wald on the transformed scale
  with the SD of the transformed replicates instead of the delta method; probabilities and
  differences only).

Truth: :func:`icistop.data.synth.counterfactual_truth` (the same protocol; ``os=True``). Performance
measures per scenario x outcome x estimator x method x estimand (Morris, White & Crowther 2019, Stat
Med 38:2074): bias with Monte-Carlo SE, empirical SE, mean model SE, coverage of the 95% CI with its
Monte-Carlo SE, plus the share flagged not estimable, coverage among the estimable, misses below /
above and the share of limits outside the parameter space.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from icistop.stats.intervals import CI_METHODS, arm_se_for, known_weights_interval, scale_of, wald_interval, z_value
from icistop.continuation.bootstrap import bootstrap_replicates, ccw_point
from icistop.continuation.panel import prepare_panel
from icistop.continuation.estimability import Rules
from icistop.continuation.landmark import landmark_analysis
from icistop.continuation.naive import naive_ever_stopped
from icistop.continuation.protocol import Protocol
from icistop.continuation.tables import replicate_usable, estimates_table

OUTCOMES = ("pfs", "os")
ARM_METHODS = {"bootstrap_wald": "bootstrap", "working_cox_wald": "working_cox"}  # per-arm SE choices
REFERENCE_METHODS = ("known_weights", "plain_wald", "transformed_sd", *ARM_METHODS)
METHODS = (*CI_METHODS, *REFERENCE_METHODS)
RESULT_COLUMNS = ["scenario", "replicate", "outcome", "estimator", "method", "estimand", "estimate", "se", "lower",
                  "upper", "estimable", "n_boot", "n_boot_failed", "boot_mean", "boot_sd_transformed", "events_A",
                  "events_B", "n_eligible"]


def replicate_seed(seed: int, scenario_index: int, replicate: int) -> int:
    return int(np.random.SeedSequence([int(seed), int(scenario_index), int(replicate)]).generate_state(1)[0])


def _typed_tables(tables: dict) -> dict:
    t = {k: v.copy() for k, v in tables.items()}
    for name, cols in (("patients", ("last_contact_date", "death_date")), ("treatments", ("start_date", "stop_date")),
                       ("assessments", ("date",)), ("ctdna", ("date",))):
        if name in t:
            for c in cols:
                if c in t[name]:
                    t[name][c] = pd.to_datetime(t[name][c])
    return t


def tables_to_panels(tables: dict, outcomes=OUTCOMES, pfs_censor_at: str = "last_assessment") -> dict:
    """Contract tables -> endpoints (the workflow's derive_endpoints, once) -> one analysis panel per outcome."""
    from icistop.cohort.cohorts import define_cohorts, resolve_cutoff
    from icistop.cohort.endpoints import derive_endpoints

    t = _typed_tables(tables)
    cutoff = resolve_cutoff(t, None)
    cohorts, _ = define_cohorts(t, {"require_msi_h_or_dmmr": True}, cutoff)
    out = derive_endpoints(t, cohorts, cutoff, pfs_censor_at=pfs_censor_at)
    return {o: prepare_panel(out["endpoints"], out["assessments"], outcome=o) for o in outcomes}


def tables_to_panel(tables: dict, outcome: str = "pfs", pfs_censor_at: str = "last_assessment") -> pd.DataFrame:
    """Contract tables -> endpoints (the workflow's derive_endpoints) -> analysis panel."""
    return tables_to_panels(tables, (outcome,), pfs_censor_at)[outcome]


# ---------------------------------------------------------------------------------------------
# one replicate

def _g(values, scale: str) -> np.ndarray:
    """Transform of :mod:`icistop.stats.intervals` (cloglog, atanh, log, identity); NaN outside its domain."""
    v = np.asarray(values, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale == "cloglog":
            return np.where((v > 0) & (v < 1), np.log(-np.log(v)), np.nan)
        if scale == "atanh":
            return np.where(np.abs(v) < 1, np.arctanh(v), np.nan)
        if scale == "log":
            return np.where(v > 0, np.log(v), np.nan)
    return v


def _g_inv(values, scale: str) -> np.ndarray:
    v = np.asarray(values, float)
    if scale == "cloglog":
        return np.exp(-np.exp(v))
    if scale == "atanh":
        return np.tanh(v)
    if scale == "log":
        return np.exp(v)
    return v


def transformed_sd_interval(est: float, replicates, scale: str, conf_level: float = 0.95) -> tuple[float, float, float]:
    """(lower, upper, SD) of the Wald interval on the transformed scale with the SD of the transformed
    replicates (replicates outside the domain dropped); the interval is decreasing in g for cloglog."""
    gb = _g(replicates, scale)
    gb = gb[np.isfinite(gb)]
    ge = float(_g([est], scale)[0])
    if len(gb) < 2 or not np.isfinite(ge):
        return np.nan, np.nan, np.nan
    sd = float(np.std(gb, ddof=1))
    z = z_value(conf_level)
    lo, hi = sorted(_g_inv([ge - z * sd, ge + z * sd], scale))
    return float(lo), float(hi), sd


def ccw_rows(point: dict, boot: pd.DataFrame, rules: Rules | None = None, conf_level: float = 0.95,
             tau: float | None = None, arm_se: str = "working_cox") -> list[dict]:
    """Rows (method, estimand, estimate, se, lower, upper, estimable, ...) of every CCW estimand of the
    report for each interval method. The HR is returned as ``loghr`` (estimate and limits logged; the
    coverage is that of the printed HR interval); the SE of ``ratio_h`` on the natural scale
    (delta method from the log-scale SD)."""
    z = z_value(conf_level)
    tables = {m: estimates_table(point, boot, m, rules, conf_level, tau, arm_se).set_index("estimand")
              for m in CI_METHODS}
    base = tables["transformed_wald"]
    arm_tables = {m: estimates_table(point, boot, "transformed_wald", rules, conf_level, tau, se).set_index("estimand")
                  for m, se in ARM_METHODS.items()}
    rows = []
    for key in base.index:
        if key == "loghr":  # the report prints the HR row; loghr is its log
            continue
        name, scale = ("loghr" if key == "hr" else key), scale_of(key)
        r = base.loc[key]
        est = float(r["estimate"])
        to = np.log if key == "hr" else (lambda x: x)
        values, _ = replicate_usable(boot, key, "cox_converged" if key == "hr" else None)
        gb = _g(values, scale)
        gb = gb[np.isfinite(gb)]
        common = {"estimand": name, "n_boot": int(r["n_boot"]), "n_boot_failed": int(r["n_boot_failed"]),
                  "boot_mean": float(np.mean(to(values))) if len(values) else np.nan,
                  "boot_sd_transformed": float(np.std(gb, ddof=1)) if len(gb) > 1 else np.nan,
                  "events_A": r["events_A"], "events_B": r["events_B"]}

        def natural_se(se):
            return se * est if key.startswith("ratio_") else se

        per_arm = key.startswith("surv_") or key in ("rmst_A", "rmst_B")
        for m, t in (*tables.items(), *(arm_tables.items() if per_arm else ())):
            tr = t.loc[key]
            with np.errstate(divide="ignore", invalid="ignore"):
                rows.append({**common, "method": m, "estimate": float(to(est)), "se": natural_se(float(tr["se"])),
                             "lower": float(to(tr["lower"])), "upper": float(to(tr["upper"])),
                             "estimable": bool(tr["estimable"])})
        estimable = bool(r["estimable"])
        kw = float(r["known_weights_se"])
        if np.isfinite(kw) and np.isfinite(est):
            lo, hi = known_weights_interval(key, est, kw, conf_level)
            with np.errstate(divide="ignore", invalid="ignore"):
                rows.append({**common, "method": "known_weights", "estimate": float(to(est)), "se": natural_se(kw),
                             "lower": float(to(lo)), "upper": float(to(hi)), "estimable": estimable})
        if scale in ("cloglog", "atanh"):
            se = float(r["boot_se"])
            rows.append({**common, "method": "plain_wald", "estimate": est, "se": se, "lower": est - z * se,
                         "upper": est + z * se, "estimable": estimable})
            lo, hi, _ = transformed_sd_interval(est, values, scale, conf_level)
            rows.append({**common, "method": "transformed_sd", "estimate": est, "se": se, "lower": lo, "upper": hi,
                         "estimable": estimable})
    return rows


def estimate_all(panel: pd.DataFrame, p: Protocol, n_boot: int, boot_seed: int, naive_threshold: float,
                 rules: Rules | None = None, conf_level: float = 0.95, arm_se=None) -> list[dict]:
    """One replicate and outcome (``p.outcome`` names it; ``panel`` must match): rows (estimator,
    method, estimand, estimate, se, lower, upper, estimable, ...). ``arm_se``: the config's
    ``continuation.bootstrap.arm_se`` (None: the default per outcome)."""
    rows = []

    def model_rows(estimator, res):
        ok = not res.get("reason") and not res.get("hr_reason")
        b, se = res.get("loghr", np.nan), res.get("se_loghr", np.nan)
        lo, hi = (b - z_value(conf_level) * se, b + z_value(conf_level) * se) if np.isfinite(se) else (np.nan, np.nan)
        rows.append({"estimator": estimator, "method": "model_wald", "estimand": "loghr", "estimate": b, "se": se,
                     "lower": lo, "upper": hi, "estimable": bool(ok and np.isfinite(b))})
        for h in p.horizons:
            d, sd = res.get(f"diff_{h:g}", np.nan), res.get(f"se_diff_{h:g}", np.nan)
            lo, hi = wald_interval(d, sd, "atanh", conf_level)
            rows.append({"estimator": estimator, "method": "model_wald", "estimand": f"diff_{h:g}", "estimate": d,
                         "se": sd, "lower": lo, "upper": hi,
                         "estimable": bool(not res.get("reason") and np.isfinite(d))})

    model_rows("naive", naive_ever_stopped(panel, p, naive_threshold))
    model_rows("landmark", landmark_analysis(panel, p.landmark, p))
    pt = ccw_point(panel, p, marker=None, se=True)
    boot = bootstrap_replicates(panel, p, range(n_boot), boot_seed, marker=None)
    for r in ccw_rows(pt, boot, rules, conf_level, p.tau, arm_se_for(arm_se, p.outcome)):
        rows.append({"estimator": "ccw", **r})
    for r in rows:
        r["n_eligible"] = pt["n_eligible"]
    return rows


# ---------------------------------------------------------------------------------------------
# drivers (used by the simulation_* Snakemake rules and the command line)

DEFAULT_SCENARIOS = (
    {"name": "null_confounded", "continuation_hr": 1.0, "confounding": True},
    {"name": "null_unconfounded", "continuation_hr": 1.0, "confounding": False},
    {"name": "effect0.7_confounded", "continuation_hr": 0.7, "confounding": True},
    {"name": "effect0.7_unconfounded", "continuation_hr": 0.7, "confounding": False},
    {"name": "high_survival_confounded", "continuation_hr": 1.0, "confounding": True, "hazard_factor": 0.5,
     "hazard_factor_from": 12.0},
)
SCENARIO_KEYS = ("name", "continuation_hr", "confounding", "hazard_factor", "hazard_factor_from")


def scenario_params(scenario: dict, n_patients: int | None = None, seed: int | None = None):
    """:class:`icistop.data.synth.GeneratorParams` of a scenario: ``continuation_hr``, ``confounding`` and
    optionally ``hazard_factor`` (default 1), which multiplies the progression hazards of the CR/PR and
    SD response classes (``hazard_pr``, ``hazard_sd``) on the pieces starting at or after
    ``hazard_factor_from`` months after ICI start (default 12, a ``hazard_edges`` value): a higher-
    survival population after the landmark with the same stopping and confounding."""
    from icistop.data.synth import GeneratorParams

    unknown = set(scenario) - set(SCENARIO_KEYS)
    if unknown:
        raise ValueError(f"unknown scenario keys {sorted(unknown)}; allowed {SCENARIO_KEYS}")
    gp = GeneratorParams(continuation_hr=float(scenario["continuation_hr"]), confounding=bool(scenario["confounding"]))
    factor = float(scenario.get("hazard_factor", 1.0))
    if factor != 1.0:
        start = float(scenario.get("hazard_factor_from", 12.0))
        edges = [float(e) for e in gp.hazard_edges]
        if start not in edges:
            raise ValueError(f"hazard_factor_from must be one of hazard_edges {edges}")
        k = edges.index(start)
        scale = [1.0 if i < k else factor for i in range(len(edges))]
        gp = replace(gp, hazard_pr=tuple(v * f for v, f in zip(gp.hazard_pr, scale)),
                     hazard_sd=tuple(v * f for v, f in zip(gp.hazard_sd, scale)))
    kw = {}
    if n_patients is not None:
        kw["n_patients"] = int(n_patients)
    if seed is not None:
        kw["seed"] = int(seed)
    return replace(gp, **kw) if kw else gp


def chunk_replicates(n_replicates: int, n_chunks: int, chunk: int, first: int = 0) -> list[int]:
    """Replicates ``first .. n_replicates - 1`` of chunk ``chunk`` (every ``n_chunks``-th one)."""
    return list(range(first + chunk, n_replicates, n_chunks))


def scenario_truth(scenario: dict, p: Protocol, n: int, seed: int) -> dict:
    """Counterfactual truth (PFS, and OS under ``"os"``) of a scenario under protocol ``p``."""
    from icistop.data.synth import counterfactual_truth

    return counterfactual_truth(scenario_params(scenario), landmark=p.landmark, grace=(p.landmark, p.grace_end),
                                completion=p.completion,
                                horizons=tuple(int(h) if float(h).is_integer() else h for h in p.horizons),
                                tau=p.tau, n=int(n), seed=int(seed), os=True, followup=True)


def run_chunk(scenario: dict, scenario_index: int, replicates, p: Protocol, n_patients: int, n_boot: int,
              seed: int, naive_threshold: float, outcomes=OUTCOMES, rules: Rules | None = None,
              arm_se=None) -> pd.DataFrame:
    """All estimators on the given replicates of one scenario: one cohort and one endpoint derivation per
    replicate, analysed for each outcome (bootstrap seed = replicate seed, so PFS and OS resample the
    same patients, as the workflow does). Rows per replicate x outcome x estimator x method x estimand."""
    from icistop.data.synth import generate_cohort

    out = []
    for rep in replicates:
        s = replicate_seed(seed, scenario_index, rep)
        tables, _ = generate_cohort(scenario_params(scenario, n_patients, s))
        panels = tables_to_panels(tables, outcomes)
        for outcome in outcomes:
            rows = estimate_all(panels[outcome], replace(p, outcome=outcome), n_boot, boot_seed=s,
                                naive_threshold=naive_threshold, rules=rules, arm_se=arm_se)
            for r in rows:
                r.update(scenario=scenario["name"], replicate=int(rep), outcome=outcome)
            out.extend(rows)
    return pd.DataFrame(out, columns=RESULT_COLUMNS)


def _main(argv=None) -> None:
    """Command-line driver equivalent to ``snakemake simulation_study`` (multiprocessing): scenarios,
    sizes, protocol and estimability rules from the config file unless overridden."""
    import argparse
    import json
    import time
    from concurrent.futures import ProcessPoolExecutor
    from pathlib import Path

    import yaml

    from icistop import DAYS_PER_MONTH
    from icistop.continuation.simsummary import markdown_table, summarise
    from icistop.continuation.estimability import rules_from_config
    from icistop.continuation.protocol import protocol_from_config

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--config", default=str(Path(__file__).resolve().parents[4] / "config" / "config.yaml"))
    ap.add_argument("--jobs", type=int, default=2)
    for name in ("n-replicates", "n-chunks", "n-patients", "n-boot", "seed", "truth-n"):
        ap.add_argument(f"--{name}", type=int, default=None, help="default: the config's simulation block")
    ap.add_argument("--scenarios", nargs="*", default=None, help="names of the config's scenarios to run (default all)")
    ap.add_argument("--outcomes", nargs="*", default=list(OUTCOMES))
    ap.add_argument("--first-replicate", type=int, default=0,
                    help="run only replicates first..n_replicates-1 (to extend an earlier run with the same seeds)")
    a = ap.parse_args(argv)
    cfg = yaml.safe_load(Path(a.config).read_text())
    sim, cont = cfg["simulation"], cfg["continuation"]
    opt = {k: getattr(a, k) if getattr(a, k) is not None else sim[k]
           for k in ("n_replicates", "n_chunks", "n_patients", "n_boot", "seed", "truth_n")}
    p = protocol_from_config({"protocol": cont["protocol"], "confounders": cont["confounders"], "ccw": cont["ccw"]})
    rules = rules_from_config(cont)
    naive_threshold = float(cont["naive"]["stop_threshold_days"]) / DAYS_PER_MONTH

    out = Path(a.out)
    (out / "chunks").mkdir(parents=True, exist_ok=True)
    chosen = [(i, sc) for i, sc in enumerate(sim["scenarios"]) if a.scenarios is None or sc["name"] in a.scenarios]
    t0 = time.time()
    truths = {}
    for i, sc in chosen:
        path = out / f"truth_{sc['name']}.json"
        if not path.exists():
            path.write_text(json.dumps(scenario_truth(sc, p, opt["truth_n"], opt["seed"] + i), indent=1, default=str))
        truths[sc["name"]] = json.loads(path.read_text())
    jobs = []
    with ProcessPoolExecutor(a.jobs) as ex:
        for i, sc in chosen:
            for c in range(opt["n_chunks"]):
                path = out / "chunks" / f"{sc['name']}_chunk{c}.tsv"
                if path.exists():
                    continue
                reps = chunk_replicates(opt["n_replicates"], opt["n_chunks"], c, a.first_replicate)
                jobs.append((path, ex.submit(run_chunk, sc, i, reps, p, opt["n_patients"], opt["n_boot"], opt["seed"],
                                             naive_threshold, tuple(a.outcomes), rules,
                                             cont["bootstrap"].get("arm_se"))))
        for path, fut in jobs:
            fut.result().to_csv(path, sep="\t", index=False, float_format="%.10g")
            print(f"done {path} ({time.time() - t0:.0f} s)", flush=True)
    names = {sc["name"] for _, sc in chosen}
    res = pd.concat([pd.read_csv(f, sep="\t") for f in sorted((out / "chunks").glob("*.tsv"))
                     if f.name.rsplit("_chunk", 1)[0] in names], ignore_index=True)
    res = res.sort_values(["scenario", "replicate", "outcome", "estimator", "method", "estimand"],
                          kind="mergesort").reset_index(drop=True)
    res.to_csv(out / "replicates.tsv", sep="\t", index=False, float_format="%.10g")
    summary = summarise(res, truths, order=[sc["name"] for _, sc in chosen])
    summary.to_csv(out / "summary.tsv", sep="\t", index=False, float_format="%.6g")
    (out / "summary_table.md").write_text(markdown_table(summary) + "\n", encoding="utf-8")
    print(f"total {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    _main()

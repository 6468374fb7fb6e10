"""Simulation study: naive, landmark and clone-censor-weight estimators against the truth.

For each scenario (generator ``continuation_hr`` x ``confounding``) and replicate, draw a cohort
from :mod:`icistop.synth`, derive endpoints with :mod:`icistop.endpoints` (the workflow's own
code path), and estimate the log hazard ratio (continue vs stop) and the PFS difference at the
first horizon (24 months after time zero) with

- naive: ever-stopped-early vs continued from ICI start (Cox HR; KM difference at landmark + h);
  model-based / Greenwood-type SE, Wald CI;
- landmark: on vs off ICI at the landmark, Cox adjusted for the confounders and response at the
  landmark; KM difference; model-based SE, Wald CI;
- CCW: as in the workflow, with the workflow's CI method (nonparametric bootstrap over patients,
  refitting the weights; SE = bootstrap SD; 95% CI = estimate +/- 1.96 SE), with ``n_boot``
  replicates; ``ccw_percentile``: the bootstrap percentile CI of the same replicates;
  ``ccw_sandwich``: influence-function / robust SE with the weights treated as known, Wald CI.

Truth: :func:`icistop.synth.counterfactual_truth` (the same protocol). Performance measures per
estimator and estimand: bias, empirical SE, mean estimated SE, coverage of the 95% CI, with Monte
Carlo SEs (Morris, White & Crowther 2019).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bootstrap import bootstrap_replicates, ccw_point
from .data import prepare_panel
from .landmark import landmark_analysis
from .naive import naive_ever_stopped
from .protocol import Protocol

Z975 = 1.959963984540054


def replicate_seed(seed: int, scenario_index: int, replicate: int) -> int:
    return int(np.random.SeedSequence([int(seed), int(scenario_index), int(replicate)]).generate_state(1)[0])


def tables_to_panel(tables: dict, outcome: str = "pfs", pfs_censor_at: str = "last_assessment") -> pd.DataFrame:
    """Contract tables -> endpoints (the workflow's derive_endpoints) -> analysis panel."""
    from ..cohort import define_cohorts, resolve_cutoff
    from ..endpoints import derive_endpoints

    t = {k: v.copy() for k, v in tables.items()}
    for name, cols in (("patients", ("last_contact_date", "death_date")), ("treatments", ("start_date", "stop_date")),
                       ("assessments", ("date",)), ("ctdna", ("date",))):
        if name in t:
            for c in cols:
                if c in t[name]:
                    t[name][c] = pd.to_datetime(t[name][c])
    cutoff = resolve_cutoff(t, None)
    cohorts, _ = define_cohorts(t, {"require_msi_h_or_dmmr": True}, cutoff)
    out = derive_endpoints(t, cohorts, cutoff, pfs_censor_at=pfs_censor_at)
    return prepare_panel(out["endpoints"], out["assessments"], outcome=outcome)


def estimate_all(panel: pd.DataFrame, p: Protocol, n_boot: int, boot_seed: int, naive_threshold: float,
                 horizon: float | None = None) -> list[dict]:
    """One replicate: rows (estimator, estimand, estimate, se, lower, upper)."""
    h = p.horizons[0] if horizon is None else horizon
    rows = []

    def add(estimator, estimand, est, se, lower=None, upper=None):
        if lower is None and se is not None and np.isfinite(se):
            lower, upper = est - Z975 * se, est + Z975 * se
        rows.append({"estimator": estimator, "estimand": estimand, "estimate": est, "se": se,
                     "lower": lower, "upper": upper})

    nv = naive_ever_stopped(panel, p, naive_threshold)
    add("naive", "loghr", nv.get("loghr", np.nan), nv.get("se_loghr", np.nan))
    add("naive", f"diff_{h:g}", nv.get(f"diff_{h:g}", np.nan), nv.get(f"se_diff_{h:g}", np.nan))
    lm = landmark_analysis(panel, p.landmark, p)
    add("landmark", "loghr", lm.get("loghr", np.nan), lm.get("se_loghr", np.nan))
    add("landmark", f"diff_{h:g}", lm.get(f"diff_{h:g}", np.nan), lm.get(f"se_diff_{h:g}", np.nan))
    pt = ccw_point(panel, p, marker=None, se=True)
    boot = bootstrap_replicates(panel, p, range(n_boot), boot_seed, marker=None)
    for key, sekey in (("loghr", "se_loghr"), (f"diff_{h:g}", f"se_diff_{h:g}")):
        b = pd.to_numeric(boot.get(key), errors="coerce").to_numpy(float)
        b = b[np.isfinite(b)]
        est = float(pt[key])
        if len(b) > 1:
            sd = float(np.std(b, ddof=1))
            add("ccw", key, est, sd)  # the workflow's CI: Wald with the bootstrap SE
            add("ccw_percentile", key, est, sd, float(np.quantile(b, 0.025)), float(np.quantile(b, 0.975)))
        else:
            add("ccw", key, est, np.nan, np.nan, np.nan)
            add("ccw_percentile", key, est, np.nan, np.nan, np.nan)
        add("ccw_sandwich", key, est, float(pt[sekey]))
    for r in rows:
        r["n_eligible"] = pt["n_eligible"]
    return rows


def truth_for(truth: dict, estimand: str) -> float:
    """Map a counterfactual_truth() dict onto our estimand names (B = continue, A = stop)."""
    if estimand == "loghr":
        for k in ("log_hr", "loghr", "marginal_log_hr"):
            if k in truth:
                return float(truth[k])
        for k in ("hr_B_vs_A", "marginal_hr", "hr"):
            if k in truth:
                return float(np.log(truth[k]))
    if estimand.startswith("diff_"):
        h = estimand.split("_", 1)[1]
        for k in (f"diff_{h}", f"pfs_diff_{h}", f"difference_{h}"):
            if k in truth:
                return float(truth[k])
        for name in ("difference_B_minus_A", "difference"):
            d = truth.get(name)
            if isinstance(d, dict):
                for key in (h, float(h), int(float(h)), str(int(float(h)))):
                    if key in d:
                        return float(d[key])
    raise KeyError(f"truth has no value for {estimand}: keys {sorted(truth)}")


def summarise(results: pd.DataFrame, truths: dict[str, dict]) -> pd.DataFrame:
    """Bias, empirical SE, mean estimated SE, coverage (+ Monte Carlo SEs) per scenario/estimator/estimand."""
    out = []
    for (scen, estimator, estimand), g in results.groupby(["scenario", "estimator", "estimand"], sort=False):
        truth = truth_for(truths[scen], estimand)
        est = g["estimate"].to_numpy(float)
        ok = np.isfinite(est)
        est = est[ok]
        se = g["se"].to_numpy(float)[ok]
        lo, hi = g["lower"].to_numpy(float)[ok], g["upper"].to_numpy(float)[ok]
        n = len(est)
        emp = float(np.std(est, ddof=1)) if n > 1 else np.nan
        cov = float(np.mean((lo <= truth) & (truth <= hi))) if n else np.nan
        out.append({
            "scenario": scen, "estimator": estimator, "estimand": estimand, "n_rep": n, "truth": truth,
            "mean_estimate": float(est.mean()) if n else np.nan, "bias": float(est.mean() - truth) if n else np.nan,
            "mc_se_bias": emp / np.sqrt(n) if n else np.nan, "empirical_se": emp,
            "mean_estimated_se": float(np.nanmean(se)) if n else np.nan,
            "coverage": cov, "mc_se_coverage": float(np.sqrt(cov * (1 - cov) / n)) if n else np.nan,
        })
    return pd.DataFrame(out)


def markdown_table(summary: pd.DataFrame) -> str:
    """Performance table as GitHub markdown (for benchmarks/simulation_study.md)."""
    cols = ["scenario", "estimator", "estimand", "n_rep", "truth", "mean_estimate", "bias", "mc_se_bias",
            "empirical_se", "mean_estimated_se", "coverage", "mc_se_coverage"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in summary[cols].iterrows():
        cells = []
        for c in cols:
            v = r[c]
            cells.append(f"{v:.4f}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# drivers (used by the simulation_* Snakemake rules and the command line)

DEFAULT_SCENARIOS = (
    {"name": "null_confounded", "continuation_hr": 1.0, "confounding": True},
    {"name": "null_unconfounded", "continuation_hr": 1.0, "confounding": False},
    {"name": "effect0.7_confounded", "continuation_hr": 0.7, "confounding": True},
    {"name": "effect0.7_unconfounded", "continuation_hr": 0.7, "confounding": False},
)


def chunk_replicates(n_replicates: int, n_chunks: int, chunk: int) -> list[int]:
    return list(range(chunk, n_replicates, n_chunks))


def scenario_truth(scenario: dict, p: Protocol, n: int, seed: int) -> dict:
    from ..synth import GeneratorParams, counterfactual_truth

    gp = GeneratorParams(continuation_hr=float(scenario["continuation_hr"]), confounding=bool(scenario["confounding"]))
    return counterfactual_truth(gp, landmark=p.landmark, grace=(p.landmark, p.grace_end), completion=p.completion,
                                horizons=tuple(int(h) if float(h).is_integer() else h for h in p.horizons),
                                tau=p.tau, n=int(n), seed=int(seed))


def run_chunk(scenario: dict, scenario_index: int, replicates, p: Protocol, n_patients: int, n_boot: int,
              seed: int, naive_threshold: float) -> pd.DataFrame:
    """All estimators on the given replicates of one scenario (rows per replicate x estimator x estimand)."""
    from ..synth import GeneratorParams, generate_cohort

    out = []
    for rep in replicates:
        s = replicate_seed(seed, scenario_index, rep)
        gp = GeneratorParams(n_patients=int(n_patients), seed=s, continuation_hr=float(scenario["continuation_hr"]),
                             confounding=bool(scenario["confounding"]))
        tables, _ = generate_cohort(gp)
        panel = tables_to_panel(tables, outcome=p.outcome)
        rows = estimate_all(panel, p, n_boot, boot_seed=s, naive_threshold=naive_threshold)
        for r in rows:
            r.update(scenario=scenario["name"], replicate=int(rep))
        out.extend(rows)
    df = pd.DataFrame(out)
    cols = ["scenario", "replicate", "estimator", "estimand", "estimate", "se", "lower", "upper", "n_eligible"]
    return df[cols]


def _main(argv=None) -> None:
    """Command-line driver equivalent to ``snakemake simulation_study`` (multiprocessing)."""
    import argparse
    import json
    from concurrent.futures import ProcessPoolExecutor
    from pathlib import Path

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--n-replicates", type=int, default=200)
    ap.add_argument("--n-chunks", type=int, default=20)
    ap.add_argument("--n-patients", type=int, default=3000)
    ap.add_argument("--n-boot", type=int, default=100)
    ap.add_argument("--seed", type=int, default=20240602)
    ap.add_argument("--truth-n", type=int, default=400000)
    ap.add_argument("--naive-threshold-days", type=float, default=395)
    ap.add_argument("--scenarios", nargs="*", default=None, help="names of DEFAULT_SCENARIOS to run (default all)")
    a = ap.parse_args(argv)
    from .. import DAYS_PER_MONTH

    out = Path(a.out)
    (out / "chunks").mkdir(parents=True, exist_ok=True)
    p = Protocol()
    chosen = [(i, sc) for i, sc in enumerate(DEFAULT_SCENARIOS) if a.scenarios is None or sc["name"] in a.scenarios]
    truths = {}
    for i, sc in chosen:
        truths[sc["name"]] = scenario_truth(sc, p, a.truth_n, a.seed + i)
    (out / "truth.json").write_text(json.dumps(truths, indent=1, default=str))
    jobs = []
    with ProcessPoolExecutor(a.jobs) as ex:
        for i, sc in chosen:
            for c in range(a.n_chunks):
                reps = chunk_replicates(a.n_replicates, a.n_chunks, c)
                path = out / "chunks" / f"{sc['name']}_chunk{c}.tsv"
                if path.exists():
                    continue
                jobs.append((path, ex.submit(run_chunk, sc, i, reps, p, a.n_patients, a.n_boot, a.seed,
                                             a.naive_threshold_days / DAYS_PER_MONTH)))
        for path, fut in jobs:
            fut.result().to_csv(path, sep="\t", index=False, float_format="%.10g")
            print("done", path, flush=True)
    res = pd.concat([pd.read_csv(f, sep="\t") for f in sorted((out / "chunks").glob("*.tsv"))], ignore_index=True)
    summarise(res, truths).to_csv(out / "summary.tsv", sep="\t", index=False, float_format="%.6g")


if __name__ == "__main__":
    _main()

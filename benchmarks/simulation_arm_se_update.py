"""Add the working-Cox per-arm intervals to the committed simulation-study table without rerunning the bootstrap.

The per-strategy rows of the report (S_A, S_B at the horizons, RMST per arm) take their SE from
:mod:`icistop.continuation.arm_variance` by default; that SE needs no bootstrap. A run of the study with
``--n-boot 0`` (same config, seeds and replicates as the committed run; every cohort regenerated) gives the
point estimates, the model-based rows and the per-arm ``transformed_wald`` rows with the working-Cox SE:

    PYTHONPATH=workflow/scripts python -m icistop.continuation.simstudy --out /tmp/sim_point --n-boot 0 --jobs 2
    PYTHONPATH=workflow/scripts python benchmarks/simulation_arm_se_update.py /tmp/sim_point/summary.tsv

This script then writes ``benchmarks/simulation_study_results.tsv`` with, for the per-arm estimands of ``ccw``:

- ``working_cox_wald``: the point run's rows (working-Cox SE), both outcomes;
- ``bootstrap_wald``: the committed survival rows (bootstrap SE, cloglog scale), both outcomes;
- ``transformed_wald`` (the report's default, ``continuation.bootstrap.arm_se``: bootstrap for PFS, working-Cox
  for OS): the committed PFS survival rows and the point run's OS rows;
- the committed per-arm RMST rows were computed before the logit(RMST / tau) scale was adopted (identity
  scale, bootstrap SE: benchmarks/simulation_study.md, "After the study") and are kept as ``plain_wald``, which
  is that interval; the PFS per-arm RMST rows of the default (bootstrap SE, logit scale) need a full run;
- every other row unchanged,

after checking that the two runs analysed the same data: every row that does not depend on the bootstrap
(naive and landmark ``model_wald``, ``ccw`` ``known_weights``; truth, mean estimate, bias, empirical and model
SE, coverage) must agree to ``--tol`` (relative), otherwise nothing is written. A full run of the study with the
current code gives all these rows at once (about four hours on 2 cores with 200 bootstrap replicates).

Second step (``--pfs-full DIR ...``, no point summary): the PFS per-arm RMST rows of the default and of
``bootstrap_wald`` are replaced by those of a PFS run with the bootstrap on all replicates, pooled from run
directories that split the replicates (the first 200, then ``--first-replicate 200``):

    PYTHONPATH=workflow/scripts python -m icistop.continuation.simstudy --out /tmp/sim_pfs --n-replicates 200 \
        --outcomes pfs --jobs 2
    PYTHONPATH=workflow/scripts python -m icistop.continuation.simstudy --out /tmp/sim_pfs2 --n-replicates 500 \
        --first-replicate 200 --outcomes pfs --jobs 2
    PYTHONPATH=workflow/scripts python benchmarks/simulation_arm_se_update.py --pfs-full /tmp/sim_pfs /tmp/sim_pfs2

Every other PFS row of the pooled run (bootstrap intervals of the differences, ratios and HR, per-arm
survival, naive, landmark) must equal the table's to ``--tol``: a check that the committed rows and the
new run come from the same code and data.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
TABLE = ROOT / "benchmarks" / "simulation_study_results.tsv"
KEYS = ["scenario", "outcome", "estimator", "method", "estimand"]
PER_ARM = re.compile(r"(surv_[AB]_[\d.]+|rmst_[AB])$")
COMPARED = ["truth", "mean_estimate", "bias", "empirical_se", "mean_model_se", "coverage", "n_rep", "n_ci"]


def point_only_rows(table: pd.DataFrame) -> pd.Series:
    """Rows whose numbers do not depend on the bootstrap."""
    return table["method"].isin(["model_wald", "known_weights"])


def per_arm_default(table: pd.DataFrame) -> pd.Series:
    return ((table["estimator"] == "ccw") & (table["method"] == "transformed_wald")
            & table["estimand"].astype(str).str.match(PER_ARM))


def compare_rows(a: pd.DataFrame, b: pd.DataFrame, tol: float, what: str) -> pd.DataFrame:
    """Largest relative difference per compared column between two tables indexed alike; raises when a
    difference exceeds ``tol`` (NaN in both counts as equal)."""
    out = {}
    for c in COMPARED:
        x, y = a[c].to_numpy(float), b[c].to_numpy(float)
        both_nan = np.isnan(x) & np.isnan(y)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(both_nan, 0.0, np.abs(x - y) / np.maximum(np.abs(x), 1e-12))
        out[c] = float(np.nanmax(np.where(np.isnan(rel), np.inf, rel)))
    report = pd.Series(out, name="max relative difference").to_frame()
    if (report.iloc[:, 0] > tol).any():
        raise SystemExit(f"{what} differ beyond {tol:g}:\n{report.to_string()}")
    return report


def check_same_data(committed: pd.DataFrame, point: pd.DataFrame, tol: float) -> pd.DataFrame:
    """Largest relative difference per compared column between the runs' bootstrap-free rows; raises when
    a row is missing or a difference exceeds ``tol``."""
    a = committed[point_only_rows(committed)].set_index(KEYS)
    b = point[point_only_rows(point)].set_index(KEYS)
    missing = a.index.symmetric_difference(b.index)
    if len(missing):
        raise SystemExit(f"the runs do not have the same bootstrap-free rows: {list(missing)[:5]} ...")
    return compare_rows(a, b.loc[a.index], tol, "the runs")


def merge(committed: pd.DataFrame, point: pd.DataFrame) -> pd.DataFrame:
    if committed["method"].isin(["bootstrap_wald", "working_cox_wald"]).any():
        raise SystemExit("the committed table already has per-arm SE rows (already updated)")
    arm_old, arm_new = per_arm_default(committed), per_arm_default(point)
    if arm_new.sum() != arm_old.sum():
        raise SystemExit("the point run lacks per-arm rows of the committed table")
    old = committed[arm_old]
    rmst = old["estimand"].isin(["rmst_A", "rmst_B"])
    surv = old[~rmst]
    new = point.loc[arm_new, committed.columns]
    parts = [committed[~arm_old],
             surv.assign(method="bootstrap_wald"),
             old[rmst].assign(method="plain_wald"),
             surv[surv["outcome"] == "pfs"],
             new.assign(method="working_cox_wald"),
             new[new["outcome"] == "os"]]
    out = pd.concat(parts, ignore_index=True)
    order = {name: i for i, name in enumerate(pd.unique(committed["scenario"]))}
    methods = list(dict.fromkeys([*committed["method"], "working_cox_wald", "bootstrap_wald"]))
    first = {k: i for i, k in enumerate(dict.fromkeys(zip(committed["scenario"], committed["outcome"],
                                                           committed["estimator"], committed["estimand"])))}
    keys = zip(out["scenario"], out["outcome"], out["estimator"], out["estimand"])
    out["_s"] = out["scenario"].map(order)
    out["_e"] = [first[k] for k in keys]
    out["_m"] = out["method"].map({m: i for i, m in enumerate(methods)})
    out = out.sort_values(["_s", "_e", "_m"], kind="mergesort").drop(columns=["_s", "_m", "_e"])
    return out.reset_index(drop=True)


def pooled_summary(run_dirs: list[str]) -> pd.DataFrame:
    """Summary of the replicates of several runs of the same scenarios (e.g. replicates 0-199 and a
    ``--first-replicate 200`` extension): the truth files must be identical and no replicate repeated."""
    from icistop.continuation.simsummary import summarise

    dirs = [Path(d) for d in run_dirs]
    truths = {f.name: f.read_text() for f in sorted(dirs[0].glob("truth_*.json"))}
    for d in dirs[1:]:
        if {f.name: f.read_text() for f in sorted(d.glob("truth_*.json"))} != truths:
            raise SystemExit(f"{d}: truth files differ from {dirs[0]}")
    res = pd.concat([pd.read_csv(d / "replicates.tsv", sep="\t") for d in dirs], ignore_index=True)
    keys = ["scenario", "replicate", "outcome", "estimator", "method", "estimand"]
    if res.duplicated(keys).any():
        raise SystemExit("a replicate appears in more than one run")
    res = res.sort_values(keys, kind="mergesort").reset_index(drop=True)
    order = list(pd.unique(res["scenario"]))
    summary = summarise(res, {name[len("truth_"):-len(".json")]: json.loads(text) for name, text in truths.items()},
                        order=order)
    # the precision of the committed table (and of simstudy's summary.tsv)
    return pd.read_csv(io.StringIO(summary.to_csv(sep="\t", index=False, float_format="%.6g")), sep="\t")


def replace_pfs_per_arm_rmst(table: pd.DataFrame, full: pd.DataFrame, tol: float) -> pd.DataFrame:
    """Put the per-arm RMST rows (default and ``bootstrap_wald``) of a full PFS run with the bootstrap (all
    replicates) in place of the 200-replicate ones, after checking that every other PFS row of the full run
    agrees with the table."""
    full = full[full["outcome"] == "pfs"]

    def rmst_rows(t):
        return ((t["outcome"] == "pfs") & (t["estimator"] == "ccw") & t["estimand"].isin(["rmst_A", "rmst_B"])
                & t["method"].isin(["transformed_wald", "bootstrap_wald"]))

    new = full[rmst_rows(full)]
    check_rows = full[~rmst_rows(full)]
    a = table.set_index(KEYS).reindex(check_rows.set_index(KEYS).index)
    if a["n_rep"].isna().any():
        raise SystemExit(f"rows of the full PFS run missing from the table:\n{a[a['n_rep'].isna()].index[:5].tolist()}")
    worst = compare_rows(a, check_rows.set_index(KEYS), tol, "the full PFS run and the table").iloc[:, 0].max()
    print(f"full PFS run: {len(check_rows)} other PFS rows agree with the table (max relative difference {worst:.2g}); "
          f"{len(new)} per-arm RMST rows replaced")
    return pd.concat([table[~rmst_rows(table)], new[table.columns]], ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("point_summary", nargs="?", help="summary.tsv of a --n-boot 0 run")
    ap.add_argument("--pfs-full", nargs="+", default=None,
                    help="run directories of a PFS run with the bootstrap on all replicates (e.g. replicates 0-199 "
                         "and 200-499): its per-arm RMST rows replace the 200-replicate ones")
    ap.add_argument("--table", default=str(TABLE))
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--pfs-rmst", default=None, help="summary.tsv of a PFS run with the bootstrap (e.g. --n-replicates "
                    "200 --outcomes pfs): its per-arm RMST default rows are added (transformed_wald, bootstrap_wald)")
    a = ap.parse_args()
    committed = pd.read_csv(a.table, sep="\t")
    if a.point_summary:
        point = pd.read_csv(a.point_summary, sep="\t")
        print(check_same_data(committed, point, a.tol).to_string())
        merged = merge(committed, point)
    else:
        merged = committed
    if a.pfs_full:
        merged = replace_pfs_per_arm_rmst(merged, pooled_summary(a.pfs_full), a.tol)
    if a.pfs_rmst:
        extra = pd.read_csv(a.pfs_rmst, sep="\t")
        extra = extra[per_arm_default(extra) & extra["estimand"].isin(["rmst_A", "rmst_B"])
                      & (extra["outcome"] == "pfs")][committed.columns]
        merged = pd.concat([merged, extra, extra.assign(method="bootstrap_wald")], ignore_index=True)
    merged.to_csv(a.table, sep="\t", index=False, float_format="%.6g")
    ccw = merged[merged["estimator"] == "ccw"]
    arm = ccw["estimand"].astype(str).str.match(PER_ARM)
    for m in ("transformed_wald", "working_cox_wald", "bootstrap_wald"):
        g = ccw[arm & (ccw["method"] == m)]
        bad = g[(g["coverage"] < 0.92) | (g["coverage"] > 0.98)]
        print(f"per-arm {m}: {len(g)} cells, coverage {g['coverage'].min():.3f}-{g['coverage'].max():.3f}, "
              f"outside 92-98 %: {len(bad)}")
        if len(bad):
            print(bad[["scenario", "outcome", "estimand", "coverage", "mc_se_coverage"]].to_string(index=False))
    d = ccw[(ccw["method"] == "transformed_wald")]
    print(f"default method, every ccw estimand: {len(d)} cells, coverage {d['coverage'].min():.3f}-"
          f"{d['coverage'].max():.3f}, outside 92-98 %: {((d['coverage'] < 0.92) | (d['coverage'] > 0.98)).sum()}")


if __name__ == "__main__":
    main()

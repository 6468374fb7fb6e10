"""Coverage of the analytic intervals the workflow uses without the bootstrap, from the simulation-study table.

Above ``continuation.bootstrap.analytic_above_n`` eligible patients the bootstrap is skipped: the comparisons take
the known-weights influence-function SE and the per-arm rows ``continuation.bootstrap.analytic_arm_se`` (per-arm
RMST: working-Cox). Those SEs were computed on every replicate of the committed study (rows ``known_weights`` and
``working_cox_wald`` of benchmarks/simulation_study_results.tsv), so their coverage needs no new run. Prints one
markdown row per scenario x outcome x estimand and the range; exit status 1 when a cell is outside 92-98 %.

Usage: .venv/bin/python benchmarks/simulation_analytic.py [--config config/config.yaml] [--cells]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

from icistop.continuation.simsummary import analytic_default_rows, estimand_label  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    ap.add_argument("--table", default=str(ROOT / "benchmarks" / "simulation_study_results.tsv"))
    ap.add_argument("--cells", action="store_true", help="also one row per scenario x outcome x estimand")
    args = ap.parse_args(argv)
    setting = yaml.safe_load(open(args.config))["continuation"]["bootstrap"].get("analytic_arm_se")
    rows = analytic_default_rows(pd.read_csv(args.table, sep="\t"), setting)
    print("| outcome | estimand | SE from | coverage, min-max over scenarios | mean SE / emp. SE, min-max |")
    print("|---|---|---|---|---|")
    for (outcome, estimand), g in rows.groupby(["outcome", "estimand"], sort=False):
        ratio = g["mean_model_se"] / g["empirical_se"]
        print(f"| {outcome.upper()} | {estimand_label(estimand)} | {g['source'].iloc[0]} | "
              f"{g['coverage'].min():.3f}-{g['coverage'].max():.3f} | {ratio.min():.2f}-{ratio.max():.2f} |")
    if not args.cells:
        rows = rows.iloc[0:0]
    else:
        print("\n| scenario | outcome | estimand | SE from | mean SE | emp. SE | coverage (MC SE) |")
        print("|---|---|---|---|---|---|---|")
    for _, r in rows.iterrows():
        cov = f"{r['coverage']:.3f} ({r['mc_se_coverage']:.3f})"
        if not 0.92 <= r["coverage"] <= 0.98:
            cov = f"**{cov}**"
        print(f"| {r['scenario']} | {r['outcome'].upper()} | {estimand_label(r['estimand'])} | {r['source']} | "
              f"{r['mean_model_se']:.4f} | {r['empirical_se']:.4f} | {cov} |")
    rows = analytic_default_rows(pd.read_csv(args.table, sep="\t"), setting)
    ok = rows["coverage"].between(0.92, 0.98)
    for outcome, g in rows.groupby("outcome"):
        print(f"\n{outcome.upper()}: {len(g)} cells, coverage {g['coverage'].min():.3f}-{g['coverage'].max():.3f}")
    print(f"{int(ok.sum())} of {len(rows)} cells in 92-98 %")
    return 0 if ok.all() else 1


if __name__ == "__main__":
    raise SystemExit(main())

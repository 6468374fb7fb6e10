"""SLURM resources per rule from the scale benchmark (benchmarks/scale_results.tsv).

For each rule, take the largest peak memory (max_rss) and wall time over its jobs (wildcards such
as the outcome or the bootstrap shard are folded into the rule) at the chosen cohort size (default:
the largest in the table, so that the profile fits any cohort up to that size), add head room and
round up:

    mem_mb  = max(1000, ceil(memory_factor * max_rss / 250) * 250)
    runtime = max(10, ceil(time_factor * seconds / 60))          (minutes)

Prints the ``set-resources:`` block of workflow/profiles/slurm/config.yaml (``--write`` replaces
the block in the profile). Not a test: run it after a new scale benchmark.

Several ``--table`` files are pooled (largest memory and time per rule over all of them): the default adds
``benchmarks/scale_bootstrap.tsv``, a 10^6 run with the bootstrap (``continuation.bootstrap.analytic_above_n:
null``), so that the bootstrap shards stay sized for a user who turns the analytic intervals off.

Usage: .venv/bin/python benchmarks/size_resources.py [--n 1000000] [--table A.tsv B.tsv] [--write]
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "workflow" / "profiles" / "slurm" / "config.yaml"
BEGIN = "# >>> set-resources (benchmarks/size_resources.py)"
END = "# <<< set-resources"
WILDCARDS = re.compile(r"_(pfs|os)(_\d+)?$")
# Rules outside the default target (not in the scale benchmark): sized by hand, generously. A
# simulation chunk is 10 replicates of a 3000-patient cohort with 100 bootstrap refits each.
STATIC = {"simulation_truth": (2000, 30), "simulation_chunk": (4000, 60), "simulation_summary": (2000, 10)}


def rule_of(benchmark_name: str) -> str:
    """continuation_bootstrap_os_3 -> continuation_bootstrap; biomarker_cif/post_stop -> biomarker_cif (benchmark
    files of rules with a population wildcard sit in a folder per rule); survival_km -> survival_km."""
    return WILDCARDS.sub("", benchmark_name.split("/")[0])


def size(table: pd.DataFrame, n: int, memory_factor: float = 1.5, time_factor: float = 3.0) -> pd.DataFrame:
    rows = table[(table["n_patients"] == n) & ~table["rule"].str.startswith("(")].copy()
    if rows.empty:
        raise SystemExit(f"no benchmark rows for n = {n}")
    rows["rule"] = rows["rule"].map(rule_of)
    agg = rows.groupby("rule").agg(max_rss_mb=("max_rss_mb", "max"), wall_s=("wall_s", "max")).reset_index()
    agg["mem_mb"] = [max(1000, math.ceil(memory_factor * m / 250) * 250) for m in agg["max_rss_mb"]]
    agg["runtime"] = [max(10, math.ceil(time_factor * s / 60)) for s in agg["wall_s"]]
    return agg


def render(agg: pd.DataFrame, n: int, memory_factor: float, time_factor: float,
           tables: tuple[str, ...] = ("benchmarks/scale_results.tsv",)) -> str:
    lines = [BEGIN,
             f"# Sized from {' + '.join(tables)} at {n:,} patients: mem_mb = {memory_factor:g} x peak",
             f"# memory, runtime = {time_factor:g} x wall time (minutes), at least 1000 MB / 10 min. For larger",
             "# cohorts scale both roughly linearly with patients (benchmarks/README.md); for small",
             "# cohorts `size_resources.py --n 100000` asks for less.",
             "set-resources:"]
    for r in agg.itertuples():
        lines += [f"  {r.rule}:", f"    mem_mb: {r.mem_mb}", f"    runtime: {r.runtime}"]
    lines.append("  # not in the scale benchmark (sized by hand)")
    for rule, (mem, minutes) in STATIC.items():
        lines += [f"  {rule}:", f"    mem_mb: {mem}", f"    runtime: {minutes}"]
    lines.append(END)
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=None, help="cohort size (default: the largest in the table)")
    ap.add_argument("--table", nargs="+", default=[str(ROOT / "benchmarks" / f) for f in
                                                    ("scale_results.tsv", "scale_bootstrap.tsv")])
    ap.add_argument("--memory-factor", type=float, default=1.5)
    ap.add_argument("--time-factor", type=float, default=3.0)
    ap.add_argument("--write", action="store_true", help="replace the block in the SLURM profile")
    args = ap.parse_args(argv)
    table = pd.concat([pd.read_csv(t, sep="\t") for t in args.table], ignore_index=True)
    n = int(table["n_patients"].max()) if args.n is None else args.n
    agg = size(table, n, args.memory_factor, args.time_factor)
    names = tuple(str(Path(t).resolve().relative_to(ROOT)) if Path(t).resolve().is_relative_to(ROOT) else t
                  for t in args.table)
    block = render(agg, n, args.memory_factor, args.time_factor, names)
    if not args.write:
        print(block, end="")
        return
    text = PROFILE.read_text()
    start, stop = text.index(BEGIN), text.index(END) + len(END) + 1
    PROFILE.write_text(text[:start] + block + text[stop:])
    print(f"updated {PROFILE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

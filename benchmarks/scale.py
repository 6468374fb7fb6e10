"""Scale benchmark: the whole workflow on synthetic cohorts of 10^3 to 10^6 patients.

For each size: generate a cohort with the example generator (icistop.data.synth, seeded), run
`snakemake --cores N` on it in a scratch copy of the workflow, then read the per-rule Snakemake
`benchmark:` files (wall seconds, peak resident memory) and time a no-op rerun. Results are appended
to benchmarks/scale_results.tsv with a description of the machine. Not a test: run it by hand.

Usage:
  .venv/bin/python benchmarks/scale.py --sizes 1000 10000 100000 1000000 --cores 2 \
      [--set continuation.bootstrap.n_boot=100]
  .venv/bin/python benchmarks/scale.py --summarise benchmarks/scale_results.tsv
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

from icistop.data.synth import GeneratorParams, generate_cohort, write_tables  # noqa: E402

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def machine() -> str:
    mem = ""
    try:
        kb = int(next(line for line in open("/proc/meminfo") if line.startswith("MemTotal")).split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, StopIteration):
        pass
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores ({cpu}){mem}, Python {platform.python_version()}"


def set_nested(cfg: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    for key in keys[:-1]:
        cfg = cfg.setdefault(key, {})
    cfg[keys[-1]] = value


def setup_workdir(n: int, work: Path, overrides: list[str] = ()) -> float:
    """A scratch copy of the workflow with a generated cohort of n patients (seed 20231127) in
    work/data and the config (with overrides) in work/bench.yaml; returns the generation time."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for name in ("Snakefile", "workflow", "config"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / name)
    t0 = time.perf_counter()
    tables, _ = generate_cohort(GeneratorParams(n_patients=n, seed=20231127))
    write_tables(tables, work / "data")
    gen_s = time.perf_counter() - t0
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["data_dir"] = "data"
    for item in overrides:
        key, value = item.split("=", 1)
        set_nested(cfg, key, yaml.safe_load(value))
    (work / "bench.yaml").write_text(yaml.safe_dump(cfg))
    return gen_s


def prepare_endpoints(n: int, work: Path) -> Path:
    """setup_workdir plus the workflow up to results/endpoints/ (for benchmarks of single stages)."""
    setup_workdir(n, work)
    # targets before --configfile (which takes every following word as a config file)
    subprocess.run([SNAKEMAKE, "results/endpoints/endpoints.parquet", "results/endpoints/assessments.parquet",
                    "--cores", "2", "--configfile", "bench.yaml"], cwd=work, capture_output=True, check=True)
    return work


def run_size(n: int, cores: int, overrides: list[str], scratch: Path) -> pd.DataFrame:
    work = scratch / f"n{n}"
    gen_s = setup_workdir(n, work, overrides)
    t0 = time.perf_counter()
    proc = subprocess.run([SNAKEMAKE, "--cores", str(cores), "--configfile", "bench.yaml"], cwd=work,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"workflow failed at n={n}")
    t0 = time.perf_counter()
    subprocess.run([SNAKEMAKE, "--cores", str(cores), "--configfile", "bench.yaml"], cwd=work, capture_output=True,
                   check=True)
    noop = time.perf_counter() - t0
    rows = []
    for path in sorted((work / "benchmarks" / "runs").rglob("*.tsv")):
        b = pd.read_csv(path, sep="\t")
        rows.append(dict(n_patients=n, rule=str(path.relative_to(work / "benchmarks" / "runs").with_suffix("")),
                         wall_s=round(float(b["s"].iloc[0]), 2), max_rss_mb=round(float(b["max_rss"].iloc[0]), 1)))
    rows.append(dict(n_patients=n, rule="(generate cohort)", wall_s=round(gen_s, 2), max_rss_mb=float("nan")))
    rows.append(dict(n_patients=n, rule="(end to end, snakemake)", wall_s=round(wall, 2), max_rss_mb=float("nan")))
    rows.append(dict(n_patients=n, rule="(no-op rerun)", wall_s=round(noop, 2), max_rss_mb=float("nan")))
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """One row per cohort size: end to end, sum over jobs, bootstrap jobs, slowest job, peak memory,
    no-op rerun, and the end-to-end ratio to the previous size."""
    out = []
    for n, g in table.groupby("n_patients", sort=True):
        jobs = g[~g["rule"].str.startswith("(")]
        special = g.set_index("rule")["wall_s"]
        slow = jobs.loc[jobs["wall_s"].idxmax()]
        big = jobs.loc[jobs["max_rss_mb"].idxmax()]
        out.append({"n_patients": n, "end_to_end_s": special.get("(end to end, snakemake)"),
                    "sum_jobs_s": round(jobs["wall_s"].sum(), 1),
                    "bootstrap_s": round(jobs.loc[jobs["rule"].str.startswith("continuation_bootstrap"), "wall_s"].sum(), 1),
                    "slowest_job": f"{slow['rule']} {slow['wall_s']:g} s",
                    "peak_memory": f"{big['rule']} {big['max_rss_mb'] / 1024:.2f} GB",
                    "noop_s": special.get("(no-op rerun)")})
    df = pd.DataFrame(out)
    df["ratio_to_previous"] = (df["end_to_end_s"] / df["end_to_end_s"].shift()).round(1)
    return df


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000, 1_000_000])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="config override key.path=value")
    ap.add_argument("--scratch", default="/tmp/icistop-scale")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "scale_results.tsv"))
    ap.add_argument("--summarise", metavar="TSV", help="print the per-size summary of a results table and exit")
    args = ap.parse_args(argv)
    if args.summarise:
        print(summarise(pd.read_csv(args.summarise, sep="\t")).to_string(index=False))
        return
    frames = []
    for n in args.sizes:
        frame = run_size(n, args.cores, args.overrides, Path(args.scratch))
        frame["cores"] = args.cores
        frame["overrides"] = "; ".join(args.overrides)
        frame["machine"] = machine()
        frames.append(frame)
        print(frame.to_string(index=False), flush=True)
        pd.concat(frames).to_csv(args.out, sep="\t", index=False)


if __name__ == "__main__":
    main()

"""Before/after timings of the implementations replaced for scale (issue: scale benchmarks).

Runs the same tasks on the same synthetic cohort with the package of an older commit ("before",
checked out into a temporary git worktree) and of the working tree ("after"), each in its own
process, and reports the median of ``--repeats`` timings and the largest difference in the results:

- ``bootstrap_replicate``: one CCW bootstrap replicate (PFS); before = re-cloning the resample with
  duplicated patients, after = frequency weights on the fixed clone structure.
- ``survival_compare``: log-rank, Cox, PH checks and time-split HRs of all groupings.
- ``harrell_c``: Harrell's C of a 3-level score on the stop cohort.
- ``harrell_c_continuous``: Harrell's C of a continuous score (no score ties) on all patients.
- ``discrimination``: the biomarker_discrimination rule's computation (C, AUC, 200 optimism resamples,
  calibration) for the from-start population; values compared = the apparent C and AUC (the optimism
  differs by design above ``biomarkers.discrimination.optimism_max_n``).
- ``horizon_fisher``: the recurrence-by-horizon table of all markers (before: exact r x c Fisher
  at any size; after: Pearson chi-square beyond ``exact_rxc_max_work``, so p-values of some markers
  differ by design); capped by ``--timeout``.

Usage: .venv/bin/python benchmarks/before_after.py --before 624fcbb --n 100000 [--repeats 3]
Writes benchmarks/before_after.tsv.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

TASK = r"""
import json, sys, time
import numpy as np, pandas as pd, yaml
sys.path.insert(0, sys.argv[1] + "/workflow/scripts")
task, work, repeats = sys.argv[2], sys.argv[3], int(sys.argv[4])
cfg = yaml.safe_load(open(sys.argv[5]))
ep = pd.read_parquet(work + "/results/endpoints/endpoints.parquet")

def timed(f):
    out, times = None, []
    for _ in range(repeats):
        t0 = time.perf_counter(); out = f(); times.append(time.perf_counter() - t0)
    return float(np.median(times)), out

if task == "bootstrap_replicate":
    from icistop.continuation.pipeline import load_panel, protocol_for
    from icistop.continuation.bootstrap import bootstrap_replicates
    C = cfg["continuation"]
    p = protocol_for({"protocol": C["protocol"], "confounders": C["confounders"], "ccw": C["ccw"]}, "pfs")
    panel = load_panel(work + "/results/endpoints/endpoints.parquet", work + "/results/endpoints/assessments.parquet", "pfs")
    one = timed(lambda: bootstrap_replicates(panel, p, [0], 1))[0]
    sec, df = timed(lambda: bootstrap_replicates(panel, p, [0, 1, 2, 3], 1))
    # per replicate once the per-shard set-up is paid (a shard runs n_boot / n_shards replicates)
    res = {"seconds": (sec - one) / 3, "values": df.drop(columns=["replicate"]).to_numpy(float).ravel().tolist()}
elif task == "survival_compare":
    from icistop.survival.analysis import compare_groups
    S = cfg["survival"]
    sec, (tabs, _) = timed(lambda: compare_groups(ep, S["groupings_after_stop"], S["groupings_from_start"],
                                                 dict(S["reference_levels"]), list(S["strata"]), S["ph_alpha"],
                                                 S["timesplit_cuts"], conf_level=S["conf_level"]))
    res = {"seconds": sec, "values": pd.to_numeric(tabs["cox"]["coef"], errors="coerce").tolist()}
elif task == "harrell_c":
    from icistop.stats import discrimination as disc
    stop = ep[ep["stopped"].astype(bool)]
    t = stop["time_on_ici"].to_numpy(float)
    rng = np.random.default_rng(1)
    score = rng.integers(0, 3, len(t)).astype(float)
    e = stop["pfs_event"].to_numpy(float)
    sec, out = timed(lambda: disc.harrell_c(t, e, score))
    res = {"seconds": sec, "values": [out["c"]]}
elif task == "harrell_c_continuous":
    from icistop.stats import discrimination as disc
    t = ep["time_on_ici"].to_numpy(float)
    e = ep["pfs_event"].to_numpy(float) if "pfs_event" in ep else ep["os_event"].to_numpy(float)
    score = np.random.default_rng(2).normal(size=len(t)) - 0.01 * t
    sec, out = timed(lambda: disc.harrell_c(t, e, score))
    res = {"seconds": sec, "values": [out["c"]]}
elif task == "discrimination":
    from icistop.biomarkers.discrimination import discrimination_analysis
    from icistop.biomarkers.markers import prepare_analysis_data
    try:
        from icistop.biomarkers.populations import population_config
    except ImportError:  # before the populations module (commit 5b091a7 and earlier)
        from icistop.biomarkers.markers import population_config
    bcfg = population_config(json.loads(json.dumps(cfg["biomarkers"])), "from_start")
    data, _ = prepare_analysis_data(ep, None, bcfg)
    sec, (metrics, _) = timed(lambda: discrimination_analysis(data, bcfg))
    res = {"seconds": sec, "values": pd.to_numeric(metrics["apparent"], errors="coerce").tolist()}
elif task == "horizon_fisher":
    from icistop.biomarkers.horizon import horizon_fisher
    from icistop.biomarkers.markers import prepare_analysis_data
    from icistop.stats import discrimination as disc
    data, _ = prepare_analysis_data(ep, None, cfg["biomarkers"])
    sec, out = timed(lambda: horizon_fisher(data, cfg["biomarkers"]))
    res = {"seconds": sec, "values": pd.to_numeric(out["p_marker"], errors="coerce").tolist()}
print(json.dumps(res))
"""


def run(code_root: Path, task: str, work: Path, repeats: int, config: Path, timeout: float):
    try:
        proc = subprocess.run([sys.executable, "-c", TASK, str(code_root), task, str(work), str(repeats), str(config)],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"seconds": None, "values": [], "note": f"not finished within {timeout:g} s"}
    if proc.returncode != 0:
        return {"seconds": None, "values": [], "note": proc.stderr.strip().splitlines()[-1][:200]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True, help="git commit of the 'before' implementation")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=1200)
    ap.add_argument("--tasks", nargs="+", default=["bootstrap_replicate", "survival_compare", "harrell_c",
                                                   "horizon_fisher"])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "before_after.tsv"),
                    help="rows are added to this table (a row of the same size, task and before commit is replaced)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from scale import prepare_endpoints  # noqa: E402

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        before = tmp / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before), args.before], check=True,
                       capture_output=True)
        try:
            work = prepare_endpoints(args.n, tmp / "work")
            config = work / "bench.yaml"
            rows = []
            for task in args.tasks:
                b = run(before, task, work, args.repeats, config, args.timeout)
                a = run(ROOT, task, work, args.repeats, config, args.timeout)
                diff = None
                if b["values"] and len(b["values"]) == len(a["values"]):
                    pairs = [(x, y) for x, y in zip(b["values"], a["values"]) if x == x and y == y]
                    diff = max((abs(x - y) for x, y in pairs), default=None)
                rows.append({"n_patients": args.n, "task": task, "before_commit": args.before,
                             "before_s": b["seconds"], "after_s": a["seconds"],
                             "speedup": (b["seconds"] / a["seconds"]) if b["seconds"] and a["seconds"] else None,
                             "max_abs_difference": diff, "note": b.get("note", "") or a.get("note", "")})
                print(rows[-1], flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], capture_output=True)
    new = pd.DataFrame(rows)
    out = Path(args.out)
    if out.exists():
        old = pd.read_csv(out, sep="\t")
        key = ["n_patients", "task", "before_commit"]
        old = old[~old.set_index(key).index.isin(new.set_index(key).index)]
        new = pd.concat([old, new], ignore_index=True)
    new.to_csv(out, sep="\t", index=False, float_format="%.4g")


if __name__ == "__main__":
    main()

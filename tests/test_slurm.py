"""The workflow on a real SLURM cluster (snakemake-executor-plugin-slurm, profile workflow/profiles/slurm).

The cluster tests (marker `slurm`, not run by default) need a running cluster: as root,
`tests/slurm/start_cluster.sh` sets up a one-node cluster on this machine (see tests/slurm/README.md).
Then `.venv/bin/python -m pytest -m slurm tests/test_slurm.py`. They run the workflow twice in temporary
copies, locally and with `--executor slurm`, check that every rule with an action went through the
scheduler (job ids printed by Snakemake = completed jobs in SLURM's job-completion record, with the run's
name, account and working directory) and that the result tables are equal.

Environment: SLURM_TEST_TARGETS (space-separated snakemake targets, default: the default target).
Without a cluster the tests skip with the reason; in CI (CI=true) they fail instead.

The profile checks (no marker) only need the executor plugin installed.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from workflow_copy import ROOT, SNAKEMAKE, copy_workflow

PROFILE = "workflow/profiles/slurm"
ACCOUNT = "icistop-test"
TABLE_SUFFIXES = {".tsv", ".csv", ".json", ".parquet"}
# The plugin's defaults (40 s before the first status check, +10 s per check without news) suit a
# busy cluster; on the local test cluster they would only add waiting.
FAST_POLLING = ["--slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "2"]


def _targets() -> list[str]:
    return os.environ.get("SLURM_TEST_TARGETS", "").split()


def _run(workdir: Path, args: list[str], env_extra: dict | None = None, timeout: int = 3600):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", **(env_extra or {}))
    start = time.monotonic()
    proc = subprocess.run([SNAKEMAKE, *args], cwd=workdir, capture_output=True, text=True,
                          timeout=timeout, env=env)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}) in {workdir}:\n"
                             f"{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return proc, elapsed


def _cluster_problem() -> str | None:
    for tool in ("sinfo", "sbatch", "squeue", "scontrol"):
        if shutil.which(tool) is None:
            return f"SLURM command '{tool}' not found (start one with tests/slurm/start_cluster.sh)"
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True)
    if ping.returncode != 0 or "UP" not in ping.stdout:
        return f"slurmctld not reachable: {ping.stdout.strip()} {ping.stderr.strip()}"
    states = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True).stdout.split()
    if not any(s.rstrip("*~#") in ("idle", "mixed", "allocated", "completing") for s in states):
        return f"no usable SLURM node (sinfo states: {states})"
    return None


def _slurm_config() -> dict[str, str]:
    out = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, check=True).stdout
    conf = {}
    for line in out.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            conf[key.strip()] = value.strip()
    return conf


def _completed_jobs(conf: dict[str, str], run_id: str) -> dict[str, dict[str, str]]:
    """SLURM's record of the jobs named run_id: job id -> fields (JobState, Account, WorkDir, ...).

    From the job-completion log when JobCompType=jobcomp/filetxt (the test cluster's setting; sacct
    needs slurmdbd), otherwise from squeue --states=all (finished jobs stay there for MinJobAge)."""
    jobs = {}
    if conf.get("JobCompType") == "jobcomp/filetxt" and Path(conf.get("JobCompLoc", "")).is_file():
        for line in Path(conf["JobCompLoc"]).read_text().splitlines():
            fields = dict(re.findall(r"(\w+)=(\S*)", line))
            if fields.get("Name") == run_id:
                jobs[fields["JobId"]] = fields
        return jobs
    out = subprocess.run(["squeue", "--states=all", "--noheader", "--name", run_id,
                          "--format=%i|%T|%a|%Z"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        job_id, state, account, workdir = line.split("|")
        jobs[job_id] = {"JobId": job_id, "JobState": state, "Account": account, "WorkDir": workdir}
    return jobs


@pytest.fixture(scope="module")
def cluster():
    problem = _cluster_problem()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"SLURM cluster needed in CI: {problem}")
        pytest.skip(problem)
    return _slurm_config()


@pytest.fixture(scope="module")
def snapshot(cluster, tmp_path_factory):
    """One copy of the repository taken before both runs, so they see the same code and data."""
    return copy_workflow(tmp_path_factory.mktemp("snapshot"))


def _copy_of(snapshot: Path, dest: Path) -> Path:
    shutil.copytree(snapshot, dest, symlinks=True, dirs_exist_ok=True)
    return dest


@pytest.fixture(scope="module")
def local_run(snapshot, tmp_path_factory):
    work = _copy_of(snapshot, tmp_path_factory.mktemp("local"))
    proc, elapsed = _run(work, ["--cores", "2", *_targets()])
    print(f"\nlocal run: {elapsed:.1f} s")
    return work


@pytest.fixture(scope="module")
def slurm_run(snapshot, local_run, tmp_path_factory):
    """After local_run: both use the machine's CPUs."""
    work = _copy_of(snapshot, tmp_path_factory.mktemp("slurm"))
    proc, elapsed = _run(work, ["--cores", "2", "--executor", "slurm", "--profile", PROFILE,
                                *FAST_POLLING, *_targets()],
                         env_extra={"SBATCH_ACCOUNT": ACCOUNT})
    out = proc.stdout + proc.stderr
    job_ids = re.findall(r"has been submitted with SLURM jobid (\d+)", out)
    print(f"\nslurm run: {elapsed:.1f} s, {len(job_ids)} SLURM jobs")
    return work, out


@pytest.mark.slurm
def test_jobs_went_through_the_scheduler(cluster, slurm_run):
    work, out = slurm_run
    run_id = re.search(r"SLURM run ID: (\S+)", out)
    assert run_id, out[-3000:]
    run_id = run_id.group(1)
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", out)
    assert submitted, f"no job was submitted to SLURM:\n{out[-3000:]}"
    # Rules executed by the Snakemake process itself are logged as "localrule"; only rules without
    # an action (like `all`) may run there.
    local = set(re.findall(r"^\s*localrule (\w+):", out, flags=re.M))
    assert local <= {"all"}, f"rules run outside SLURM: {local - {'all'}}"
    # SLURM's own record: every job id Snakemake reported, completed, with our account and workdir.
    deadline = time.monotonic() + 30  # jobcomp is written when slurmctld finishes the job
    while True:
        jobs = _completed_jobs(cluster, run_id)
        if set(submitted) <= set(jobs) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert set(jobs) == set(submitted), (submitted, jobs)
    for job in jobs.values():
        assert job["JobState"] == "COMPLETED", job
        assert job["Account"] == ACCOUNT, job
        assert Path(job["WorkDir"]).resolve() == work.resolve(), job


def _result_files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in (root / "results").rglob("*") if p.is_file()}


@pytest.mark.slurm
def test_results_equal_local_run(local_run, slurm_run):
    slurm_dir, _ = slurm_run
    files = _result_files(local_run)
    assert files, "the local run produced no results"
    assert _result_files(slurm_dir) == files
    compared = 0
    for rel in sorted(files):
        a, b = local_run / rel, slurm_dir / rel
        if rel.suffix not in TABLE_SUFFIXES or a.read_bytes() == b.read_bytes():
            compared += rel.suffix in TABLE_SUFFIXES
            continue
        if rel.suffix == ".json":
            assert json.loads(a.read_text()) == json.loads(b.read_text()), rel
        elif rel.suffix == ".parquet":
            pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b), rtol=1e-10, obj=str(rel))
        else:
            sep = "\t" if rel.suffix == ".tsv" else ","
            pd.testing.assert_frame_equal(pd.read_csv(a, sep=sep), pd.read_csv(b, sep=sep), rtol=1e-10,
                                          obj=str(rel))
        compared += 1
    assert compared > 0, "no result tables to compare"


# --- profile checks (fast, no cluster) -----------------------------------------------------------

def _defined_rules() -> set[str]:
    sources = [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]
    return {m for src in sources for m in re.findall(r"^(?:rule|checkpoint)\s+(\w+)\s*:", src.read_text(), re.M)}


def test_slurm_profile_names_existing_rules():
    """Per-rule settings in the profile must not silently refer to renamed or removed rules."""
    profile = yaml.safe_load((ROOT / PROFILE / "config.yaml").read_text())
    rules = _defined_rules()
    named = set(profile.get("set-resources", {})) | set(profile.get("groups", {}))
    assert named - rules == set(), f"profile names unknown rules: {sorted(named - rules)}"
    groups = set(profile.get("groups", {}).values())
    assert set(profile.get("group-components", {})) <= groups


def test_slurm_resources_cover_the_scale_benchmark():
    """The profile's per-rule memory and run time are at least what the committed scale benchmark
    measured (benchmarks/size_resources.py writes them from the largest cohort), for every rule
    measured at every size, and the bootstrap shards cover a 10^6 run with the bootstrap."""
    import pandas as pd

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from size_resources import rule_of

    profile = yaml.safe_load((ROOT / PROFILE / "config.yaml").read_text())
    res = profile["set-resources"]
    bench = pd.read_csv(ROOT / "benchmarks" / "scale_results.tsv", sep="\t")
    assert {1000, 10_000, 100_000, 1_000_000} <= set(bench["n_patients"])
    # the 10^6 run with the bootstrap (analytic intervals off) sizes the bootstrap shards
    boot = pd.read_csv(ROOT / "benchmarks" / "scale_bootstrap.tsv", sep="\t")
    assert boot["rule"].str.startswith("continuation_bootstrap_").any()
    bench = pd.concat([bench, boot], ignore_index=True)
    bench = bench[~bench["rule"].str.startswith("(")]
    for name, g in bench.assign(rule=bench["rule"].map(rule_of)).groupby("rule"):
        assert name in res, f"{name} has no resources in the SLURM profile"
        assert res[name]["mem_mb"] >= g["max_rss_mb"].max(), name
        assert res[name]["runtime"] * 60 >= g["wall_s"].max(), name


def _plugin_installed() -> bool:
    probe = subprocess.run([sys.executable, "-c", "import snakemake_executor_plugin_slurm"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.parametrize("profile", ["profiles/default", PROFILE])
def test_profile_dry_run(profile, tmp_path):
    """The profiles parse with the installed Snakemake (and plugin) and give a valid DAG."""
    if profile == PROFILE and not _plugin_installed():
        pytest.skip("snakemake-executor-plugin-slurm not installed")
    work = copy_workflow(tmp_path)
    # the default profile is picked up without --profile (it sits next to the Snakefile)
    args = ["--dry-run", "--quiet", "rules"] if profile == "profiles/default" else ["--profile", profile, "--dry-run", "--quiet", "rules"]
    proc, _ = _run(work, args, env_extra={"SBATCH_ACCOUNT": ACCOUNT}, timeout=300)
    expected = "workflow specific profile profiles/default" if profile == "profiles/default" else "profile " + profile
    assert expected in proc.stderr + proc.stdout

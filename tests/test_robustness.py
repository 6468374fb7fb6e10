"""Interrupted runs, concurrent runs and determinism of the workflow (slow)."""

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import minicohort
from workflow_copy import SNAKEMAKE, copy_workflow, snakemake

pytestmark = pytest.mark.slow
TARGETS = ["results/endpoints/endpoints.parquet", "results/cohort/attrition.tsv"]


def prepared(tmp_path: Path) -> Path:
    work = copy_workflow(tmp_path)
    (work / "mini").mkdir()
    minicohort.write(work / "mini")
    return work


def start(work: Path, *args, delay_rule=None, delay=60):
    env = dict(os.environ)
    if delay_rule:
        env.update(ICISTOP_TEST_DELAY_RULE=delay_rule, ICISTOP_TEST_DELAY=str(delay))
    return subprocess.Popen([SNAKEMAKE, *TARGETS, *args, "--cores", "1", "--config", "data_dir=mini"], cwd=work,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def wait_for(path: Path, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        if path.exists():
            return
        time.sleep(0.2)
    raise AssertionError(f"{path} did not appear")


def digest(work: Path) -> dict[str, str]:
    return {t: hashlib.sha256((work / t).read_bytes()).hexdigest() for t in TARGETS}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_leaves_no_half_written_outputs(tmp_path, sig):
    work = prepared(tmp_path)
    proc = start(work, delay_rule="derive_endpoints")
    out = work / "results/endpoints/endpoints.parquet"
    wait_for(out)  # the job has written its outputs and is still running
    os.killpg(proc.pid, sig)
    proc.wait(timeout=120)
    assert proc.returncode != 0
    if out.exists():  # Snakemake keeps them but marks them incomplete: they are never used as they are
        dry = snakemake(work, *TARGETS, "--dry-run", "--workflow-profile", "none", "--cores", "1", "--config",
                        "data_dir=mini", check=False)
        assert dry.returncode != 0 and "IncompleteFilesException" in dry.stdout + dry.stderr
        assert "results/endpoints/endpoints.parquet" in dry.stdout + dry.stderr
        # the default profile (profiles/default) reruns them
        dry = snakemake(work, *TARGETS, "--dry-run", "--cores", "1", "--config", "data_dir=mini")
        assert "derive_endpoints" in dry.stdout and "IncompleteFilesException" not in dry.stdout + dry.stderr
    snakemake(work, *TARGETS, "--rerun-incomplete", "--cores", "1", "--config", "data_dir=mini")
    reference = prepared(tmp_path / "ref")
    snakemake(reference, *TARGETS, "--cores", "1", "--config", "data_dir=mini")
    assert digest(work) == digest(reference)


def test_second_run_in_same_directory_is_refused_by_the_lock(tmp_path):
    work = prepared(tmp_path)
    first = start(work, delay_rule="define_cohort", delay=20)
    wait_for(work / "results/cohort/attrition.tsv")
    # --rerun-incomplete gets past the check of the running job's files: only the lock stops it
    second = snakemake(work, *TARGETS, "--rerun-incomplete", "--cores", "1", "--config", "data_dir=mini", check=False)
    assert second.returncode != 0
    assert "cannot be locked" in second.stdout + second.stderr
    output, _ = first.communicate(timeout=300)
    assert first.returncode == 0, output
    assert (work / "results/endpoints/endpoints.parquet").exists()


def test_two_clean_runs_give_identical_tables(tmp_path):
    a, b = prepared(tmp_path / "a"), prepared(tmp_path / "b")
    for work in (a, b):
        snakemake(work, "--cores", "2", "--config", "data_dir=mini")
    files = sorted(p.relative_to(a) for p in (a / "results").rglob("*") if p.is_file() and p.suffix in {".tsv", ".parquet", ".json"})
    assert files
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), f"{rel} differs between two clean runs"

"""End-to-end: snakemake on the embedded example in a temporary copy (slow)."""

import json

import pandas as pd
import pytest

from workflow_copy import copy_workflow, snakemake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    work = copy_workflow(tmp_path_factory.mktemp("wf"))
    snakemake(work, "--cores", "2")
    return work


def test_outputs_exist(run_dir):
    summary = json.loads((run_dir / "results/validation/summary.json").read_text())
    assert summary["status"] == "passed"
    attrition = pd.read_csv(run_dir / "results/cohort/attrition.tsv", sep="\t")
    assert attrition["n_remaining"].iloc[0] == summary["tables"]["patients"]["rows"]
    endpoints = pd.read_parquet(run_dir / "results/endpoints/endpoints.parquet")
    assert endpoints["in_stop_cohort"].sum() == attrition["n_remaining"].iloc[-1]
    html = (run_dir / "results/report/report.html").read_text()
    assert "<h2 id=\"cohort\">" in html


def test_second_run_does_nothing(run_dir):
    proc = snakemake(run_dir, "--cores", "2", "--dry-run")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_changed_table_reruns_validation_and_downstream(run_dir):
    path = run_dir / "resources/example/patients.csv"
    original = path.read_text()
    lines = original.splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))  # drop the last patient: content changes
    try:
        proc = snakemake(run_dir, "--cores", "2", "--dry-run", "--quiet", "rules")
        out = proc.stdout + proc.stderr
        for rule in ("validate_data", "define_cohort", "derive_endpoints", "report"):
            assert rule in out, out
    finally:
        path.write_text(original)


def test_changed_param_reruns_only_affected_rules(run_dir):
    (run_dir / "override.yaml").write_text("endpoints: {pfs_censor_at: last_contact, time_on_ici_breaks: [12, 24]}\n")
    proc = snakemake(run_dir, "--cores", "2", "--dry-run", "--quiet", "rules", "--configfile", "override.yaml")
    out = proc.stdout + proc.stderr
    assert "derive_endpoints" in out and "survival_km" in out and "report" in out
    assert "validate_data" not in out and "define_cohort" not in out
    # a survival-only setting reruns only the survival rules that use it (and the report)
    (run_dir / "override.yaml").write_text("survival: {rmst_tau: [12, 24]}\n")
    proc = snakemake(run_dir, "--cores", "2", "--dry-run", "--quiet", "rules", "--configfile", "override.yaml")
    out = proc.stdout + proc.stderr
    assert "survival_rmst" in out
    for rule in ("derive_endpoints", "survival_km", "survival_compare", "biomarker_cox"):
        assert rule not in out, out


def test_bad_input_gives_clear_error_without_traceback(tmp_path):
    work = copy_workflow(tmp_path)
    path = work / "resources/example/patients.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[1, "last_contact_date"] = "2023-02-30"
    frame.to_csv(path, index=False)
    proc = snakemake(work, "--cores", "1", check=False)
    assert proc.returncode != 0
    err = proc.stdout + proc.stderr
    assert ("patients.csv, row 2, column 'last_contact_date': '2023-02-30' is not a valid date; "
            "expected an existing calendar date written YYYY-MM-DD (ISO-8601)") in err
    assert "Traceback" not in err
    assert (work / "logs/validate_data.issues.tsv").exists()


def test_config_error_caught_by_schema(tmp_path):
    work = copy_workflow(tmp_path)
    proc = snakemake(work, "--dry-run", "--config", "no_such_option=1", check=False)
    assert proc.returncode != 0
    assert "no_such_option" in proc.stdout + proc.stderr
    proc = snakemake(work, "--dry-run", "--config", "data_cutoff=30/06/2024", check=False)
    assert proc.returncode != 0 and "does not match" in proc.stdout + proc.stderr


def test_lint_is_clean(run_dir):
    proc = snakemake(run_dir, "--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr

"""Multi-centre end to end (slow): `snakemake site_package` at each of the example's five sites (each a
copy of the workflow restricted to its own patients), pooling with `--config pool=[...]`, the pooled report; a
package that fails the disclosure check is not written, a tampered one is refused, both with a plain
message naming the problem."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import yaml

from browser.report_run import deep_merge, fast_overrides, run
from icistop.report.render import privacy_leaks
from workflow_copy import ROOT, copy_workflow, snakemake

pytestmark = pytest.mark.slow
SITES = tuple(sorted(pd.read_csv(ROOT / "resources/example/patients.csv", usecols=["site"])["site"].unique()))


def site_config(site: str, **multi) -> dict:
    return {"cohort": {"sites": [site]}, "multicentre": {"site": site, **multi}}


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    out = {}
    for site in SITES:
        work = copy_workflow(tmp_path_factory.mktemp(f"site_{site}"))
        run(work, site_config(site), targets=["site_package"])
        out[site] = work / "results" / "site_package" / f"{site}.zip"
    return out


@pytest.fixture(scope="module")
def pooled(packages, tmp_path_factory):
    work = copy_workflow(tmp_path_factory.mktemp("pool"))
    snakemake(work, "--cores", "2", "--config", f"pool=[{', '.join(str(p) for p in packages.values())}]")
    return work


def test_site_package_is_a_zip_of_checked_aggregates(packages):
    for site, path in packages.items():
        with zipfile.ZipFile(path) as z:
            names = sorted(Path(n).name for n in z.namelist())
            manifest = json.loads(z.read(f"{site}/manifest.json"))
        assert names == ["continuation_estimates.tsv", "horizon_tables.tsv", "manifest.json", "survival_counts.tsv"]
        assert manifest["site"] == site and manifest["disclosure"]["checks"] == "passed"
        assert manifest["cohort_sizes"]["stop_cohort"] > 0


def test_pooled_report_renders_from_the_packages(pooled, packages):
    html = (pooled / "results/pooled/report.html").read_text()
    for site in SITES:
        assert site in html
    for heading in ("Contributing site packages", "Pooled survival after stopping ICI", "Differences between sites",
                    "Recurrence by the horizon", "meta-analysis"):
        assert heading in html
    patients = pd.read_csv(ROOT / "resources/example/patients.csv", dtype=str)
    leaks = privacy_leaks(html, patients["patient_id"], patients["last_contact_date"].dropna())
    assert leaks["identifiers"] == 0 and leaks["dates"] == 0
    checked = pd.read_csv(pooled / "results/pooled/packages.tsv", sep="\t")
    assert sorted(checked["site"]) == sorted(SITES)
    marks = pd.read_csv(pooled / "results/pooled/km_landmarks.tsv", sep="\t")
    assert (marks["surv"].dropna().between(0, 1)).all()
    assert not (pooled / "results/endpoints").exists(), "pooling must not analyse local data"


def test_tampered_package_is_refused_by_name(packages, tmp_path):
    bad = tmp_path / "Aldmoor.zip"
    with zipfile.ZipFile(packages["Aldmoor"]) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("survival_counts.tsv"):
                data = data.replace(b"\t0\t", b"\t1\t", 1)
            dst.writestr(item, data)
    work = copy_workflow(tmp_path / "pool_bad")
    proc = snakemake(work, "--cores", "1", "--config", f"pool=[{bad}, {packages['Corrindale']}]", check=False)
    assert proc.returncode != 0
    err = proc.stderr
    assert "checksum mismatch" in err and "Aldmoor.zip" in err and "Traceback" not in err


def test_disclosure_failure_writes_no_package(packages, tmp_path):
    work = copy_workflow(tmp_path / "site_strict")
    extra = deep_merge(fast_overrides(work), site_config("Aldmoor", disclosure={"min_cell": 100000, "small_levels": "drop"}))
    (work / "strict.yaml").write_text(yaml.safe_dump(extra))
    proc = snakemake(work, "site_package", "--cores", "2", "--configfile", "config/config.yaml", "strict.yaml",
                     check=False)
    assert proc.returncode != 0
    assert "site package not written" in proc.stderr and "Traceback" not in proc.stderr
    assert not (work / "results/site_package/Aldmoor.zip").exists()

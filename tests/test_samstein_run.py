"""Real-data run: the workflow on Samstein et al. 2019 colorectal patients equals R `survival` (slow).

Runs `snakemake --configfile config/samstein2019.yaml` in a temporary copy, then compares the
overall-survival KM curve and the Cox model by regimen with R (live Rscript when available,
otherwise the committed fixture tests/fixtures/oracle/samstein_workflow.json).
"""

import json
import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import yaml

from workflow_copy import ROOT, copy_workflow, snakemake

pytestmark = [pytest.mark.slow, pytest.mark.oracle]
RAW = ROOT.parent / "shared/data/raw/samstein2019_tmb_mskcc_2018/tmb_mskcc_2018_clinical_data.tsv"
FIXTURE = ROOT / "tests/fixtures/oracle/samstein_workflow.json"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    if not RAW.exists():
        pytest.skip(f"Samstein export not found at {RAW}")
    work = copy_workflow(tmp_path_factory.mktemp("samstein"))
    cfg = yaml.safe_load((ROOT / "config/samstein2019.yaml").read_text())
    cfg["cbioportal"]["clinical_tsv"] = str(RAW)
    (work / "samstein.yaml").write_text(yaml.safe_dump(cfg))
    snakemake(work, "--cores", "2", "--configfile", "samstein.yaml")
    return work


@pytest.fixture(scope="module")
def r_results(tmp_path_factory):
    rscript = shutil.which("Rscript")
    if rscript is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but Rscript is not installed")
        return json.loads(FIXTURE.read_text())
    out = tmp_path_factory.mktemp("r") / "samstein.json"
    subprocess.run([rscript, str(ROOT / "tests/oracle/samstein_workflow.R"), str(RAW), str(out)], check=True)
    live = json.loads(out.read_text())
    assert live == json.loads(FIXTURE.read_text()), "committed fixture is stale: rerun tests/oracle/samstein_workflow.R"
    return live


def test_cohort_size_and_deaths(run, r_results):
    e = pd.read_parquet(run / "results/endpoints/endpoints.parquet")
    assert len(e) == r_results["n"] == 110
    assert e["os_event"].sum() == r_results["events"] == 45


def test_os_km_equals_r(run, r_results):
    km = pd.read_csv(run / "results/survival/km_curves.tsv", sep="\t")
    ours = km[(km.endpoint == "os_from_start") & (km.grouping == "overall")].reset_index(drop=True)
    r = r_results["km"]
    assert len(ours) == len(r["time"])
    # times are whole source months re-expressed as whole days / 30.4375: same order, < 0.02 apart
    assert np.max(np.abs(ours["time"] - np.array(r["time"]))) < 0.02
    for col, rcol in (("surv", "surv"), ("lower", "lower"), ("upper", "upper"), ("n_risk", "n_risk")):
        np.testing.assert_allclose(ours[col].to_numpy(float), np.array(r[rcol], dtype=float), atol=1e-10, rtol=0)


def test_os_cox_by_regimen_equals_r(run, r_results):
    cox = pd.read_csv(run / "results/survival/cox.tsv", sep="\t")
    ours = cox[(cox.endpoint == "os_from_start") & (cox.grouping == "regimen") & cox.strata.isna()]
    r = r_results["cox"]
    assert len(ours) == len(r["term"]) == 2
    np.testing.assert_allclose(ours["coef"].to_numpy(), r["coef"], atol=1e-6)
    np.testing.assert_allclose(ours["se"].to_numpy(), r["se"], atol=1e-6)


def test_stop_analyses_skipped_with_a_note(run):
    notes = pd.read_csv(run / "results/survival/km_notes.tsv", sep="\t")
    assert (notes.loc[notes.endpoint == "os_after_stop", "note"] == "no patients in the cohort: skipped").any()
    pfs = notes.loc[notes.endpoint == "pfs_from_start", "note"]
    assert pfs.str.contains("no tumour assessments in the data").any()
    km = pd.read_csv(run / "results/survival/km_curves.tsv", sep="\t")
    assert set(km["endpoint"]) == {"os_from_start"}

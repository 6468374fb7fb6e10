"""Real-data run: the workflow on Samstein et al. 2019 colorectal patients equals R `survival` (slow).

Runs `snakemake --configfile config/samstein2019.yaml` in a temporary copy, then compares the
overall-survival KM curve, the Cox model by regimen and the biomarkers from the ICI start (OS; log-rank and
Cox by TMB >= 20, Cox on log2(TMB + 1), regimen, sex and age / 10, restricted cubic splines of TMB and age)
with R to 1e-6 (live Rscript when available, otherwise the committed fixture
tests/fixtures/oracle/samstein_workflow.json). The stop cohort is empty (no stop dates in the source): its
biomarker tables are skipped and the report says so.
"""

import json
import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

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


TOL = 1e-6


def _biomarker_table(run, name, population="from_start"):
    return pd.read_csv(run / "results/biomarkers" / population / name, sep="\t", keep_default_na=False,
                       na_values=["NA", "NaN", ""])


def test_biomarker_times_keep_the_source_ties(run):
    """OS in the analysis data is whole source months as whole days / 30.4375: the same order and ties as the
    months R uses (Cox and log-rank depend on the times only through them), and the same deaths."""
    raw = pd.read_csv(RAW, sep="\t")
    raw = raw[raw["Cancer Type"] == "Colorectal Cancer"].set_index("Patient ID")
    data = pd.read_parquet(run / "results/biomarkers/from_start/analysis_data.parquet").set_index("patient_id")
    assert len(data) == len(raw) == 110 and set(data.index) == set(raw.index)
    months = raw.loc[data.index, "Overall Survival (Months)"].to_numpy(float)
    ours = data["time"].to_numpy()
    assert np.array_equal(pd.Series(months).rank(method="dense"), pd.Series(ours).rank(method="dense"))
    assert np.max(np.abs(ours - months)) < 0.02
    dead = raw.loc[data.index, "Overall Survival Status"].str.startswith("1").to_numpy(float)
    np.testing.assert_array_equal(data["event"].to_numpy(), dead)


def test_biomarker_marker_tests_equal_r(run, r_results):
    tests = _biomarker_table(run, "marker_tests.tsv").set_index("marker")
    r = r_results["biomarkers"]
    assert list(tests.index) == ["tmb", "tmb_high", "regimen", "sex", "age_at_ici_start"]
    assert (tests["status"] == "ok").all() and (tests["n"] == 110).all() and (tests["events"] == 45).all()
    for marker, rm in r.items():
        assert tests.loc[marker, "df"] == rm["df"], marker
        for col in ("lr_stat", "p_lr", "wald_stat", "p_wald"):
            assert abs(tests.loc[marker, col] - rm[col]) <= TOL, (marker, col, tests.loc[marker, col], rm[col])
        if "logrank" in rm:  # survdiff of the categorical markers
            assert abs(tests.loc[marker, "p_logrank"] - rm["logrank"]["p"]) <= TOL, marker
        else:
            assert np.isnan(tests.loc[marker, "p_logrank"])
    # TMB >= 20: the survdiff chi-square itself, through its p-value (1 df)
    chisq = float(stats.chi2.isf(tests.loc["tmb_high", "p_logrank"], 1))
    assert abs(chisq - r["tmb_high"]["logrank"]["chisq"]) <= TOL


def test_biomarker_cox_univariable_equal_r(run, r_results):
    levels = _biomarker_table(run, "cox_univariable.tsv")
    levels = levels[levels["is_reference"].astype(str) != "True"]
    r = r_results["biomarkers"]
    expected = {"tmb": ["per doubling of (TMB + 1)"], "tmb_high": [">=20"],
                "regimen": ["anti-PD-1+anti-CTLA-4", "other"], "sex": ["male"],
                "age_at_ici_start": ["per 10 years (age at sequencing)"]}
    for marker, lv in expected.items():
        ours = levels[levels["marker"] == marker]
        assert list(ours["level"]) == lv, marker
        assert np.atleast_1d(r[marker]["coef"]).size == len(lv)
        np.testing.assert_allclose(ours["coef"].to_numpy(), np.atleast_1d(r[marker]["coef"]), atol=TOL, rtol=0)
        np.testing.assert_allclose(ours["se"].to_numpy(), np.atleast_1d(r[marker]["se"]), atol=TOL, rtol=0)
    high = levels[levels["marker"] == "tmb_high"].iloc[0]
    assert high["n_level"] == r["tmb_high"]["n_high"] == 34


def test_biomarker_splines_equal_r(run, r_results):
    """Restricted cubic spline (4 knots, Harrell's default quantiles on the marker's analysis scale,
    log2(TMB + 1) and age / 10): knots, LR overall (vs null) and non-linearity (vs linear) equal R."""
    tests = _biomarker_table(run, "spline_tests.tsv").set_index("marker")
    r = r_results["splines"]
    assert set(tests.index) == set(r) == {"tmb", "age_at_ici_start"}
    for marker, rs in r.items():
        row = tests.loc[marker]
        assert row["status"] == "ok" and row["knots"] == 4 == len(rs["knots"])
        knots = np.array([float(k) for k in row["knot_locations"].split(";")])
        np.testing.assert_allclose(knots, rs["knots_original"], rtol=5e-6, atol=0)  # written to 6 significant digits
        assert (row["df_overall"], row["df_nonlinear"]) == (rs["df_overall"], rs["df_nonlinear"]) == (3, 2)
        for col in ("lr_overall", "p_overall", "lr_nonlinear", "p_nonlinear"):
            assert abs(row[col] - rs[col]) <= TOL, (marker, col, row[col], rs[col])


def test_biomarkers_after_stopping_empty_cohort_handled(run):
    data = pd.read_parquet(run / "results/biomarkers/post_stop/analysis_data.parquet")
    assert data.empty and "tmb" in data.columns
    tests = _biomarker_table(run, "marker_tests.tsv", "post_stop")
    assert len(tests) == 5 and (tests["status"] == "skipped").all() and (tests["n_cohort"] == 0).all()
    assert tests["p_lr"].isna().all()
    assert (tests["note"] == "no patients in the population").all()
    splines = _biomarker_table(run, "spline_tests.tsv", "post_stop")
    assert (splines["status"] == "skipped").all()
    section = json.loads((run / "results/report/sections/biomarkers.json").read_text())
    assert section["status"] == "ok"
    assert any("stop cohort is empty" in p for p in section["paragraphs"])
    assert any(p.startswith("Biomarkers from the ICI start") and "endpoint OS" in p for p in section["paragraphs"])

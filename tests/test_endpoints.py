"""Cohort definition and endpoint derivation on the hand-built mini cohort (tests/minicohort.py)."""

import numpy as np
import pandas as pd
import pytest

import minicohort
from icistop import DAYS_PER_MONTH
from icistop.cohort.cohorts import define_cohorts, resolve_cutoff
from icistop.cohort.endpoints import derive_endpoints
from icistop.data.validation import validate_directory

CRITERIA = {"require_msi_h_or_dmmr": True, "stop_cohort": {"exclude_stop_reasons": ["progression", "death"],
                                                            "exclude_pd_before_stop": True}}


def m(days):
    return days / DAYS_PER_MONTH


@pytest.fixture
def tables(tmp_path):
    minicohort.write(tmp_path)
    tables, _, summary = validate_directory(tmp_path)
    assert summary["status"] == "passed"
    return tables


def run(tables, cutoff=None, criteria=CRITERIA, **kwargs):
    cut = resolve_cutoff(tables, cutoff)
    cohorts, attrition = define_cohorts(tables, criteria, cut)
    out = derive_endpoints(tables, cohorts, cut, **kwargs)
    return cohorts, attrition, out["endpoints"].set_index("patient_id"), out


def test_cutoff_defaults_to_latest_date(tables):
    assert resolve_cutoff(tables, None) == pd.Timestamp("2022-06-01")
    assert resolve_cutoff(tables, "2021-06-30") == pd.Timestamp("2021-06-30")


def test_attrition(tables):
    cohorts, attrition, _, _ = run(tables)
    assert attrition["n_remaining"].tolist() == [8, 7, 6, 5, 4, 3]
    assert attrition["n_excluded"].tolist() == [0, 1, 1, 1, 1, 1]
    assert attrition["cohort"].tolist() == ["treated"] * 3 + ["stop_cohort"] * 3
    c = cohorts.set_index("patient_id")
    assert sorted(c.index[c.in_treated]) == ["P1", "P2", "P3", "P5", "P6", "P8"]
    assert sorted(c.index[c.in_stop_cohort]) == ["P1", "P2", "P8"]
    assert c.loc["P6", "exclusion"] == "No progression (PD) on or before the stop date"
    assert c.loc["P4", "exclusion"] == "MSI-H or dMMR"


def test_msi_criterion_can_be_dropped(tables):
    criteria = dict(CRITERIA, require_msi_h_or_dmmr=False)
    cohorts, attrition, _, _ = run(tables, criteria=criteria)
    assert cohorts["in_treated"].sum() == 7 and len(attrition) == 5


def test_pfs_and_os_from_start(tables):
    _, _, e, _ = run(tables)
    # P1: PD 2022-01-01, 731 days after start 2020-01-01
    assert e.loc["P1", "pfs_time"] == pytest.approx(m(731)) and e.loc["P1", "pfs_cause"] == 1
    # P2: death without progression 2021-02-01, 366 days after 2020-02-01
    assert e.loc["P2", "pfs_time"] == pytest.approx(m(366)) and e.loc["P2", "pfs_cause"] == 2
    assert e.loc["P2", "os_event"] == 1 and e.loc["P2", "os_time"] == pytest.approx(m(366))
    # P5: ongoing, censored at last assessment 2021-06-01 (151 days)
    assert e.loc["P5", "pfs_event"] == 0 and e.loc["P5", "pfs_time"] == pytest.approx(m(151))
    assert e.loc["P5", "os_time"] == pytest.approx(m(243)) and e.loc["P5", "os_event"] == 0
    assert e.loc["P5", "stop_reason"] == "ongoing" and not e.loc["P5", "stopped"]


def test_censoring_at_last_contact(tables):
    _, _, e, _ = run(tables, pfs_censor_at="last_contact")
    assert e.loc["P5", "pfs_time"] == pytest.approx(m(243))


def test_pfs_from_stop(tables):
    _, _, e, _ = run(tables)
    assert e.loc["P1", "stop_pfs_time"] == pytest.approx(m(365)) and e.loc["P1", "stop_pfs_cause"] == 1
    assert e.loc["P2", "stop_pfs_time"] == pytest.approx(m(184)) and e.loc["P2", "stop_pfs_cause"] == 2
    assert e.loc["P2", "stop_os_event"] == 1
    assert e.loc["P8", "stop_pfs_time"] == pytest.approx(m(183))
    assert np.isnan(e.loc["P5", "stop_pfs_time"]) and np.isnan(e.loc["P3", "stop_pfs_time"])


def test_administrative_cutoff(tables):
    _, _, e, _ = run(tables, cutoff="2021-06-30")
    # P1's PD (2022-01-01) is after the cut-off: censored at the last assessment before it (2021-06-01)
    assert e.loc["P1", "stop_pfs_event"] == 0 and e.loc["P1", "stop_pfs_time"] == pytest.approx(m(151))
    assert e.loc["P1", "os_time"] == pytest.approx(m((pd.Timestamp("2021-06-30") - pd.Timestamp("2020-01-01")).days))


def test_death_after_cutoff_is_ignored(tables):
    _, _, e, _ = run(tables, cutoff="2021-01-15")
    assert e.loc["P2", "os_event"] == 0 and e.loc["P2", "pfs_event"] == 0


def test_responses_and_time_on_ici(tables):
    _, _, e, _ = run(tables)
    assert e.loc["P1", "best_response"] == "CR"  # derived from assessments
    assert e.loc["P1", "response_at_stop"] == "CR"
    assert e.loc["P2", "best_response"] == "SD" and e.loc["P3", "best_response"] == "PD"
    assert e.loc["P8", "best_response"] == "CR"  # given in treatments
    assert e.loc["P1", "time_on_ici"] == pytest.approx(m(366)) and e.loc["P1", "time_on_ici_group"] == "12-24"
    assert e.loc["P2", "time_on_ici_group"] == "<12"
    assert e.loc["P5", "sidedness"] == "left" and e.loc["P1", "sidedness"] == "right"
    assert e.loc["P2", "n_met_sites"] == 2


def test_rechallenge(tables):
    _, _, e, _ = run(tables)
    assert e["has_rechallenge"].sum() == 1
    assert e.loc["P8", "rechallenge_best_response"] == "PR"
    assert e.loc["P8", "rechallenge_pfs_time"] == pytest.approx(m(243)) and e.loc["P8", "rechallenge_pfs_event"] == 1


def test_clinical_progression_without_pd_assessment(tmp_path):
    a = minicohort.assessments()
    a = a[~((a.patient_id == "P3") & (a.response == "PD"))]
    minicohort.write(tmp_path, overrides={"assessments": a})
    tables, issues, summary = validate_directory(tmp_path)
    assert summary["status"] == "passed"
    assert issues["message"].str.contains("the stop date is used as the progression date").any()
    _, _, e, _ = run(tables)
    assert e.loc["P3", "pfs_event"] == 1 and e.loc["P3", "pfs_time"] == pytest.approx(m(121))


def test_assessments_long_table(tables):
    _, _, _, out = run(tables)
    long = out["assessments"]
    p1 = long[long.patient_id == "P1"]
    assert p1["on_ici"].tolist() == [True, True, True, False, False]
    assert p1["time"].iloc[0] == pytest.approx(m(60))
    assert set(out["ctdna"].patient_id) == {"P1", "P2"}


def test_declared_extra_columns_and_derived_covariates_reach_the_endpoints(tmp_path):
    n = len(minicohort.patients())
    p = minicohort.patients().assign(pdl1_cps=[str(v) for v in np.linspace(0, 90, n)], hospital_note="free text")
    minicohort.write(tmp_path, overrides={"patients": p})
    extra = [{"name": "pdl1_cps", "type": "numeric", "minimum": 0, "maximum": 100}]
    t, _, summary = validate_directory(tmp_path, {"patients": extra})
    assert summary["status"] == "passed"
    cutoff = resolve_cutoff(t, None)
    cohorts, _ = define_cohorts(t, {**CRITERIA, "require_msi_h_or_dmmr": False}, cutoff)
    derived = [{"name": "cps_high", "source": "pdl1_cps", "transform": "threshold", "cutoff": 10, "labels": ["<10", ">=10"]},
               {"name": "log2_cps", "source": "pdl1_cps", "transform": "log2p1"}]
    out = derive_endpoints(t, cohorts, cutoff, extra_columns=["pdl1_cps"], derived=derived)
    ep = out["endpoints"].set_index("patient_id")
    cps = t["patients"].set_index("patient_id").loc[ep.index, "pdl1_cps"]
    np.testing.assert_allclose(ep["pdl1_cps"].to_numpy(float), cps.to_numpy(float))
    assert (ep["cps_high"] == np.where(cps >= 10, ">=10", "<10")).all()
    np.testing.assert_allclose(ep["log2_cps"].to_numpy(float), np.log2(cps.to_numpy(float) + 1))
    assert "hospital_note" not in ep.columns
    assert out["derived"]["name"].tolist() == ["cps_high", "log2_cps"]

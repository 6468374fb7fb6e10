"""Synthetic cohort generator (icistop.data.synth): determinism, contract, calibration, counterfactual truth."""

from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from lifelines import KaplanMeierFitter

from icistop import DAYS_PER_MONTH
from icistop.data import synth
from icistop.data.synth.example import _yaml_clean
from icistop.data.validation import validate_directory

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "resources" / "example"
TABLES = ("patients", "treatments", "assessments", "ctdna")
TARGET_RESPONSE = {"CR": 0.11, "PR": 0.33, "SD": 0.21, "PD": 0.29, "NE": 0.06}


@pytest.fixture(scope="module")
def example():
    return {t: pd.read_csv(EXAMPLE / f"{t}.csv", dtype=str, keep_default_na=False) for t in TABLES}


@pytest.fixture(scope="module")
def large():
    tables, _ = synth.generate_cohort(replace(synth.GeneratorParams(), n_patients=50_000, seed=7))
    return tables


def _typed(tables):
    out = {k: v.replace("", np.nan) for k, v in tables.items()}
    for name, cols in (("patients", ["last_contact_date", "death_date"]), ("treatments", ["start_date", "stop_date"]),
                       ("assessments", ["date"]), ("ctdna", ["date"])):
        for c in cols:
            out[name][c] = pd.to_datetime(out[name][c])
    out["treatments"]["course"] = out["treatments"]["course"].astype(int)
    return out


def _km(time, event, horizons):
    km = KaplanMeierFitter().fit(np.asarray(time, float), np.asarray(event, int))
    return [float(km.predict(float(h))) for h in horizons], km.median_survival_time_


def _post_stop(tables):
    """KM input from the stop date (independent re-implementation of the brief's definition)."""
    t, a, p = tables["treatments"], tables["assessments"], tables["patients"].set_index("patient_id")
    c1 = t[(t["course"] == 1) & t["stop_date"].notna() & ~t["stop_reason"].isin(["progression", "death"])]
    c1 = c1.set_index("patient_id")["stop_date"]
    pdx = a[(a["response"] == "PD") & a["patient_id"].isin(c1.index)]
    stop_of = c1.reindex(pdx["patient_id"]).to_numpy()
    before = set(pdx.loc[pdx["date"].to_numpy() <= stop_of, "patient_id"])
    c1 = c1[~c1.index.isin(before)]
    after = pdx[pdx["date"].to_numpy() > stop_of].groupby("patient_id")["date"].min().reindex(c1.index)
    death = p["death_date"].reindex(c1.index)
    event_date = after.where(after.notna() & ~(death < after), death)
    end = event_date.fillna(p["last_contact_date"].reindex(c1.index))
    return (end - c1).dt.days / DAYS_PER_MONTH, event_date.notna()


# --- determinism ------------------------------------------------------------------------------

def test_regeneration_is_byte_identical(tmp_path):
    p = replace(synth.GeneratorParams(), n_patients=300, seed=11)
    synth.write_example(tmp_path / "a", p, truth_n=4000)
    synth.main(["--out", str(tmp_path / "b"), "--seed", "11", "--n-patients", "300", "--truth-n", "4000"])
    for name in [f"{t}.csv" for t in TABLES] + ["truth.yaml"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_committed_example_matches_generator(tmp_path):
    tables, _ = synth.generate_cohort(synth.GeneratorParams())
    synth.write_tables(tables, tmp_path)
    for t in TABLES:
        assert (tmp_path / f"{t}.csv").read_bytes() == (EXAMPLE / f"{t}.csv").read_bytes(), t
    truth = yaml.safe_load((EXAMPLE / "truth.yaml").read_text())
    assert truth["seed"] == 4 and truth["data_cutoff"] == "2024-09-30"
    assert truth["params"] == yaml.safe_load(yaml.safe_dump(_yaml_clean(asdict(synth.GeneratorParams()))))
    ct = truth["continuation_truth"]
    assert ct["difference_B_minus_A"] == {24: 0.0, 36: 0.0} and ct["hr_B_vs_A"] == 1.0


def test_scenarios_are_cheap_and_share_random_numbers():
    base = synth.GeneratorParams()
    out = {}
    for hr in (1.0, 0.7):
        for conf in (True, False):
            tables, truth = synth.generate_cohort(replace(base, continuation_hr=hr, confounding=conf, seed=5))
            assert truth["causal_effect_of_continuation"]["continuation_hr"] == hr
            out[hr, conf] = tables
    pd.testing.assert_frame_equal(out[1.0, True]["patients"].drop(columns=["last_contact_date", "death_date"]),
                                  out[0.7, False]["patients"].drop(columns=["last_contact_date", "death_date"]))


# --- contract ---------------------------------------------------------------------------------

def test_example_passes_the_workflow_validator():
    _, issues, summary = validate_directory(EXAMPLE)
    assert summary["status"] == "passed" and summary["n_warnings"] == 0, issues


def test_contract_consistency(example):
    enums = {"sex": {"female", "male", "unknown"}, "primary_site": {"right_colon", "left_colon", "rectum", "unknown"},
             "msi_status": {"MSI-H", "MSS", "unknown"}, "mmr_status": {"dMMR", "pMMR", "unknown"},
             "ras_status": {"mutant", "wildtype", "unknown"}, "braf_v600e": {"mutant", "wildtype", "unknown"},
             "metastasis_timing": {"synchronous", "metachronous", "unknown"}}
    p = example["patients"]
    for col, allowed in enums.items():
        assert set(p[col]) <= allowed, col
    for col in ("lynch_syndrome", "met_liver", "met_lung", "met_lymph_node", "met_peritoneum", "met_bone"):
        assert set(p[col]) <= {"yes", "no", "unknown"}, col
    assert p["patient_id"].is_unique and len(p) == 800 and set(p["site"]).__len__() == 5
    t = example["treatments"]
    assert set(t["regimen"]) <= {"anti-PD-1", "anti-PD-L1", "anti-PD-1+anti-CTLA-4", "other"}
    assert set(t["stop_reason"]) <= {"", "planned_completion", "elective_response", "toxicity", "patient_choice",
                                      "surgery", "progression", "death", "other"}
    assert ((t["stop_date"] == "") == (t["stop_reason"] == "")).all()
    assert set(example["assessments"]["response"]) <= {"CR", "PR", "SD", "PD"}
    assert set(example["ctdna"]["result"]) <= {"detected", "not_detected"}
    for name, frame in example.items():
        for col in frame.columns:
            if col.endswith("date"):
                v = frame.loc[frame[col] != "", col]
                assert v.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all(), (name, col)
    # missingness is realistic
    for col in ("ras_status", "braf_v600e"):
        assert 0.04 < (p[col] == "unknown").mean() < 0.15, col
    assert 0.2 < (p["tmb"] == "").mean() < 0.5


def test_dates_are_consistent(example):
    tab = _typed(example)
    p, t = tab["patients"].set_index("patient_id"), tab["treatments"]
    cut = pd.Timestamp("2024-09-30")
    assert (p["last_contact_date"] <= cut).all()
    dead = p["death_date"].notna()
    assert (p.loc[dead, "death_date"] == p.loc[dead, "last_contact_date"]).all()
    last = p["last_contact_date"].reindex(t["patient_id"]).to_numpy()
    assert (t["start_date"].to_numpy() <= last).all()
    s = t["stop_date"].notna()
    assert (t.loc[s, "start_date"] <= t.loc[s, "stop_date"]).all()
    assert (t.loc[s, "stop_date"].to_numpy() <= last[s]).all()
    for name in ("assessments", "ctdna"):
        a = tab[name]
        assert (a["date"].to_numpy() <= p["last_contact_date"].reindex(a["patient_id"]).to_numpy()).all(), name
        first = t[t["course"] == 1].set_index("patient_id")["start_date"]
        assert (a["date"].to_numpy() >= first.reindex(a["patient_id"]).to_numpy()).all(), name
        assert not a.duplicated(["patient_id", "date"]).any(), name
    c2 = t[t["course"] == 2].set_index("patient_id")
    c1 = t[t["course"] == 1].set_index("patient_id").loc[c2.index]
    assert len(c2) > 0 and (c1["stop_reason"] != "progression").all()
    assert (c1["stop_date"] < c2["start_date"]).all()  # courses do not overlap
    # course-1 stops for progression coincide with a PD assessment; no PD before a non-progression stop
    pd_first = tab["assessments"].query("response == 'PD'").groupby("patient_id")["date"].min()
    prog = t[(t["course"] == 1) & (t["stop_reason"] == "progression")].set_index("patient_id")
    assert (pd_first.reindex(prog.index) == prog["stop_date"]).all()
    other = t[(t["course"] == 1) & s & ~t["stop_reason"].isin(["progression", "death"])].set_index("patient_id")
    assert not (pd_first.reindex(other.index) <= other["stop_date"]).any()


# --- calibration ------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["example", "large"])
def test_shares(which, example, large):
    if which == "example":
        tab = {k: v.replace("", np.nan) for k, v in example.items()}
        tab["treatments"]["course"] = tab["treatments"]["course"].astype(int)
    else:
        tab = large
    p, t = tab["patients"], tab["treatments"]
    c1 = t[t["course"] == 1]
    share = c1["best_response"].value_counts(normalize=True)
    for k, target in TARGET_RESPONSE.items():
        assert abs(share.get(k, 0.0) - target) <= 0.04, (k, share.get(k, 0.0))
    combo = (c1["regimen"] == "anti-PD-1+anti-CTLA-4").mean()
    assert 0.22 <= combo <= 0.25
    msi = ((p["msi_status"] == "MSI-H") | (p["mmr_status"] == "dMMR")).mean()
    assert 0.87 <= msi <= 0.93
    assert set(c1["line"].astype(int)) == {1, 2, 3}


@pytest.mark.parametrize("which", ["example", "large"])
def test_post_stop_pfs_calibration(which, example, large):
    tab = _typed(example) if which == "example" else large
    time, event = _post_stop(tab)
    assert len(time) > (250 if which == "example" else 15_000)
    surv, _ = _km(time, event, (12, 24, 36))
    for s, target in zip(surv, (0.98, 0.91, 0.84)):
        assert abs(s - target) <= 0.04, surv


def test_median_pfs_from_start(large):
    t, a, p = large["treatments"], large["assessments"], large["patients"].set_index("patient_id")
    c1 = t[t["course"] == 1].set_index("patient_id")
    first_pd = a[a["response"] == "PD"].groupby("patient_id")["date"].min().reindex(c1.index)
    ev = pd.concat([first_pd, p["death_date"].reindex(c1.index)], axis=1).min(axis=1)
    end = ev.fillna(p["last_contact_date"].reindex(c1.index))
    _, median = _km((end - c1["start_date"]).dt.days / DAYS_PER_MONTH, ev.notna(), ())
    assert abs(median - 16.5) <= 2.5, median


def test_combination_regimen_does_better(large):
    tab = large
    c1 = tab["treatments"].query("course == 1").set_index("patient_id")
    best = c1["best_response"]
    combo = c1["regimen"] == "anti-PD-1+anti-CTLA-4"
    assert (best[combo] == "PD").mean() < (best[~combo] == "PD").mean() - 0.1


def test_ctdna_detected_more_often_before_recurrence(large):
    time, event = _post_stop(large)
    ct = large["ctdna"]
    stop = large["treatments"].query("course == 1").set_index("patient_id")["stop_date"]
    first = ct.sort_values("date").groupby("patient_id").first()
    near = (first["date"] - stop.reindex(first.index)).abs().dt.days < 31
    first = first[near]
    recur = event.reindex(first.index).fillna(False).astype(bool)
    det = first["result"] == "detected"
    assert det[recur].mean() > det[~recur].mean() + 0.2


# --- counterfactual truth ---------------------------------------------------------------------

def test_counterfactual_truth_no_effect_gives_zero():
    ct = synth.counterfactual_truth(synth.GeneratorParams(), n=20_000, seed=3)
    assert ct["n_eligible"] > 5000
    for h in (24, 36):
        assert ct["difference_B_minus_A"][h] == 0.0 and ct["ratio_B_over_A"][h] == 1.0
        assert 0.5 < ct["surv_A"][h] < 1.0
    assert ct["rmst_difference_B_minus_A"] == 0.0 and abs(ct["hr_B_vs_A"] - 1.0) < 1e-3


def test_counterfactual_truth_with_effect_favours_continuing():
    p = replace(synth.GeneratorParams(), continuation_hr=0.7)
    ct = synth.counterfactual_truth(p, n=20_000, seed=3)
    for h in (24, 36):
        assert ct["difference_B_minus_A"][h] > 3 * ct["mc_se_difference"][h]
    assert ct["rmst_difference_B_minus_A"] > 0 and ct["hr_B_vs_A"] < 1.0


def test_stopping_depends_on_response_only_when_confounded():
    def cr_share_elective(conf):
        tables, _ = synth.generate_cohort(replace(synth.GeneratorParams(), n_patients=20_000, seed=9, confounding=conf))
        t, a = tables["treatments"].query("course == 1"), tables["assessments"]
        el = t[t["stop_reason"].isin(["elective_response", "patient_choice", "surgery", "other"])]
        el = el[el["stop_date"] >= el["start_date"] + pd.Timedelta(days=365)]
        m = a.merge(el[["patient_id", "stop_date"]], on="patient_id")
        cr = m[(m["response"] == "CR") & (m["date"] <= m["stop_date"])]["patient_id"].unique()
        return len(cr) / len(el)

    assert cr_share_elective(True) > cr_share_elective(False) + 0.08

"""Survival stage orchestration (icistop.survival.analysis) on generated endpoint tables."""

import numpy as np
import pandas as pd

from icistop.survival import analysis as sa
from icistop.stats.km import km_at, km_table


def fake_endpoints(n=300, seed=1):
    rng = np.random.default_rng(seed)
    reason = rng.choice(["planned_completion", "elective_response", "toxicity"], n)
    rate = np.where(reason == "toxicity", 0.04, 0.015)
    t = rng.exponential(1 / rate)
    c = rng.uniform(0, 60, n)
    time = np.minimum(t, c)
    event = (t <= c).astype(int)
    cause = np.where(event == 1, rng.choice([1, 2], n, p=[0.85, 0.15]), 0)
    return pd.DataFrame({
        "patient_id": [f"P{i}" for i in range(n)], "in_treated": True, "in_stop_cohort": rng.random(n) < 0.8,
        "stop_reason": reason, "regimen": rng.choice(["anti-PD-1", "anti-PD-1+anti-CTLA-4"], n),
        "best_response": rng.choice(["CR", "PR", "SD", "unknown"], n), "time_on_ici_group": "12-24",
        "site": rng.choice(["A", "B"], n),
        "stop_pfs_time": time, "stop_pfs_event": event, "stop_pfs_cause": cause,
        "stop_os_time": time, "stop_os_event": (cause == 2).astype(int),
        "pfs_time": time + 12, "pfs_event": event, "pfs_cause": cause, "os_time": time + 12,
        "os_event": (cause == 2).astype(int), "last_assessment_time": time,
    })


def test_landmarks_equal_engine():
    e = fake_endpoints()
    tables, notes = sa.km_analyses(e, [12, 24], [0, 12], ["stop_reason"], ["regimen"])
    lm = tables["landmarks"]
    got = lm[(lm.endpoint == "pfs_after_stop") & (lm.grouping == "overall")]
    data = e[e.in_stop_cohort]
    ref = km_at(km_table(data, "stop_pfs_time", "stop_pfs_event"), [12, 24])
    np.testing.assert_allclose(got["surv"], ref["surv"], atol=1e-12)
    assert (got["n"] == len(data)).all()
    by = lm[(lm.endpoint == "pfs_after_stop") & (lm.grouping == "stop_reason")]
    assert set(by["group"]) == {"planned_completion", "elective_response", "toxicity"}
    assert not notes


def test_unknown_levels_are_dropped():
    e = fake_endpoints()
    sub = sa.usable_groups(e, "best_response")
    assert "unknown" not in set(sub["best_response"]) and len(sub) < len(e)


def test_from_start_uses_only_baseline_groupings():
    tables, _ = sa.compare_groups(fake_endpoints(), ["stop_reason"], ["regimen"], {}, [], 0.05, [12])
    lr = tables["logrank"]
    assert set(lr.loc[lr.endpoint == "pfs_from_start", "grouping"]) == {"regimen"}
    assert set(lr.loc[lr.endpoint == "pfs_after_stop", "grouping"]) == {"stop_reason"}


def test_cox_reference_level_and_counts():
    tables, _ = sa.compare_groups(fake_endpoints(), ["stop_reason"], [], {"stop_reason": "planned_completion"},
                                  ["site"], 0.05, [12])
    cox = tables["cox"]
    pfs = cox[(cox.endpoint == "pfs_after_stop")]
    assert set(pfs["reference"]) == {"planned_completion"}
    assert set(pfs["strata"].fillna("")) == {"", "site"}
    tox = pfs[(pfs.level == "toxicity") & (pfs.strata == "")].iloc[0]
    assert tox["hr"] > 1.5  # true HR 0.04 / 0.015
    assert tox["ties"] == "efron"


def test_level_without_events_is_left_out_with_a_note():
    e = fake_endpoints()
    e.loc[e.stop_reason == "toxicity", "stop_pfs_event"] = 0
    tables, notes = sa.compare_groups(e, ["stop_reason"], [], {}, [], 0.05, [12])
    cox = tables["cox"]
    assert "toxicity" not in set(cox.loc[cox.endpoint == "pfs_after_stop", "level"])
    assert any("level 'toxicity' has no events" in n["note"] for n in notes)


def test_empty_stop_cohort_gives_notes_not_errors():
    e = fake_endpoints().assign(in_stop_cohort=False)
    tables, notes = sa.km_analyses(e, [12], [0], ["stop_reason"], [])
    assert set(tables["landmarks"]["endpoint"]) == {"pfs_from_start", "os_from_start"}
    assert {"no patients in the cohort: skipped"} == {n["note"] for n in notes}
    cr, notes = sa.competing_risks(e, [12], ["stop_reason"], {})
    assert all(t.empty for t in cr.values()) and notes


def test_pfs_skipped_without_assessments():
    e = fake_endpoints().assign(last_assessment_time=np.nan)
    tables, notes = sa.km_analyses(e, [12], [0], [], [])
    assert set(tables["landmarks"]["endpoint"]) == {"os_after_stop", "os_from_start"}
    assert any("no tumour assessments" in n["note"] for n in notes)


def test_competing_risks_sum_to_one_minus_km():
    e = fake_endpoints()
    tables, _ = sa.competing_risks(e, [12, 24], [], {})
    lm = tables["cif_landmarks"]
    total = lm.groupby("time")["cif"].sum()
    km = sa.km_analyses(e, [12, 24], [0], [], [])[0]["landmarks"]
    km = km[(km.endpoint == "pfs_after_stop")].set_index("time")["surv"]
    np.testing.assert_allclose(total.to_numpy(), 1 - km.to_numpy(), atol=1e-12)


def test_hazard_intervals():
    table, _ = sa.hazard_by_interval(fake_endpoints(), [0, 12, 24, 36], ["stop_reason"])
    overall = table[table.grouping == "overall"]
    assert list(overall["interval"]) == ["(0,12]", "(12,24]", "(24,36]"]
    assert (overall["lower_per_100py"] <= overall["rate_per_100py"]).all()


def test_cause_specific_cox_equals_engine():
    from icistop.stats.cif import cause_specific_cox

    e = fake_endpoints()
    tables, _ = sa.competing_risks(e, [12], ["stop_reason"], {"stop_reason": "planned_completion"})
    got = tables["cause_specific_cox"]
    data = sa.endpoint_data(e, sa.ENDPOINTS["pfs_after_stop"])
    for cause in (1, 2):
        ref = cause_specific_cox(data, "time", "cause", cause, ["stop_reason"],
                                 categorical={"stop_reason": "planned_completion"}, engine="efron")
        ours = got[got.cause == cause].set_index("term")["coef"]
        np.testing.assert_allclose(ours.loc[ref.table["term"]].to_numpy(), ref.table["coef"].to_numpy(), atol=1e-10)

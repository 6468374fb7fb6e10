"""Run history and the 'what changed since the previous run' table."""

import numpy as np
import pandas as pd

from icistop.report import history as rh


def endpoints(n_stop=3, events=1):
    return pd.DataFrame({
        "in_stop_cohort": [True] * n_stop + [False],
        "stop_pfs_event": [1] * events + [0] * (n_stop - events) + [np.nan],
        "os_event": [0] * n_stop + [1],
    })


def test_key_numbers_and_comparison(tmp_path):
    lm = pd.DataFrame({"endpoint": ["pfs_after_stop"] * 2, "grouping": ["overall"] * 2, "time": [12.0, 24.0],
                       "surv": [0.9, 0.812345678]})
    first = rh.key_numbers(endpoints(), lm)
    assert first["patients (stop cohort)"] == 3 and first["PFS events after stopping"] == 1
    assert first["PFS after stopping at 24 months"] == 0.8123
    path = tmp_path / "runs.jsonl"
    rh.append_run(path, {"fingerprint": "a", "numbers": first})
    second = rh.key_numbers(endpoints(n_stop=4, events=2), lm)
    history = rh.read_history(path)
    prev = rh.previous_different_run(history, "b")
    table = rh.compare(prev, second).set_index("quantity")
    assert table.loc["patients (stop cohort)", "previous"] == 3
    assert table.loc["patients (stop cohort)", "current"] == 4
    assert table.loc["PFS events after stopping", "change"] == 1


def test_rerun_on_same_inputs_is_not_a_change(tmp_path):
    path = tmp_path / "runs.jsonl"
    rh.append_run(path, {"fingerprint": "a", "numbers": {"x": 1}})
    rh.append_run(path, {"fingerprint": "b", "numbers": {"x": 2}})
    assert rh.previous_different_run(rh.read_history(path), "b")["numbers"]["x"] == 1
    assert rh.previous_different_run(rh.read_history(path)[:1], "a") is None


def test_torn_line_is_skipped(tmp_path):
    path = tmp_path / "runs.jsonl"
    rh.append_run(path, {"fingerprint": "a", "numbers": {}})
    with open(path, "a") as handle:
        handle.write('{"fingerprint": "b", "num')
    assert len(rh.read_history(path)) == 1


def test_first_run_has_no_previous_values():
    table = rh.compare(None, {"x": 1})
    assert table["previous"].isna().all() and table["change"].isna().all()


def test_counts_stay_integers():
    table = rh.compare({"numbers": {"n": 3, "s": 0.5}}, {"n": 4, "s": 0.25})
    rows = {r["quantity"]: r for r in table.to_dict("records")}
    assert isinstance(rows["n"]["current"], int) and rows["n"]["change"] == 1
    assert rows["s"]["change"] == -0.25

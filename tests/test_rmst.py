"""RMST (icistop.stats.rmst) on hand-computed examples; R agreement is in test_oracle_survival.py."""

import numpy as np
import pandas as pd
import pytest

from icistop.stats.rmst import rmst, rmst_diff


def test_uncensored_rmst_is_mean_of_truncated_times():
    d = pd.DataFrame(dict(time=[1, 2, 3, 4], event=[1, 1, 1, 1]))
    r = rmst(d, "time", "event", tau=3).iloc[0]
    assert r["rmst"] == pytest.approx(np.mean(np.minimum(d["time"], 3)))  # 2.25
    # Var = sum_j A_j^2 d_j / (Y_j (Y_j - d_j)), A_j = area from t_j to tau
    a1, a2 = 0.75 + 0.5, 0.5   # areas after t=1 and t=2; t=3 has A = 0
    var = a1**2 / (4 * 3) + a2**2 / (3 * 2)
    assert r["se"] == pytest.approx(np.sqrt(var), rel=1e-14)
    assert r["lower"] == pytest.approx(r["rmst"] - 1.959963984540054 * r["se"])
    assert not r["tau_beyond_last_time"] and r["events_before_tau"] == 3


def test_censored_example_by_hand():
    d = pd.DataFrame(dict(time=[1, 2, 2, 3, 4, 5], event=[1, 1, 0, 1, 0, 1]))
    r = rmst(d, "time", "event", tau=4.5).iloc[0]
    s = [1, 5 / 6, 2 / 3, 4 / 9]  # on [0,1), [1,2), [2,3), [3,4.5]
    assert r["rmst"] == pytest.approx(1 * s[0] + 1 * s[1] + 1 * s[2] + 1.5 * s[3], rel=1e-14)
    a = [s[1] + s[2] + 1.5 * s[3], s[2] + 1.5 * s[3], 1.5 * s[3]]
    var = a[0] ** 2 / (6 * 5) + a[1] ** 2 / (5 * 4) + a[2] ** 2 / (3 * 2)
    assert r["se"] == pytest.approx(np.sqrt(var), rel=1e-14)


def test_tau_before_first_time_and_beyond_last():
    d = pd.DataFrame(dict(time=[2, 3, 5], event=[1, 0, 1]))
    early = rmst(d, "time", "event", tau=1).iloc[0]
    assert early["rmst"] == 1 and early["se"] == 0
    late = rmst(d, "time", "event", tau=8).iloc[0]
    assert late["tau_beyond_last_time"]
    assert late["rmst"] == pytest.approx(2 + 2 / 3 * 3 + 0 * 3)  # S = 0 after 5


def test_difference_se_and_p():
    rng = np.random.default_rng(1)
    d = pd.DataFrame(dict(time=rng.integers(1, 30, 150), event=rng.integers(0, 2, 150), g=rng.choice(["a", "b"], 150)))
    per = rmst(d, "time", "event", 20, group="g").set_index("group")
    diff = rmst_diff(d, "time", "event", "g", 20).iloc[0]
    assert diff["reference"] == "a" and diff["group"] == "b"
    assert diff["diff"] == pytest.approx(per.loc["b", "rmst"] - per.loc["a", "rmst"])
    assert diff["se"] == pytest.approx(np.hypot(per.loc["a", "se"], per.loc["b", "se"]))
    assert 0 < diff["p"] < 1 and diff["lower"] < diff["diff"] < diff["upper"]
    other = rmst_diff(d, "time", "event", "g", 20, reference="b").iloc[0]
    assert other["diff"] == pytest.approx(-diff["diff"])

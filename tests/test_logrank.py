"""Log-rank test (icistop.stats.logrank) on hand-computed examples; R agreement is in test_oracle_survival.py."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from icistop.stats.logrank import logrank

FIX = Path(__file__).resolve().parent / "fixtures" / "oracle"


def test_two_groups_by_hand():
    # A: 1(event) 3(event) 5(censored); B: 2(event) 4(event)
    d = pd.DataFrame(dict(time=[1, 3, 5, 2, 4], event=[1, 1, 0, 1, 1], g=list("AAABB")))
    r = logrank(d, "time", "event", "g")
    # event times: 1 (Y=5, YA=3), 2 (Y=4, YA=2), 3 (Y=3, YA=2), 4 (Y=2, YA=1); one event each
    ya = np.array([3, 2, 2, 1.0])
    y = np.array([5, 4, 3, 2.0])
    e_a = np.sum(ya / y)
    v_a = np.sum(ya / y * (1 - ya / y))  # d = 1: (Y - d) / (Y - 1) = 1
    tab = r.groups.set_index("group")
    assert tab.loc["A", "observed"] == 2 and tab.loc["B", "observed"] == 2
    assert tab.loc["A", "expected"] == pytest.approx(e_a, abs=1e-14)
    assert r.chisq == pytest.approx((2 - e_a) ** 2 / v_a, rel=1e-13)
    assert r.df == 1 and r.p == pytest.approx(chi2.sf(r.chisq, 1))
    assert tab["n"].tolist() == [3, 2]
    assert r.summary()["test"].iloc[0] == "log-rank"


def test_tied_events_hypergeometric_variance():
    d = pd.DataFrame(dict(time=[2, 2, 2, 2], event=[1, 1, 0, 1], g=list("ABAB")))
    r = logrank(d, "time", "event", "g")
    # one time: Y = 4, d = 3, YA = 2: V_A = d (Y-d)/(Y-1) * YA/Y (1 - YA/Y) = 3 * 1/3 * 1/4
    assert r.var[0, 0] == pytest.approx(0.25)
    assert r.groups.set_index("group").loc["A", "expected"] == pytest.approx(1.5)


def test_stratified_is_sum_over_strata():
    rng = np.random.default_rng(2)
    d = pd.DataFrame(dict(time=rng.integers(1, 30, 200), event=rng.integers(0, 2, 200),
                          g=rng.choice(list("XYZ"), 200), s=rng.choice(["s1", "s2"], 200)))
    strat = logrank(d, "time", "event", "g", strata="s")
    parts = [logrank(d[d["s"] == s], "time", "event", "g") for s in ("s1", "s2")]
    np.testing.assert_allclose(strat.var, parts[0].var + parts[1].var, atol=1e-12)
    oe = strat.groups["o_minus_e"].to_numpy()
    np.testing.assert_allclose(oe, parts[0].groups["o_minus_e"] + parts[1].groups["o_minus_e"], atol=1e-12)
    assert strat.chisq == pytest.approx(float(oe[1:] @ np.linalg.solve(strat.var[1:, 1:], oe[1:])), rel=1e-12)
    assert strat.df == 2 and strat.stratified
    one = logrank(d.assign(s="only"), "time", "event", "g", strata="s")
    assert one.chisq == pytest.approx(logrank(d, "time", "event", "g").chisq, rel=1e-13)


def test_matches_lifelines_two_groups():
    from lifelines.statistics import logrank_test
    rng = np.random.default_rng(5)
    d = pd.DataFrame(dict(time=rng.integers(1, 25, 120), event=rng.integers(0, 2, 120), g=rng.choice(["a", "b"], 120)))
    r = logrank(d, "time", "event", "g")
    a, b = d[d.g == "a"], d[d.g == "b"]
    ll = logrank_test(a.time, b.time, a.event, b.event)
    assert r.chisq == pytest.approx(ll.test_statistic, rel=1e-10)


def test_fleming_harrington_rho1_colon_value_from_r():
    d = pd.read_csv(FIX / "colon.csv")
    r = logrank(d, "os_time", "os_status", "rx", rho=1)
    assert r.chisq == pytest.approx(10.275750506025403, rel=1e-12)  # R survdiff(..., rho = 1)
    assert r.summary()["test"].iloc[0].startswith("log-rank (Fleming-Harrington")


def test_needs_two_groups():
    with pytest.raises(ValueError):
        logrank(pd.DataFrame(dict(time=[1, 2], event=[1, 1], g=["a", "a"])), "time", "event", "g")

"""Discrimination and calibration (icistop.discrimination); Harrell's C is also checked against R in the oracle test."""

import numpy as np
import pandas as pd
import pytest

from icistop import discrimination as disc


def test_harrell_c_hand_example():
    time = [1, 2, 3, 4]
    event = [1, 1, 0, 1]
    score = [4, 2, 3, 1]
    # comparable pairs (i event, T_j > T_i): (1,2),(1,3),(1,4),(2,3),(2,4),(4,-): 5 pairs
    # concordant: 1>2,1>3,1>4 (score 4 vs 2,3,1), 2 vs 3: 2<3 discordant, 2 vs 4: 2>1 concordant
    r = disc.harrell_c(time, event, score)
    assert r["comparable"] == 5 and r["concordant"] == 4 and r["discordant"] == 1
    assert r["c"] == pytest.approx(0.8)


def test_harrell_c_ties():
    # tied event times are not comparable; event vs censoring at the same time is comparable; score ties count 1/2
    r = disc.harrell_c([2, 2, 2, 5], [1, 1, 0, 0], [1, 1, 1, 0])
    assert r["comparable"] == 4  # (0,2), (0,3), (1,2), (1,3)
    assert r["tied_score"] == 2 and r["concordant"] == 2
    assert r["c"] == pytest.approx(0.75)


def test_perfect_and_reversed_scores():
    rng = np.random.default_rng(1)
    t = rng.exponential(1, 50)
    e = np.ones(50)
    assert disc.harrell_c(t, e, -t)["c"] == pytest.approx(1.0)
    assert disc.harrell_c(t, e, t)["c"] == pytest.approx(0.0)
    assert disc.auc_ipcw(t, e, -t, float(np.median(t))) == pytest.approx(1.0)


def test_auc_without_censoring_is_empirical_auc():
    rng = np.random.default_rng(2)
    n = 200
    score = rng.normal(size=n)
    t = rng.exponential(np.exp(-score))
    e = np.ones(n)
    h = 0.7
    cases, controls = score[t <= h], score[t > h]
    emp = np.mean((cases[:, None] > controls[None, :]) + 0.5 * (cases[:, None] == controls[None, :]))
    assert disc.auc_ipcw(t, e, score, h) == pytest.approx(emp)


def test_auc_ipcw_weights_cases_by_censoring_survival():
    # two cases before t: one after a censoring (weight 1/G = 4/3), one before (weight 1)
    time = np.array([1.0, 2.0, 3.0, 5.0, 6.0])
    event = np.array([1, 0, 1, 0, 0])
    score = np.array([0.1, 0.0, 0.9, 0.5, 0.2])  # case 1 below both controls, case 3 above both
    auc = disc.auc_ipcw(time, event, score, 4.0)
    g_left = disc.censoring_survival_left(time, event, np.array([1.0, 3.0]))
    assert g_left.tolist() == pytest.approx([1.0, 0.75])
    assert auc == pytest.approx((1 / 0.75) / (1 + 1 / 0.75))


def test_km_at_and_censoring_survival():
    time = [1, 2, 3, 4, 5]
    event = [1, 0, 1, 1, 0]
    k = disc.km_at(time, event, 3)
    assert k["surv"] == pytest.approx(0.8 * (1 - 1 / 3))
    assert k["lower"] < k["surv"] < k["upper"]
    assert np.isnan(disc.km_at(time, event, 10)["surv"])
    assert disc.censoring_survival(time, event, [2.5]).tolist() == pytest.approx([0.75])


def test_breslow_risk_monotone_in_lp():
    rng = np.random.default_rng(3)
    lp = rng.normal(size=100)
    t = rng.exponential(np.exp(-lp))
    e = np.ones(100)
    risk = disc.breslow_risk(lp, t, e, lp, 1.0)
    assert np.all(np.diff(risk[np.argsort(lp)]) >= 0)
    assert np.all((risk > 0) & (risk < 1))


def test_bootstrap_optimism_is_seeded():
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"x": rng.normal(size=80)})
    df["time"] = rng.exponential(np.exp(-df["x"]))
    df["event"] = 1.0

    def fit(d):
        return np.corrcoef(d["x"], -np.log(d["time"]))[0, 1]

    def evaluate(model, d):
        return {"harrell_c": disc.harrell_c(d["time"], d["event"], model * d["x"])["c"]}

    a = disc.bootstrap_optimism(df, fit, evaluate, 20, seed=9)
    b = disc.bootstrap_optimism(df, fit, evaluate, 20, seed=9)
    pd.testing.assert_frame_equal(a, b)
    assert a["corrected"].iloc[0] == pytest.approx(a["apparent"].iloc[0] - a["optimism"].iloc[0])
    assert a["n_boot_used"].iloc[0] == 20


def test_calibration_groups():
    rng = np.random.default_rng(5)
    n = 300
    lp = rng.normal(size=n)
    t = rng.exponential(10 * np.exp(-lp))
    c = rng.uniform(5, 40, n)
    time, event = np.minimum(t, c), (t <= c).astype(float)
    risk = disc.breslow_risk(lp, time, event, lp, 6.0)
    cal = disc.calibration_groups(time, event, risk, 6.0, 3)
    assert cal["n"].tolist() == [100, 100, 100]
    assert cal["predicted_mean"].is_monotonic_increasing
    assert cal["observed"].is_monotonic_increasing
    assert (abs(cal["observed"] - cal["predicted_mean"]) < 0.15).all()

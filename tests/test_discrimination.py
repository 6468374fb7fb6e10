"""Discrimination and calibration (icistop.stats.discrimination); Harrell's C is also checked against R in the oracle test."""

import numpy as np
import pandas as pd
import pytest

from icistop.stats import discrimination as disc


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


def test_bootstrap_optimism_subsample_scales_by_size():
    """Above max_n the resamples come from a seeded random subsample and the optimism is scaled by
    sqrt(max_n / n); the apparent value is the full data's; max_n >= n changes nothing."""
    rng = np.random.default_rng(11)
    n, m, cols = 600, 200, [f"x{i}" for i in range(6)]
    df = pd.DataFrame(rng.normal(size=(n, 6)), columns=cols)
    df["time"] = rng.exponential(np.exp(-0.5 * df["x0"]))
    df["event"] = (rng.random(n) < 0.7).astype(float)

    def fit(d):
        return np.linalg.lstsq(d[cols].to_numpy(), -np.log(d["time"].to_numpy()), rcond=None)[0]

    def evaluate(model, d):
        return {"harrell_c": disc.harrell_c(d["time"], d["event"], d[cols].to_numpy() @ model)["c"]}

    full = disc.bootstrap_optimism(df, fit, evaluate, 30, seed=3)
    pd.testing.assert_frame_equal(full, disc.bootstrap_optimism(df, fit, evaluate, 30, seed=3, max_n=n))
    assert full["optimism_method"].iloc[0] == "bootstrap" and full["optimism_n"].iloc[0] == n
    sub = disc.bootstrap_optimism(df, fit, evaluate, 30, seed=3, max_n=m)
    # by hand: the same subsample, the same resamples, Harrell's definition, then x sqrt(m / n)
    r = np.random.default_rng(3)
    part = df.iloc[np.sort(r.choice(n, size=m, replace=False))].reset_index(drop=True)
    diffs = []
    for _ in range(30):
        boot = part.iloc[r.integers(0, m, size=m)].reset_index(drop=True)
        model = fit(boot)
        diffs.append(evaluate(model, boot)["harrell_c"] - evaluate(model, part)["harrell_c"])
    assert sub["apparent"].iloc[0] == full["apparent"].iloc[0]
    assert sub["optimism"].iloc[0] == pytest.approx(np.mean(diffs) * np.sqrt(m / n), rel=1e-12)
    assert np.mean(diffs) > 0.005  # six covariates, five of them noise: a real optimism to scale
    assert sub["optimism_n"].iloc[0] == m and "subsample of 200 of 600" in sub["optimism_method"].iloc[0]


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


def _brute_pairs(t, e, s):
    conc = disc_ = tied = 0
    for i in np.flatnonzero(e == 1):
        comp = (t > t[i]) | ((t == t[i]) & (e == 0))
        conc += np.sum(comp & (s[i] > s))
        disc_ += np.sum(comp & (s[i] < s))
        tied += np.sum(comp & (s[i] == s))
    return conc, disc_, tied


@pytest.mark.parametrize("seed,n,n_times,n_scores", [(1, 700, 40, 6), (2, 500, 500, 500), (3, 300, 3, 2),
                                                    (4, 2, 2, 2), (5, 1, 1, 1), (6, 257, 20, 257)])
def test_pair_counts_equal_brute_force(seed, n, n_times, n_scores):
    """The O(n log n) count equals the all-pairs definition, with tied times (a long tie run), tied
    scores, censored ties, continuous scores and the smallest sizes."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, n_times, n).astype(float)
    t[: min(30, n)] = t[0]  # a long tie run
    e = (rng.random(n) < 0.6).astype(float)
    s = rng.integers(0, n_scores, n).astype(float) if n_scores < n else rng.normal(size=n)
    assert disc._pair_counts(t, e, s) == tuple(float(x) for x in _brute_pairs(t, e, s))


def test_pair_counts_no_events_and_weighted_inversions():
    assert disc._pair_counts(np.array([1.0, 2.0]), np.array([0.0, 0.0]), np.array([1.0, 2.0])) == (0.0, 0.0, 0.0)
    r = np.array([3, 1, 2, 0, 3, 1])
    w = np.array([1, 0, 2, 1, 1, 1])
    brute = sum(w[i] for i in range(6) for j in range(i + 1, 6) if r[i] > r[j])
    assert disc._inversions_weighted(r, w) == brute


def test_auc_and_breslow_match_direct_formulas():
    rng = np.random.default_rng(9)
    n = 400
    t = rng.integers(1, 30, n).astype(float)
    e = (rng.random(n) < 0.5).astype(float)
    s = rng.integers(0, 5, n).astype(float)
    h = 12.0
    cases, controls = (t <= h) & (e == 1), t > h
    w = 1 / disc.censoring_survival_left(t, e, t[cases])
    pair = (s[cases][:, None] > s[controls][None, :]) + 0.5 * (s[cases][:, None] == s[controls][None, :])
    assert disc.auc_ipcw(t, e, s, h) == pytest.approx(np.sum(w * pair.sum(1)) / (w.sum() * controls.sum()), rel=1e-13)
    lp = s * 0.3
    r = np.exp(lp - lp.mean())
    h0 = sum(((t == u) & (e == 1)).sum() / r[t >= u].sum() for u in np.unique(t[(e == 1) & (t <= h)]))
    expect = 1 - np.exp(-h0 * np.exp(lp - lp.mean()))
    assert np.allclose(disc.breslow_risk(lp, t, e, lp, h), expect, rtol=1e-13)
    km = disc.km_curve(t, e)
    assert np.allclose(km["n_risk"], [(t >= u).sum() for u in km["time"]])


def test_km_at_after_the_last_event_is_zero_not_missing():
    assert disc.km_at([1.0, 2.0, 3.0], [1, 0, 1], 10.0)["surv"] == 0.0  # everyone had the event: S = 0 known
    assert np.isnan(disc.km_at([1.0, 2.0, 3.0], [1, 1, 0], 10.0)["surv"])  # last censored: unknown

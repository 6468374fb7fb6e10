"""Aalen-Johansen CIF (icistop.stats.cif) on hand-computed examples; R agreement is in test_oracle_survival.py."""

import numpy as np
import pandas as pd
import pytest

from icistop.stats.cif import cause_specific_cox, cif_at, cif_table
from icistop.stats.cox import cox_fit
from icistop.stats.km import km_table


def small():
    return pd.DataFrame(dict(time=[1, 2, 2, 3, 4, 4, 5, 6, 7, 8], st=[0, 1, 2, 1, 0, 2, 1, 1, 0, 2]))


def test_values_and_se_from_r():
    # R 3.5.3: survfit(Surv(time, factor(st)) ~ 1): pstate and std.err
    t = cif_table(small(), "time", "st")
    c1 = t[t.cause == 1]
    c2 = t[t.cause == 2]
    np.testing.assert_allclose(c1["cif"], [0, 1 / 9, 2 / 9, 2 / 9, 0.361111111111111, 0.5, 0.5, 0.5], atol=1e-14)
    np.testing.assert_allclose(c2["cif"], [0, 1 / 9, 1 / 9, 2 / 9, 2 / 9, 2 / 9, 2 / 9, 0.5], atol=1e-14)
    np.testing.assert_allclose(c1["se"], [0, 0.104756560175785, 0.138579903213850, 0.138579903213850,
                                          0.168902188397729, 0.177864562150912, 0.177864562150912,
                                          0.177864562150912], atol=1e-14)
    np.testing.assert_allclose(c2["se"].iloc[-1], 0.177864562150913, atol=1e-14)
    np.testing.assert_allclose(c1["lower"].iloc[1], 0.01750802, atol=1e-8)  # log CI, R default


def test_tied_causes_and_state_sum():
    t = cif_table(small(), "time", "st")
    # at t=2 one progression and one death tie with 9 at risk: each jumps by 1/9 (no jitter)
    assert t[(t.time == 2) & (t.cause == 1)]["cif"].iloc[0] == pytest.approx(1 / 9)
    assert t[(t.time == 2) & (t.cause == 2)]["cif"].iloc[0] == pytest.approx(1 / 9)
    wide = t.pivot(index="time", columns="cause", values="cif")
    ef = t.drop_duplicates("time").set_index("time")["event_free"]
    np.testing.assert_allclose(wide[1] + wide[2] + ef, 1.0, atol=1e-14)


def test_single_cause_is_one_minus_km_with_ij_se():
    rng = np.random.default_rng(4)
    d = pd.DataFrame(dict(time=rng.integers(1, 15, 60), ev=rng.integers(0, 2, 60), w=rng.uniform(0.5, 2, 60),
                          entry=np.where(rng.random(60) < 0.3, 0.5, -1.0)))
    c = cif_table(d, "time", "ev", weights="w", entry="entry")
    k = km_table(d, "time", "ev", weights="w", entry="entry")
    np.testing.assert_allclose(c["cif"], 1 - k["surv"], atol=1e-14)
    np.testing.assert_allclose(c["se"], k["se_surv"], atol=1e-14)


def test_se_is_jackknife_of_weights():
    rng = np.random.default_rng(8)
    n = 30
    d = pd.DataFrame(dict(time=rng.integers(1, 10, n), st=rng.integers(0, 3, n), w=rng.uniform(0.5, 2, n)))
    base = cif_table(d, "time", "st", weights="w")
    eps = 1e-6
    grads = []
    for i in range(n):
        up, dn = d.copy(), d.copy()
        up.loc[i, "w"] += eps
        dn.loc[i, "w"] -= eps
        grads.append(d.loc[i, "w"] * (cif_table(up, "time", "st", weights="w")["cif"].to_numpy()
                                      - cif_table(dn, "time", "st", weights="w")["cif"].to_numpy()) / (2 * eps))
    np.testing.assert_allclose(base["se"], np.sqrt(np.sum(np.array(grads) ** 2, axis=0)), atol=1e-7)


def test_cif_at_semantics_and_groups():
    d = small().assign(g=list("ababababab"))
    t = cif_table(d, "time", "st", group="g", causes=[1, 2, 3])
    assert sorted(t["cause"].unique()) == [1, 2, 3] and (t[t.cause == 3]["cif"] == 0).all()
    at = cif_at(t, [0.5, 2, 100])
    row = at[(at.group == "a") & (at.cause == 1)].set_index("time")
    assert row.loc[0.5, "cif"] == 0 and row.loc[100, "beyond_followup"] and np.isnan(row.loc[100, "cif"])
    assert not row.loc[2, "beyond_followup"]


def test_cause_specific_cox_censors_other_cause():
    rng = np.random.default_rng(2)
    d = pd.DataFrame(dict(time=rng.integers(1, 20, 120), st=rng.integers(0, 3, 120), x=rng.normal(size=120)))
    a = cause_specific_cox(d, "time", "st", 2, ["x"])
    b = cox_fit(d.assign(e2=(d.st == 2).astype(int)), "time", "e2", ["x"])
    np.testing.assert_allclose(a.table["coef"], b.table["coef"], atol=1e-12)


def test_bad_status():
    with pytest.raises(ValueError):
        cif_table(pd.DataFrame(dict(time=[1, 2], st=[0, -1])), "time", "st")


def test_plot_cif_returns_figure():
    from icistop.plots.survival import plot_cif
    fig = plot_cif(small(), "time", "st", cause_labels={1: "progression", 2: "death"})
    assert fig.__class__.__name__ == "Figure" and len(fig.axes) == 1


@pytest.mark.parametrize("continuous", [False, True])
def test_cumulative_sum_variance_equals_row_by_row(continuous):
    """Without clusters the IJ variance is a quadratic form of cumulative sums over entry and exit bins;
    giving every row its own cluster id evaluates every (row, time) influence directly: same SEs, with
    tied (integer) and distinct (continuous) times, late entry and weights."""
    rng = np.random.default_rng(8)
    n = 600
    time = rng.uniform(1, 40, n) if continuous else rng.integers(1, 40, n).astype(float)
    df = pd.DataFrame({"time": time, "status": rng.integers(0, 3, n),
                       "entry": np.where(rng.random(n) < 0.3, rng.integers(0, 10, n), 0).astype(float),
                       "w": rng.uniform(0.5, 2, n)})
    df = df[df["time"] > df["entry"]].reset_index(drop=True)
    df["id"] = np.arange(len(df))
    a = cif_table(df, "time", "status", entry="entry", weights="w")
    b = cif_table(df, "time", "status", entry="entry", weights="w", cluster="id")
    assert np.allclose(a["cif"], b["cif"], atol=1e-15)
    assert np.allclose(a["se"], b["se"], rtol=1e-10, atol=1e-15)

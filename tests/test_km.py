"""Kaplan-Meier engine (icistop.stats.km) on hand-computed examples; R agreement is in test_oracle_survival.py."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from icistop.stats.km import (followup_reverse_km, km_at, km_median, km_quantiles, km_table, kmunicate_table)

Z = norm.ppf(0.975)


def tiny():
    # times 1 2 2 3 4 5, events 1 1 0 1 0 1
    return pd.DataFrame(dict(time=[1, 2, 2, 3, 4, 5], event=[1, 1, 0, 1, 0, 1]))


def test_product_limit_and_counts_by_hand():
    t = km_table(tiny(), "time", "event")
    assert t["time"].tolist() == [1, 2, 3, 4, 5]
    assert t["n_risk"].tolist() == [6, 5, 3, 2, 1]
    assert t["n_event"].tolist() == [1, 1, 1, 0, 1]
    assert t["n_censor"].tolist() == [0, 1, 0, 1, 0]
    s = [5 / 6, 5 / 6 * 4 / 5, 5 / 6 * 4 / 5 * 2 / 3, 4 / 9, 0.0]
    np.testing.assert_allclose(t["surv"], s, atol=1e-15)
    gw = np.sqrt(np.cumsum([1 / (6 * 5), 1 / (5 * 4), 1 / (3 * 2), 0.0]))
    np.testing.assert_allclose(t["se_log_surv"][:4], gw, rtol=1e-14)
    assert np.isinf(t["se_log_surv"].iloc[4])  # Greenwood: Var(log S) infinite once S = 0 (R: Inf)
    np.testing.assert_allclose(t["se_surv"][:4], np.array(s[:4]) * gw, rtol=1e-14)


def test_loglog_ci_formula_and_undefined_at_0_and_1():
    t = km_table(tiny(), "time", "event")
    s, se = t["surv"].iloc[2], t["se_log_surv"].iloc[2]
    lo = np.exp(-np.exp(np.log(-np.log(s)) - Z * se / np.log(s)))
    hi = np.exp(-np.exp(np.log(-np.log(s)) + Z * se / np.log(s)))
    assert t["lower"].iloc[2] == pytest.approx(lo, abs=1e-15)
    assert t["upper"].iloc[2] == pytest.approx(hi, abs=1e-15)
    assert lo < s < hi
    assert np.isnan(t["lower"].iloc[4]) and np.isnan(t["upper"].iloc[4])  # S = 0: NaN as in R
    early = km_table(pd.DataFrame(dict(time=[1, 2, 3], event=[0, 1, 1])), "time", "event")
    assert np.isnan(early["lower"].iloc[0])  # S = 1 at a censoring time: NaN as in R


def test_median_plateau_midpoint_and_tail_rules():
    rows = [("plateau", t, s) for t, s in [(1, 1), (2, 1), (3, 1), (4, 0), (6, 1), (8, 0)]]
    rows += [("tail", t, s) for t, s in [(1, 1), (2, 1), (5, 0), (9, 0)]]
    rows += [("nr", t, s) for t, s in [(1, 0), (2, 1), (4, 0), (6, 0), (7, 0)]]
    d = pd.DataFrame(rows, columns=["g", "time", "status"])
    tab = km_table(d, "time", "status", group="g")
    med = km_median(tab).set_index("group")
    assert med.loc["plateau", "median"] == 4.5      # S == 0.5 on [3, 6): midpoint
    assert med.loc["tail", "median"] == 2.0         # print rule: start of the final 0.5 plateau
    assert np.isnan(med.loc["nr", "median"]) and med.loc["nr", "median_not_reached"]
    assert not med.loc["plateau", "median_not_reached"]
    q = km_quantiles(tab, [0.5]).set_index("group")
    assert q.loc["plateau", "quantile"] == 4.5
    assert q.loc["tail", "quantile"] == (2 + 9) / 2  # quantile.survfit: midpoint to last follow-up
    assert np.isnan(q.loc["nr", "quantile"]) and q.loc["nr", "quantile_not_reached"]


def test_median_simple():
    med = km_median(km_table(tiny(), "time", "event")).iloc[0]
    assert med["median"] == 3.0 and med["events"] == 4 and med["n_max"] == 6


def test_km_at_semantics():
    d = pd.DataFrame(dict(time=[1, 2, 3, 4, 5], event=[0, 0, 1, 1, 0]))
    at = km_at(km_table(d, "time", "event"), [0, 0.5, 1, 2.5, 3, 5, 6]).set_index("time")
    assert at.loc[0.5, "surv"] == 1 and at.loc[0.5, "lower"] == 1 and at.loc[0.5, "upper"] == 1
    assert np.isnan(at.loc[1, "lower"])             # R: S == 1 at a curve time -> NaN CI
    assert at.loc[2.5, "n_risk"] == 3               # at risk at the next time (3)
    assert at.loc[3, "surv"] == pytest.approx(2 / 3)
    assert at.loc[5, "cum_events"] == 2 and at.loc[5, "cum_censored"] == 3
    assert at.loc[5, "n_event"] == 1 and at.loc[5, "n_censor"] == 1  # since the previous requested time
    assert at.loc[6, "beyond_followup"] and np.isnan(at.loc[6, "surv"]) and at.loc[6, "n_risk"] == 0
    assert not at.loc[5, "beyond_followup"]


def test_kmunicate_table_counts():
    k = kmunicate_table(km_table(tiny(), "time", "event"), [0, 2, 4, 6]).set_index("time")
    assert k["n_risk"].tolist() == [6, 5, 2, 0]
    assert k["cum_events"].tolist() == [0, 2, 3, 4]
    assert k["cum_censored"].tolist() == [0, 1, 2, 2]


def test_integer_weights_equal_duplicated_rows():
    d = pd.DataFrame(dict(time=[1, 2, 3, 4, 5, 6], event=[1, 0, 1, 1, 0, 1], w=[2, 1, 3, 1, 2, 1]))
    dup = d.loc[d.index.repeat(d["w"])]
    a = km_table(d, "time", "event", weights="w")
    b = km_table(dup, "time", "event")
    assert (a["variance"] == "greenwood").all()
    for col in ("n_risk", "n_event", "surv", "se_surv", "lower", "upper"):
        np.testing.assert_allclose(a[col], b[col], rtol=1e-14, equal_nan=True)


def test_ij_equals_greenwood_for_unit_weights():
    rng = np.random.default_rng(7)
    d = pd.DataFrame(dict(time=rng.integers(1, 20, 80), event=rng.integers(0, 2, 80)))
    g = km_table(d, "time", "event", variance="greenwood")
    ij = km_table(d, "time", "event", variance="ij")
    ok = g["surv"] > 0
    np.testing.assert_allclose(ij["se_surv"][ok], g["se_surv"][ok], rtol=1e-10, atol=1e-15)


def _weighted_cp(seed=3, n=40):
    rng = np.random.default_rng(seed)
    entry = np.where(rng.random(n) < 0.4, rng.integers(0, 5, n), 0).astype(float)
    exit_ = entry + rng.integers(1, 12, n)
    return pd.DataFrame(dict(entry=entry, exit=exit_, event=rng.integers(0, 2, n), w=rng.uniform(0.3, 2.5, n)))


def test_ij_variance_is_jackknife_of_weights():
    """se^2 = sum_i (w_i dS/dw_i)^2: check the derivative numerically (weighted counting-process data)."""
    d = _weighted_cp()
    base = km_table(d, "exit", "event", entry="entry", weights="w")
    assert (base["variance"] == "ij").all()
    eps = 1e-6
    grads = []
    for i in range(len(d)):
        up, dn = d.copy(), d.copy()
        up.loc[i, "w"] += eps
        dn.loc[i, "w"] -= eps
        s_up = km_table(up, "exit", "event", entry="entry", weights="w")["surv"].to_numpy()
        s_dn = km_table(dn, "exit", "event", entry="entry", weights="w")["surv"].to_numpy()
        grads.append(d.loc[i, "w"] * (s_up - s_dn) / (2 * eps))
    se_num = np.sqrt(np.sum(np.array(grads) ** 2, axis=0))
    np.testing.assert_allclose(base["se_surv"], se_num, atol=1e-7)


def test_cluster_ij():
    d = _weighted_cp()
    d["row"] = np.arange(len(d))
    a = km_table(d, "exit", "event", entry="entry", weights="w")
    b = km_table(d, "exit", "event", entry="entry", weights="w", cluster="row")
    np.testing.assert_allclose(a["se_surv"], b["se_surv"], atol=1e-14)
    d["pair"] = np.arange(len(d)) // 2
    c = km_table(d, "exit", "event", entry="entry", weights="w", cluster="pair")
    assert not np.allclose(c["se_surv"], a["se_surv"])


def test_left_truncation_risk_set():
    d = pd.DataFrame(dict(entry=[0, 0, 2, 3], exit=[3, 4, 5, 6], event=[1, 1, 1, 0]))
    t = km_table(d, "exit", "event", entry="entry")
    # at 3: rows 1, 2, 3 (entry 2 < 3); row 4 enters at 3 (not at risk at 3); at 4: rows 2, 3, 4
    assert t["n_risk"].tolist() == [3, 3, 2, 1]
    np.testing.assert_allclose(t["surv"], np.cumprod([2 / 3, 2 / 3, 1 / 2, 1.0]))


def test_groups_in_factor_order_and_categorical():
    d = tiny().assign(g=["b", "a", "b", "a", "b", "a"])
    assert km_table(d, "time", "event", group="g")["group"].unique().tolist() == ["a", "b"]
    d["g"] = pd.Categorical(d["g"], categories=["b", "a"])
    assert km_table(d, "time", "event", group="g")["group"].unique().tolist() == ["b", "a"]


def test_reverse_km_followup():
    d = pd.DataFrame(dict(time=[1, 2, 3, 4, 5, 6], event=[1, 0, 1, 0, 0, 1]))
    fu = followup_reverse_km(d, "time", "event").iloc[0]
    # reverse KM: "events" = censorings at 2, 4, 5; at risk 5, 3, 2 -> S = 4/5, 8/15, 4/15
    assert fu["median"] == 5.0 and fu["q1"] == 4.0
    assert fu["n_censored"] == 3 and fu["min_censored"] == 2 and fu["max_censored"] == 5
    assert fu["min_time"] == 1 and fu["max_time"] == 6


def test_input_validation():
    with pytest.raises(ValueError):
        km_table(pd.DataFrame(dict(time=[1, np.nan], event=[1, 0])), "time", "event")
    with pytest.raises(ValueError):
        km_table(pd.DataFrame(dict(time=[1, 2], event=[1, 2])), "time", "event")
    with pytest.raises(ValueError):
        km_table(pd.DataFrame(dict(s=[2, 0], time=[1, 2], event=[1, 0])), "time", "event", entry="s")


def test_variance_choice_is_global_as_in_r():
    d = tiny().assign(g=list("aabbab"), w=[1, 1, 1.5, 1, 2, 1])  # group "a" has integer weights only
    t = km_table(d, "time", "event", group="g", weights="w")
    assert (t["variance"] == "ij").all()


def test_plot_km_deterministic_and_curtailed(tmp_path):
    from icistop.plots.survival import curtail_time, plot_km, save_figure
    rng = np.random.default_rng(0)
    d = pd.DataFrame(dict(time=rng.integers(1, 40, 100).astype(float), event=rng.integers(0, 2, 100),
                          g=rng.choice(["x", "y"], 100)))
    tab = km_table(d, "time", "event", group="g")
    sub = tab[tab.group == "x"]
    t_end = curtail_time(sub, 0.1)
    n0 = sub["n_risk"].max()
    assert sub.loc[sub.time == t_end, "n_risk"].iloc[0] >= 0.1 * n0
    assert (sub.loc[sub.time > t_end, "n_risk"] < 0.1 * n0).all()
    fig = plot_km(d, "time", "event", "g", title="t")
    assert fig.__class__.__name__ == "Figure"
    a = save_figure(fig, tmp_path / "a")
    b = save_figure(plot_km(d, "time", "event", "g", title="t"), tmp_path / "b")
    a, b = [Path(p) for p in a], [Path(p) for p in b]
    assert a[1].read_bytes() == b[1].read_bytes() and a[0].read_bytes() == b[0].read_bytes()
    assert b"<dc:date>" not in a[1].read_bytes()


def test_survival_known_to_be_zero_after_the_last_event():
    """R summary(survfit, times, extend = TRUE): once the last patient has had the event, S = 0 at every
    later time (n.risk 0, CI NA); a curve ending in a censoring is unknown afterwards (NaN here)."""
    ends_with_event = km_at(km_table(tiny(), "time", "event"), [4.5, 6, 10])
    assert ends_with_event["surv"].tolist() == pytest.approx([4 / 9, 0.0, 0.0])
    assert ends_with_event["beyond_followup"].tolist() == [False, False, False]
    assert ends_with_event["n_risk"].tolist() == [1, 0, 0]
    assert ends_with_event[["lower", "upper"]].iloc[1:].isna().all().all()
    censored = tiny().assign(event=[1, 1, 0, 1, 0, 0])
    later = km_at(km_table(censored, "time", "event"), [6])
    assert bool(later["beyond_followup"].iloc[0]) and np.isnan(later["surv"].iloc[0])


def test_weighted_km_is_unknown_after_follow_up_unless_zero():
    from icistop.stats.km import km_fit

    zero = km_fit(None, [1.0, 2.0, 3.0], [1, 0, 1])
    assert zero.at([2.5, 3.0, 9.0]).tolist() == pytest.approx([2 / 3, 0.0, 0.0])
    open_end = km_fit(None, [1.0, 2.0, 3.0], [1, 1, 0])
    vals = open_end.at([3.0, 9.0])
    assert vals[0] == pytest.approx(1 / 3) and np.isnan(vals[1])
    assert np.isnan(open_end.rmst(9.0)) and zero.rmst(9.0) == pytest.approx(1 + 2 / 3 * 2)

"""Per-arm working-Cox information SE of the clone-censor-weight estimates (icistop.continuation.arm_variance).

Closed forms: with equal weights and r = 1 the variance is Greenwood's (S(t)) and the R survfit ``rmean``
variance (RMST); a common weight factor does not change it; heavily weighted clones of a high-hazard
group raise it, and the working model sees that group; the per-arm rows of the result table use it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from icistop.continuation.arm_variance import (arm_standard_errors, arm_terms, history_cuts, history_design,
                                               relative_hazard, rmst_se, split_rows, surv_se, variance_terms)
from icistop.continuation.bootstrap import ccw_point
from icistop.continuation.protocol import Protocol
from icistop.continuation.tables import estimates_table
from icistop.stats.intervals import ARM_SE_METHODS, CI_METHOD_LABELS, wald_interval
from icistop.stats.km import km_fit
from icistop.stats.rmst import rmst

TIME = np.array([2.0, 3.0, 3.0, 5.0, 7.0, 8.0, 8.0, 11.0, 12.0, 15.0, 16.0, 20.0])
EVENT = np.array([1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0])


def _greenwood(time, event, t):
    """S(t) and its Greenwood SE by hand."""
    s, v = 1.0, 0.0
    for u in np.unique(time[(event > 0) & (time <= t)]):
        n, d = (time >= u).sum(), ((time == u) & (event > 0)).sum()
        s *= 1 - d / n
        v += d / (n * (n - d))
    return s, s * np.sqrt(v)


def test_unit_weights_and_no_covariates_give_greenwood():
    fit = km_fit(None, TIME, EVENT)
    terms = variance_terms(fit, np.ones(len(TIME)))
    for t in (4.0, 8.0, 12.5):
        s, se = _greenwood(TIME, EVENT, t)
        assert fit.at(t)[0] == pytest.approx(s)
        assert surv_se(fit, terms, t)[0] == pytest.approx(se, rel=1e-12)


def test_unit_weights_give_the_r_rmean_variance():
    fit = km_fit(None, TIME, EVENT)
    terms = variance_terms(fit, np.ones(len(TIME)))
    ref = rmst(pd.DataFrame({"t": TIME, "e": EVENT}), "t", "e", tau=14.0)
    assert fit.rmst(14.0) == pytest.approx(ref["rmst"].iloc[0])
    assert rmst_se(fit, terms, 14.0) == pytest.approx(ref["se"].iloc[0], rel=1e-12)


def test_a_common_weight_factor_changes_nothing():
    base = km_fit(None, TIME, EVENT)
    scaled = km_fit(None, TIME, EVENT, np.full(len(TIME), 7.5))
    r = np.exp(np.linspace(-1, 1, len(TIME)))
    assert surv_se(scaled, variance_terms(scaled, r), 12.0)[0] == pytest.approx(
        surv_se(base, variance_terms(base, r), 12.0)[0], rel=1e-12)


def test_heavy_weights_on_a_high_hazard_group_raise_the_se():
    rng = np.random.default_rng(4)
    n = 400
    high = rng.random(n) < 0.2
    t = rng.exponential(np.where(high, 5.0, 40.0))
    c = rng.uniform(0, 30, n)
    time, event = np.minimum(t, c), (t <= c).astype(int)
    w = np.where(high, 5.0, 1.0)
    fit = km_fit(None, time, event, w)
    flat = surv_se(fit, variance_terms(fit, np.ones(n)), 10.0)[0]
    rows = {"pid": np.arange(n), "start": np.zeros(n), "stop": time, "event": event.astype(bool)}
    r, used = relative_hazard(rows, high[:, None].astype(float), np.zeros(n, int))
    assert used == [0] and r[high].min() > 3 * r[~high].max()  # the model sees the high-hazard group
    assert surv_se(fit, variance_terms(fit, r), 10.0)[0] > 1.1 * flat


def test_relative_hazard_drops_constant_and_diverging_columns():
    n = 60
    rng = np.random.default_rng(2)
    time = rng.exponential(10, n)
    event = np.ones(n, bool)
    never = np.zeros(n)
    never[:10] = 1
    event[:10] = False  # nobody with never = 1 has an event: its coefficient drifts to -infinity
    x = rng.normal(size=n)
    X = np.column_stack([np.ones(n), never, x])
    rows = {"pid": np.arange(n), "start": np.zeros(n), "stop": time, "event": event}
    r, used = relative_hazard(rows, X, np.zeros(n, int))
    assert used == [2]
    assert np.all(np.isfinite(r)) and np.ptp(np.log(r)) > 0
    r0, used0 = relative_hazard({**rows, "event": np.zeros(n, bool)}, X, np.zeros(n, int))
    assert used0 == [] and np.all(r0 == 1)


def test_split_rows_keeps_time_and_events():
    rows = {"pid": np.array([0, 1, 1]), "start": np.array([0.0, 0.0, 4.0]), "stop": np.array([6.0, 4.0, 9.0]),
            "event": np.array([1, 0, 1]), "weight": np.array([2.0, 1.0, 3.0])}
    cuts = np.array([[2.0, np.nan], [4.0, 5.0]])  # patient 1: 4 is a row boundary already
    out = split_rows(rows, cuts)
    assert list(out["pid"]) == [0, 0, 1, 1, 1]
    assert list(out["start"]) == [0, 2, 0, 4, 5] and list(out["stop"]) == [2, 6, 4, 5, 9]
    assert list(out["event"]) == [False, True, False, False, True]
    assert list(out["weight"]) == [2, 2, 1, 3, 3]


def _panel(n=500, seed=11):
    rng = np.random.default_rng(seed)
    age = rng.normal(60, 10, n)
    t_cr = np.where(rng.random(n) < 0.3, rng.uniform(2, 20, n), np.inf)
    t_pr = np.where(rng.random(n) < 0.5, rng.uniform(2, 10, n), np.inf)
    stop = np.where(rng.random(n) < 0.5, rng.uniform(6, 30, n), 60.0)
    prog = rng.exponential(60, n) + 6
    death = prog + rng.exponential(20, n)
    fu = rng.uniform(30, 70, n)
    return pd.DataFrame({
        "age": age, "t_cr": t_cr, "t_pr": t_pr, "stop_time": np.minimum(stop, fu),
        "stop_reason": np.where(stop < fu, "elective_response", ""),
        "prog_time": np.where(prog <= fu, prog, np.inf), "pfs_time": np.minimum(prog, fu),
        "y_time": np.minimum(death, fu), "y_event": (death <= fu).astype(int)})


def test_history_design_follows_the_outcome():
    panel = _panel()
    p = Protocol(landmark=6.0, confounders=("age",), outcome="os")
    rows = {"pid": np.array([0, 1]), "start": np.array([0.0, 5.0]), "stop": np.array([3.0, 8.0]),
            "event": np.array([0, 1])}
    X, names = history_design(panel, p, rows)
    assert names[-4:] == ["cr_so_far", "pr_so_far", "progressed_so_far", "progressed_on_ici"]
    assert X.shape == (2, len(names))
    assert history_cuts(panel, p).shape == (len(panel), 3)
    Xp, names_p = history_design(panel, Protocol(landmark=6.0, confounders=("age",), outcome="pfs"), rows)
    assert "progressed_so_far" not in names_p and Xp.shape[1] == len(names) - 2


def test_ccw_point_reports_the_working_cox_se_and_the_table_uses_it():
    panel = _panel()
    p = Protocol(landmark=6.0, grace_end=9.0, completion=24.0, tau=36.0, horizons=(12.0, 24.0), confounders=("age",),
                 outcome="os", allowed_continue_stop_reasons=("planned_completion",))
    pt = ccw_point(panel, p, marker=None, se=True)
    for key in ("surv_A_12", "surv_B_24", "rmst_A", "rmst_B"):
        assert np.isfinite(pt[f"se_model_{key}"]) and pt[f"se_model_{key}"] > 0
    boot = pd.DataFrame({k: np.full(50, v) + np.random.default_rng(1).normal(0, 0.01, 50) for k, v in pt.items()
                         if k.startswith(("surv_", "diff_", "ratio_", "rmst_", "loghr", "hr"))})
    est = estimates_table(pt, boot, "transformed_wald", tau=p.tau).set_index("estimand")
    r = est.loc["surv_A_12"]
    assert r["se"] == pytest.approx(pt["se_model_surv_A_12"]) and r["ci_method"] == ARM_SE_METHODS["working_cox"]
    assert (r["lower"], r["upper"]) == pytest.approx(wald_interval(r["estimate"], r["se"], "cloglog"))
    assert r["boot_se"] != pytest.approx(r["se"])  # the bootstrap SD stays in its own column
    assert est.loc["rmst_B", "se"] == pytest.approx(pt["se_model_rmst_B"])
    assert est.loc["diff_12", "ci_method"] == CI_METHOD_LABELS["transformed_wald"]
    assert est.loc["diff_12", "se"] == pytest.approx(est.loc["diff_12", "boot_se"])
    booted = estimates_table(pt, boot, "transformed_wald", tau=p.tau, arm_se="bootstrap").set_index("estimand")
    assert booted.loc["surv_A_12", "se"] == pytest.approx(booted.loc["surv_A_12", "boot_se"])
    assert set(booted["ci_method"]) == {CI_METHOD_LABELS["transformed_wald"]}
    pct = estimates_table(pt, boot, "percentile", tau=p.tau)
    assert set(pct["ci_method"]) == {CI_METHOD_LABELS["percentile"]}
    with pytest.raises(ValueError):
        estimates_table(pt, boot, arm_se="sandwich")


def test_arm_standard_errors_names_every_per_arm_estimand():
    panel = _panel(seed=5)
    p = Protocol(landmark=6.0, grace_end=9.0, completion=24.0, tau=36.0, horizons=(12.0, 24.0), confounders=("age",),
                 outcome="pfs", allowed_continue_stop_reasons=("planned_completion",))
    from icistop.continuation.ccw import build_clones, eligible

    elig = panel[eligible(panel, p)].reset_index(drop=True)
    clones = build_clones(elig, p)
    terms = arm_terms(elig, clones["rows"], p)
    assert "progressed_so_far" not in terms["terms_used"]
    se = arm_standard_errors(terms, p)
    assert set(se) == {f"se_model_{k}" for k in ("surv_A_12", "surv_A_24", "surv_B_12", "surv_B_24", "rmst_A", "rmst_B")}


def test_curve_bands_use_the_same_se_as_the_table():
    from icistop.continuation.ccw import km_table, run_ccw

    panel = _panel(seed=7)
    p = Protocol(landmark=6.0, grace_end=9.0, completion=24.0, tau=36.0, horizons=(12.0, 24.0), confounders=("age",),
                 outcome="os", allowed_continue_stop_reasons=("planned_completion",))
    res = run_ccw(panel, p, se=True)
    pt = ccw_point(panel, p, marker=None, se=True)
    km = km_table(res, p, grid=np.array([0.0, 12.0, 24.0])).set_index(["arm", "time"])
    assert km.loc[("A (stop)", 12.0), "se"] == pytest.approx(pt["se_model_surv_A_12"], rel=1e-12)
    assert km.loc[("B (continue)", 24.0), "se"] == pytest.approx(pt["se_model_surv_B_24"], rel=1e-12)
    assert km.loc[("A (stop)", 0.0), "se"] == 0
    known = km_table(res, p, grid=np.array([12.0]), arm_se="bootstrap").set_index(["arm", "time"])
    assert known.loc[("A (stop)", 12.0), "se"] == pytest.approx(pt["se_surv_A_12"], rel=1e-9)


def test_ccw_point_reuses_a_prepared_run_exactly():
    from icistop.continuation.ccw import run_ccw

    panel = _panel(seed=3)
    p = Protocol(landmark=6.0, grace_end=9.0, completion=24.0, tau=36.0, horizons=(12.0, 24.0), confounders=("age",),
                 outcome="os", allowed_continue_stop_reasons=("planned_completion",))
    fresh = ccw_point(panel, p, marker="cr_at_landmark", se=True)
    reused = ccw_point(panel, p, marker="cr_at_landmark", se=True, prepared=run_ccw(panel, p, se=True))
    assert fresh.keys() == reused.keys()
    for k, v in fresh.items():
        assert v == reused[k] or (isinstance(v, float) and np.isnan(v) and np.isnan(reused[k])), k

"""Every printed number is in range and honest about its uncertainty (issue: trust).

- intervals stay in the range of the estimand (probabilities in [0, 1], differences in [-1, 1]);
- unstable estimates (few events, wide CI, failed bootstrap replicates) are flagged "not estimable";
- structurally missing estimates (positivity, endpoint not measurable, no events) have no number;
- labels name the endpoint; the methods text names the interval the tables used.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from icistop.continuation.bootstrap import bootstrap_replicates, ccw_point
from icistop.continuation.ccw import run_ccw
from icistop.continuation.estimability import Rules, events_reason, rules_from_config
from icistop.continuation.landmark import landmark_analysis, landmark_table
from icistop.continuation.naive import fixed_duration_groups, naive_ever_stopped
from icistop.continuation.pipeline import outcome_unavailable
from icistop.continuation.protocol import Protocol
from icistop.continuation.tables import comparison_table, estimates_table
from icistop.continuation.timevarying import timevarying_cox
from icistop.stats.intervals import (CI_METHOD_LABELS, CI_METHODS, bootstrap_interval, cloglog_interval, scale_of,
                               wald_interval)

Z = 1.959963984540054


# ----------------------------------------------------------------------------------------------- intervals
def test_probability_interval_stays_in_range_where_plain_wald_does_not():
    s, se = 0.989, 0.0064  # the example's OS S_A(24): plain Wald gave 97.7%-100.2%
    assert s + Z * se > 1
    lo, hi = wald_interval(s, se, "cloglog")
    assert 0 < lo < s < hi < 1
    # closed form: S^exp(+-z se_g), se_g = se / (S |log S|)
    g = se / (s * abs(np.log(s)))
    assert lo == pytest.approx(s ** np.exp(Z * g), rel=1e-12) and hi == pytest.approx(s ** np.exp(-Z * g), rel=1e-12)
    assert cloglog_interval(s, g) == pytest.approx((lo, hi), rel=1e-12)


@pytest.mark.parametrize("d,se", [(-0.9, 0.2), (0.95, 0.1), (0.0, 0.3)])
def test_difference_interval_stays_in_minus_one_one(d, se):
    lo, hi = wald_interval(d, se, "atanh")
    assert -1 < lo < d < hi < 1
    assert np.arctanh(hi) - np.arctanh(d) == pytest.approx(Z * se / (1 - d ** 2), rel=1e-12)


def test_boundary_estimates_have_no_wald_interval():
    assert np.isnan(wald_interval(1.0, 0.0, "cloglog")).all()
    assert np.isnan(wald_interval(0.0, 0.1, "log")).all()
    assert np.isnan(wald_interval(1.0, 0.1, "atanh")).all()


def test_scales_of_the_estimands():
    assert [scale_of(k) for k in ("surv_A_24", "diff_36", "ratio_24", "hr", "loghr", "rmst_diff")] == \
        ["cloglog", "atanh", "log", "log", "identity", "identity"]


def test_bootstrap_interval_methods():
    rng = np.random.default_rng(1)
    reps = np.clip(rng.normal(0.95, 0.03, 400), None, 1.0)
    lo, hi, se = bootstrap_interval(0.95, reps, "cloglog", "transformed_wald")
    assert 0 < lo < 0.95 < hi <= 1 and se == pytest.approx(np.std(reps, ddof=1))
    plo, phi, _ = bootstrap_interval(0.95, reps, "cloglog", "percentile")
    assert (plo, phi) == pytest.approx(tuple(np.quantile(reps, [0.025, 0.975])))
    hr = np.exp(rng.normal(np.log(1.5), 0.4, 400))
    lo, hi, se = bootstrap_interval(1.5, hr, "log", "transformed_wald")
    assert se == pytest.approx(np.std(np.log(hr), ddof=1))
    assert (lo, hi) == pytest.approx((1.5 * np.exp(-Z * se), 1.5 * np.exp(Z * se)))
    with pytest.raises(ValueError):
        bootstrap_interval(1.0, hr, "log", "bca")


# ----------------------------------------------------------------------------------------------- estimates
def _point(**kw):
    point = {"n_eligible": 320, "n_followed_A": 67, "n_followed_B": 106, "surv_A_24": 0.989, "surv_B_24": 0.947,
             "diff_24": -0.042, "ratio_24": 0.957, "rmst_A": 35.5, "rmst_B": 34.6, "rmst_diff": -0.87,
             "loghr": 0.984, "hr": 2.676, "events_A": 5, "events_B": 11, "events_A_24": 4, "events_B_24": 9,
             "cox_converged": True}
    point.update(kw)
    return point


def _boot(n=200, seed=3, diverged=0):
    rng = np.random.default_rng(seed)
    sa = np.clip(rng.normal(0.989, 0.0064, n), 0, 1)
    sb = np.clip(rng.normal(0.947, 0.018, n), 0, 1)
    loghr = rng.normal(0.98, 0.6, n)
    conv = np.ones(n, bool)
    conv[:diverged] = False
    loghr[:diverged] = 22.0  # a monotone likelihood drifting away
    return pd.DataFrame({"surv_A_24": sa, "surv_B_24": sb, "diff_24": sb - sa, "ratio_24": sb / sa,
                         "rmst_A": rng.normal(35.5, .3, n), "rmst_B": rng.normal(34.6, .4, n),
                         "rmst_diff": rng.normal(-.87, .44, n), "loghr": loghr, "hr": np.exp(loghr),
                         "cox_converged": conv})


def test_estimates_table_flags_few_events_and_keeps_the_numbers():
    est = estimates_table(_point(), _boot(), rules=Rules(min_events_per_arm=10)).set_index("estimand")
    hr = est.loc["hr"]
    assert not hr["estimable"] and hr["estimate"] == pytest.approx(2.676)
    assert hr["reason"].startswith("5 events in arm A (stop), 11 in arm B (continue)")
    assert not est.loc["diff_24", "estimable"] and "4 events in arm A (stop), 9 in arm B" in est.loc["diff_24", "reason"]
    # an arm's own survival rests on its own events only: printed, with an in-range interval
    assert est.loc["surv_A_24", "estimable"] and 0 < est.loc["surv_A_24", "lower"] < est.loc["surv_A_24", "upper"] < 1
    ok = estimates_table(_point(), _boot(), rules=Rules(min_events_per_arm=3)).set_index("estimand")
    assert ok.loc["hr", "estimable"] and ok.loc["diff_24", "estimable"]


def test_diverged_replicates_are_counted_left_out_and_flagged():
    boot = _boot(diverged=8)
    est = estimates_table(_point(), boot, rules=Rules(min_events_per_arm=1, max_failed_share=0.03)).set_index("estimand")
    hr = est.loc["hr"]
    assert hr["n_boot_failed"] == 8 and hr["n_boot"] == 192
    assert hr["boot_se"] == pytest.approx(np.std(boot["loghr"][8:], ddof=1))  # the drifting fits are left out
    assert not hr["estimable"] and "8 of 200 bootstrap replicates failed or diverged" in hr["reason"]
    assert "(more than 3%)" in hr["reason"]
    lenient = estimates_table(_point(), boot, rules=Rules(min_events_per_arm=1, max_failed_share=0.05))
    assert lenient.set_index("estimand").loc["hr", "estimable"]


def test_wide_ratio_interval_is_unstable():
    boot = _boot()
    boot["loghr"] = np.random.default_rng(0).normal(0.98, 2.7, len(boot))
    boot["hr"] = np.exp(boot["loghr"])
    est = estimates_table(_point(), boot, rules=Rules(min_events_per_arm=1, max_ci_ratio=100)).set_index("estimand")
    assert not est.loc["hr", "estimable"] and "95% CI limits differ by a factor" in est.loc["hr", "reason"]


def test_structural_reasons_leave_no_number():
    for point, words in ((_point(n_followed_A=0), "strategy A was never followed (positivity)"),
                         (_point(unavailable="no tumour assessments in the data"), "no tumour assessments"),
                         (_point(events_A=0, events_A_24=0), "no events in arm A (stop)"),
                         (_point(n_eligible=0), "no patient eligible")):
        est = estimates_table(point, _boot()).set_index("estimand")
        rows = est.loc[["diff_24", "hr", "rmst_diff"]]
        assert not rows["estimable"].any() and rows["estimate"].isna().all() and rows["lower"].isna().all()
        assert all(words in r for r in rows["reason"]), (words, list(rows["reason"]))


def test_rules_from_config_and_reason_text():
    r = rules_from_config({"estimability": {"min_events_per_arm": 5, "max_ci_ratio": 50, "max_failed_share": 0.1}})
    assert r == Rules(5, 50.0, 0.1)
    assert rules_from_config({}) == Rules()
    assert events_reason({"on ICI": 1, "off ICI": 4}, Rules()) == "1 event on ICI, 4 off ICI; fewer than 10 in a group"


# ----------------------------------------------------------------------------------------------- positivity etc.
def _panel(n=600, seed=5, stop=True):
    rng = np.random.default_rng(seed)
    y = rng.exponential(40, n)
    ev = (rng.random(n) < 0.7).astype(int)
    stop_time = np.where(rng.random(n) < 0.6, rng.uniform(6, 30, n), np.inf) if stop else np.full(n, np.inf)
    reason = np.where(np.isfinite(stop_time), "elective_response", "ongoing")
    return pd.DataFrame({"patient_id": [f"P{i}" for i in range(n)], "y_time": y, "y_event": ev, "pfs_time": y,
                         "pfs_event": ev, "prog_time": np.where(ev > 0, y, np.inf), "stop_time": stop_time,
                         "stop_reason": reason, "t_cr": np.where(rng.random(n) < .3, 3.0, np.inf),
                         "t_pr": np.where(rng.random(n) < .7, 2.0, np.inf), "msi_h_or_dmmr": True,
                         "age_at_ici_start": rng.normal(60, 10, n), "time_on_ici": np.minimum(stop_time, y)})


P = Protocol(confounders=("age_at_ici_start",))


def test_nobody_stops_positivity_everywhere():
    panel = _panel(stop=False)
    point = ccw_point(panel, P, se=True)
    assert point["n_followed_A"] == 0 and point["n_followed_B"] > 0
    est = estimates_table(point, bootstrap_replicates(panel, P, range(5), seed=1))
    assert not est["estimable"].any() or est.loc[est["estimable"], "estimand"].str.startswith(("surv_B", "rmst_B")).all()
    naive = naive_ever_stopped(panel, P, 13.0)
    assert np.isnan(naive["hr"]) and "positivity" in naive["reason"]
    lm = landmark_table(panel, [12.0], P)
    assert np.isnan(lm.loc[0, "hr"]) and "positivity" in lm.loc[0, "reason"]
    tab, _ = timevarying_cox(panel, P)
    on = tab.set_index("term").loc["on_ici"]
    assert np.isnan(on["coef"]) and "positivity" in on["reason"]  # was coefficient 0 with SE 0


def test_groups_without_events_give_no_hazard_ratio_and_no_overflow():
    panel = _panel()
    short = panel["time_on_ici"] < 12
    panel.loc[short, "y_event"] = 0  # no event in the shortest duration group
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        groups = fixed_duration_groups(panel, P)
    first = groups.iloc[0]
    assert first["n_events"] == 0 and np.isnan(groups["hr_vs_first"]).all()
    assert "no events in the reference group" in first["reason"]
    panel2 = _panel()
    toi = np.where(np.isfinite(panel2["stop_time"]), panel2["stop_time"], panel2["time_on_ici"])
    panel2.loc[toi >= 24, "y_event"] = 0
    g2 = fixed_duration_groups(panel2, P).set_index("group")
    assert np.isnan(g2.loc[">24", "hr_vs_first"]) and g2.loc[">24", "reason"] == "no events in this group"
    assert g2.loc["12-24", "hr_vs_first"] > 0


def test_landmark_without_events_off_ici():
    panel = _panel()
    panel.loc[np.isfinite(panel["stop_time"]), "y_event"] = 0
    res = landmark_analysis(panel, 12.0, P)
    assert "loghr" not in res and res["reason"] == "no events in the off-ICI group"


def test_endpoint_without_assessments_is_not_estimable():
    ep = pd.DataFrame({"last_assessment_time": [np.nan, np.nan], "pfs_time": [1.0, 2.0]})
    assert "PFS not estimable" in outcome_unavailable(ep, "pfs")
    assert outcome_unavailable(ep, "os") is None
    empty = _panel().iloc[0:0]
    res = run_ccw(empty, P)  # an emptied panel runs through every analysis without a crash
    assert res["n_eligible"] == 0 and np.isnan(res["hr"])
    assert np.isnan(naive_ever_stopped(empty, P, 13.0)["hr"])
    assert timevarying_cox(empty, P)[0]["coef"].isna().all()


# ----------------------------------------------------------------------------------------------- labels
def _comparison(outcome):
    est = estimates_table(_point(), _boot(), rules=Rules(min_events_per_arm=1))
    naive = pd.DataFrame([{"loghr": 1.0, "se_loghr": 0.3, "threshold_months": 13.0, "diff_24": -0.3,
                           "se_diff_24": 0.05, "events_stopped": 12, "events_continued": 300, "reason": "",
                           "events_stopped_24": 11, "events_continued_24": 250}])
    landmark = pd.DataFrame([{"landmark": 12.0, "loghr": -0.2, "se_loghr": 0.4, "diff_24": 0.02, "se_diff_24": 0.05,
                              "events_on": 30, "events_off": 12, "events_on_24": 20, "events_off_24": 10, "reason": ""}])
    tv = pd.DataFrame([{"term": "on_ici", "hr": 1.3, "hr_lower": 0.6, "hr_upper": 2.8, "events_on": 300,
                        "events_off": 29, "reason": ""}])
    return comparison_table(est, naive, landmark, tv, [24], outcome, Rules(min_events_per_arm=10))


def test_every_row_label_names_its_endpoint():
    os_ = _comparison("os")
    assert not os_["estimand"].str.contains("PFS").any()
    assert os_["estimand"].str.contains("OS difference").sum() == 3  # naive, landmark, CCW at 24 months
    assert _comparison("pfs")["estimand"].str.contains("PFS difference").sum() == 3


def test_comparison_differences_use_a_bounded_scale():
    comp = _comparison("pfs")
    diffs = comp[comp["estimand"].str.contains("difference at")]
    assert ((diffs["lower"] > -1) & (diffs["upper"] < 1)).all()
    naive = comp.iloc[1]
    assert (naive["lower"], naive["upper"]) == pytest.approx(wald_interval(-0.3, 0.05, "atanh"))


# ----------------------------------------------------------------------------------------------- methods
@pytest.mark.parametrize("method", list(CI_METHODS))
def test_methods_text_names_the_interval_the_tables_used(method):
    from icistop.report.methods import continuation_paragraphs

    est = estimates_table(_point(), _boot(), ci_method=method)
    assert set(est["ci_method"]) == {CI_METHOD_LABELS[method]}
    values = {"by_outcome": {"pfs": {"ci_method": est["ci_method"].iloc[0]}}}
    cfg = {"bootstrap": {"n_boot": 200, "n_shards": 2, "seed": 1,
                         "ci_method": "percentile" if method != "percentile" else "transformed_wald"}}
    text = " ".join(continuation_paragraphs(cfg, values))
    assert CI_METHODS[method] in text  # the table's method, even when the config says another
    other = [m for m in CI_METHODS if m != method][0]
    assert CI_METHODS[other] not in text
    assert "not estimable" in text and "fewer than 10 events" in text


# ----------------------------------------------------------------------------------------------- range scan
def test_the_range_scan_catches_each_kind_of_error():
    from results_check import table_errors

    good = pd.DataFrame({"estimand": ["surv_A_24", "diff_24", "hr"], "estimate": [0.98, -0.04, 1.5],
                         "lower": [0.95, -0.07, 0.6], "upper": [0.99, -0.01, 3.8], "n_boot": [500, 500, 492]})
    assert table_errors(good) == []
    bad_prob = good.assign(upper=[1.002, -0.01, 3.8])
    assert any("outside [0, 1]" in e for e in table_errors(bad_prob))
    bad_ci = good.assign(lower=[0.95, -0.03, 0.6])  # excludes -0.04
    assert any("excludes estimate" in e for e in table_errors(bad_ci))
    assert any("negative" in e for e in table_errors(good.assign(n_boot=[500, -1, 3])))
    km = pd.DataFrame({"surv": [0.9, 0.5], "lower": [0.8, 0.3], "upper": [0.95, 1.01], "n_risk": [10, 4]})
    assert any("column upper outside [0, 1]" in e for e in table_errors(km))
    assert any("diff_24 outside [-1, 1]" in e for e in table_errors(pd.DataFrame({"diff_24": [1.2]})))


def test_restricted_mean_interval_stays_below_tau():
    tau, est, se = 36.0, 35.5, 0.3  # the example's OS RMST under stopping: identity limits 34.9-36.1
    assert est + Z * se > tau
    lo, hi = wald_interval(est, se, "logit_tau", tau=tau)
    assert 0 < lo < est < hi < tau
    g, se_g = np.log(est / (tau - est)), se * tau / (est * (tau - est))
    assert hi == pytest.approx(tau / (1 + np.exp(-(g + Z * se_g))), rel=1e-12)
    assert np.isnan(wald_interval(est, se, "logit_tau")).all()  # no bound given: no interval
    est_tab = estimates_table(_point(), _boot(), tau=tau).set_index("estimand")
    assert est_tab.loc["rmst_A", "upper"] < tau and est_tab.loc["rmst_diff", "lower"] < 0


@pytest.mark.parametrize("arm_se", ["working_cox", "bootstrap"])
def test_methods_text_names_the_per_arm_se_the_tables_used(arm_se):
    from icistop.report.continuation import _values
    from icistop.report.methods import continuation_paragraphs
    from icistop.stats.intervals import ARM_SE_METHODS

    point = _point(se_model_surv_A_24=0.004, se_model_surv_B_24=0.02, se_model_rmst_A=0.3, se_model_rmst_B=0.4)
    est = estimates_table(point, _boot(), arm_se=arm_se, tau=36.0)
    values = _values(pd.DataFrame({"method": ["CCW"], "estimand": ["RMST difference"]}), est)
    assert values["ci_method"] == CI_METHOD_LABELS["transformed_wald"]
    assert values["arm_ci_method"] == ARM_SE_METHODS[arm_se]
    other = "bootstrap" if arm_se == "working_cox" else "working_cox"  # the config says the other one
    cfg = {"outcomes": ["os"], "bootstrap": {"n_boot": 200, "n_shards": 2, "seed": 1, "ci_method": "transformed_wald",
                                             "arm_se": {"os": other}}}
    text = " ".join(continuation_paragraphs(cfg, {"by_outcome": {"os": values}}))
    assert ("per-strategy OS survival probabilities" in text) == (arm_se == "working_cox")  # the table wins
    # the curves follow the configured setting (ccw_km.tsv is made with it)
    assert ("weights treated as known" in text) == (other == "bootstrap")


def test_per_outcome_arm_se_in_the_methods_and_protocol():
    from icistop.continuation.protocol import protocol_table
    from icistop.report.methods import continuation_paragraphs
    from icistop.stats.intervals import arm_se_for

    assert arm_se_for(None, "pfs") == "bootstrap" and arm_se_for(None, "os") == "working_cox"
    assert arm_se_for("working_cox", "pfs") == "working_cox"
    assert arm_se_for({"pfs": "working_cox"}, "os") == "working_cox"
    with pytest.raises(ValueError):
        arm_se_for({"os": "sandwich"}, "os")
    cfg = {"outcomes": ["pfs", "os"], "bootstrap": {"n_boot": 200, "n_shards": 2, "seed": 1,
                                                    "ci_method": "transformed_wald",
                                                    "arm_se": {"pfs": "bootstrap", "os": "working_cox"}}}
    text = " ".join(continuation_paragraphs(cfg, None))
    assert "per-strategy OS survival probabilities" in text and "PFS and OS survival" not in text
    assert "working-Cox information SE (OS)" in text and "weights treated as known) (PFS)" in text
    analysis = protocol_table(Protocol(), "transformed_wald", {"pfs": "bootstrap", "os": "working_cox"}).set_index("item")
    assert "per-strategy OS survival and RMST with the working-Cox" in analysis.loc["Analysis", "target_trial"]
    both = protocol_table(Protocol(), "transformed_wald", "working_cox").set_index("item")
    assert "per-strategy PFS and OS survival" in both.loc["Analysis", "target_trial"]
    assert "working-Cox" not in protocol_table(Protocol(), "percentile", "working_cox").set_index("item").loc[
        "Analysis", "target_trial"]

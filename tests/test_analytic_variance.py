"""Analytic intervals of the emulation without the bootstrap (continuation.bootstrap.analytic_above_n).

Above the threshold the shard jobs write no replicates; the comparisons take the known-weights SE (``se_*``
of ccw_point) and the per-arm rows the configured analytic SE (RMST per arm: working-Cox), each as a Wald
interval on the estimand's scale; events and CI-width rules still decide estimability.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from icistop.continuation.bootstrap import analytic_variance, ccw_point
from icistop.continuation.protocol import Protocol
from icistop.continuation.tables import estimates_table, interaction_table
from icistop.report.continuation import bootstrap_note, followed_note
from icistop.stats.intervals import (ANALYTIC_LABEL, ARM_SE_METHODS, analytic_arm_se_for, log_interval,
                                     wald_interval)
from tests.test_arm_variance import _panel


@pytest.fixture(scope="module")
def point():
    p = Protocol(landmark=6.0, grace_end=9.0, completion=24.0, tau=36.0, horizons=(12.0, 24.0), confounders=("age",),
                 outcome="os", allowed_continue_stop_reasons=("planned_completion",))
    panel = _panel(800, seed=5)
    panel["cr_at_landmark"] = (panel["t_cr"] <= 6.0).astype(int)
    return ccw_point(panel, p, marker="cr_at_landmark", se=True), p


def test_threshold_is_strict_and_null_means_always_bootstrap():
    assert analytic_variance(200001, 200000) and not analytic_variance(200000, 200000)
    assert not analytic_variance(10**7, None) and not analytic_variance(None, 5)
    assert analytic_arm_se_for(None, "pfs") == "known_weights" and analytic_arm_se_for(None, "os") == "working_cox"
    assert analytic_arm_se_for("working_cox", "pfs") == "working_cox"
    with pytest.raises(ValueError):
        analytic_arm_se_for({"pfs": "bootstrap"}, "pfs")


def test_comparisons_use_the_known_weights_se_on_their_scale(point):
    pt, p = point
    est = estimates_table(pt, pd.DataFrame(), rules=None, tau=p.tau, analytic_arm_se="known_weights").set_index("estimand")
    d = est.loc["diff_12"]
    assert d["ci_method"] == ANALYTIC_LABEL and d["se"] == pytest.approx(pt["se_diff_12"])
    assert (d["lower"], d["upper"]) == pytest.approx(wald_interval(pt["diff_12"], pt["se_diff_12"], "atanh"))
    r = est.loc["ratio_24"]
    assert (r["lower"], r["upper"]) == pytest.approx(log_interval(np.log(pt["ratio_24"]), pt["se_logratio_24"]))
    h = est.loc["hr"]
    assert (h["lower"], h["upper"]) == pytest.approx(log_interval(pt["loghr"], pt["se_loghr"]))
    assert est.loc["rmst_diff", "se"] == pytest.approx(pt["se_rmst_diff"])
    assert (est["n_boot"] == 0).all() and est["boot_se"].isna().all() and est["percentile_lower"].isna().all()
    # per arm: known-weights SE for probabilities, working-Cox SE for the RMST (no known-weights SE exists)
    a = est.loc["surv_A_12"]
    assert a["se"] == pytest.approx(pt["se_surv_A_12"]) and a["ci_method"] == ANALYTIC_LABEL
    assert (a["lower"], a["upper"]) == pytest.approx(wald_interval(pt["surv_A_12"], pt["se_surv_A_12"], "cloglog"))
    assert est.loc["rmst_B", "se"] == pytest.approx(pt["se_model_rmst_B"])
    assert est.loc["rmst_B", "ci_method"] == ARM_SE_METHODS["working_cox"]
    wc = estimates_table(pt, None, tau=p.tau, analytic_arm_se="working_cox").set_index("estimand")
    assert wc.loc["surv_A_12", "se"] == pytest.approx(pt["se_model_surv_A_12"])
    assert wc.loc["diff_12", "se"] == pytest.approx(pt["se_diff_12"])
    with pytest.raises(ValueError):
        estimates_table(pt, None, analytic_arm_se="bootstrap")


def test_estimability_rules_still_apply(point):
    pt, p = point
    few = dict(pt, events_A_12=3)
    est = estimates_table(few, None, tau=p.tau, analytic_arm_se="known_weights").set_index("estimand")
    assert not est.loc["diff_12", "estimable"] and "events" in est.loc["diff_12", "reason"]
    assert est.loc["surv_A_12", "estimable"]  # per-arm rows have no events rule
    gone = dict(pt, n_followed_B=0)
    est = estimates_table(gone, None, tau=p.tau, analytic_arm_se="known_weights").set_index("estimand")
    assert np.isnan(est.loc["surv_B_24", "estimate"]) and "positivity" in est.loc["surv_B_24", "reason"]


def test_interaction_and_report_notes_follow(point):
    pt, p = point
    tab = interaction_table(pt, pd.DataFrame({"replicate": []}), "cr_at_landmark", analytic=True)
    assert (tab["lower"] == tab["robust_lower"]).all() and (tab["upper"] == tab["robust_upper"]).all()
    assert (tab["n_boot"] == 0).all() and tab["ci_method"].str.startswith("robust").all()
    est = estimates_table(pt, None, tau=p.tau, analytic_arm_se="known_weights")
    assert bootstrap_note(est) is None
    assert "influence-function SE" in followed_note(est)


def test_the_configured_analytic_intervals_covered_in_the_simulation_study():
    """Every scenario x outcome x estimand of the committed study, with the SEs the config's analytic mode uses."""
    from pathlib import Path

    import yaml

    from icistop.continuation.simsummary import analytic_default_rows

    root = Path(__file__).resolve().parents[1]
    setting = yaml.safe_load(open(root / "config" / "config.yaml"))["continuation"]["bootstrap"]["analytic_arm_se"]
    rows = analytic_default_rows(pd.read_csv(root / "benchmarks" / "simulation_study_results.tsv", sep="\t"), setting)
    assert len(rows) == 120 and rows["n_rep"].min() >= 500
    assert rows["coverage"].between(0.92, 0.98).all(), rows.loc[~rows["coverage"].between(0.92, 0.98)]
    assert set(rows.loc[rows["estimand"].str.startswith("surv_") & (rows["outcome"] == "pfs"), "source"]) == \
        {"known_weights"}


def test_methods_text_describes_the_intervals_that_were_computed():
    from pathlib import Path

    import yaml

    from icistop.report.methods import continuation_paragraphs

    cfg = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "config.yaml").read_text())["continuation"]
    cfg["bootstrap"]["analytic_above_n"] = 12345

    def ci_text(results):
        return next(p for p in continuation_paragraphs(cfg, results) if p.startswith("Confidence intervals"))

    analytic = ci_text({"by_outcome": {"pfs": {"ci_method": ANALYTIC_LABEL}}})
    assert "more patients were eligible at time zero than 12345" in analytic and "resamples" not in analytic
    assert "PFS: the same influence-function SE for survival probabilities" in analytic
    booted = ci_text({"by_outcome": {"pfs": {"ci_method": "bootstrap SE, transformed-scale Wald"}}})
    assert "500 resamples" in booted and "Above 12345 patients eligible" in booted

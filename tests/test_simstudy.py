"""Simulation study of the continuation estimators (icistop.continuation.simstudy) and the OS
counterfactual truth of the generator (icistop.data.synth.death_time / counterfactual_truth(os=True))."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from icistop.data import synth
from icistop.data.synth import model as synth_model
from icistop.continuation import simstudy, simsummary
from icistop.continuation.bootstrap import bootstrap_replicates, ccw_point
from icistop.continuation.estimability import Rules
from icistop.continuation.protocol import Protocol
from icistop.continuation.tables import estimates_table
from workflow_copy import copy_workflow, snakemake

ROOT = Path(__file__).resolve().parents[1]
P = Protocol()
CCW_ESTIMANDS = {"surv_A_24", "surv_B_24", "diff_24", "ratio_24", "surv_A_36", "surv_B_36", "diff_36", "ratio_36",
                 "rmst_A", "rmst_B", "rmst_diff", "loghr"}


# --- generator: counterfactual OS -------------------------------------------------------------

@pytest.mark.parametrize("hr,conf", [(1.0, True), (0.7, False)])
def test_death_time_replays_the_generator(hr, conf):
    p = replace(synth.GeneratorParams(), continuation_hr=hr, confounding=conf)
    full = synth_model.simulate(p, 5000, 13)
    d = synth_model.simulate_core(p, 5000, 13)
    np.testing.assert_array_equal(synth.death_time(p, d, 13, d["t_prog"], d["S_nat"]), full["death"])


def test_follow_up_end_replays_the_generator():
    p = synth.GeneratorParams()
    full = synth_model.simulate(p, 5000, 13)
    np.testing.assert_array_equal(np.minimum(full["death"], synth.follow_up_end(p, 5000, 13)), full["L"])


def test_death_time_depends_on_the_stop_only_through_progression_on_or_off_ici():
    p = synth.GeneratorParams()
    d = synth_model.simulate_core(p, 5000, 3)
    never, early = np.full(5000, np.inf), np.zeros(5000)
    on, off = synth.death_time(p, d, 3, d["t_prog"], never), synth.death_time(p, d, 3, d["t_prog"], early)
    prog = d["t_prog"] < d["t_death0"]
    np.testing.assert_array_equal(on[~prog], off[~prog])  # no progression: background death either way
    assert np.all(on[prog] > d["t_prog"][prog]) and np.all(off[prog] > d["t_prog"][prog])
    assert np.median(on[prog] - d["t_prog"][prog]) < np.median(off[prog] - d["t_prog"][prog])  # 12 vs >= 30 months


def test_counterfactual_truth_os_block():
    base = synth.counterfactual_truth(synth.GeneratorParams(), n=20_000, seed=3, cox=False)
    ct = synth.counterfactual_truth(synth.GeneratorParams(), n=20_000, seed=3, cox=False, os=True)
    assert {k: v for k, v in ct.items() if k != "os"} == base  # PFS truth unchanged by the flag
    os_ = ct["os"]
    for h in (24, 36):
        for arm in ("A", "B"):  # death comes at or after progression-or-death
            assert os_[f"surv_{arm}"][h] >= ct[f"surv_{arm}"][h]
        # no effect on PFS, but progressions on ICI (arm B) are followed by shorter survival
        assert ct["difference_B_minus_A"][h] == 0.0
        assert os_["difference_B_minus_A"][h] < -3 * os_["mc_se_difference"][h]
    assert os_["rmst_difference_B_minus_A"] < 0


def test_counterfactual_truth_followup_hr():
    p = replace(synth.GeneratorParams(), continuation_hr=0.7)
    base = synth.counterfactual_truth(p, n=20_000, seed=3, os=True)
    ct = synth.counterfactual_truth(p, n=20_000, seed=3, os=True, followup=True)
    for block, ref in ((ct, base), (ct["os"], base["os"])):
        assert {k: v for k, v in block.items() if k not in ("hr_B_vs_A_followup", "os")} == \
            {k: v for k, v in ref.items() if k != "os"}
        assert block["hr_B_vs_A_followup"] > 0 and block["hr_B_vs_A_followup"] != block["hr_B_vs_A"]
    # the effect on PFS acts only between the grace period and completion (months 3-12 after time zero):
    # early follow-up weighs more under censoring, so the censored Cox HR is further from 1
    assert ct["hr_B_vs_A_followup"] < ct["hr_B_vs_A"] < 1


# --- scenarios ----------------------------------------------------------------------------------

def test_default_scenarios_match_the_config():
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["simulation"]
    assert [dict(s) for s in cfg["scenarios"]] == [dict(s) for s in simstudy.DEFAULT_SCENARIOS]


def test_scenario_params_hazard_factor():
    sc = {"name": "x", "continuation_hr": 0.7, "confounding": False, "hazard_factor": 0.5, "hazard_factor_from": 12}
    gp = simstudy.scenario_params(sc, n_patients=100, seed=5)
    base = synth.GeneratorParams()
    k = base.hazard_edges.index(12)
    assert gp.hazard_pr[:k] == base.hazard_pr[:k] and gp.hazard_sd[:k] == base.hazard_sd[:k]
    np.testing.assert_allclose(gp.hazard_pr[k:], np.array(base.hazard_pr[k:]) * 0.5)
    np.testing.assert_allclose(gp.hazard_sd[k:], np.array(base.hazard_sd[k:]) * 0.5)
    assert gp.hazard_pd == base.hazard_pd and (gp.n_patients, gp.seed, gp.continuation_hr) == (100, 5, 0.7)
    assert simstudy.scenario_params({"name": "y", "continuation_hr": 1.0, "confounding": True}) == base
    with pytest.raises(ValueError, match="hazard_factor_from"):
        simstudy.scenario_params({**sc, "hazard_factor_from": 13})
    with pytest.raises(ValueError, match="unknown scenario keys"):
        simstudy.scenario_params({**sc, "hazard": 1})


# --- truth mapping and performance measures -----------------------------------------------------

TRUTH = {"n_eligible": 10_000, "surv_A": {"24": 0.9, "36": 0.8}, "surv_B": {"24": 0.92, "36": 0.85},
         "difference_B_minus_A": {"24": 0.02, "36": 0.05}, "ratio_B_over_A": {"24": 0.92 / 0.9, "36": 0.85 / 0.8},
         "mc_se_difference": {"24": 0.001, "36": 0.002}, "rmst_A": 30.0, "rmst_B": 31.0,
         "rmst_difference_B_minus_A": 1.0, "hr_B_vs_A": 0.8,
         "os": {"surv_A": {24: 0.97}, "surv_B": {24: 0.95}, "difference_B_minus_A": {24: -0.02},
                "hr_B_vs_A": 1.25}}


def test_truth_value_and_mc_se():
    tv = simsummary.truth_value
    assert tv(TRUTH, "pfs", "surv_A_24") == 0.9 and tv(TRUTH, "pfs", "diff_36") == 0.05
    assert tv(TRUTH, "pfs", "ratio_24") == pytest.approx(0.92 / 0.9) and tv(TRUTH, "pfs", "rmst_diff") == 1.0
    assert tv(TRUTH, "pfs", "rmst_B") == 31.0 and tv(TRUTH, "pfs", "loghr") == pytest.approx(np.log(0.8))
    assert tv(TRUTH, "os", "surv_B_24") == 0.95 and tv(TRUTH, "os", "loghr") == pytest.approx(np.log(1.25))
    fu = {**TRUTH, "hr_B_vs_A_followup": 0.7}
    assert tv(fu, "pfs", "loghr") == pytest.approx(np.log(0.7))
    assert tv(fu, "pfs", "loghr", followup=False) == pytest.approx(np.log(0.8))
    assert simsummary.truth_mc_se(TRUTH, "pfs", "surv_A_24") == pytest.approx(np.sqrt(0.9 * 0.1 / 10_000))
    assert simsummary.truth_mc_se(TRUTH, "pfs", "diff_36") == 0.002
    assert np.isnan(simsummary.truth_mc_se(TRUTH, "pfs", "loghr"))
    with pytest.raises(KeyError):
        tv({k: v for k, v in TRUTH.items() if k != "os"}, "os", "surv_A_24")


def test_summarise_hand_made_results():
    # truth S_A(24) = 0.9: [0.85, 0.95] covers, [0.91, 0.99] has the truth below its lower limit, [0.80, 0.89]
    # above its upper limit, [0.70, 1.02] covers but leaves [0, 1]; the fifth replicate has no estimate and
    # the fourth and fifth are flagged not estimable.
    rows = [(0.90, 0.02, 0.85, 0.95, True), (0.95, 0.02, 0.91, 0.99, True), (0.85, 0.03, 0.80, 0.89, True),
            (0.86, 0.04, 0.70, 1.02, False), (np.nan, np.nan, np.nan, np.nan, False)]
    res = pd.DataFrame([{"scenario": "s", "replicate": i, "outcome": "pfs", "estimator": "ccw", "method": "plain_wald",
                         "estimand": "surv_A_24", "estimate": e, "se": se, "lower": lo, "upper": hi, "estimable": ok}
                        for i, (e, se, lo, hi, ok) in enumerate(rows)])
    s = simsummary.summarise(res, {"s": TRUTH}).iloc[0]
    est = np.array([0.90, 0.95, 0.85, 0.86])
    assert s["n_rep"] == 4 and s["n_ci"] == 4 and s["truth"] == 0.9
    assert s["bias"] == pytest.approx(est.mean() - 0.9)
    assert s["empirical_se"] == pytest.approx(est.std(ddof=1))
    assert s["mc_se_bias"] == pytest.approx(est.std(ddof=1) / 2)
    assert s["mean_model_se"] == pytest.approx(np.mean([0.02, 0.02, 0.03, 0.04]))
    assert s["coverage"] == 0.5 and s["mc_se_coverage"] == pytest.approx(np.sqrt(0.25 / 4))
    assert s["miss_below"] == 0.25 and s["miss_above"] == 0.25 and s["out_of_range"] == 0.25
    assert s["mean_width"] == pytest.approx(np.mean([0.10, 0.08, 0.09, 0.32]))
    assert s["not_estimable"] == pytest.approx(2 / 5) and s["coverage_estimable"] == pytest.approx(1 / 3)


def test_transformed_sd_interval():
    b = np.array([0.90, 0.92, 0.94, 0.91, 0.95, 1.0])  # the replicate at 1 has no complementary log-log value
    lo, hi, sd = simstudy.transformed_sd_interval(0.93, b, "cloglog")
    g = np.log(-np.log(b[:-1]))
    assert sd == pytest.approx(np.std(g, ddof=1))
    z = 1.959963984540054
    assert (lo, hi) == pytest.approx((0.93 ** np.exp(z * sd), 0.93 ** np.exp(-z * sd)))
    lo, hi, sd = simstudy.transformed_sd_interval(0.1, [0.0, 0.1, 0.2], "atanh")
    assert (lo, hi) == pytest.approx(tuple(np.tanh(np.arctanh(0.1) + np.array([-z, z]) * sd)))


def test_markdown_table_bolds_coverage_outside_92_98():
    summ = pd.DataFrame([{"scenario": "s", "outcome": "os", "estimator": "ccw", "method": m, "estimand": "diff_24",
                          "truth": -0.02, "bias": 0.001, "mc_se_bias": 0.0005, "empirical_se": 0.01,
                          "mean_model_se": 0.01, "coverage": c, "mc_se_coverage": 0.01, "not_estimable": 0.02}
                         for m, c in (("transformed_wald", 0.95), ("percentile", 0.91), ("known_weights", 0.99))])
    text = simsummary.markdown_table(summ)
    row = text.splitlines()[2]
    assert "| OS | diff(24) |" in row and "0.950 (0.010)" in row and "**0.910 (0.010)**" in row
    assert "**0.990 (0.010)**" in row and row.endswith("| 2.0 % |")


# --- end to end through run_chunk ---------------------------------------------------------------

@pytest.fixture(scope="module")
def chunk():
    sc = {"name": "tiny", "continuation_hr": 1.0, "confounding": True}
    return sc, simstudy.run_chunk(sc, 0, [0], P, n_patients=1200, n_boot=6, seed=11, naive_threshold=13.0,
                                  rules=Rules())


def test_run_chunk_rows(chunk):
    _, df = chunk
    assert list(df.columns) == simstudy.RESULT_COLUMNS
    assert set(df["outcome"]) == {"pfs", "os"} and set(df["replicate"]) == {0} and set(df["scenario"]) == {"tiny"}
    for outcome, g in df.groupby("outcome"):
        ccw = g[g["estimator"] == "ccw"]
        assert set(ccw["estimand"]) == CCW_ESTIMANDS
        for m in ("transformed_wald", "percentile"):
            assert set(ccw.loc[ccw["method"] == m, "estimand"]) == CCW_ESTIMANDS
        assert set(ccw.loc[ccw["method"] == "known_weights", "estimand"]) == CCW_ESTIMANDS - {"rmst_A", "rmst_B"}
        assert set(ccw.loc[ccw["method"] == "plain_wald", "estimand"]) == {e for e in CCW_ESTIMANDS
                                                                            if e.startswith(("surv", "diff"))}
        for est in ("naive", "landmark"):
            assert set(g.loc[g["estimator"] == est, "estimand"]) == {"loghr", "diff_24", "diff_36"}
        assert ccw["n_boot"].max() <= 6 and g["estimable"].map(type).eq(bool).all()


def test_run_chunk_uses_the_report_intervals(chunk):
    sc, df = chunk
    s = simstudy.replicate_seed(11, 0, 0)
    tables, _ = synth.generate_cohort(simstudy.scenario_params(sc, 1200, s))
    panel = simstudy.tables_to_panel(tables, "os")
    p = replace(P, outcome="os")
    pt = ccw_point(panel, p, marker=None, se=True)
    boot = bootstrap_replicates(panel, p, range(6), s, marker=None)
    got = df[(df["outcome"] == "os") & (df["estimator"] == "ccw")].set_index(["method", "estimand"])
    for m in ("transformed_wald", "percentile"):
        tab = estimates_table(pt, boot, m, Rules()).set_index("estimand")
        for key in ("surv_A_24", "diff_36", "ratio_24", "rmst_diff"):
            r = got.loc[(m, key)]
            assert (r["estimate"], r["lower"], r["upper"]) == pytest.approx(
                (tab.loc[key, "estimate"], tab.loc[key, "lower"], tab.loc[key, "upper"]), nan_ok=True)
            assert bool(r["estimable"]) == bool(tab.loc[key, "estimable"])
        hr = got.loc[(m, "loghr")]
        assert (hr["estimate"], hr["lower"], hr["upper"]) == pytest.approx(
            tuple(np.log(tab.loc["hr", ["estimate", "lower", "upper"]].astype(float))))
    kw = got.loc[("known_weights", "surv_B_36")]
    assert kw["se"] == pytest.approx(pt["se_surv_B_36"])


def test_summarise_run_chunk_output(chunk):
    _, df = chunk
    truth = synth.counterfactual_truth(simstudy.scenario_params({"name": "t", "continuation_hr": 1.0,
                                                                "confounding": True}),
                                       n=5000, seed=2, cox=True, os=True)
    s = simsummary.summarise(df.assign(scenario="tiny"), {"tiny": truth})
    assert len(s) == len(df.groupby(simsummary.SUMMARY_KEYS))
    assert list(s["scenario"].unique()) == ["tiny"] and list(s["outcome"].unique()) == ["pfs", "os"]
    assert s["coverage"].dropna().isin([0.0, 1.0]).all() and s["n_rep"].isin([0, 1]).all()
    assert (s["n_ci"] > 0).sum() > 0.9 * len(s)  # a tiny cohort may leave the odd landmark group without events
    first_ccw = s[s["estimator"] == "ccw"].iloc[0]
    assert (first_ccw["estimand"], first_ccw["method"]) == ("surv_A_24", "transformed_wald")


# --- Snakemake target (slow) --------------------------------------------------------------------

@pytest.mark.slow
def test_simulation_target_runs_in_a_workflow_copy(tmp_path):
    wd = copy_workflow(tmp_path / "wf")
    n_scen = len(yaml.safe_load((wd / "config" / "config.yaml").read_text())["simulation"]["scenarios"])
    n_chunks = yaml.safe_load((wd / "config" / "config.yaml").read_text())["simulation"]["n_chunks"]
    plan = snakemake(wd, "simulation_study", "-n", "--quiet", "rules").stdout
    assert "simulation_chunk" in plan and "simulation_truth" in plan and "simulation_summary" in plan
    small = tmp_path / "small.yaml"
    small.write_text(yaml.safe_dump({"simulation": {
        "scenarios": [{"name": "tiny", "continuation_hr": 1.0, "confounding": True}],
        "n_replicates": 2, "n_chunks": 2, "n_patients": 1000, "n_boot": 3, "seed": 1, "truth_n": 3000}}))
    snakemake(wd, "simulation_study", "--cores", "2", "--configfile", "config/config.yaml", str(small))
    summary = pd.read_csv(wd / "results" / "simulation" / "summary.tsv", sep="\t")
    assert set(summary["outcome"]) == {"pfs", "os"} and set(summary["scenario"]) == {"tiny"}
    assert (summary["n_rep"] <= 2).all() and (wd / "results" / "simulation" / "summary_table.md").exists()
    assert n_scen == 5 and n_chunks >= 1


def test_chunk_replicates_split_and_extend():
    """Chunks cover each replicate once; --first-replicate K covers exactly K..n-1, so an extension run and
    the first run together are the full run."""
    full = sorted(r for c in range(25) for r in simstudy.chunk_replicates(500, 25, c))
    assert full == list(range(500))
    first = [r for c in range(25) for r in simstudy.chunk_replicates(200, 25, c)]
    rest = [r for c in range(25) for r in simstudy.chunk_replicates(500, 25, c, first=200)]
    assert sorted(first + rest) == list(range(500)) and not set(first) & set(rest)

"""Continuation analysis (question 2): protocol, cloning/censoring, weights, episodes, bootstrap."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from icistop.continuation.bootstrap import gather, run_shard, shard_replicates, shard_seed
from icistop.continuation.ccw import build_clones, eligible, estimate, run_ccw
from icistop.stats.logistic import logit_fit
from icistop.continuation.protocol import Protocol, protocol_from_config, protocol_table
from icistop.continuation.timevarying import split_episodes, timevarying_cox
from icistop.stats.km import km_fit

ROOT = Path(__file__).resolve().parents[1]
INF = np.inf


def panel_from(rows):
    cols = ["patient_id", "y_time", "y_event", "prog_time", "stop_time", "stop_reason", "t_cr", "t_pr"]
    df = pd.DataFrame(rows, columns=cols)
    df["pfs_time"] = df["y_time"]
    df["pfs_event"] = df["y_event"]
    df["msi_h_or_dmmr"] = True
    df["age_at_ici_start"] = 60.0
    return df


P0 = Protocol(confounders=(), time_varying=False)


def test_config_defaults_equal_code_defaults():
    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    assert protocol_from_config(cfg["continuation"]) == Protocol()
    assert protocol_from_config(cfg["continuation"], outcome="os").outcome == "os"


def test_protocol_table_items():
    tab = protocol_table(Protocol())
    assert list(tab.columns) == ["item", "target_trial", "emulation"]
    assert {"Eligibility", "Treatment strategies", "Assignment", "Time zero", "Outcome", "Follow-up / horizon",
            "Causal contrast", "Estimands", "Analysis"} == set(tab["item"])
    assert "12-15" in tab.set_index("item").loc["Treatment strategies", "target_trial"]


def test_eligibility_at_time_zero():
    pan = panel_from([
        ("on", 30.0, 1, 30.0, INF, "ongoing", INF, 3.0),        # eligible
        ("stopped_before", 30.0, 1, 30.0, 10.0, "elective_response", INF, 3.0),  # off ICI at 12
        ("progressed", 8.0, 1, 8.0, 8.0, "progression", INF, INF),   # progressed before 12
        ("censored", 11.0, 0, INF, INF, "ongoing", INF, INF),    # not followed to 12
    ])
    assert eligible(pan, Protocol()).tolist() == [True, False, False, False]


def test_clone_censoring_rules():
    pan = panel_from([
        # 0: stops at 13.5 (in grace): A compliant; B deviates in interval [13,14), censored at its stop (1.5)
        ("a", 40.0, 0, INF, 13.5, "elective_response", INF, 3.0),
        # 1: never stops, event at 30: A censored at grace end (3); B compliant, event at 18
        ("b", 30.0, 1, 30.0, INF, "ongoing", INF, 3.0),
        # 2: toxicity stop at 16: B compliant (allowed), A censored at 3
        ("c", 40.0, 0, INF, 16.0, "toxicity", INF, 3.0),
        # 3: planned completion at 23.5 (within tolerance): B compliant
        ("d", 40.0, 0, INF, 23.5, "planned_completion", INF, 3.0),
        # 4: elective stop at 20.0: B censored at its stop (8); A censored at 3
        ("e", 40.0, 0, INF, 20.0, "elective_response", INF, 3.0),
        # 5: progression at 14 while on ICI: event in both arms at 2
        ("f", 14.0, 1, 14.0, 14.0, "progression", INF, 3.0),
    ])
    cl = build_clones(pan, P0)
    rows = cl["rows"]

    def follow(pid, arm):
        r = rows[(rows["pid"] == pid) & (rows["arm"] == arm)]
        return (r["stop"].max() if len(r) else 0.0), int(r["event"].sum())

    assert follow(0, 0) == (28.0, 0) and follow(0, 1) == (1.5, 0)
    assert follow(1, 0) == (3.0, 0) and follow(1, 1) == (18.0, 1)
    assert follow(2, 0) == (3.0, 0) and follow(2, 1) == (28.0, 0)
    assert follow(3, 1) == (28.0, 0) and follow(3, 0) == (3.0, 0)
    assert follow(4, 1) == (8.0, 0) and follow(4, 0) == (3.0, 0)
    assert follow(5, 0) == (2.0, 1) and follow(5, 1) == (2.0, 1)
    cens = cl["censored"].set_index(["arm", "interval_start"])["n_censored"]
    assert cens[("A (stop)", 2.0)] == 4  # b, c, d, e still on ICI at 15 months
    assert cens[("B (continue)", 1.0)] == 1 and cens[("B (continue)", 8.0)] == 1


def test_no_deviation_means_unweighted_km():
    rng = np.random.default_rng(3)
    n = 300
    y = 12 + rng.exponential(20, n)
    ev = (rng.random(n) < 0.7).astype(int)
    # everyone complies with B (never stops) -> A clones all censored at 15, B = plain KM
    pan = panel_from([(f"p{i}", y[i], ev[i], y[i] if ev[i] else INF, INF, "ongoing", INF, INF) for i in range(n)])
    res = run_ccw(pan, P0, se=False)
    plain = km_fit(None, np.minimum(y, 48) - 12, ev * (y <= 48))
    b = res["_clones"]["rows"].query("arm == 1")
    assert np.allclose(b["weight"], 1.0)
    assert abs(res["surv_B_24"] - plain.at(24)[0]) < 1e-12


def test_weights_recover_full_cohort_size_in_expectation():
    """Unstabilised IPC weights of the B arm: at each interval the weighted count of uncensored
    clones estimates the number that would be there without artificial censoring."""
    from icistop.continuation.simstudy import tables_to_panel
    from icistop.data.synth import GeneratorParams, generate_cohort

    tables, _ = generate_cohort(GeneratorParams(n_patients=3000, seed=5))
    panel = tables_to_panel(tables)
    p = Protocol()
    elig = panel[eligible(panel, p)].reset_index(drop=True)
    rows = build_clones(elig, p)["rows"]
    b0 = rows[(rows["arm"] == 1) & (rows["start"] == 0)]
    assert abs(b0["weight"].sum() / len(elig) - 1) < 0.1


def test_split_episodes_matches_loop_and_is_fast():
    rng = np.random.default_rng(1)
    n = 2000
    y = rng.exponential(20, n)
    pan = pd.DataFrame({
        "patient_id": np.arange(n), "y_time": y, "y_event": (rng.random(n) < 0.6).astype(int),
        "stop_time": np.where(rng.random(n) < 0.5, rng.exponential(15, n), INF),
        "t_pr": np.where(rng.random(n) < 0.5, rng.exponential(4, n), INF),
        "t_cr": np.where(rng.random(n) < 0.3, rng.exponential(10, n), INF),
        "prog_time": INF,
    })
    ep = split_episodes(pan)
    for i in rng.choice(n, 50, replace=False):
        r = pan.iloc[i]
        cuts = sorted({0.0, r.y_time, *[c for c in (r.stop_time, r.t_pr, r.t_cr) if 0 < c < r.y_time]})
        mine = ep[ep["pid"] == i]
        assert np.allclose(mine["start"], cuts[:-1]) and np.allclose(mine["stop"], cuts[1:])
        assert np.array_equal(mine["on_ici"].to_numpy(), (r.stop_time >= np.array(cuts[1:])).astype(float))
        assert mine["event"].sum() == r.y_event and (mine["event"].iloc[-1] == r.y_event)
    # 10^5 patients: splitting plus the Cox fit in a few seconds
    big = pan.sample(100_000, replace=True, random_state=0).reset_index(drop=True)
    big["patient_id"] = np.arange(len(big))
    big["msi_h_or_dmmr"] = True
    t0 = time.perf_counter()
    tab, eps = timevarying_cox(big, Protocol(confounders=()))
    assert time.perf_counter() - t0 < 20
    assert len(eps) > 100_000 and tab.loc[0, "term"] == "on_ici"


def test_logit_matches_statsmodels():
    import statsmodels.api as sm

    rng = np.random.default_rng(2)
    X = np.column_stack([np.ones(500), rng.normal(size=500), rng.random(500) < 0.3])
    y = (rng.random(500) < 1 / (1 + np.exp(-(X @ [-1, 0.5, 1.0])))).astype(float)
    ref = sm.GLM(y, X, family=sm.families.Binomial()).fit(tol=1e-12).params
    assert np.allclose(logit_fit(X, y), ref, atol=1e-8)
    # complete separation stays finite
    ysep = (X[:, 1] > 0).astype(float)
    assert np.all(np.isfinite(logit_fit(X, ysep)))


@pytest.fixture(scope="module")
def example_panel():
    from icistop.continuation.simstudy import tables_to_panel
    from icistop.data.synth import GeneratorParams, generate_cohort

    tables, _ = generate_cohort(GeneratorParams())  # the embedded example's parameters (no true effect)
    return tables_to_panel(tables)


def test_bootstrap_identical_whatever_the_sharding(example_panel):
    p = Protocol()

    def tsv(n_shards):
        shards = [run_shard(example_panel, p, 12, n_shards, s, seed=99) for s in range(n_shards)]
        buf = io.StringIO()
        gather(shards[::-1]).to_csv(buf, sep="\t", index=False, float_format="%.17g")
        return buf.getvalue().encode()

    one = tsv(1)
    assert one == tsv(3) == tsv(5)
    assert shard_replicates(12, 5, 2) == [2, 7]
    assert shard_seed(1, 0) == shard_seed(1, 0) != shard_seed(1, 1)


def test_example_naive_biased_ccw_covers_truth(example_panel):
    """Acceptance on the embedded example (no true effect): the naive comparison is visibly biased,
    the CCW 24-month PFS difference CI covers 0 (= the truth)."""
    from icistop.continuation.bootstrap import bootstrap_replicates, ccw_point
    from icistop.continuation.naive import naive_ever_stopped
    from icistop.continuation.tables import estimates_table

    p = Protocol()
    naive = naive_ever_stopped(example_panel, p, 395 / 30.4375)
    lower = naive["loghr"] - 1.96 * naive["se_loghr"]
    assert lower > np.log(1.5)  # HR (continued vs stopped) far above the true 1
    point = ccw_point(example_panel, p, se=True)
    boot = bootstrap_replicates(example_panel, p, range(60), seed=20240601)
    est = estimates_table(point, boot).set_index("estimand")
    lo, hi = est.loc["diff_24", ["lower", "upper"]]
    assert lo < 0 < hi
    assert est.loc["hr", "lower"] < 1 < est.loc["hr", "upper"]


def test_estimate_influence_se_close_to_bootstrap(example_panel):
    """The known-weights influence SE of the arm-specific KM is of the bootstrap's order."""
    p = Protocol()
    elig = example_panel[eligible(example_panel, p)].reset_index(drop=True)
    res = estimate(build_clones(elig, p), p)
    assert 0.01 < res["se_surv_B_24"] < 0.2
    assert np.isfinite(res["se_loghr"])

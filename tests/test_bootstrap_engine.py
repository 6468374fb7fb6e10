"""The fast bootstrap (frequency weights on a fixed clone structure) against the definition:
analysing the resample with duplicated patients. Plus the pieces it rests on: KM / Cox refits
under new weights, Efron ties counted with multiplicity, logistic fits with frequency weights."""

from __future__ import annotations

import numpy as np
import pytest

from icistop.stats import cox_engine as wcox
from icistop.continuation.bootstrap import ReplicateEngine, bootstrap_replicates, ccw_point, replicate_rng
from icistop.stats.logistic import logit_fit
from icistop.continuation.protocol import Protocol
from icistop.stats.km import KMIndex, km_fit


@pytest.fixture(scope="module")
def panel():
    from icistop.continuation.simstudy import tables_to_panel
    from icistop.data.synth import GeneratorParams, generate_cohort

    tables, _ = generate_cohort(GeneratorParams(n_patients=1500, seed=11))
    return tables_to_panel(tables)


def _assert_same(a: dict, b: dict, tol: float):
    """The engine's replicate ``a`` equals the point analysis ``b`` on every bootstrapped quantity (the
    point analysis has more: the per-horizon event counts, positivity counts, interaction cells)."""
    estimands = [k for k in b if k.startswith(("surv_", "diff_", "ratio_", "logratio_", "rmst_", "loghr", "hr"))
                 and not k.startswith("se_")]
    assert set(estimands) <= set(a) and set(a) <= set(b) | {"se_loghr"}
    for k in a:
        if k == "se_loghr":
            continue
        x, y = float(a[k]), float(b[k])
        if np.isnan(x) or np.isnan(y):
            assert np.isnan(x) and np.isnan(y), k
        else:
            assert abs(x - y) <= tol * max(1.0, abs(y)), (k, x, y)


PROTOCOLS = {
    "default": Protocol(),
    "stabilised_truncated_breslow": Protocol(stabilise=True, truncate=(1.0, 99.0), ties="breslow"),
    "observed_grace_no_tv": Protocol(grace_timing="observed", time_varying=False),
}


@pytest.mark.parametrize("name", list(PROTOCOLS))
def test_engine_equals_duplicated_resample(panel, name):
    p = PROTOCOLS[name]
    engine = ReplicateEngine(panel, p)
    n = len(panel)
    _assert_same(engine.estimate(np.ones(n)), ccw_point(panel, p, se=False), 1e-7)
    for r in range(3):
        idx = replicate_rng(123, r).integers(0, n, n)
        direct = ccw_point(panel.iloc[idx].reset_index(drop=True), p, se=False)
        _assert_same(engine.estimate(np.bincount(idx, minlength=n)), direct, 1e-6)


def test_bootstrap_replicates_use_the_engine(panel):
    p = Protocol()
    boot = bootstrap_replicates(panel, p, [4, 1], seed=7).set_index("replicate")
    assert list(boot.index) == [1, 4]
    n = len(panel)
    idx = replicate_rng(7, 4).integers(0, n, n)
    direct = ccw_point(panel.iloc[idx].reset_index(drop=True), p, se=False)
    assert boot.loc[4, "loghr"] == pytest.approx(direct["loghr"], abs=1e-6)
    assert boot.loc[4, "diff_24"] == pytest.approx(direct["diff_24"], abs=1e-9)


def _toy_rows(n=3000, seed=3):
    rng = np.random.default_rng(seed)
    start = np.where(rng.random(n) < 0.3, rng.integers(0, 5, n), 0).astype(float)
    stop = start + rng.integers(1, 30, n)  # integer times: many ties
    event = (rng.random(n) < 0.5).astype(int)
    arm = rng.integers(0, 2, n).astype(float)
    m = rng.integers(0, 2, n).astype(float)
    w = rng.uniform(0.3, 3.0, n)
    return start, stop, event, np.column_stack([arm, m, arm * m]), w


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_pattern_cox_equals_row_cox(ties, monkeypatch):
    start, stop, event, X, w = _toy_rows()
    fast = wcox.cox_arrays(start, stop, event, X, weights=w, ties=ties)
    monkeypatch.setattr(wcox, "MAX_GROUPS", 0)  # force the row-wise path
    slow = wcox.cox_arrays(start, stop, event, X, weights=w, ties=ties)
    assert np.allclose(fast.coef, slow.coef, atol=1e-9)
    assert np.allclose(fast.var, slow.var, rtol=1e-8)
    assert fast.loglik == pytest.approx(slow.loglik, rel=1e-10)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_refit_with_multiplicity_equals_duplicated_rows(ties):
    start, stop, event, X, w = _toy_rows()
    rng = np.random.default_rng(4)
    freq = rng.poisson(1.0, len(stop))
    rep = np.repeat(np.arange(len(stop)), freq)
    dup = wcox.cox_arrays(start[rep], stop[rep], event[rep], X[rep], weights=w[rep], ties=ties)
    refit = wcox.CoxRefit(start, stop, event, X, ties=ties)
    assert np.allclose(refit.coef(freq * w, freq), dup.coef, atol=1e-9)
    # the same structure refitted with other weights
    assert np.allclose(refit.coef(w), wcox.cox_arrays(start, stop, event, X, weights=w, ties=ties).coef, atol=1e-9)


def test_cox_refit_rejects_continuous_covariates():
    start, stop, event, X, w = _toy_rows()
    with pytest.raises(ValueError, match="distinct covariate patterns"):
        wcox.CoxRefit(start, stop, event, np.random.default_rng(0).normal(size=len(stop)))


def test_km_index_refit_equals_km_fit():
    start, stop, event, X, w = _toy_rows()
    idx = KMIndex(start, stop, event)
    for weights in (None, w, w * (np.arange(len(w)) % 3)):
        a, b = idx.fit(weights), km_fit(start, stop, event, weights)
        grid = np.linspace(0, 35, 71)
        assert np.allclose(a.at(grid), b.at(grid), atol=1e-14, equal_nan=True)


def test_logit_frequency_weights_equal_duplicated_rows():
    rng = np.random.default_rng(5)
    X = np.column_stack([np.ones(800), rng.normal(size=800), rng.random(800) < 0.4])
    y = (rng.random(800) < 1 / (1 + np.exp(-(X @ [-1, 0.7, 0.8])))).astype(float)
    f = rng.poisson(1.0, 800)
    rep = np.repeat(np.arange(800), f)
    a = logit_fit(X, y, weights=f.astype(float))
    assert np.allclose(a, logit_fit(X[rep], y[rep]), atol=1e-8)
    assert np.allclose(logit_fit(X, y, weights=f.astype(float), start=a + 0.3), a, atol=1e-8)


def test_resample_without_marker_positive_clones(panel):
    """A resample without a marker-positive clone gives NaN interaction estimates, not a crash."""
    p = Protocol()
    engine = ReplicateEngine(panel, p)
    cr = (panel["t_cr"].to_numpy(float) <= p.landmark)
    freq = np.where(cr, 0, 1)
    out = engine.estimate(freq)
    assert np.isnan(out["loghr_interaction"]) and np.isfinite(out["loghr"])
    assert out["n_eligible"] == int(freq[engine.elig_rows].sum())


def test_shard_survives_a_panel_without_eligible_patients(panel):
    p = Protocol()
    none = panel.assign(stop_time=1.0)  # everybody off ICI before the landmark
    out = bootstrap_replicates(none, p, [0, 1], seed=1)
    assert list(out["replicate"]) == [0, 1] and (out["n_eligible"] == 0).all()
    assert out[["surv_A_24", "diff_24", "rmst_diff", "loghr"]].isna().all().all()
    assert not out["cox_converged"].any()  # counted as diverged for the HR

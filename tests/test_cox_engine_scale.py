"""The large-n code paths of the Cox engine and strata codes (issue 15) equal their direct definitions."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))

from icistop.stats import cox_engine as ce  # noqa: E402
from icistop.stats.km import strata_codes  # noqa: E402


def _rows(n=80, seed=3):
    rng = np.random.default_rng(seed)
    start = np.where(rng.random(n) < 0.4, np.round(rng.uniform(0, 3, n)), 0.0)
    stop = start + np.round(rng.exponential(6, n)) + 1.0  # integer times: many ties
    event = rng.binomial(1, 0.7, n).astype(float)
    X = np.column_stack([rng.normal(size=n), rng.binomial(1, 0.4, n), rng.uniform(0, 2, n)])
    return start, stop, event, X, rng.uniform(0.5, 2, n), rng.integers(0, 3, n)


def _brute_force(start, stop, event, X, w, strata, beta):
    """Weighted Efron log-likelihood, score and information by a loop over strata, event times and tied deaths."""
    r = w * np.exp(X @ beta)
    ll, U, info = 0.0, np.zeros(X.shape[1]), np.zeros((X.shape[1],) * 2)
    for s in np.unique(strata):
        for t in np.unique(stop[(strata == s) & (event == 1)]):
            risk = (strata == s) & (start < t) & (stop >= t)
            dead = risk & (stop == t) & (event == 1)
            d, meanwt = dead.sum(), w[dead].mean()
            ll += np.sum(w[dead] * (X[dead] @ beta))
            U += (w[dead, None] * X[dead]).sum(0)
            for k in range(d):
                f = k / d
                wk = r[risk] - f * r[risk] * dead[risk]
                den = wk.sum()
                xbar = wk @ X[risk] / den
                ll -= meanwt * np.log(den)
                U -= meanwt * xbar
                info += meanwt * ((X[risk].T * wk) @ X[risk] / den - np.outer(xbar, xbar))
    return ll, U, info


def test_row_path_loglik_score_information_equal_the_definition():
    start, stop, event, X, w, strata = _rows()
    beta = np.array([0.3, -0.5, 0.2])
    rs = ce.RiskSets(start, stop, event, strata, w)
    ll, U, info = ce._loglik_score_info(rs, X, beta, np.zeros(len(stop)), "efron")
    ll0, U0, info0 = _brute_force(start, stop, event, X, w, strata, beta)
    assert ll == pytest.approx(ll0, rel=1e-12)
    np.testing.assert_allclose(U, U0, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(info, info0, rtol=1e-11, atol=1e-11)


def test_pattern_path_information_equals_row_path():
    start, stop, event, X, w, strata = _rows()
    X = np.column_stack([X[:, 1], (X[:, 0] > 0).astype(float)])
    beta = np.array([0.4, -0.3])
    rs = ce.RiskSets(start, stop, event, strata, w)
    xg, codes = ce.covariate_patterns(X, ce.MAX_GROUPS)
    fast = ce._PatternSums(rs, xg, codes, "efron").loglik_score_info(beta)
    slow = ce._loglik_score_info(rs, X, beta, np.zeros(len(stop)), "efron")
    assert fast[0] == pytest.approx(slow[0], rel=1e-12)
    np.testing.assert_allclose(fast[1], slow[1], rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(fast[2], slow[2], rtol=1e-11, atol=1e-12)


def test_covariate_patterns_of_a_time_split_design():
    """9 levels x 3 intervals as 0/1 columns: 2^24 radix combinations but 25 distinct rows, found as patterns
    with the codes of np.unique(axis=0)."""
    rng = np.random.default_rng(1)
    level, interval = rng.integers(0, 9, 3000), rng.integers(0, 3, 3000)
    X = np.column_stack([(level == lv) * (interval == k) for lv in range(1, 9) for k in range(3)]).astype(float)
    xg, codes = ce.covariate_patterns(X, ce.MAX_GROUPS)
    uniq, inverse = np.unique(X, axis=0, return_inverse=True)
    assert len(xg) == 25
    np.testing.assert_array_equal(xg, uniq)
    np.testing.assert_array_equal(codes, inverse.ravel())
    assert ce.covariate_patterns(X, 24) is None


@pytest.mark.parametrize("sort", [True, False])
def test_strata_codes_equal_the_joined_text_labels(sort):
    rng = np.random.default_rng(2)
    n = 2000
    df = pd.DataFrame(dict(a=rng.choice(["x", "yy", "y", "b"], n), b=rng.integers(0, 12, n),
                           c=pd.Categorical(rng.choice(["lo", "hi", "mid"], n), categories=["lo", "mid", "hi"]),
                           d=rng.choice(np.array([1, "1", 1.5, "a"], dtype=object), n)))
    for cols in (["a"], ["b", "a"], ["c", "b"], ["d"], ["d", "c", "a"]):
        joined = df[cols].astype(str).agg("\x1f".join, axis=1)
        np.testing.assert_array_equal(strata_codes(df, cols, sort=sort), joined.factorize(sort=sort)[0])

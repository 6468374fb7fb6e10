"""Maximally selected log-rank statistic with the Lausen-Sauerbrei-Schumacher 1994 p-value (icistop.stats.maxstat)."""

import math

import numpy as np
import pytest
from scipy import stats

from icistop.stats.maxstat import logrank_scores, maxstat_logrank, p_lausen92, p_lausen94


def _data(seed=5, n=120, effect=0.0):
    rng = np.random.default_rng(seed)
    x = np.round(rng.gamma(2, 10, n))
    t = rng.exponential(10 * np.exp(-effect * (x > 25)))
    c = rng.uniform(5, 30, n)
    return x, np.minimum(t, c), (t <= c).astype(float)


def test_logrank_scores_hand_example():
    # times 1, 2, 2, 3 with events 1, 1, 0, 1: scores = delta - cumulative hazard-type sums (Hothorn-Lausen)
    s = logrank_scores([1, 2, 2, 3], [1, 1, 0, 1])
    c1 = 1 / 4
    c2 = c1 + 1 / (4 - 3 + 1)  # ties share the largest rank (3 observations <= 2)
    c3 = c2 + 1 / 1
    assert s.tolist() == pytest.approx([1 - c1, 1 - c2, -c2, 1 - c3])


def test_p_lausen94_single_cut_is_two_sided_normal():
    assert p_lausen94(1.96, 100, [50]) == pytest.approx(2 * stats.norm.sf(1.96))


def test_p_corrected_exceeds_naive():
    x, t, e = _data()
    r = maxstat_logrank(x, t, e)
    naive = 2 * stats.norm.sf(r["statistic"])
    assert r["p_lau94"] > naive
    assert 0 < p_lausen92(r["statistic"]) <= 1


def test_cutpoint_and_group_sizes():
    x, t, e = _data(effect=1.2)
    r = maxstat_logrank(x, t, e, 0.1, 0.9)
    assert r["n_low"] == int((x <= r["cutpoint"]).sum())
    assert 0.1 * len(x) <= r["n_low"] <= 0.9 * len(x)
    assert r["statistic"] == pytest.approx(float(np.max(r["stats"])))
    assert r["p_lau94"] < 0.05


def test_invariant_to_monotone_transform():
    x, t, e = _data()
    a = maxstat_logrank(x, t, e)
    b = maxstat_logrank(np.log1p(x), t, e)
    assert a["statistic"] == pytest.approx(b["statistic"])
    assert math.log1p(a["cutpoint"]) == pytest.approx(b["cutpoint"])


def test_nan_dropped_and_errors():
    x, t, e = _data()
    x = x.copy()
    x[:5] = np.nan
    assert maxstat_logrank(x, t, e)["n"] == len(x) - 5
    with pytest.raises(ValueError):
        maxstat_logrank(np.r_[np.zeros(95), np.ones(5)], np.arange(1, 101.0), np.ones(100), 0.1, 0.9)

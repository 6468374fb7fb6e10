"""Fisher's exact test (icistop.stats.fisher): R fisher.test conventions (values checked against R in the oracle test)."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from icistop.stats.fisher import ConditionalLaw, fisher_2x2, fisher_rxc_pvalue, fisher_test, r_uniroot


def test_r_reference_values_2x2():
    # R 4.2.2: fisher.test(matrix(c(10, 2, 3, 15), 2, byrow = TRUE))
    r = fisher_test([[10, 2], [3, 15]])
    assert r.p_value == pytest.approx(0.00053672411914343593, rel=1e-10)
    assert r.odds_ratio == pytest.approx(21.30533127501673, rel=1e-10)
    assert r.ci_low == pytest.approx(2.7534383656420318, rel=1e-10)
    assert r.ci_high == pytest.approx(300.68278741939781, rel=1e-10)


def test_two_sided_p_matches_scipy():
    for t in ([[3, 1], [1, 3]], [[12, 30], [7, 41]], [[0, 5], [6, 2]], [[50, 60], [45, 70]]):
        assert fisher_test(t).p_value == pytest.approx(stats.fisher_exact(t)[1], rel=1e-9)


def test_conditional_mle_is_not_sample_or_and_solves_score_equation():
    t = np.array([[12, 30], [7, 41]])
    r = fisher_2x2(t)
    sample_or = 12 * 41 / (30 * 7)
    assert abs(r.odds_ratio - sample_or) > 0.01
    h = ConditionalLaw.hypergeometric(12, 19, 71, 42)
    assert h.mean(r.odds_ratio) == pytest.approx(12, abs=1e-3)  # uniroot tolerance, as R
    assert r.ci_low < r.odds_ratio < r.ci_high


def test_ci_tail_equations():
    t = [[25, 13], [9, 31]]
    r = fisher_2x2(t, conf_level=0.9)
    h = ConditionalLaw.hypergeometric(25, 34, 44, 38)
    assert h.cdf(25, r.ci_low, upper_tail=True) == pytest.approx(0.05, abs=1e-4)
    assert h.cdf(25, r.ci_high) == pytest.approx(0.05, abs=1e-4)


def test_boundary_tables():
    r = fisher_2x2([[0, 5], [6, 2]])  # x at its lower support bound
    assert r.odds_ratio == 0 and r.ci_low == 0 and r.ci_high > 0
    r = fisher_2x2([[1, 0], [0, 1]])
    assert math.isinf(r.odds_ratio) and math.isinf(r.ci_high) and r.p_value == 1.0


def test_symmetry_transpose_and_row_swap():
    t = np.array([[7, 3], [2, 9]])
    a, b, c = fisher_2x2(t), fisher_2x2(t.T), fisher_2x2(t[::-1])
    assert a.p_value == pytest.approx(b.p_value) and a.odds_ratio == pytest.approx(b.odds_ratio, rel=1e-6)
    assert c.odds_ratio == pytest.approx(1 / a.odds_ratio, rel=1e-3)
    assert c.p_value == pytest.approx(a.p_value)


def test_one_sided_alternatives():
    t = [[8, 2], [1, 5]]
    less, greater = fisher_2x2(t, alternative="less"), fisher_2x2(t, alternative="greater")
    assert less.p_value == pytest.approx(stats.fisher_exact(t, alternative="less")[1])
    assert greater.p_value == pytest.approx(stats.fisher_exact(t, alternative="greater")[1])
    assert less.ci_low == 0 and math.isinf(greater.ci_high)


def _brute_force_rxc(t):
    t = np.asarray(t)
    rows, cols = t.sum(1), t.sum(0)
    logp = lambda m: -np.sum([math.lgamma(v + 1) for v in m.ravel()])  # noqa: E731
    obs = logp(t)
    total = hit = 0.0
    r, c = t.shape
    for cells in itertools.product(*[range(min(rows[i], cols[j]) + 1) for i in range(r - 1) for j in range(c - 1)]):
        m = np.zeros_like(t)
        m[: r - 1, : c - 1] = np.array(cells).reshape(r - 1, c - 1)
        m[: r - 1, c - 1] = rows[: r - 1] - m[: r - 1, : c - 1].sum(1)
        m[r - 1, :] = cols - m[: r - 1, :].sum(0)
        if (m < 0).any():
            continue
        w = math.exp(logp(m))
        total += w
        if logp(m) <= obs + 3.45254e-7:
            hit += w
    return hit / total


@pytest.mark.parametrize("table", [[[3, 5, 2], [4, 1, 7]], [[2, 3], [4, 1], [6, 2], [0, 5]],
                                   [[3, 1, 2], [0, 4, 1], [2, 2, 3]], [[5, 0], [0, 5], [3, 3]]])
def test_rxc_equals_brute_force(table):
    assert fisher_rxc_pvalue(table) == pytest.approx(_brute_force_rxc(table), rel=1e-10)


def test_rxc_on_2x2_matches_2x2_path_and_drops_empty_margins():
    t = [[10, 2], [3, 15]]
    assert fisher_rxc_pvalue(t) == pytest.approx(fisher_2x2(t).p_value, rel=1e-10)
    assert fisher_rxc_pvalue([[10, 2], [0, 0], [3, 15]]) == pytest.approx(fisher_2x2(t).p_value, rel=1e-10)
    assert fisher_rxc_pvalue([[4, 0], [5, 0]]) == 1.0


def test_rxc_larger_table_is_fast_and_valid():
    p = fisher_rxc_pvalue([[30, 12], [20, 25], [14, 9], [5, 17], [8, 8], [11, 3]])
    assert 0 < p < 1


def test_r_uniroot():
    root = r_uniroot(lambda x: x**3 - 2, 0, 2)
    assert root == pytest.approx(2 ** (1 / 3), abs=2e-4)
    with pytest.raises(ValueError):
        r_uniroot(lambda x: x**2 + 1, 0, 1)


def test_invalid_input():
    with pytest.raises(ValueError):
        fisher_test([[1, 2, 3]])
    with pytest.raises(ValueError):
        fisher_2x2([[1, -2], [3, 4]])


def test_rxc_work_limit_is_deterministic():
    from icistop.stats.fisher import RxcTooLarge, fisher_rxc_pvalue

    t = np.array([[30, 70], [25, 75], [40, 60], [20, 80]])
    exact = fisher_rxc_pvalue(t)
    assert fisher_rxc_pvalue(t, max_work=10**7) == exact
    with pytest.raises(RxcTooLarge):
        fisher_rxc_pvalue(t, max_work=10)

"""p-value adjustment (icistop.stats.multiplicity) as R p.adjust."""

import numpy as np
import pytest

from icistop.stats.multiplicity import p_adjust


def test_bh_hand_example_and_r_values():
    p = [0.01, 0.02, 0.03, 0.04, 0.5]
    # R: p.adjust(c(.01,.02,.03,.04,.5), "BH") = 0.05 0.05 0.05 0.05 0.5
    assert p_adjust(p).tolist() == pytest.approx([0.05, 0.05, 0.05, 0.05, 0.5])
    # R: p.adjust(c(0.001, 0.01, 0.2, 0.9), "BH") = 0.004 0.020 0.2666667 0.9
    assert p_adjust([0.001, 0.01, 0.2, 0.9]).tolist() == pytest.approx([0.004, 0.02, 0.8 / 3, 0.9])


def test_nan_kept_and_not_counted():
    q = p_adjust([0.01, np.nan, 0.04])
    assert np.isnan(q[1])
    assert q[[0, 2]].tolist() == pytest.approx([0.02, 0.04])


def test_monotone_and_bounded():
    rng = np.random.default_rng(3)
    p = rng.uniform(size=50)
    q = p_adjust(p)
    order = np.argsort(p)
    assert np.all(np.diff(q[order]) >= -1e-15)
    assert np.all((q >= p) & (q <= 1))


def test_holm_bonferroni_by():
    p = [0.01, 0.04, 0.03]
    assert p_adjust(p, "holm").tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert p_adjust(p, "bonferroni").tolist() == pytest.approx([0.03, 0.12, 0.09])
    by = p_adjust(p, "BY")
    assert np.all(by >= p_adjust(p, "BH"))


def test_single_and_empty():
    assert p_adjust([0.2]).tolist() == [0.2]
    assert p_adjust([]).size == 0
    with pytest.raises(ValueError):
        p_adjust([0.1], "nope")

"""Piecewise-constant hazard (icistop.stats.piecewise) by hand."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from icistop.stats.piecewise import piecewise_hazard, poisson_exact_ci


def test_events_person_time_and_rates_by_hand():
    d = pd.DataFrame(dict(time=[5, 15, 30, 40, 12], event=[1, 0, 1, 1, 1]))
    t = piecewise_hazard(d, "time", "event").set_index("interval")
    assert t["person_months"].tolist() == [5 + 12 + 12 + 12 + 12, 3 + 12 + 12, 6 + 12]
    assert t["events"].tolist() == [2, 0, 1]           # the event at exactly 12 is in (0,12]
    assert t["n_at_risk_start"].tolist() == [5, 3, 2]
    r = t.loc["(0,12]"]
    assert r["rate_per_person_month"] == pytest.approx(2 / 53)
    assert r["rate_per_100py"] == pytest.approx(2 / 53 * 1200)
    assert r["person_years"] == pytest.approx(53 / 12)
    assert r["lower_per_person_month"] == pytest.approx(chi2.ppf(0.025, 4) / 2 / 53)
    assert r["upper_per_person_month"] == pytest.approx(chi2.ppf(0.975, 6) / 2 / 53)
    zero = t.loc["(12,24]"]
    assert zero["lower_per_100py"] == 0
    assert zero["upper_per_person_month"] == pytest.approx(-np.log(0.025) / 27)  # Garwood upper for 0 events
    assert (t["ci_method"] == "exact Poisson (Garwood)").all()


def test_exact_ci_coverage_identity():
    lo, hi = poisson_exact_ci([3])
    from scipy.stats import poisson
    assert poisson.sf(2, lo[0]) == pytest.approx(0.025, rel=1e-8)   # P(X >= 3 | lower) = 2.5%
    assert poisson.cdf(3, hi[0]) == pytest.approx(0.025, rel=1e-8)  # P(X <= 3 | upper) = 2.5%


def test_entry_open_interval_and_groups():
    d = pd.DataFrame(dict(entry=[0, 10, 0], time=[20, 30, 50], event=[1, 1, 0], g=["a", "a", "b"]))
    t = piecewise_hazard(d, "time", "event", breaks=(0, 12, np.inf), group="g", entry="entry")
    a = t[t.group == "a"].set_index("interval")
    assert a.loc["(0,12]", "person_months"] == 12 + 2
    assert a.loc["(12,inf]", "person_months"] == 8 + 18 and a.loc["(12,inf]", "events"] == 2
    assert t[t.group == "b"]["events"].sum() == 0
    with pytest.raises(ValueError):
        piecewise_hazard(d, "time", "event", breaks=(0, 12, 12))


def test_plot_piecewise_hazard_returns_figure():
    from icistop.plots.survival import plot_piecewise_hazard
    d = pd.DataFrame(dict(time=[5, 15, 30, 40, 12, 3], event=[1, 0, 1, 1, 1, 0], g=list("ababab")))
    fig = plot_piecewise_hazard(piecewise_hazard(d, "time", "event", group="g"))
    assert fig.__class__.__name__ == "Figure"
    assert len(fig.axes[0].containers) == 2  # one errorbar per group

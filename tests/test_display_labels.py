"""One display-label mapping for tables and figures: no raw data code (``elective_response``) in any
figure text where the tables show "elective response"."""

from __future__ import annotations

import matplotlib.text
import numpy as np
import pandas as pd
import pytest

from icistop.biomarkers import plots as biomarker_plots
from icistop.report import figures as report_figures
from icistop.plots import survival as survplots
from icistop.labels import label
from icistop.report.format import label as report_label

CODES = ["elective_response", "planned_completion", "patient_choice"]


def texts(fig) -> list[str]:
    out = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is not None:
            out += [t.get_text() for t in leg.get_texts()]
    return [t for t in out if t]


def assert_no_codes(fig):
    found = [t for t in texts(fig) if any(c in t for c in CODES + ["met_lung"])]
    assert found == [], found
    joined = " ".join(texts(fig))
    return joined


def data(n=90, seed=2):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"time": rng.exponential(20, n), "event": (rng.random(n) < .6).astype(int),
                         "cause": rng.integers(0, 3, n), "stop_reason": np.array(CODES)[rng.integers(0, 3, n)]})


def test_the_report_and_the_figures_share_one_mapping():
    assert report_label is label
    assert label("elective_response") == "elective response" and label("met_lung") == "lung metastases"


def test_survival_figures_show_words():
    d = data()
    text = assert_no_codes(survplots.plot_km(d, "time", "event", group="stop_reason"))
    assert "elective response" in text
    assert "planned completion" in assert_no_codes(survplots.plot_cif(d, "time", "cause", group="stop_reason",
                                                                       causes=[1, 2]))


def test_report_figures_show_words():
    from icistop.stats.km import km_table, kmunicate_table

    d = data()
    curves = km_table(d, "time", "event", group="stop_reason")
    risk = kmunicate_table(curves, [0, 12, 24])
    fig = report_figures.curve_figure(curves, risk, group="group")
    assert "patient choice" in assert_no_codes(fig)
    forest = pd.DataFrame({"label": ["stop_reason: elective_response", "met_lung"], "hr": [1.2, .8],
                           "lower": [.6, .4], "upper": [2.4, 1.6]})
    assert_no_codes(report_figures.forest_figure(forest))


@pytest.fixture
def captured(monkeypatch):
    figs = []
    monkeypatch.setattr(biomarker_plots, "save_figure", lambda fig, *a, **k: figs.append(fig) or [])
    return figs


def test_biomarker_figures_show_words(captured):
    d = data().rename(columns={"stop_reason": "stop_reason"})
    d["met_lung"] = np.where(np.arange(len(d)) % 2, "yes", "no")
    levels = pd.DataFrame({"marker": ["stop_reason"] * 3, "level": CODES, "is_reference": [True, False, False],
                           "status": "ok", "q_marker": 0.5, "events_level": 5, "n_level": 30,
                           "hr": [np.nan, 1.3, 0.7], "hr_ci_low": [np.nan, .6, .3], "hr_ci_high": [np.nan, 2.8, 1.6]})
    biomarker_plots.forest_plot(levels, "unused")
    biomarker_plots.km_panels(d, ["stop_reason", "met_lung"], "unused")
    for fig in captured:
        assert_no_codes(fig)
    assert any("elective response" in " ".join(texts(f)) for f in captured)
    assert any("lung metastases" in " ".join(texts(f)) for f in captured)

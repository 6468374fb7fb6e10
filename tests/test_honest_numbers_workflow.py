"""Every number the report prints is in range and honest about its uncertainty, on full runs (slow):
the embedded example, an export where no patient has a stop date, and one without tumour assessments."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from browser.report_run import example_run, run
from findings_check import conclusion_errors
from icistop.stats.intervals import CI_METHOD_LABELS, CI_METHODS
from results_check import results_errors

pytestmark = pytest.mark.slow
_VARIANTS: dict[str, Path] = {}


def data_variant(tmp_path_factory, name: str, edit) -> Path:
    """A copy of the example run whose input tables are changed by ``edit(data_dir)`` and re-run."""
    if name not in _VARIANTS:
        base = example_run(tmp_path_factory)
        work = tmp_path_factory.mktemp(f"honest_{name}")
        shutil.copytree(base, work, dirs_exist_ok=True, symlinks=True)
        shutil.rmtree(work / ".snakemake/locks", ignore_errors=True)
        edit(work / "resources/example")
        run(work)
        _VARIANTS[name] = work
    return _VARIANTS[name]


def no_stop_dates(data: Path) -> None:
    t = pd.read_csv(data / "treatments.csv", dtype=str, keep_default_na=False)
    t = t[t["course"] == "1"].copy()
    t["stop_date"], t["stop_reason"] = "", ""
    t.to_csv(data / "treatments.csv", index=False)


def no_assessments(data: Path) -> None:
    a = pd.read_csv(data / "assessments.csv", dtype=str)
    a.iloc[0:0].to_csv(data / "assessments.csv", index=False)


def text_of(work: Path) -> str:
    html = (work / "results/report/report.html").read_text(encoding="utf-8")
    html = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def findings(work: Path) -> str:
    t = text_of(work)
    return t.split("Key findings", 1)[1].split("What changed since", 1)[0]


def comparison(work: Path, outcome: str) -> pd.DataFrame:
    return pd.read_csv(work / f"results/continuation/{outcome}/comparison.tsv", sep="\t")


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    return example_run(tmp_path_factory)


def test_no_result_table_breaks_a_range_rule(example):
    assert results_errors(example / "results") == []


def test_no_percentage_above_100_in_the_report(example):
    values = [float(x) for x in re.findall(r"(\d+(?:\.\d+)?)%", text_of(example))]
    assert values and max(values) <= 100.0


def test_key_findings_follow_their_intervals(example):
    sentences = re.split(r"(?<=\.) (?=[A-Z0-9])", findings(example))
    assert [e for s in sentences for e in conclusion_errors(s)] == []


def test_unstable_os_estimates_are_not_printed(example):
    os_ = comparison(example, "os").set_index("estimand")
    hr = os_.loc["HR continue vs stop"]
    assert not hr["estimable"] and hr["reason"].startswith("5 events in arm A (stop), 11 in arm B (continue)")
    page = text_of(example)
    assert "not estimable (5 events in arm A (stop), 11 in arm B (continue); fewer than 10 in a group)" in page
    assert not (comparison(example, "os")["estimand"].str.contains("PFS")).any()


def test_methods_name_the_interval_the_tables_used(example):
    est = pd.read_csv(example / "results/continuation/pfs/ccw_estimates.tsv", sep="\t")
    (label,) = set(est["ci_method"])
    method = {v: k for k, v in CI_METHOD_LABELS.items()}[label]
    methods = text_of(example).split("Methods", 2)[-1]
    assert CI_METHODS[method] in methods
    assert "bootstrap percentile intervals from" not in methods


def test_no_stop_dates_gives_no_continuation_estimate(tmp_path_factory):
    work = data_variant(tmp_path_factory, "no_stop", no_stop_dates)
    assert results_errors(work / "results") == []
    for outcome in ("pfs", "os"):
        comp = comparison(work, outcome)
        ccw_tv = comp[comp["method"].isin(["CCW", "time-varying Cox"])]
        assert not ccw_tv["estimable"].any() and ccw_tv["estimate"].isna().all()
        assert ccw_tv["reason"].str.contains("positivity").all()
    text = findings(work)
    assert "1.00 (95% CI 1.00" not in text and "no clear difference" not in text
    assert "was not estimable (no eligible patient stopped ICI within the grace period" in text


def test_no_assessments_gives_no_pfs_continuation_estimate(tmp_path_factory):
    work = data_variant(tmp_path_factory, "no_assessments", no_assessments)
    assert results_errors(work / "results") == []
    pfs = comparison(work, "pfs")
    assert not pfs["estimable"].any() and pfs["estimate"].isna().all()
    assert pfs["reason"].str.contains("no tumour assessments").all()
    os_ = comparison(work, "os")
    assert os_["estimate"].notna().any()  # OS is still analysed; the two tables differ
    assert "PFS was not analysed in this stage: no tumour assessments" in text_of(work)

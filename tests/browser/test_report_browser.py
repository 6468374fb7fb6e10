"""The report in a real browser (slow): headless Chromium opens results/report/report.html of the example
run, must make no network request and log no error, renders a screenshot and a PDF, and shows the
numbers of the result tables.

Needs the `chromium` package (Debian: apt-get install chromium). Without it the test is skipped with
the reason, except in CI (env CI=true), where a missing browser is a failure.
"""

import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from browser.cdp import errors, external_requests, find_chromium, inspect_page
from browser.report_run import example_run, stage_included
from icistop.report.format import estimate_ci, pvalue
from icistop.data.tableio import read_json

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium():
    path = find_chromium()
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is required in CI (apt-get install chromium) but was not found")
        pytest.skip("chromium not installed (apt-get install chromium): browser check skipped")
    return path


@pytest.fixture(scope="module")
def page(chromium, tmp_path_factory):
    work = example_run(tmp_path_factory)
    result = inspect_page(work / "results/report/report.html", executable=chromium)
    out = tmp_path_factory.mktemp("browser")
    (out / "report.png").write_bytes(result["screenshot"])
    (out / "report.pdf").write_bytes(result["pdf"])
    result["work"] = work
    result["out"] = out
    result["values"] = {k: (v, text) for k, v, text in result["page"]["keys"]}
    return result


def test_no_network_and_no_errors(page):
    assert external_requests(page) == []
    assert all(u.startswith("data:") or u.startswith("file:") for u in page["requests"])
    assert errors(page) == []
    assert page["page"]["scripts"] == 0


def test_screenshot_and_pdf(page):
    png = (page["out"] / "report.png").read_bytes()
    pdf = (page["out"] / "report.pdf").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    assert pdf[:5] == b"%PDF-" and len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 5
    images = page["page"]["images"]
    assert images and all(done and width > 0 for done, width, _ in images)  # every figure decoded


def test_sections_visible(page):
    ids = [sid for sid, _ in page["page"]["sections"]]
    assert ids[:4] == ["findings", "data", "cohort", "table1"] and ids[-2:] == ["methods", "provenance"]


def _value(page, key):
    assert key in page["values"], f"{key} not on the page"
    raw, text = page["values"][key]
    return (float(raw) if raw not in ("", None) else None), text


def test_numbers_equal_the_result_tables(page):
    work: Path = page["work"]
    summary = read_json(work / "results/validation/summary.json")
    for table, info in summary["tables"].items():
        value, text = _value(page, f"rows_{table}")
        assert value == info["rows"] and text == str(info["rows"])
    attrition = pd.read_csv(work / "results/cohort/attrition.tsv", sep="\t")
    for r in attrition.itertuples():
        value, text = _value(page, f"attrition_{r.step}_remaining")
        assert value == r.n_remaining and text == str(r.n_remaining)
    endpoints = pd.read_parquet(work / "results/endpoints/endpoints.parquet")
    value, _ = _value(page, "table1_n_Total")
    assert value == endpoints["in_stop_cohort"].sum()
    checked = 0
    if stage_included(work, "survival"):
        lm = pd.read_csv(work / "results/survival/km_landmarks.tsv", sep="\t")
        for r in lm[lm["grouping"] == "overall"].itertuples():
            value, text = _value(page, f"surv_{r.endpoint}_{r.grouping}_{r.group}_{r.time:g}")
            if pd.isna(r.surv):
                assert value is None and "not estimable" in text
            else:
                assert value == pytest.approx(r.surv, rel=1e-9)
                assert text == estimate_ci(r.surv, r.lower, r.upper, "pct")
                assert text in page["page"]["text"]
            value, _ = _value(page, f"risk_{r.endpoint}_{r.grouping}_{r.group}_{r.time:g}")
            assert value == r.n_risk
            checked += 1
    if stage_included(work, "continuation"):
        comp = pd.read_csv(work / "results/continuation/pfs/comparison.tsv", sep="\t")
        r = comp[(comp["method"] == "CCW") & comp["estimand"].str.startswith("HR")].iloc[0]
        value, text = _value(page, "cont_pfs_ccw_hr")
        assert value == pytest.approx(r["estimate"], rel=1e-9)
        assert text == estimate_ci(r["estimate"], r["lower"], r["upper"], "ratio")
        checked += 1
    if stage_included(work, "biomarkers"):
        for population, key in (("post_stop", "bm"), ("from_start", "bm_from_start")):
            path = work / f"results/biomarkers/{population}/marker_tests.tsv"
            if not path.exists():
                continue
            tests = pd.read_csv(path, sep="\t")
            for r in tests[tests["status"] == "ok"].itertuples():
                value, text = _value(page, f"{key}_q_{r.marker}")
                assert value == pytest.approx(r.q_marker, rel=1e-9) and text == pvalue(r.q_marker)
                checked += 1
    section_files = sorted((work / "results/report/sections").glob("*.json"))
    assert section_files and all(json.loads(p.read_text())["name"] for p in section_files)
    assert checked or not any(stage_included(work, s) for s in ("survival", "continuation", "biomarkers"))

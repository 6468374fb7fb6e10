"""The HTML report of a full run on the embedded example (slow): sections, privacy, files, config changes,
`snakemake --report`."""

import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from browser.report_run import example_run, stage_included, variant_run
from workflow_copy import snakemake

pytestmark = pytest.mark.slow

STAGES = ("survival", "continuation", "biomarkers")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return example_run(tmp_path_factory)


def html_of(work: Path) -> str:
    return (work / "results/report/report.html").read_text(encoding="utf-8")


def section(html: str, sid: str) -> str:
    return html.split(f'<h2 id="{sid}">', 1)[1].split("</section>", 1)[0]


def test_every_section_present(run_dir):
    html = html_of(run_dir)
    for sid in ("findings", "data", "cohort", "table1", "survival", "continuation", "biomarkers", "swimmer",
                "methods", "provenance"):
        assert f'<h2 id="{sid}">' in html, sid
    for stage in STAGES:
        part = section(html, stage)
        assert ("Not run." in part) == (not stage_included(run_dir, stage)), stage
    assert "<script" not in html.lower()
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_default_report_has_no_patient_id_or_date_of_the_input(run_dir):
    html = html_of(run_dir)
    data = run_dir / "resources/example"
    ids = pd.read_csv(data / "patients.csv", dtype=str)["patient_id"].dropna().unique()
    text = re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+", "", html)
    found_ids = [i for i in ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text)]
    assert found_ids == []
    dates = set()
    for path in data.glob("*.csv"):
        dates.update(ISO_DATE.findall(path.read_text()))
    allowed = {re.search(r"run (\d{4}-\d{2}-\d{2})", html).group(1)}  # the run date
    config = yaml.safe_load((run_dir / "config/config.yaml").read_text())
    if config.get("data_cutoff"):
        allowed.add(str(config["data_cutoff"]))  # a configured cut-off is a setting, shown on purpose
    assert sorted(d for d in dates if d in text and d not in allowed) == []


def test_figures_and_tables_written(run_dir):
    html = html_of(run_dir)
    figures = re.findall(r'<figure id="figure-([\w-]+)"', html)
    assert "consort" in figures and "swimmer" in figures
    for name in figures:
        for ext in ("png", "svg"):
            assert (run_dir / f"results/figures/{name}.{ext}").stat().st_size > 1000, (name, ext)
    tables = re.findall(r'<table id="table-([\w-]+)"', html)
    for name in tables:
        if name in ("provenance", "inputs", "software"):
            continue
        assert (run_dir / f"results/tables/{name}.tsv").exists(), name
    table1 = pd.read_csv(run_dir / "results/tables/table1.tsv", sep="\t", dtype=str)
    endpoints = pd.read_parquet(run_dir / "results/endpoints/endpoints.parquet")
    assert table1.loc[0, "Total"] == str(int(endpoints["in_stop_cohort"].sum()))


def test_changed_landmarks_change_text_and_numbers(run_dir, tmp_path_factory):
    config = yaml.safe_load((run_dir / "config/config.yaml").read_text())
    overrides = {}
    if "survival" in config:
        overrides["survival"] = {"landmarks": [6, 18]}
    if "continuation" in config and stage_included(run_dir, "continuation"):
        overrides["continuation"] = {"protocol": {"landmark": 9.0, "grace_end": 12.0}}
    if not overrides:
        pytest.skip("no survival or continuation stage configured")
    work = variant_run(tmp_path_factory, "landmarks", overrides)
    html = html_of(work)
    methods = section(html, "methods")
    if "survival" in overrides:
        assert "reported at 6 and 18 months" in methods
        lm = pd.read_csv(work / "results/survival/km_landmarks.tsv", sep="\t")
        row = lm[(lm["endpoint"] == "pfs_after_stop") & (lm["grouping"] == "overall") & (lm["time"] == 6)].iloc[0]
        m = re.search(r'data-key="surv_pfs_after_stop_overall_all_6" data-value="([^"]+)"', html)
        assert m and float(m.group(1)) == pytest.approx(row["surv"], rel=1e-9)
        assert "at 6 months" in section(html, "findings") and "at 12 months" not in section(html, "findings")
    if "continuation" in overrides:
        assert "time zero 9 months after ICI start" in methods
        assert "9 months after ICI start" in section(html, "continuation")
        comp = pd.read_csv(work / "results/continuation/pfs/comparison.tsv", sep="\t")
        hr = comp[comp["method"] == "CCW"]["estimate"].iloc[0]
        m = re.search(r'data-key="cont_pfs_ccw_hr" data-value="([^"]+)"', html)
        assert m and float(m.group(1)) == pytest.approx(hr, rel=1e-9)
    assert html != html_of(run_dir)


def test_small_cell_suppression_in_a_run(run_dir, tmp_path_factory):
    work = variant_run(tmp_path_factory, "k10", {"report": {"small_cell_k": 10}})
    table1 = pd.read_csv(work / "results/tables/table1.tsv", sep="\t", dtype=str, keep_default_na=False)
    cells = table1.iloc[:, 2:].to_numpy().ravel()
    assert any(c.startswith("<10") for c in cells)
    assert not any(re.fullmatch(r"[1-9]( \(.*\))?", c) for c in cells)
    assert "counts between 1 and 9 are shown as" in html_of(work)


def test_snakemake_report_zip(run_dir):
    snakemake(run_dir, "--report", "snakemake_report.zip", timeout=900)
    with zipfile.ZipFile(run_dir / "snakemake_report.zip") as archive:
        names = archive.namelist()
        assert any(n.endswith("report.html") for n in names)
        assert any("consort.png" in n for n in names)
        assert any("table1.tsv" in n for n in names)

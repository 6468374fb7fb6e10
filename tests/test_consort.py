"""CONSORT flow: reasons for exclusion per step (icistop.cohort.cohort_flow) and their display in the report."""

import html
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

import minicohort
from icistop.cohort.cohorts import REASON_COLUMNS, cohort_flow, define_cohorts, resolve_cutoff
from icistop.report.render import build_context, render
from icistop.report.consort import consort_figure, excluded_text, step_reasons
from icistop.report.context import json_safe
from icistop.report.core import cohort_section
from icistop.plots.common import save_figure
from icistop.report.provenance import provenance
from icistop.report.wiring import ReportWiring
from icistop.data.tableio import write_tsv
from icistop.data.validation import validate_directory

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "workflow/report/templates/report.html.j2"
CUTOFF = pd.Timestamp("2022-06-01")
CRITERIA = {"require_msi_h_or_dmmr": True, "sites": ["A", "B"], "min_age": 50, "lines": [1, 2],
            "stop_cohort": {"exclude_stop_reasons": ["progression", "death", "toxicity"],
                            "exclude_pd_before_stop": True}}

# patient: (patient overrides, course-1 overrides or None for no course); the reason it is excluded for
HAND_MADE = {
    "N1": ({}, None),                                                    # no ICI course
    "N2": ({"last_contact_date": "2022-12-01"}, {"start_date": "2022-07-01", "stop_date": "", "stop_reason": ""}),
    "M1": ({"msi_status": "MSS", "mmr_status": "pMMR", "site": "C", "age_at_ici_start": 40}, {}),  # MSS: counted once
    "M2": ({"msi_status": "MSS", "mmr_status": "unknown"}, {}),           # MSS (MMR unknown)
    "M3": ({"msi_status": "unknown", "mmr_status": "unknown"}, {}),       # status unknown
    "S1": ({"site": "C"}, {}),                                           # another centre
    "S2": ({"site": ""}, {}),                                            # centre not recorded
    "A1": ({"age_at_ici_start": 40}, {}),                                # younger than 50
    "A2": ({"age_at_ici_start": ""}, {}),                                # age unknown
    "L1": ({}, {"line": 3}),                                             # another line
    "L2": ({}, {"line": ""}),                                            # line unknown
    "O1": ({}, {"stop_date": "", "stop_reason": ""}),                    # still on ICI
    "O2": ({}, {"stop_date": "", "stop_reason": ""}),                    # still on ICI
    "O3": ({"last_contact_date": "2022-12-01"}, {"stop_date": "2022-08-01"}),  # stops after the cut-off
    "R1": ({}, {"stop_reason": "progression"}),
    "R2": ({"death_date": "2021-01-01", "last_contact_date": "2021-01-01"}, {"stop_reason": "death"}),
    "R3": ({}, {"stop_reason": "toxicity"}),
    "R4": ({}, {"stop_reason": "toxicity"}),
    "P1": ({}, {}),                                                      # PD before the (elective) stop
    "K1": ({}, {}),                                                      # stop cohort
    "K2": ({}, {}),                                                      # stop cohort
}
STARTED = "Started a first ICI course on or before the data cut-off"
EXPECTED = [  # (step, criterion, order, reason, n_excluded)
    (2, STARTED, 1, "no ICI course in the treatments table", 1),
    (2, STARTED, 2, "first ICI course started after the data cut-off", 1),
    (2, STARTED, 3, "no course numbered 1 in the treatments table", 0),
    (3, "MSI-H or dMMR", 1, "not MSI-H/dMMR (MSS or pMMR)", 2),
    (3, "MSI-H or dMMR", 2, "MSI/MMR status unknown", 1),
    (4, "Site in A, B", 1, "centre not recorded", 1),
    (4, "Site in A, B", 2, "treated at another centre", 1),
    (5, "Age at ICI start >= 50", 1, "younger than 50 years at ICI start", 1),
    (5, "Age at ICI start >= 50", 2, "age at ICI start unknown", 1),
    (6, "First ICI course in line 1, 2", 1, "first ICI course in another line of therapy", 1),
    (6, "First ICI course in line 1, 2", 2, "line of the first ICI course unknown", 1),
    (7, "Stopped the first ICI course before the data cut-off", 1, "still on ICI at the data cut-off", 3),
    (8, "Stop reason not progression / death / toxicity", 1, "stopped for progression", 1),
    (8, "Stop reason not progression / death / toxicity", 2, "stopped because of death", 1),
    (8, "Stop reason not progression / death / toxicity", 3, "stopped for toxicity", 2),
    (9, "No progression (PD) on or before the stop date", 1,
     "progression (PD) assessment on or before the stop date", 1),
]


def hand_made_tables(directory) -> dict:
    """The cohort above, written as CSV and read back through validation (so it obeys the contract)."""
    directory.mkdir(parents=True, exist_ok=True)
    patients, courses, assessments = [], [], []
    for pid, (pat, course) in HAND_MADE.items():
        patients.append({**minicohort.BASE, "patient_id": pid, "last_contact_date": "2022-05-01", **pat})
        if course is None:
            continue
        row = dict(patient_id=pid, course=1, regimen="anti-PD-1", line=1, start_date="2020-01-01",
                   stop_date="2021-01-01", stop_reason="elective_response", best_response="")
        row.update(course)
        courses.append(row)
        assessments.append((pid, "2020-03-01", "PR"))
        if pid in ("P1", "R1"):
            assessments.append((pid, "2020-12-20", "PD"))
    minicohort.write(directory, overrides={
        "patients": pd.DataFrame(patients), "treatments": pd.DataFrame(courses),
        "assessments": pd.DataFrame(assessments, columns=["patient_id", "date", "response"]), "ctdna": None})
    tables, issues, summary = validate_directory(directory)
    assert summary["status"] == "passed", issues[issues.severity == "error"]
    return tables


def svg_text_lines(svg: Path) -> list[str]:
    """The text lines of a matplotlib SVG: comments when text is drawn as paths (svg.fonttype 'path'),
    <text> elements otherwise (another module may set svg.fonttype 'none')."""
    found = re.findall(r"<!-- (.*?) -->|<text[^>]*>(.*?)</text>", svg.read_text(), re.S)
    return [html.unescape(a or b) for a, b in found]


def assert_reasons_add_up(cohorts, attrition, reasons):
    """Per step, the reasons' counts add up to n_excluded, and each excluded patient has one reason of that step."""
    total = reasons.groupby("step")["n_excluded"].sum()
    for r in attrition.itertuples():
        if r.step == 1:
            assert r.step not in total.index
            continue
        assert total.loc[r.step] == r.n_excluded, r.criterion
    excluded = cohorts[cohorts["exclusion"].notna()]
    assert excluded["exclusion_reason"].notna().all()
    assert cohorts.loc[cohorts["exclusion"].isna(), "exclusion_reason"].isna().all()
    per_patient = excluded.groupby(["exclusion", "exclusion_reason"]).size()
    listed = reasons[reasons["n_excluded"] > 0].set_index(["criterion", "reason"])["n_excluded"]
    assert per_patient.to_dict() == listed.to_dict()
    n_first, n_last = attrition["n_remaining"].iloc[0], attrition["n_remaining"].iloc[-1]
    assert attrition["n_excluded"].sum() == len(excluded) == n_first - n_last


def test_reasons_of_a_hand_made_cohort(tmp_path):
    tables = hand_made_tables(tmp_path)
    cohorts, attrition, reasons = cohort_flow(tables, CRITERIA, CUTOFF)
    assert list(reasons.columns) == REASON_COLUMNS
    got = list(reasons[["step", "criterion", "order", "reason", "n_excluded"]].itertuples(index=False, name=None))
    assert got == EXPECTED
    assert attrition["n_remaining"].tolist() == [21, 19, 16, 14, 12, 10, 7, 3, 2]
    by_patient = cohorts.set_index("patient_id")
    assert by_patient.loc["M1", "exclusion_reason"] == "not MSI-H/dMMR (MSS or pMMR)"  # not also site / age
    assert by_patient.loc["O3", "exclusion_reason"] == "still on ICI at the data cut-off"
    assert sorted(by_patient.index[by_patient["in_stop_cohort"]]) == ["K1", "K2"]
    assert_reasons_add_up(cohorts, attrition, reasons)
    # define_cohorts: the same cohorts and attrition (backward compatible two-tuple)
    old_cohorts, old_attrition = define_cohorts(tables, CRITERIA, CUTOFF)
    pd.testing.assert_frame_equal(old_attrition, attrition)
    pd.testing.assert_frame_equal(old_cohorts, cohorts)


@pytest.mark.parametrize("criteria", [
    {"require_msi_h_or_dmmr": True, "stop_cohort": {}},
    {"require_msi_h_or_dmmr": False, "stop_cohort": {"exclude_stop_reasons": [], "exclude_pd_before_stop": False}},
    {"require_msi_h_or_dmmr": True, "min_age": 61, "sites": ["A"], "lines": [2],
     "stop_cohort": {"exclude_stop_reasons": ["elective_response", "other"]}},
])
def test_reasons_add_up_on_the_mini_cohort(tmp_path, criteria):
    minicohort.write(tmp_path)
    tables, _, _ = validate_directory(tmp_path)
    cohorts, attrition, reasons = cohort_flow(tables, criteria, resolve_cutoff(tables, None))
    assert_reasons_add_up(cohorts, attrition, reasons)


def test_reasons_add_up_on_the_example(tmp_path):
    """The embedded synthetic example with the shipped cohort criteria."""
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    tables, _, summary = validate_directory(ROOT / config["data_dir"])
    cutoff = resolve_cutoff(tables, config["data_cutoff"])
    cohorts, attrition, reasons = cohort_flow(tables, config["cohort"], cutoff)
    assert_reasons_add_up(cohorts, attrition, reasons)
    # the reasons follow from the data: MSI/MMR counts recomputed directly
    p = tables["patients"]
    msi_h = (p["msi_status"] == "MSI-H") | (p["mmr_status"] == "dMMR")
    negative = ~msi_h & ((p["msi_status"] == "MSS") | (p["mmr_status"] == "pMMR"))
    row = reasons.set_index("reason")
    assert row.loc["not MSI-H/dMMR (MSS or pMMR)", "n_excluded"] == negative.sum() > 0
    assert row.loc["MSI/MMR status unknown", "n_excluded"] == (~msi_h & ~negative).sum()


def test_step_reasons_and_box_text():
    reasons = pd.DataFrame([(3, 1, "not MSI-H/dMMR (MSS or pMMR)", 75), (3, 2, "MSI/MMR status unknown", 6),
                            (4, 1, "still on ICI at the data cut-off", 0)],
                           columns=["step", "order", "reason", "n_excluded"])
    items = step_reasons(reasons, 3)
    assert excluded_text(81, items) == ("Excluded (n = 81): not MSI-H/dMMR (MSS or pMMR) (n = 75); "
                                        "MSI/MMR status unknown (n = 6)")
    assert excluded_text(81, items, k=10) == ("Excluded (n = 81): not MSI-H/dMMR (MSS or pMMR) (n = 75); "
                                              "MSI/MMR status unknown (n = <10)")
    assert step_reasons(reasons, 4) == [] and excluded_text(0, []) == "Excluded (n = 0)"


def _files(tmp_path, k_tables):
    cohorts, attrition, reasons = k_tables
    write_tsv(attrition, tmp_path / "attrition.tsv")
    write_tsv(reasons, tmp_path / "exclusion_reasons.tsv")
    return {"attrition": tmp_path / "attrition.tsv", "exclusion_reasons": tmp_path / "exclusion_reasons.tsv"}


@pytest.mark.parametrize("k", [0, 3])
def test_report_shows_reasons(tmp_path, k):
    """The CONSORT SVG, its alt text in the HTML and the attrition table list every reason with its count."""
    tables = hand_made_tables(tmp_path / "data")
    files = _files(tmp_path, cohort_flow(tables, CRITERIA, CUTOFF))
    result = cohort_section(files, k=k)
    svg = tmp_path / result.section["figures"][0]["svg"]  # where the page embeds it from
    save_figure(result.figures["consort"], [svg.with_suffix(".png"), svg])
    svg_lines = svg_text_lines(svg)
    svg_text = " ".join(svg_lines)  # a reason wrapped over two lines reads as one
    frame = result.tables["attrition"]
    small = "<3" if k else None

    def n(count):
        return small if small and 0 < count < k else str(count)

    sections = {"cohort": json_safe(result.section)}
    ctx = build_context(sections, title="t", methods=[], show_identifiers=False, k=k, root=tmp_path,
                        provenance=provenance({}, {}, {}, "0", ROOT, False))
    page = html.unescape(render(TEMPLATE, ctx))
    for step, _, _, reason, count in EXPECTED:
        line = f"{reason} (n = {n(count)})"
        if count:
            assert line in svg_text, line
            assert line in frame.loc[frame["Step"] == str(step), "Reasons for exclusion"].iloc[0]
            assert line in page
        else:
            assert reason not in svg_text and reason not in frame["Reasons for exclusion"].str.cat(sep=" ")
    boxes = {"Excluded (n = 3):", "Excluded (n = 4):"} | ({"Excluded (n = 2):"} if not k else set())
    for box in boxes:
        assert box in svg_lines
    assert ("Excluded (n = 4): stopped for progression (n = {0}); stopped because of death (n = {0}); "
            "stopped for toxicity (n = {1})").format(n(1), n(2)) in page
    assert "counted once, under the first listed reason that applies" in page
    if k:
        assert "(n = 1)" not in svg_text and "(n = 1)" not in page


def test_report_without_reasons_file(tmp_path):
    """Results from before exclusion_reasons.tsv existed: boxes show the number excluded only."""
    minicohort.write(tmp_path)
    tables, _, _ = validate_directory(tmp_path)
    _, attrition, _ = cohort_flow(tables, {"require_msi_h_or_dmmr": True}, resolve_cutoff(tables, None))
    write_tsv(attrition, tmp_path / "attrition.tsv")
    result = cohort_section({"attrition": tmp_path / "attrition.tsv"})
    assert (result.tables["attrition"]["Reasons for exclusion"] == "").all()
    svg = tmp_path / "consort.svg"
    save_figure(result.figures["consort"], [tmp_path / "consort.png", svg])
    assert "Excluded (n = 1)" in svg_text_lines(svg)


def test_reasons_file_is_wired():
    """define_cohort writes exclusion_reasons.tsv and report_cohort reads it (via ReportWiring)."""
    path = ReportWiring.cohort_files()["exclusion_reasons"]
    assert f'reasons="{path}"' in (ROOT / "workflow/rules/cohort.smk").read_text()
    assert "**REPORT_WIRING.cohort_files()" in (ROOT / "workflow/rules/report.smk").read_text()
    assert "write_tsv(reasons, smk.output.reasons)" in (ROOT / "workflow/scripts/define_cohort.py").read_text()


def test_consort_figure_draws_every_exclusion_box():
    attrition = pd.DataFrame({"step": [1, 2, 3], "criterion": ["a", "b", "c"], "n_remaining": [10, 7, 7],
                              "n_excluded": [0, 3, 0], "cohort": ["treated"] * 3})
    reasons = pd.DataFrame({"step": [2, 2], "order": [1, 2], "reason": ["x", "y"], "n_excluded": [2, 1]})
    fig = consort_figure(attrition, reasons=reasons)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "Excluded (n = 3):\nx (n = 2)\ny (n = 1)" in texts
    assert sum(t.startswith("Excluded") for t in texts) == 1

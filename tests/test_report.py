"""The HTML report: privacy helpers, formatting, Table 1, generated text, escaping and assembly (fast).

The stage sections are fed small hand-made tables with the columns the report reads (the reading
contract documented in icistop/report/survival.py, report_continuation.py, report_biomarkers.py).
"""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import minicohort
from icistop.cohort.cohorts import define_cohorts, resolve_cutoff
from icistop.cohort.endpoints import derive_endpoints
from icistop.report.privacy import count_pct, find_leaks, mask_message, site_labels, suppress_count
from icistop.report.render import build_context, privacy_leaks, render
from icistop.report.biomarkers import biomarkers_section
from icistop.report.context import json_safe
from icistop.report.continuation import continuation_section
from icistop.report.core import cohort_section, data_section, swimmer_section, table1_section
from icistop.plots.common import save_figure
from icistop.report.findings import biomarker_sentences, continuation_sentences, survival_sentences
from icistop.report.format import estimate_ci, p_equals, pvalue
from icistop.report.methods import methods_sections
from icistop.report.provenance import provenance
from icistop.report.survival import survival_section
from icistop.report.table1 import table1
from icistop.data.tableio import write_json, write_tsv
from icistop.data.validation import validate_directory

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "workflow/report/templates/report.html.j2"
CRITERIA = {"require_msi_h_or_dmmr": True, "stop_cohort": {"exclude_stop_reasons": ["progression", "death"],
                                                            "exclude_pd_before_stop": True}}
HOSTILE_SITE = "<script>alert(1)</script>"
HOSTILE_ATTR = '"><img src=x onerror=alert(1)>'


# ------------------------------------------------------------------------------------------ helpers
def foundation(tmp_path, sites=None, warnings=(), criteria=CRITERIA):
    """Validated mini cohort -> summary.json, issues.tsv, attrition.tsv, cutoff.json, endpoints."""
    data = tmp_path / "data"
    data.mkdir(parents=True)
    patients = minicohort.patients()
    if sites:
        patients["site"] = patients["patient_id"].map(sites).fillna("A")
    minicohort.write(data, overrides={"patients": patients})
    tables, issues, summary = validate_directory(data)
    assert summary["status"] == "passed"
    cut = resolve_cutoff(tables, None)
    cohorts, attrition = define_cohorts(tables, criteria, cut)
    out = derive_endpoints(tables, cohorts, cut)
    res = tmp_path / "results"
    (res / "validation").mkdir(parents=True)
    (res / "cohort").mkdir()
    (res / "endpoints").mkdir()
    extra = pd.DataFrame([dict(severity="warning", table="treatments", row=3, column="stop_reason", value=v, message=m)
                          for v, m in warnings], columns=issues.columns)
    issues = pd.concat([issues, extra], ignore_index=True)
    summary["n_warnings"] = int((issues["severity"] == "warning").sum())
    write_tsv(issues, res / "validation/issues.tsv")
    write_json(summary, res / "validation/summary.json")
    write_tsv(attrition, res / "cohort/attrition.tsv")
    write_json({"data_cutoff": cut.strftime("%Y-%m-%d"), "configured": False}, res / "cohort/cutoff.json")
    out["endpoints"].to_parquet(res / "endpoints/endpoints.parquet", index=False)
    out["assessments"].to_parquet(res / "endpoints/assessments.parquet", index=False)
    return {"summary": res / "validation/summary.json", "issues": res / "validation/issues.tsv",
            "attrition": res / "cohort/attrition.tsv", "cutoff": res / "cohort/cutoff.json",
            "endpoints": res / "endpoints/endpoints.parquet", "assessments": res / "endpoints/assessments.parquet",
            "tables": tables, "raw_endpoints": out["endpoints"]}


def stage_tables(tmp_path) -> dict:
    """Minimal stage outputs with the columns the report reads."""
    d = tmp_path / "stages"
    d.mkdir()
    rows = []
    for endpoint, drop in (("pfs_after_stop", 0.1), ("os_after_stop", 0.05)):
        surv = 1.0
        for i, t in enumerate([0.0, 3.0, 8.0, 15.0, 26.0]):
            surv = surv * (1 - drop) if i else 1.0
            rows.append(dict(endpoint=endpoint, grouping="overall", group="all", time=t, n_risk=40 - 6 * i,
                             n_event=int(i > 0), n_censor=1, surv=surv, lower=surv - 0.1 if i else np.nan,
                             upper=min(surv + 0.05, 1.0) if i else np.nan, conf_type="log-log"))
    write_tsv(pd.DataFrame(rows), d / "km_curves.tsv")
    lm = []
    for endpoint in ("pfs_after_stop", "os_after_stop"):
        for t, s, n in ((12, 0.81, 16), (24, 0.729, 4), (36, np.nan, 0)):
            lm.append(dict(endpoint=endpoint, grouping="overall", group="all", time=t, n_risk=n, cum_events=3,
                           surv=s, lower=s - 0.1, upper=s + 0.05, beyond_followup=bool(np.isnan(s)), n=40))
    write_tsv(pd.DataFrame(lm), d / "km_landmarks.tsv")
    write_tsv(pd.DataFrame([dict(endpoint="pfs_after_stop", grouping="overall", group="all", time=t, n_risk=n,
                                 cum_events=e, cum_censored=c) for t, n, e, c in ((0, 40, 0, 0), (12, 16, 3, 21))]),
              d / "km_risktable.tsv")
    write_tsv(pd.DataFrame([dict(endpoint="pfs_after_stop", grouping="overall", group="all", n=40, n_censored=30,
                                 median=14.2, median_lower=10.1, median_upper=20.3, q1=6.0, q3=22.0)]),
              d / "followup.tsv")
    comp = pd.DataFrame([
        dict(method="naive ever-stopped-early vs continued", label="BIASED: immortal time", population="treated",
             time_origin="ICI start", estimand="HR continued vs stopped", estimate=2.9, lower=2.0, upper=4.1,
             ci_method="Wald"),
        dict(method="time-varying Cox", label="on/off ICI", population="treated", time_origin="ICI start",
             estimand="HR on vs off ICI (conditional)", estimate=1.05, lower=0.7, upper=1.6, ci_method="Wald"),
        dict(method="CCW", label="target-trial emulation", population="eligible", time_origin="time zero",
             estimand="HR continue vs stop", estimate=0.85, lower=0.4, upper=1.8, ci_method="bootstrap percentile"),
        dict(method="CCW", label="target-trial emulation", population="eligible", time_origin="time zero",
             estimand="PFS difference at 24 mo after time zero (continue - stop)", estimate=0.03, lower=-0.1,
             upper=0.15, ci_method="bootstrap percentile"),
    ])
    write_tsv(comp, d / "comparison.tsv")
    write_tsv(pd.DataFrame([dict(estimand=k, estimate=v, lower=v - 0.1, upper=v + 0.1, n_boot=50)
                            for k, v in (("surv_A_24", 0.7), ("surv_B_24", 0.73), ("diff_24", 0.03),
                                         ("ratio_24", 1.04), ("hr", 0.85))]), d / "ccw_estimates.tsv")
    write_tsv(pd.DataFrame([dict(arm=a, time=t, surv=s, lower=s - 0.1, upper=min(1, s + 0.1))
                            for a in ("A (stop)", "B (continue)") for t, s in ((0, 1.0), (12, 0.8), (24, 0.7))]),
              d / "ccw_km.tsv")
    write_tsv(pd.DataFrame([dict(arm=a, interval_start=i, n_clones=30, mean=1 + i / 10, sd=0.1, min=0.5, p01=0.6,
                                 median=1.0, p99=2 + i, max=3 + i, ess=25 - i)
                            for a in ("A (stop)", "B (continue)") for i in range(3)]), d / "weight_diagnostics.tsv")
    write_tsv(pd.DataFrame([dict(item="Eligibility", target_trial="on ICI at 12 months", emulation="pfs_time > 12")]),
              d / "protocol.tsv")
    cox = pd.DataFrame([
        dict(marker="braf_v600e", type="binary", level="wildtype", reference="wildtype", is_reference=True, n_level=30,
             events_level=10, hr=1.0, hr_ci_low=np.nan, hr_ci_high=np.nan, p_level=np.nan, q_marker=0.04, status="ok"),
        dict(marker="braf_v600e", type="binary", level="mutant", reference="wildtype", is_reference=False, n_level=3,
             events_level=2, hr=2.5, hr_ci_low=1.2, hr_ci_high=5.1, p_level=0.01, q_marker=0.04, status="ok"),
        dict(marker="met_lung", type="binary", level="no", reference="no", is_reference=True, n_level=25,
             events_level=8, hr=1.0, hr_ci_low=np.nan, hr_ci_high=np.nan, p_level=np.nan, q_marker=0.5, status="ok"),
        dict(marker="met_lung", type="binary", level="yes", reference="no", is_reference=False, n_level=8,
             events_level=3, hr=1.3, hr_ci_low=0.5, hr_ci_high=3.2, p_level=0.5, q_marker=0.5, status="ok"),
    ])
    write_tsv(cox, d / "cox_univariable.tsv")
    write_tsv(pd.DataFrame([dict(marker="braf_v600e", type="binary", n=33, events=12, p_marker=0.02, q_marker=0.04,
                                 fdr_method="BH", status="ok"),
                            dict(marker="met_lung", type="binary", n=33, events=11, p_marker=0.5, q_marker=0.5,
                                 fdr_method="BH", status="ok")]), d / "marker_tests.tsv")
    write_tsv(pd.DataFrame([dict(marker="braf_v600e", level=lv, is_reference=lv == "wildtype", n_level=n,
                                 recurred_level=r, odds_ratio=np.nan if lv == "wildtype" else 4.0,
                                 or_ci_low=np.nan if lv == "wildtype" else 1.1, or_ci_high=np.nan if lv == "wildtype" else 9.0,
                                 p_marker=0.03, q_marker=0.06, horizon_months=24, horizon_event="progression")
                            for lv, n, r in (("wildtype", 28, 6), ("mutant", 3, 2))]), d / "horizon_fisher.tsv")
    return {
        "survival": {"curves": d / "km_curves.tsv", "landmarks": d / "km_landmarks.tsv",
                     "risktable": d / "km_risktable.tsv", "followup": d / "followup.tsv"},
        "continuation": {"protocol": d / "protocol.tsv", "pfs_comparison": d / "comparison.tsv",
                         "pfs_estimates": d / "ccw_estimates.tsv", "pfs_km": d / "ccw_km.tsv",
                         "pfs_weights": d / "weight_diagnostics.tsv"},
        "biomarkers": {"post_stop_cox_levels": d / "cox_univariable.tsv", "post_stop_cox_markers": d / "marker_tests.tsv",
                       "post_stop_fisher": d / "horizon_fisher.tsv"},
    }


def build_report(tmp_path, show_identifiers=False, k=0, sites=None, warnings=(), stages=True, config=None):
    f = foundation(tmp_path, sites=sites, warnings=warnings)
    results = [data_section(f, show_identifiers, k), cohort_section(f, k), table1_section(f, show_identifiers, k),
               swimmer_section(f)]
    if stages:
        st = stage_tables(tmp_path)
        results += [survival_section(st["survival"], k=k), continuation_section(st["continuation"], ["pfs"], k=k),
                    biomarkers_section(st["biomarkers"], k=k)]
    sections = {}
    for res in results:
        for name, fig in res.figures.items():
            save_figure(fig, [tmp_path / f"results/figures/{name}.svg", tmp_path / f"results/figures/{name}.png"])
        sections[res.section["name"]] = json.loads(json.dumps(json_safe(res.section)))
    config = config or {"data_dir": "data", "data_cutoff": None, "cohort": CRITERIA,
                        "endpoints": {"pfs_censor_at": "last_assessment", "time_on_ici_breaks": [12, 24]},
                        "report": {"title": "Mini <report>", "show_identifiers": show_identifiers, "small_cell_k": k}}
    summary = json.loads(Path(f["summary"]).read_text())
    cutoff = json.loads(Path(f["cutoff"]).read_text())
    prov = provenance(config, summary, cutoff, "0.0.test", ROOT, show_identifiers)
    methods = methods_sections(config, cutoff, summary, {n: s["values"] for n, s in sections.items()}, list(sections))
    ctx = build_context(sections, title=config["report"]["title"], methods=methods, provenance=prov,
                        show_identifiers=show_identifiers, k=k, root=tmp_path)
    return render(TEMPLATE, ctx, small_cell_k=k), f, sections


# ------------------------------------------------------------------------------------ privacy/format
def test_small_cell_suppression():
    assert suppress_count(3, 5) == "<5"
    assert suppress_count(0, 5) == "0"
    assert suppress_count(5, 5) == "5"
    assert suppress_count(3, 0) == "3"
    assert suppress_count(12.5, 0) == "12.5"
    assert suppress_count(None, 5) == "NA"
    assert count_pct(3, 40, 5) == "<5"
    assert count_pct(30, 40, 5) == "30 (75.0%)"
    assert count_pct(10, 4, 5) == "10"  # suppressed denominator: no percentage


def test_mask_message_hides_dates_and_values():
    msg = "stop_reason 'progression' but no PD assessment up to 60 days after the stop date 2021-02-13; x"
    out = mask_message(msg, "2021-02-13")
    assert "2021-02-13" not in out and "progression" not in out and "60 days" in out
    out = mask_message("age 151.5 is above the maximum 120 for P-0042", None)
    assert "151.5" not in out
    assert mask_message("date 2020-01-01T10:00 is late", None) == "date [date] is late"


def test_site_labels_are_numbered_by_size():
    labels = site_labels(["B", "A", "A", "C", "C", "C"], show_identifiers=False)
    assert labels == {"C": "Site 1", "A": "Site 2", "B": "Site 3"}
    assert site_labels(["B", "A"], show_identifiers=True) == {"A": "A", "B": "B"}


def test_formats():
    assert estimate_ci(0.8123, 0.7, 0.9, "pct") == "81.2% (70.0%\u201390.0%)"
    assert estimate_ci(0.85, 0.4, 1.8, "ratio") == "0.85 (0.40\u20131.80)"
    assert estimate_ci(0.03, -0.1, 0.15, "pp") == "+3.0 pp (-10.0 to +15.0)"
    assert estimate_ci(-0.2, -2.65, 2.11, "num", digits=2) == "-0.20 (-2.65 to 2.11)"
    assert estimate_ci(np.nan, 1, 2, "ratio") == "NE"
    assert pvalue(0.0004) == "<0.001" and pvalue(0.0449) == "0.045"
    assert p_equals(0.0004) == "< 0.001" and p_equals(0.2) == "= 0.200"


def test_find_leaks_whole_tokens():
    text = "Patients P12 and 2021-01-05 <td>P1</td> count 12"
    assert find_leaks(text, ["P1", "P12", "P3"], ["2021-01-05", "2020-01-01"]) == ["P1", "P12", "2021-01-05"]


def test_privacy_leaks_ignores_embedded_images_and_short_numeric_ids():
    html = ('<img src="data:image/png;base64,UDEyMDIxLTAxLTA1"><h2 id="data">Data</h2><td>12</td>'
            '<h2 id="table1">T</h2><td>SYN0001</td><td>2021-01-05</td><td>2024-06-30</td>')
    leaks = privacy_leaks(html, ["12", "SYN0001", "SYN0002"], ["2021-01-05", "2024-06-30"], allowed_dates=["2024-06-30"])
    assert leaks == {"identifiers": 1, "dates": 1, "skipped_identifiers": 1, "sections": ["table1"]}


def test_privacy_leaks_finds_whole_word_identifiers_next_to_any_punctuation():
    """Identifiers are found wherever they stand as a whole word (not inside a longer [\\w-] run), also after a
    dot or inside a path, the same as a search of the page for each identifier; identifiers with other
    characters (spaces, dots) are still searched for."""
    import re

    html = ("<p>see x.SYN0003, (SYN-0004); path a/SYN0005:b; SYN00066 and SYN0007x and _SYN0008 "
            "-SYN0009 MRN 123456 A.B.77</p>")
    ids = ["SYN0003", "SYN-0004", "SYN0005", "SYN0006", "SYN0007", "SYN0008", "SYN0009", "MRN 123456", "A.B.77",
           "SYN0010"]

    from icistop.report.render import TOKEN

    tokens = set(TOKEN.findall(html)) | {p for t in TOKEN.findall(html) for p in re.split(r"[/:]", t) if p}

    def found(i):  # the definition: a page token, or a whole-word occurrence found by searching the page
        return i in tokens or re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", html) is not None

    leaks = privacy_leaks(html, ids, [])
    assert leaks["identifiers"] == sum(found(i) for i in ids) == 7  # all but SYN0006, SYN0007, SYN0010


# ------------------------------------------------------------------------------------------ Table 1
def test_table1_counts_on_minicohort(tmp_path):
    f = foundation(tmp_path)
    table, raw = table1(f["raw_endpoints"], k=0)
    # stop cohort: P1 (elective response), P8 (elective response), P2 (toxicity)
    assert list(table.columns[3:]) == ["elective response", "toxicity", "Total"]
    assert raw[("Patients", "", "Total")] == 3
    assert raw[("Patients", "", "elective response")] == 2
    assert raw[("Lung metastases", "yes", "toxicity")] == 1  # P2
    assert raw[("TMB, mut/Mb", "missing", "Total")] == 1  # P8
    row = table[(table["variable"] == "Lung metastases") & (table["level"] == "yes")].iloc[0]
    assert row["Total"] == "1 (33.3%)"
    suppressed, _ = table1(f["raw_endpoints"], k=3)
    assert suppressed.iloc[0]["Total"] == "3" and suppressed.iloc[0]["toxicity"] == "<3"


# ------------------------------------------------------------------------------------- generated text
def _ms(endpoint, t, surv, n_risk, beyond=False):
    return {f"surv_{endpoint}_{t}": dict(endpoint=endpoint, grouping="overall", group="all", time=t, surv=surv,
                                         lower=None if surv is None else surv - 0.1,
                                         upper=None if surv is None else surv + 0.05, n_risk=n_risk, n=50,
                                         beyond=beyond)}


def test_survival_sentences_follow_the_numbers():
    values = {"milestones": {**_ms("pfs_after_stop", 12, 0.8, 30), **_ms("pfs_after_stop", 24, 0.7, 6),
                             **_ms("pfs_after_stop", 36, None, 0, beyond=True)}}
    (text,) = survival_sentences(values)
    assert "Among the 50 patients" in text
    assert "80.0% (95% CI 70.0\u201385.0%) at 12 months (30 at risk)" in text
    assert "At 36 months it was not estimable" in text
    assert "Fewer than 10 patients were at risk at 24 months" in text
    (text,) = survival_sentences({"milestones": _ms("pfs_after_stop", 12, None, 0, beyond=True)})
    assert "not estimable at 12 months" in text and "%" not in text


def _cont(ccw, naive):
    return {"primary": "pfs", "by_outcome": {"pfs": {"ccw_hr": ccw, "naive_hr": naive}}}


def test_continuation_sentences_follow_the_ci():
    hr = lambda e, lo, hi: {"estimate": e, "lower": lo, "upper": hi}  # noqa: E731
    text = " ".join(continuation_sentences(_cont(hr(0.85, 0.4, 1.8), hr(2.9, 2.0, 4.1))))
    assert "0.85 (95% CI 0.40\u20131.80)" in text and "includes 1 (no clear difference)" in text
    assert "further from 1 than the emulated estimate" in text
    text = " ".join(continuation_sentences(_cont(hr(0.5, 0.3, 0.8), None)))
    assert "excludes 1, favouring continuing" in text and "naive" not in text
    text = " ".join(continuation_sentences(_cont(hr(1.6, 1.2, 2.2), None)))
    assert "favouring stopping" in text
    text = " ".join(continuation_sentences(_cont(hr(None, None, None), None)))
    assert "was not estimable" in text


def test_biomarker_sentences_follow_the_q_values():
    top = [dict(marker="braf_v600e", q=0.04, hr=2.5, lower=1.2, upper=5.1, level="mutant", reference="wildtype",
                n_levels=1, type="binary")]
    text = biomarker_sentences({"top": top, "q_threshold": 0.1, "n_markers": 5, "n_significant": 1})[0]
    assert text.startswith("1 of 5 markers were associated") and "BRAF V600E (mutant vs wildtype)" in text
    text = biomarker_sentences({"top": top, "q_threshold": 0.01, "n_markers": 5, "n_significant": 0})[0]
    assert text.startswith("None of the 5 markers") and "q = 0.040" in text


def test_methods_text_follows_the_config():
    base = {"data_cutoff": "2024-06-30", "cohort": CRITERIA, "report": {"small_cell_k": 5},
            "endpoints": {"pfs_censor_at": "last_contact", "time_on_ici_breaks": [6, 18]},
            "survival": {"landmarks": [12, 24, 36], "conf_level": 0.9, "new_option": "xyz"}}
    text = json.dumps(methods_sections(base))
    assert "reported at 12, 24 and 36 months" in text and "90% pointwise" in text
    assert "censored at the last contact" in text and "grouped at 6 and 18 months" in text
    assert "set to 2024-06-30" in text and "shown as \\\"<5\\\"" in text
    assert "Other settings: new_option = xyz" in text  # unknown keys are never dropped silently
    changed = json.dumps(methods_sections({**base, "survival": {"landmarks": [6, 18]}}))
    assert "reported at 6 and 18 months" in changed and "12, 24 and 36" not in changed
    assert "Survival after stopping" not in json.dumps(methods_sections(base, stages=[]))


# ---------------------------------------------------------------------------------- the whole page
def test_report_renders_every_section_self_contained(tmp_path):
    html, f, sections = build_report(tmp_path)
    for sid in ("findings", "data", "cohort", "table1", "survival", "continuation", "biomarkers", "swimmer",
                "methods", "provenance"):
        assert f'<h2 id="{sid}">' in html
    assert "not run" not in html.split('id="findings"')[1].split("</section>")[0]
    assert "<script" not in html.lower()
    assert 'http-equiv="Content-Security-Policy"' in html and "default-src 'none'" in html
    srcs = re.findall(r'<img src="([^"]{0,30})', html)
    assert srcs and all(s.startswith("data:image/svg+xml;base64,") for s in srcs)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "Mini &lt;report&gt;" in html  # the title is escaped too
    # findings come from the stage tables
    assert "81.0% (95% CI 71.0\u201386.0%) at 12 months" in html
    assert "At 36 months it was not estimable" in html
    assert 'data-key="cont_pfs_ccw_hr" data-value="0.85"' in html


def test_stage_sections_absent_render_not_run(tmp_path):
    html, _, _ = build_report(tmp_path, stages=False)
    for sid in ("survival", "continuation", "biomarkers"):
        part = html.split(f'<h2 id="{sid}">')[1].split("</section>")[0]
        assert "Not run." in part
    assert html.count('class="badge notrun"') >= 6  # contents, headings and the three key findings


def test_hostile_strings_are_escaped(tmp_path):
    sites = {"P1": HOSTILE_SITE, "P2": HOSTILE_ATTR}
    warnings = [("x", f"message with {HOSTILE_SITE} and {HOSTILE_ATTR}")]
    html, _, _ = build_report(tmp_path, show_identifiers=True, sites=sites, warnings=warnings)
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # Table 1 site and the warning message
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    table1_part = html.split('id="table-table1"')[1].split("</table>")[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in table1_part
    warn_part = html.split('id="table-data_warnings"')[1].split("</table>")[0]
    assert "&lt;img src=x onerror=alert(1)&gt;" in warn_part
    # default: sites numbered, warning masked (still escaped)
    html, _, _ = build_report(tmp_path / "default", sites=sites, warnings=warnings)
    assert "alert(1)" not in html.split('id="table-table1"')[1].split("</table>")[0]
    assert "<script>" not in html and "<img src=x" not in html


def test_default_report_shows_no_identifier_or_date(tmp_path):
    warnings = [("2020-06-01", "stop_reason 'progression' but no PD assessment up to 60 days after the stop date "
                 "2020-06-01; the stop date is used as the progression date")]
    html, f, _ = build_report(tmp_path, warnings=warnings)
    ids = f["tables"]["patients"]["patient_id"]
    dates = set()
    for frame in f["tables"].values():
        for col in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[col]):
                dates.update(frame[col].dropna().dt.strftime("%Y-%m-%d"))
    assert dates and find_leaks(html, ids, dates) == []
    shown, _, _ = build_report(tmp_path / "shown", show_identifiers=True, warnings=warnings)
    assert "2020-06-01" in shown and "Internal use only" in shown


def test_small_cell_suppression_reaches_the_page(tmp_path):
    html, _, sections = build_report(tmp_path, k=5)
    t1 = html.split('id="table-table1"')[1].split("</table>")[0]
    assert "&lt;5" in t1 and ">3<" not in t1
    assert "counts between 1 and 4 are shown as" in html
    att = sections["cohort"]["tables"][0]["rows"]
    assert all(not re.fullmatch(r"[1-4]", c["text"] if isinstance(c, dict) else c) for row in att for c in row[2:4])


# ----------------------------------------------------------------------------------- rule wiring
class FakeRule:
    def __init__(self, name, outputs):
        self.name = name
        self.outputs = set(outputs)

    def is_producer(self, path):
        return path in self.outputs


class FakeWorkflow:
    def __init__(self, rules):
        self.rules = rules


def test_wiring_includes_a_stage_only_when_configured_and_its_rules_exist():
    from icistop.report.wiring import ReportWiring, WiringError

    cfg = {"report": {"show_identifiers": False, "small_cell_k": 3}, "biomarkers": {"populations": ["post_stop"]},
           "continuation": {"outcomes": ["os"]}}
    bio = ReportWiring(cfg).stage_files("biomarkers")
    assert bio["post_stop_fisher"] == "results/biomarkers/post_stop/horizon_fisher.tsv"
    rules = [FakeRule("biomarker_cox", [bio["post_stop_cox_levels"], bio["post_stop_cox_markers"]]),
             FakeRule("biomarker_horizon", [bio["post_stop_fisher"]])]
    wiring = ReportWiring(cfg, FakeWorkflow(rules))
    assert wiring.privacy == {"show_identifiers": False, "small_cell_k": 3}
    assert wiring.stage_enabled("biomarkers")
    assert not wiring.stage_enabled("survival")  # no config block
    assert not wiring.stage_enabled("continuation")  # configured, but no continuation_* rule
    assert "post_stop_multivariable" not in wiring.stage_inputs("biomarkers")(None)  # optional and not produced
    assert wiring.sections() == ["data", "cohort", "table1", "swimmer", "biomarkers"]
    inputs = wiring.inputs(None)
    assert inputs["section_biomarkers"] == "results/report/sections/biomarkers.json"
    assert "results/figures/biomarkers_post_stop_forest.svg" in inputs["figures"]
    both = ReportWiring({**cfg, "biomarkers": {}}, FakeWorkflow(rules))  # default: both populations
    with pytest.raises(WiringError, match="from_start/horizon_fisher.tsv"):
        both.stage_enabled("biomarkers")
    assert both.section_outputs("biomarkers")[0] == ["biomarkers_post_stop_forest", "biomarkers_from_start_forest"]
    assert ReportWiring.caption("biomarkers_from_start_forest") == "report_biomarkers_forest.rst"
    assert "section_survival" not in inputs
    assert ReportWiring({**cfg, "biomarkers": {"enabled": False}}, FakeWorkflow(rules)).sections()[-1] == "swimmer"
    broken = ReportWiring(cfg, FakeWorkflow(rules[:1]))  # horizon table missing: wiring error, not "not run"
    with pytest.raises(WiringError, match="horizon_fisher.tsv"):
        broken.stage_enabled("biomarkers")
    assert wiring.section_outputs("continuation")[0][0] == "continuation_os_estimates"
    assert ReportWiring.caption("continuation_os_ccw_km") == "report_continuation_ccw_km.rst"
    for stem in [s for sec in ("cohort", "swimmer", "survival", "continuation", "biomarkers")
                 for s in wiring.section_outputs(sec)[0]]:
        assert (ROOT / "workflow/report" / ReportWiring.caption(stem)).exists(), stem


def test_empty_stop_cohort(tmp_path):
    everything = ["planned_completion", "elective_response", "toxicity", "patient_choice", "surgery", "progression",
                  "death", "other"]
    f = foundation(tmp_path, criteria={**CRITERIA, "stop_cohort": {"exclude_stop_reasons": everything}})
    t1 = table1_section(f)
    sw = swimmer_section(f)
    co = cohort_section(f)
    assert t1.section["status"] == "empty" and sw.section["status"] == "empty"
    assert co.section["values"]["n_stop_cohort"] == 0 and "consort" in co.figures
    sections = {r.section["name"]: json_safe(r.section) for r in (t1, sw, co)}
    ctx = build_context(sections, title="t", methods=[], show_identifiers=False, k=0, root=tmp_path,
                        provenance=provenance({}, {}, {}, "0", ROOT, False))
    html = render(TEMPLATE, ctx)
    assert "The stop cohort is empty." in html


def test_swimmer_samples_large_cohorts(tmp_path):
    """Above swimmer_max_patients the plot shows a seeded random sample, renumbered, and says so."""
    f = foundation(tmp_path)
    full = swimmer_section(f)
    n = full.section["values"]["n"]
    assert n >= 3 and full.section["values"]["n_plotted"] == n
    m = n - 1
    a, b = swimmer_section(f, max_patients=m, seed=3), swimmer_section(f, max_patients=m, seed=3)
    assert a.section["values"] == {"n": n, "n_plotted": m}
    assert f"a random sample of {m} of the {n} patients, seed 3" in a.section["paragraphs"][0]
    ya = [ln.get_ydata() for ln in a.figures["swimmer"].axes[0].lines]
    yb = [ln.get_ydata() for ln in b.figures["swimmer"].axes[0].lines]
    assert all(np.array_equal(x, y) for x, y in zip(ya, yb))
    assert max(float(np.nanmax(np.asarray(y, float))) for y in ya if len(y)) <= m

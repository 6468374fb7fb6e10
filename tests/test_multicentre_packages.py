"""Site packages and pooling (issue 13): the example split by its ``site`` column into one package per
site (each built from that site's patients only, as the site would), pooled, gives the same numbers as the
patient-level analysis of the whole example with times binned the same way; packages that break the
disclosure rules are not written; tampered, incompatible or duplicate packages are refused by name."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from icistop.biomarkers.horizon import horizon_outcome
from icistop.biomarkers.markers import prepare_analysis_data
from icistop.biomarkers.populations import population_config
from icistop.cohort.cohorts import define_cohorts, resolve_cutoff
from icistop.cohort.endpoints import derive_endpoints
from icistop.data.validation import validate_directory
from icistop.multicentre.aggregates import bin_times
from icistop.multicentre.package import DisclosureError, build_tables, cohort_sizes, write_package, zip_package
from icistop.multicentre.settings import pooling_settings
from icistop.multicentre.pool import (PackageError, pooled_horizon, pooled_survival, read_package,
                                      read_packages)
from icistop.stats.cox import cox_fit
from icistop.stats.fisher import fisher_test
from icistop.stats.km import km_at, km_table
from icistop.stats.logrank import logrank
from icistop.stats.mantelhaen import mantelhaen
from icistop.survival.analysis import ENDPOINTS, endpoint_data

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "config/config.yaml").read_text())
MULTI = CONFIG["multicentre"]
SETTINGS = pooling_settings(CONFIG)
WIDTH = float(MULTI["bin_width_months"])


@pytest.fixture(scope="module")
def example():
    tables, _, _ = validate_directory(ROOT / CONFIG["data_dir"])
    cutoff = resolve_cutoff(tables, CONFIG["data_cutoff"])
    cohorts, _ = define_cohorts(tables, CONFIG["cohort"], cutoff)
    out = derive_endpoints(tables, cohorts, cutoff, **CONFIG["endpoints"])
    ep = out["endpoints"]
    analysis, _ = prepare_analysis_data(ep, out.get("ctdna"), population_config(CONFIG["biomarkers"], "post_stop"))
    return ep, analysis


def make_package(ep, analysis, site, out_dir, multi=MULTI, continuation=None):
    tables, actions = build_tables(ep, analysis, continuation or {}, {**multi, "site": site}, SETTINGS)
    folder = Path(out_dir) / site
    write_package(folder, tables, actions, {**multi, "site": site}, SETTINGS, cohort_sizes(ep))
    zip_package(folder, Path(out_dir) / f"{site}.zip")
    return Path(out_dir) / f"{site}.zip"


@pytest.fixture(scope="module")
def pooled(example, tmp_path_factory):
    """Packages of every site with min_cell = 1 (nothing merged: the pooled data are the whole data)."""
    ep, analysis = example
    out = tmp_path_factory.mktemp("packages")
    multi = {**MULTI, "disclosure": {**MULTI["disclosure"], "min_cell": 1}}
    paths = []
    for site, sub in ep.groupby("site"):
        paths.append(make_package(sub, analysis[analysis["patient_id"].isin(sub["patient_id"])], site, out, multi))
    packages = read_packages(paths)
    return packages, pooled_survival(packages), pooled_horizon(packages)


def whole_binned(ep, name):
    d = endpoint_data(ep, ENDPOINTS[name])
    d["time"] = bin_times(d["time"], WIDTH)
    return d


def test_packages_hold_aggregates_only(pooled, example):
    packages, _, _ = pooled
    ep, _ = example
    ids = set(ep["patient_id"])
    for p in packages:
        for name, t in p.tables.items():
            text = t.to_csv(sep="\t")
            assert not any(i in text for i in ids), name
            assert "patient_id" not in t.columns
        assert np.allclose(p.tables["survival_counts.tsv"]["time"] % WIDTH, 0)
    assert len(packages) == ep["site"].nunique() >= 3


def test_pooled_km_and_landmarks_equal_whole(pooled, example):
    ep, _ = example
    _, res, _ = pooled
    n_checked = 0
    for name in ENDPOINTS:
        whole = whole_binned(ep, name)
        for grouping in ["all", *SETTINGS["groupings_after_stop" if name.endswith("after_stop") else "groupings_from_start"]]:
            sub = whole if grouping == "all" else whole[whole[grouping].notna() & (whole[grouping].astype(str) != "unknown")]
            ref = km_table(sub.assign(g="all" if grouping == "all" else sub[grouping].astype(str)), "time", "event", "g")
            got = res["km_curves"][(res["km_curves"]["endpoint"] == name) & (res["km_curves"]["grouping"] == grouping)]
            assert list(got["group"]) == list(ref["group"]) and len(ref) > 0, (name, grouping)
            for c in ("time", "n_risk", "n_event", "surv", "se_surv", "lower", "upper"):
                np.testing.assert_allclose(got[c].to_numpy(float), ref[c].to_numpy(float), atol=1e-12, equal_nan=True)
            lm = res["km_landmarks"][(res["km_landmarks"]["endpoint"] == name) & (res["km_landmarks"]["grouping"] == grouping)]
            ref_lm = km_at(ref, SETTINGS["landmarks"])
            np.testing.assert_allclose(lm["surv"].to_numpy(float), ref_lm["surv"].to_numpy(float), atol=1e-12, equal_nan=True)
            n_checked += 1
    assert n_checked == 4 + 2 * len(SETTINGS["groupings_after_stop"]) + 2 * len(SETTINGS["groupings_from_start"])


def test_pooled_logrank_and_cox_equal_whole(pooled, example):
    ep, _ = example
    _, res, _ = pooled
    whole = whole_binned(ep, "pfs_after_stop")
    refs = SETTINGS["reference_levels"]
    for grouping in SETTINGS["groupings_after_stop"]:
        sub = whole[whole[grouping].notna() & (whole[grouping].astype(str) != "unknown")].copy()
        sub[grouping] = sub[grouping].astype(str)
        for strata in (None, "site"):
            lr = res["logrank"].set_index(["endpoint", "grouping", "stratified_by_site"]).loc[("pfs_after_stop", grouping,
                                                                                                bool(strata))]
            ref = logrank(sub, "time", "event", grouping, strata)
            assert lr["chisq"] == pytest.approx(ref.chisq, rel=1e-10) and lr["df"] == ref.df
            ref_ref = refs.get(grouping) if refs.get(grouping) in set(sub[grouping]) else None
            cx = cox_fit(sub, "time", "event", [grouping], categorical={grouping: ref_ref}, strata=strata, robust=False)
            got = res["cox"][(res["cox"]["endpoint"] == "pfs_after_stop") & (res["cox"]["grouping"] == grouping)
                             & (res["cox"]["stratified_by_site"] == bool(strata))]
            assert list(got["level"]) == [t.split("=", 1)[1] for t in cx.table["term"]]
            finite = cx.table["coef"].abs().to_numpy() < 10  # others: a level without events, coefficient -> -inf
            assert finite.sum() >= 1
            np.testing.assert_allclose(got["coef"][finite], cx.table["coef"][finite], rtol=1e-9, atol=1e-10)
            np.testing.assert_allclose(got["se"][finite], cx.table["se"][finite], rtol=1e-9, atol=1e-10)
            assert (got["coef"][~finite].abs() > 10).all()


def test_site_interaction_equals_per_site_fits(pooled, example):
    ep, _ = example
    _, res, _ = pooled
    het = res["site_heterogeneity"].set_index(["endpoint", "grouping"])
    checked = 0
    cases = [("pfs_after_stop", g) for g in SETTINGS["groupings_after_stop"]]
    cases += [(e, g) for e in ("pfs_from_start", "os_from_start") for g in SETTINGS["groupings_from_start"]]
    for endpoint, grouping in cases:
        whole = whole_binned(ep, endpoint).dropna(subset=[grouping])
        whole = whole[whole[grouping].astype(str) != "unknown"]
        fits = [cox_fit(whole, "time", "event", [grouping], categorical={grouping: None}, strata="site", robust=False)]
        fits += [cox_fit(g, "time", "event", [grouping] if g[grouping].nunique() > 1 else [],
                         categorical={grouping: None}, robust=False) for _, g in whole.groupby("site")]
        row = het.loc[(endpoint, grouping)]
        usable = all(f.converged and not f.notes for f in fits)
        assert bool(row["estimable"]) == usable
        if usable:
            assert row["chisq"] == pytest.approx(2 * (sum(f.loglik for f in fits[1:]) - fits[0].loglik), rel=1e-9)
            checked += 1
        else:
            assert "monotone likelihood" in row["reason"]
    assert checked >= 1
    across = het.loc[("pfs_after_stop", "all")]
    assert across["chisq"] == pytest.approx(logrank(whole_binned(ep, "pfs_after_stop"), "time", "event", "site").chisq,
                                            rel=1e-10)


def test_pooled_horizon_equals_whole(pooled, example):
    ep, analysis = example
    _, _, hz = pooled
    y = horizon_outcome(analysis, SETTINGS["horizon"]["months"], SETTINGS["horizon"]["event"])
    data = analysis.assign(_y=y, site=analysis["patient_id"].map(ep.set_index("patient_id")["site"]))
    row = hz.set_index("marker").loc["ras_status"]
    ok = data["_y"].notna() & data["ras_status"].notna()
    tab = pd.crosstab(data.loc[ok, "ras_status"], data.loc[ok, "_y"])[[1.0, 0.0]]
    assert row["fisher_p"] == pytest.approx(fisher_test(tab.to_numpy()).p_value, rel=1e-10)
    strata = [pd.crosstab(g["ras_status"], g["_y"]).reindex(index=tab.index, columns=[1.0, 0.0]).fillna(0).to_numpy()
              for _, g in data[ok].groupby("site")]
    strata = [s for s in strata if s.sum() >= 2]
    assert row["mh_or"] == pytest.approx(mantelhaen(strata).odds_ratio, rel=1e-10)
    assert row["exact_p"] == pytest.approx(mantelhaen(strata, exact=True).p_value, rel=1e-10)


def test_small_levels_are_merged_or_left_out(example, tmp_path):
    ep, analysis = example
    site = ep[ep["site"] == ep["site"].value_counts().index[-1]]
    path = make_package(site, analysis[analysis["patient_id"].isin(site["patient_id"])], "small", tmp_path)
    p = read_package(path)
    sc = p.tables["survival_counts.tsv"]
    n = sc.assign(n=sc["n_event"] + sc["n_censor"]).groupby(["endpoint", "grouping", "level"])["n"].sum()
    assert (n >= MULTI["disclosure"]["min_cell"]).all()
    assert p.manifest["disclosure"]["actions"], "the smallest site must have had a small level to merge or drop"


def test_disclosure_failure_writes_nothing(example, tmp_path):
    ep, analysis = example
    tables, actions = build_tables(ep, analysis, {}, MULTI, SETTINGS)
    tables["survival_counts.tsv"] = tables["survival_counts.tsv"].assign(patient_id="x")
    with pytest.raises(DisclosureError, match="patient_id"):
        write_package(tmp_path / "bad", tables, actions, MULTI, SETTINGS, cohort_sizes(ep))
    tables, actions = build_tables(ep, analysis, {}, MULTI, SETTINGS)
    tables["survival_counts.tsv"].loc[0, "time"] = 0.37
    with pytest.raises(DisclosureError, match="bin"):
        write_package(tmp_path / "bad", tables, actions, MULTI, SETTINGS, cohort_sizes(ep))
    with pytest.raises(DisclosureError, match="min_cell"):
        write_package(tmp_path / "bad", *build_tables(ep.head(3), analysis.head(0), {}, MULTI, SETTINGS), MULTI,
                      SETTINGS, cohort_sizes(ep.head(3)))
    assert not (tmp_path / "bad").exists()


def test_refusals_name_the_package(example, tmp_path):
    ep, analysis = example
    a = ep[ep["site"] == ep["site"].unique()[0]]
    b = ep[ep["site"] == ep["site"].unique()[1]]
    pa = make_package(a, analysis, "siteA", tmp_path)
    pb = make_package(b, analysis, "siteB", tmp_path)
    # tampered: a count changed after writing (folder form)
    folder = tmp_path / "siteB"
    f = folder / "survival_counts.tsv"
    f.write_text(f.read_text().replace("\t0\t", "\t1\t", 1))
    with pytest.raises(PackageError, match=r"siteB.*checksum mismatch"):
        read_package(folder)
    # another bin width
    wide = make_package(b, analysis, "siteC", tmp_path / "w", {**MULTI, "bin_width_months": 3.0})
    with pytest.raises(PackageError, match=r"siteA.zip and .*siteC.zip.*bin width.*1.0 vs 3.0|time-bin width"):
        read_packages([pa, wide])
    # another workflow major version
    other = tmp_path / "v2"
    shutil.copytree(tmp_path / "siteA", other / "siteD")
    m = json.loads((other / "siteD" / "manifest.json").read_text())
    m["workflow_version"], m["site"] = "2.0.0", "siteD"
    (other / "siteD" / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(PackageError, match=r"workflow major version 0 vs 2"):
        read_packages([pa, other / "siteD"])
    with pytest.raises(PackageError, match="both name site"):
        read_packages([pa, pa])
    with pytest.raises(PackageError, match="not found"):
        read_package(tmp_path / "nope.zip")
    assert len(read_packages([pa, pb])) == 2


def test_pooled_report_renders_every_section(pooled, tmp_path):
    """The pooled report from the pooled tables: every section present, a landmark of the page equals the
    pooled table, the meta-analysis path with estimable site estimates, no identifier or date."""
    from icistop.multicentre.pool import continuation_meta, packages_table
    from icistop.multicentre.report import build_sections, methods
    from icistop.report.context import read_tsv
    from icistop.report.render import render

    packages, res, hz = pooled
    for p in packages:  # pretend each site had enough events: exercise the meta-analysis path
        t = p.tables["continuation_estimates.tsv"]
        p.tables["continuation_estimates.tsv"] = pd.DataFrame({
            "outcome": ["pfs", "pfs"], "estimand": ["loghr", "diff_24"], "estimate": [0.1 * len(p.site), -0.02],
            "se": [0.3, 0.05], "lower": [np.nan, np.nan], "upper": [np.nan, np.nan], "ci_method": ["x", "x"],
            "estimable": [True, True], "events_A": [12, 12], "events_B": [15, 15]}) if t is not None else t
    meta, sites = continuation_meta(packages)
    frames = {**res, "packages": packages_table(packages), "horizon": hz, "meta": meta, "sites": sites}
    t = {}
    for name, frame in frames.items():  # through TSV, as the rule reads them
        frame.to_csv(tmp_path / f"{name}.tsv", sep="\t", index=False)
        t[name] = read_tsv(tmp_path / f"{name}.tsv")
    sections = build_sections(t, SETTINGS["landmarks"])
    assert [s["name"] for s in sections] == ["packages", "survival", "heterogeneity", "horizon", "continuation"]
    assert all(s["status"] == "ok" for s in sections)
    html = render(ROOT / "workflow/report/templates/pooled_report.html.j2", {
        "title": "pooled", "order": sections, "methods": methods(t["packages"], "REML", False),
        "sites": list(t["packages"]["site"]),
        "provenance": {"version": "0", "run_date": "now", "git_commit": "x", "software": []}})
    s24 = res["km_landmarks"].query("endpoint == 'pfs_after_stop' and grouping == 'all' and time == 24").iloc[0]
    assert f"{100 * s24['surv']:.1f}% ({100 * s24['lower']:.1f}%–{100 * s24['upper']:.1f}%)" in html
    assert html.count("Forest plot,") >= 2  # one per pooled estimand
    assert int(meta.query("outcome == 'pfs' and estimand == 'loghr'")["k"].iloc[0]) == len(packages)
    from icistop.report.render import privacy_leaks
    ids = pd.read_csv(ROOT / "resources/example/patients.csv", dtype=str)
    leaks = privacy_leaks(html, ids["patient_id"], ids["last_contact_date"].dropna())
    assert leaks["identifiers"] == 0 and leaks["dates"] == 0


def test_pooled_multivariable_cox_of_shared_patterns(example, tmp_path):
    """With ``cox_patterns`` configured, the sites share counts per covariate pattern and the pooled
    multivariable Cox model equals the patient-level one (binned times, patterns with >= 1 patient)."""
    ep, analysis = example
    settings = {**SETTINGS, "cox_patterns": [["regimen", "time_on_ici_group"]]}
    multi = {**MULTI, "disclosure": {**MULTI["disclosure"], "min_cell": 1}}
    paths = []
    for site, sub in ep.groupby("site"):
        tables, actions = build_tables(sub, analysis.head(0), {}, {**multi, "site": site}, settings)
        write_package(tmp_path / site, tables, actions, {**multi, "site": site}, settings, cohort_sizes(sub))
        paths.append(tmp_path / site)
    res = pooled_survival(read_packages(paths))
    got = res["cox"][res["cox"]["grouping"] == "regimen+time_on_ici_group"]
    whole = whole_binned(ep, "pfs_after_stop")
    for col in ("regimen", "time_on_ici_group"):
        whole = whole[whole[col].notna() & (whole[col].astype(str) != "unknown")]
    refs = SETTINGS["reference_levels"]
    for strata in (None, "site"):
        cx = cox_fit(whole, "time", "event", ["regimen", "time_on_ici_group"],
                     categorical={"regimen": refs["regimen"], "time_on_ici_group": refs["time_on_ici_group"]},
                     strata=strata, robust=False)
        g = got[(got["endpoint"] == "pfs_after_stop") & (got["stratified_by_site"] == bool(strata))]
        assert list(g["term"]) == list(cx.table["term"]) and len(g) >= 3
        finite = cx.table["coef"].abs().to_numpy() < 10  # others: a level without events (coefficient -> -inf)
        assert finite.sum() >= 3
        np.testing.assert_allclose(g["coef"][finite], cx.table["coef"][finite], rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(g["se"][finite], cx.table["se"][finite], rtol=1e-9, atol=1e-10)


def test_pooled_biomarker_groupings_equal_whole(pooled, example):
    """Binary / categorical biomarkers are shared as groupings of PFS after stopping; pooled log-rank and
    KM equal the patient-level analysis of the biomarker stage's data (binned)."""
    ep, analysis = example
    _, res, _ = pooled
    data = analysis.dropna(subset=["time", "event"]).copy()
    data["time"] = bin_times(data["time"], WIDTH)
    data["site"] = data["patient_id"].map(ep.set_index("patient_id")["site"])
    checked = 0
    for marker in ("ras_status", "braf_v600e", "lynch_syndrome"):
        sub = data[data[marker].notna()].assign(g=lambda d, m=marker: d[m].astype(str))
        lr = res["logrank"].set_index(["endpoint", "grouping", "stratified_by_site"])
        for strata in (None, "site"):
            ref = logrank(sub, "time", "event", "g", strata)
            assert lr.loc[("pfs_after_stop", marker, bool(strata)), "chisq"] == pytest.approx(ref.chisq, rel=1e-10)
        km = res["km_curves"].query("endpoint == 'pfs_after_stop' and grouping == @marker")
        ref_km = km_table(sub, "time", "event", "g")
        np.testing.assert_allclose(km["surv"].to_numpy(float), ref_km["surv"].to_numpy(float), atol=1e-12)
        checked += 1
    assert checked == 3

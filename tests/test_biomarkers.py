"""Biomarker analysis (icistop.biomarkers.analysis, icistop.biomarkers.plots) on synthetic endpoints with known effects."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from icistop.biomarkers import plots as bp
from icistop.biomarkers.competing import competing_risks, top_markers
from icistop.biomarkers.continuous import cutpoint_analysis, spline_analysis
from icistop.biomarkers.cox import multivariable_cox, univariable_cox
from icistop.biomarkers.discrimination import discrimination_analysis
from icistop.biomarkers.horizon import horizon_fisher, horizon_outcome
from icistop.biomarkers.markers import derive_ctdna_at_stop, marker_specs, prepare_analysis_data
from icistop.biomarkers.rechallenge import rechallenge_analysis
from icistop.stats import discrimination as disc

ROOT = Path(__file__).resolve().parents[1]
SNIPPET = ROOT / "config" / "config.yaml"  # the biomarkers section of the default config
TRUE_HR_LUNG = 2.0
TRUE_HR_CR = 0.5


def synthetic_endpoints(n: int = 400, seed: int = 7, hr_lung: float = TRUE_HR_LUNG, hr_cr: float = TRUE_HR_CR
                        ) -> pd.DataFrame:
    """Endpoints-table columns the biomarker rules read; the hazards of progression and of death depend
    on lung metastases and CR at stop only (everything else null), so the stop-PFS hazard ratios
    conditional on both are ``hr_lung`` and ``hr_cr``; exponential times, uniform censoring."""
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"patient_id": [f"P{i:04d}" for i in range(n)]})

    def pick(values, p):
        return rng.choice(np.array(values, dtype=object), size=n, p=p)

    d["ras_status"] = pick(["mutant", "wildtype", "unknown"], [0.25, 0.65, 0.10])
    d["braf_v600e"] = pick(["mutant", "wildtype", "unknown"], [0.2, 0.7, 0.1])
    d["sidedness"] = pick(["right", "left", "unknown"], [0.6, 0.35, 0.05])
    for site, p in [("met_liver", .5), ("met_lung", .3), ("met_lymph_node", .5), ("met_peritoneum", .3),
                    ("met_bone", .05)]:
        d[site] = pick(["yes", "no"], [p, 1 - p])
    d["metastasis_timing"] = pick(["synchronous", "metachronous", "unknown"], [.5, .45, .05])
    d["regimen"] = pick(["anti-PD-1", "anti-PD-1+anti-CTLA-4", "anti-PD-L1"], [.7, .25, .05])
    d["lynch_syndrome"] = pick(["yes", "no", "unknown"], [.15, .45, .4])
    d["best_response"] = pick(["CR", "PR", "SD", "NE"], [.35, .45, .15, .05])
    d["response_at_stop"] = np.where(d["best_response"] == "CR", "CR", pick(["PR", "SD"], [.7, .3]))
    d["time_on_ici"] = rng.uniform(3, 36, n)
    d["tmb"] = np.where(rng.uniform(size=n) < 0.2, np.nan, rng.lognormal(3.5, 0.6, n))
    d["stop_reason"] = pick(["elective_response", "planned_completion", "toxicity", "patient_choice"],
                            [.3, .3, .3, .1])
    d["stopped"] = True
    d["in_stop_cohort"] = np.r_[np.ones(n - 10, bool), np.zeros(10, bool)]
    lp = np.log(hr_lung) * (d["met_lung"] == "yes") + np.log(hr_cr) * (d["response_at_stop"] == "CR")
    tp = rng.exponential(1 / (0.03 * np.exp(lp)))
    td = rng.exponential(1 / (0.005 * np.exp(lp)))  # same HRs for death: stop PFS has exactly these HRs
    tc = rng.uniform(12, 60, n)
    t = np.minimum.reduce([tp, td, tc])
    cause = np.select([t == tp, t == td], [1, 2], 0)
    d["stop_pfs_time"] = t
    d["stop_pfs_event"] = (cause > 0).astype(int)
    d["stop_pfs_cause"] = cause
    d.loc[~d["in_stop_cohort"], ["stop_pfs_time", "stop_pfs_event", "stop_pfs_cause"]] = np.nan
    d["has_rechallenge"] = (cause == 1) & (rng.uniform(size=n) < 0.6)
    d["rechallenge_best_response"] = np.where(d["has_rechallenge"], pick(["CR", "PR", "SD", "PD"], [.2, .3, .3, .2]),
                                              None)
    d["rechallenge_pfs_time"] = np.where(d["has_rechallenge"], rng.exponential(15, n), np.nan)
    d["rechallenge_pfs_event"] = np.where(d["has_rechallenge"], (rng.uniform(size=n) < .7).astype(float), np.nan)
    # from the ICI start (every patient): PFS with the lung-metastasis HR only, OS from it
    lp0 = np.log(hr_lung) * (d["met_lung"] == "yes")
    tp0, td0, tc0 = rng.exponential(1 / (0.02 * np.exp(lp0))), rng.exponential(1 / (0.004 * np.exp(lp0))), rng.uniform(24, 72, n)
    t0 = np.minimum.reduce([tp0, td0, tc0])
    cause0 = np.select([t0 == tp0, t0 == td0], [1, 2], 0)
    d["pfs_time"], d["pfs_event"], d["pfs_cause"] = t0, (cause0 > 0).astype(int), cause0
    d["os_time"], d["os_event"] = np.minimum(td0, tc0), (td0 <= tc0).astype(int)
    return d


def synthetic_ctdna(endpoints: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for i, r in endpoints.head(120).iterrows():
        rows.append((r.patient_id, r.time_on_ici - 2.0, "detected"))
        rows.append((r.patient_id, r.time_on_ici, "not_detected" if i % 2 else "detected"))
        rows.append((r.patient_id, r.time_on_ici + 1.0, "detected"))  # after the stop: ignored
    return pd.DataFrame(rows, columns=["patient_id", "time", "result"])


@pytest.fixture(scope="module")
def cfg():
    c = yaml.safe_load(SNIPPET.read_text())["biomarkers"]
    c["discrimination"]["n_boot"] = 25
    return c


@pytest.fixture(scope="module")
def endpoints():
    return synthetic_endpoints()


@pytest.fixture(scope="module")
def prepared(endpoints, cfg):
    return prepare_analysis_data(endpoints, synthetic_ctdna(endpoints), cfg)


@pytest.fixture(scope="module")
def univariable(prepared, cfg):
    return univariable_cox(prepared[0], cfg)


def test_config_snippet_defaults(cfg):
    names = [m["name"] for m in cfg["markers"]]
    for required in ["ras_status", "braf_v600e", "sidedness", "met_liver", "met_lung", "met_lymph_node",
                     "met_peritoneum", "met_bone", "metastasis_timing", "regimen", "lynch_syndrome", "best_response",
                     "response_at_stop", "time_on_ici", "tmb", "ctdna_at_stop", "stop_reason"]:
        assert required in names
    tmb = next(m for m in cfg["markers"] if m["name"] == "tmb")
    assert tmb["type"] == "continuous" and tmb["transform"] == "log2p1"
    specs = marker_specs(cfg)
    assert len(specs) == len(names)


def test_schema_snippet_validates_config(cfg):
    jsonschema = pytest.importorskip("jsonschema")
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())["properties"]["biomarkers"]
    jsonschema.validate(yaml.safe_load(SNIPPET.read_text())["biomarkers"], schema)
    bad = dict(cfg, markers=[{"name": "x", "type": "ordinal"}])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_prepare_counts_unknown_and_cohort(prepared, endpoints):
    data, inv = prepared
    assert len(data) == int(endpoints["in_stop_cohort"].sum())
    ras = inv[inv["marker"] == "ras_status"]
    cohort = endpoints[endpoints["in_stop_cohort"]]
    assert ras["n_unknown"].iloc[0] == int((cohort["ras_status"] == "unknown").sum())
    assert set(ras["level"]) == {"wildtype", "mutant"}
    assert bool(ras.loc[ras["level"] == "wildtype", "is_reference"].iloc[0])
    best = inv[inv["marker"] == "best_response"]
    assert "NE" not in set(best["level"])  # marker-specific unknown value
    rstop = inv[inv["marker"] == "response_at_stop"]
    assert set(rstop["level"]) == {"CR", "PR", "SD"}
    assert rstop.loc[rstop["is_reference"].astype(bool), "level"].tolist() == ["PR"]
    assert data["tmb"].isna().sum() == inv.loc[inv["marker"] == "tmb", "n_unknown"].iloc[0]


def test_recode(endpoints, cfg):
    c = dict(cfg, markers=[{"name": "cr_at_stop", "column": "response_at_stop", "type": "binary",
                            "reference": "non-CR", "recode": {"PR": "non-CR", "SD": "non-CR"}}])
    data, inv = prepare_analysis_data(endpoints, None, c)
    assert set(inv["level"]) == {"CR", "non-CR"}
    assert (data["cr_at_stop"] == "CR").sum() == ((endpoints["response_at_stop"] == "CR")
                                                  & endpoints["in_stop_cohort"]).sum()


def test_ctdna_at_stop_last_result_on_or_before_stop(endpoints):
    ct = synthetic_ctdna(endpoints)
    got = derive_ctdna_at_stop(endpoints, ct)
    assert got.iloc[0] == "detected" and got.iloc[1] == "not_detected"
    assert got.iloc[200:].isna().all()
    # a look-back window shorter than the distance to the only earlier result keeps the result at the stop
    got_lb = derive_ctdna_at_stop(endpoints, ct[ct["time"] != endpoints.set_index("patient_id").loc[
        ct["patient_id"], "time_on_ici"].to_numpy()], lookback_months=1.0)
    assert got_lb.iloc[:120].isna().all()
    assert derive_ctdna_at_stop(endpoints, None).isna().all()


def test_horizon_outcome_rule():
    d = pd.DataFrame({"time": [5, 30, 10, 24, 20, 30], "event": [1, 1, 0, 0, 1, 0], "cause": [1, 1, 0, 0, 2, 0]})
    y = horizon_outcome(d, 24, "progression")
    assert y.iloc[0] == 1 and y.iloc[1] == 0 and np.isnan(y.iloc[2]) and y.iloc[3] == 0
    assert np.isnan(y.iloc[4])  # death without progression before 24: neither recurred nor followed to 24
    assert horizon_outcome(d, 24, "pfs").iloc[4] == 1.0
    assert y.iloc[5] == 0.0


def test_horizon_fisher(prepared, cfg):
    data, _ = prepared
    h = horizon_fisher(data, cfg)
    lung = h[(h["marker"] == "met_lung") & (h["level"] == "yes")].iloc[0]
    assert lung["odds_ratio"] > 1 and lung["or_ci_low"] > 1 and lung["q_marker"] < 0.05
    reg = h[h["marker"] == "regimen"]
    assert reg["test"].iloc[0] == "Fisher exact 3x2" and reg["p_marker"].nunique() == 1
    assert h.loc[h["marker"] == "time_on_ici", "test"].iloc[0].startswith("Wilcoxon")
    assert (h.groupby("marker")["n_evaluable"].first() <= len(data)).all()


def test_horizon_large_rxc_tables_use_pearson(prepared, cfg):
    """A table with > 2 levels whose exact enumeration exceeds exact_rxc_max_work gets Pearson's
    chi-square; 2 x 2 tables and per-level ORs stay exact."""
    data, _ = prepared
    c = {**cfg, "horizon": {**cfg.get("horizon", {}), "exact_rxc_max_work": 0}}
    h = horizon_fisher(data, c)
    reg = h[h["marker"] == "regimen"]
    assert reg["test"].iloc[0] == "Pearson chi-square 3x2 (exact test over the work limit)"
    tab = reg[["recurred_level", "n_level"]].to_numpy(float)
    obs = np.column_stack([tab[:, 0], tab[:, 1] - tab[:, 0]])
    exp = obs.sum(1, keepdims=True) * obs.sum(0, keepdims=True) / obs.sum()
    stat = ((obs - exp) ** 2 / exp).sum()
    from scipy import stats as st
    assert reg["p_marker"].iloc[0] == pytest.approx(st.chi2.sf(stat, 2), rel=1e-12)
    exact = horizon_fisher(data, cfg)
    lung_c, lung_e = (x[(x["marker"] == "met_lung") & (x["level"] == "yes")].iloc[0] for x in (h, exact))
    assert lung_c["test"] == "Fisher exact 2x2" and lung_c["p_marker"] == lung_e["p_marker"]
    assert (reg["odds_ratio"].dropna().to_numpy() == exact.loc[exact["marker"] == "regimen", "odds_ratio"].dropna().to_numpy()).all()


def test_univariable_finds_true_effects_and_nulls(univariable):
    # univariable (marginal) HRs are attenuated by the omitted other effect (non-collapsibility):
    # check direction and significance here, CI coverage in the multivariable model
    levels, markers = univariable
    lung = levels[(levels["marker"] == "met_lung") & (levels["level"] == "yes")].iloc[0]
    assert 1 < lung["hr_ci_low"]
    cr = levels[(levels["marker"] == "response_at_stop") & (levels["level"] == "CR")].iloc[0]
    assert cr["hr_ci_high"] < 1
    q = markers.set_index("marker")["q_marker"]
    assert q["met_lung"] < 0.05 and q["response_at_stop"] < 0.05
    for null in ["ras_status", "braf_v600e", "sidedness", "regimen"]:
        assert q[null] > 0.05
    assert (markers["p_marker"] == markers["p_lr"]).all() or markers["p_marker"].isna().any()
    assert markers.set_index("marker").loc["met_lung", "fdr_method"] == "BH"


def test_univariable_counts(univariable, prepared):
    levels, markers = univariable
    data, _ = prepared
    ras = levels[levels["marker"] == "ras_status"]
    assert ras["n_level"].sum() + ras["n_unknown_excluded"].iloc[0] == len(data)
    assert ras["events_level"].sum() == markers.set_index("marker").loc["ras_status", "events"]
    tmb = levels[levels["marker"] == "tmb"].iloc[0]
    assert "doubling" in tmb["level"]


def test_skipped_markers_have_reasons(endpoints, cfg):
    ep = endpoints.copy()
    ep["braf_v600e"] = "unknown"
    ep["met_bone"] = "no"
    c = dict(cfg, markers=cfg["markers"] + [{"name": "missing_col", "type": "binary"}])
    data, inv = prepare_analysis_data(ep, None, c)
    assert inv.set_index("marker").loc["missing_col", "status"] == "skipped"
    levels, markers = univariable_cox(data, c)
    m = markers.set_index("marker")
    assert m.loc["braf_v600e", "status"] == "skipped" and "unknown" in m.loc["braf_v600e", "note"]
    assert m.loc["met_bone", "status"] == "skipped" and "single" in m.loc["met_bone", "note"]
    assert m.loc["ctdna_at_stop", "status"] == "skipped"
    assert np.isnan(m.loc["braf_v600e", "q_marker"])
    h = horizon_fisher(data, c).set_index("marker")
    assert h.loc["met_bone", "status"] == "skipped"


def test_level_without_events_flagged_not_crash(prepared, cfg):
    data = prepared[0].copy()
    data.loc[data["regimen"] == "anti-PD-L1", "event"] = 0
    levels, markers = univariable_cox(data, cfg)
    row = levels[(levels["marker"] == "regimen") & (levels["level"] == "anti-PD-L1")].iloc[0]
    assert np.isnan(row["hr"]) and "monotone" in row["note"]
    assert np.isfinite(markers.set_index("marker").loc["regimen", "p_marker"])


def test_multivariable(prepared, cfg):
    data, _ = prepared
    mv, fit = multivariable_cox(data, cfg)
    covs = cfg["multivariable"]["covariates"]
    assert set(mv["marker"]) == set(covs)
    complete = data[covs].notna().all(axis=1).sum()
    assert mv["n"].iloc[0] == complete and mv["n_incomplete_excluded"].iloc[0] == len(data) - complete
    lung = mv[mv["term"] == "met_lung=yes"].iloc[0]
    assert lung["hr_ci_low"] < TRUE_HR_LUNG < lung["hr_ci_high"]
    cr = mv[mv["term"] == "response_at_stop=CR"].iloc[0]
    assert cr["hr_ci_low"] < TRUE_HR_CR < cr["hr_ci_high"]
    assert (mv["status"] == "ok").all()


def test_splines_and_cutpoints(prepared, cfg):
    data, _ = prepared
    tests, curves = spline_analysis(data, cfg)
    assert set(tests["marker"]) == {"time_on_ici", "tmb"}
    assert (tests["knots"] == 4).all()
    for name, c in curves.groupby("marker"):
        ref = c["reference_value"].iloc[0]
        at_ref = c.loc[np.isclose(c["value"], ref)]
        assert at_ref["hr"].iloc[0] == pytest.approx(1.0)
        assert (c["hr_ci_low"] <= c["hr"] + 1e-12).all() and (c["hr"] <= c["hr_ci_high"] + 1e-12).all()
    cut = cutpoint_analysis(data, cfg)
    assert set(cut["marker"]) == {"time_on_ici", "tmb"}
    assert ((cut["p_lau94"] > 0) & (cut["p_lau94"] <= 1)).all()
    assert cut["note"].str.contains("sensitivity").all()


def test_competing_risks(prepared, cfg, univariable):
    data, _ = prepared
    curves, summary = competing_risks(data, cfg, univariable[1])
    top = top_markers(univariable[1], cfg["competing_risks"]["top_k"])
    assert list(dict.fromkeys(curves["marker"])) == top and top[0] in ("met_lung", "response_at_stop")
    # Aalen-Johansen: CIF(progression) + CIF(death) = 1 - all-cause KM, per level
    for (_, lv), g in curves.groupby(["marker", "level"]):
        km = disc.km_curve(data.loc[data[g["marker"].iloc[0]].astype(str) == lv, "time"],
                              data.loc[data[g["marker"].iloc[0]].astype(str) == lv, "event"])
        idx = np.searchsorted(km["time"].to_numpy(), g["time"].to_numpy(), side="right")
        s = np.concatenate([[1.0], km["surv"].to_numpy()])[idx]  # KM step function at the curve times
        assert np.allclose(g["cif_progression"] + g["cif_death"], 1 - s, atol=1e-12)
        assert (g["cif_progression_low"] <= g["cif_progression"] + 1e-12).all()
    lung = summary[(summary["marker"] == "met_lung") & (summary["time"] == 24)].set_index("level")
    assert lung.loc["yes", "cif_progression"] > lung.loc["no", "cif_progression"]


def test_discrimination(prepared, cfg):
    data, _ = prepared
    metrics, cal = discrimination_analysis(data, cfg)
    m = metrics.set_index("metric")
    assert 0.55 < m.loc["harrell_c", "apparent"] < 0.8
    assert m.loc["harrell_c", "corrected"] <= m.loc["harrell_c", "apparent"] + 0.02
    assert "auc_24" in m.index and m.loc["auc_24", "n_boot"] == 25
    again, _ = discrimination_analysis(data, cfg)
    pd.testing.assert_frame_equal(metrics, again)
    assert len(cal) == cfg["discrimination"]["calibration_groups"]
    assert cal["predicted_mean"].is_monotonic_increasing


def test_rechallenge(endpoints, cfg):
    response, pfs, km = rechallenge_analysis(endpoints, cfg)
    coh = endpoints[endpoints["in_stop_cohort"]]
    n_rech = int(((coh["stop_pfs_cause"] == 1) & coh["has_rechallenge"]).sum())
    assert pfs["n_rechallenged"].iloc[0] == n_rech
    assert response.loc[response["response"].isin(["CR", "PR", "SD", "PD"]), "n"].sum() == n_rech
    assert pfs["median_ci_low"].iloc[0] <= pfs["median"].iloc[0] <= pfs["median_ci_high"].iloc[0]
    assert 0 < pfs["rate"].iloc[0] < 1
    assert km["surv"].is_monotonic_decreasing


def test_figures_written_and_deterministic(prepared, univariable, cfg, tmp_path):
    data, _ = prepared
    levels, markers = univariable
    tests, curves = spline_analysis(data, cfg)
    _, cal = discrimination_analysis(data, dict(cfg, discrimination=dict(cfg["discrimination"], n_boot=2)))
    cif, _ = competing_risks(data, cfg, markers)

    def draw(out):
        files = []
        files += bp.forest_plot(levels, out / "forest")
        files += bp.km_panels(data, top_markers(markers, 4), out / "km")
        files += bp.spline_plot(curves, tests, out / "spline")
        files += bp.calibration_plot(cal, out / "calibration")
        files += bp.cif_plot(cif, out / "cif")
        files += bp.km_panels(data, [], out / "empty")
        return files

    a = draw(tmp_path / "a")
    b = draw(tmp_path / "b")
    assert len(a) == 12 and all(Path(f).stat().st_size > 0 for f in a)
    digest = lambda f: hashlib.sha256(Path(f).read_bytes()).hexdigest()  # noqa: E731
    assert [digest(f) for f in a] == [digest(f) for f in b]


@pytest.mark.slow
def test_snakemake_biomarker_rules(tmp_path, endpoints):
    """The biomarker rules on a minimal workflow copy (synthetic endpoints), then a params change reruns."""
    snakemake = str(Path(sys.executable).parent / "snakemake")
    wf = tmp_path / "workflow"
    wf.mkdir()
    for sub in ["scripts", "report", "envs"]:
        if (ROOT / "workflow" / sub).exists():
            shutil.copytree(ROOT / "workflow" / sub, wf / sub, ignore=shutil.ignore_patterns("__pycache__"))
    (wf / "rules").mkdir()
    shutil.copy2(ROOT / "workflow/rules/biomarkers.smk", wf / "rules/biomarkers.smk")
    # the stage's helper functions live in common.smk (between its biomarker and multi-centre markers)
    common = (ROOT / "workflow/rules/common.smk").read_text()
    helpers = common[common.index("# biomarkers (rules in biomarkers.smk)"):common.index("# multi-centre analysis")]
    # code fingerprints (common.smk's code_version) are tested in tests/test_code_changes.py
    # and the package is importable as common.smk makes it (its top puts workflow/scripts on sys.path)
    stub = ("import sys\nsys.path.insert(0, str(workflow.basedir) + '/scripts')\n\n"
            "def code_version(*scripts, **kwargs):\n    return {}\n\n")
    (wf / "Snakefile").write_text('configfile: "config/config.yaml"\n' + stub + helpers +
                                  '\ninclude: "rules/biomarkers.smk"\nrule all:\n    input: biomarker_targets()\n')
    (tmp_path / "config").mkdir()
    cfg = yaml.safe_load(SNIPPET.read_text())
    cfg["biomarkers"]["discrimination"]["n_boot"] = 10
    (tmp_path / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    (tmp_path / "results/endpoints").mkdir(parents=True)
    endpoints.to_parquet(tmp_path / "results/endpoints/endpoints.parquet", index=False)
    synthetic_ctdna(endpoints).to_parquet(tmp_path / "results/endpoints/ctdna.parquet", index=False)
    run = lambda *a: subprocess.run([snakemake, "-s", "workflow/Snakefile", *a], cwd=tmp_path,  # noqa: E731
                                    capture_output=True, text=True, timeout=900)
    proc = run("--cores", "2")
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = tmp_path / "results/biomarkers"
    for name in ["rechallenge_response", "rechallenge_pfs"]:
        assert (out / f"{name}.tsv").stat().st_size > 0
    for population in ("post_stop", "from_start"):
        for name in ["marker_inventory", "horizon_fisher", "cox_univariable", "marker_tests", "cox_multivariable",
                     "spline_tests", "spline_curves", "cutpoints", "cif_summary", "discrimination", "calibration"]:
            assert (out / population / f"{name}.tsv").stat().st_size > 0
        for fig in ["forest", "km_top_markers", "spline_hr", "calibration", "cif_top_markers"]:
            for fmt in ["png", "svg"]:
                assert (out / population / "figures" / f"{fig}.{fmt}").exists()
    markers = pd.read_csv(out / "post_stop/marker_tests.tsv", sep="\t").set_index("marker")
    assert markers.loc["ctdna_at_stop", "status"] == "ok"
    start = pd.read_csv(out / "from_start/marker_tests.tsv", sep="\t").set_index("marker")
    assert len(pd.read_parquet(out / "from_start/analysis_data.parquet")) == len(endpoints)
    assert len(pd.read_parquet(out / "post_stop/analysis_data.parquet")) == int(endpoints["in_stop_cohort"].sum())
    assert "response_at_stop" not in start.index and "ras_status" in start.index
    assert "Nothing to be done" in (lambda p: p.stdout + p.stderr)(run("-n"))
    cfg["biomarkers"]["discrimination"]["seed"] = 99
    (tmp_path / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    dry = run("-n")
    rules = {line.split()[1].rstrip(":") for line in (dry.stdout + dry.stderr).splitlines()
             if line.startswith(("rule ", "localrule "))}
    assert "biomarker_discrimination" in rules and "biomarker_cox" not in rules

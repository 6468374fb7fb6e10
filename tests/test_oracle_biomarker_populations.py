"""Biomarkers per population on the embedded example equal R `survival` (slow, live R).

Runs the workflow's univariable biomarker tables for both populations (``post_stop``: stop cohort, time from
the stop; ``from_start``: every treated patient, time from the first ICI dose) in a temporary copy, exports
each population's analysis_data.parquet to CSV and refits every marker with status ok in R
(tests/oracle/biomarker_populations_oracle.R: coxph with Efron ties on the marker's transform / scale against
the reference level of cox_univariable.tsv, survdiff). coef, se, LR and Wald statistics and p-values, and the
log-rank p agree to 1e-6. Coefficients of levels without events (monotone likelihood, HR reported as not
estimable) diverge in both programs and are not compared; their markers' LR and log-rank tests are.
"""

import json
import subprocess

import numpy as np
import pandas as pd
import pytest
import yaml

from rscript import require_rscript
from workflow_copy import ROOT, copy_workflow, snakemake

pytestmark = [pytest.mark.slow, pytest.mark.oracle]
POPULATIONS = ("post_stop", "from_start")
TOL = 1e-6


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = copy_workflow(tmp_path_factory.mktemp("biomarker_populations"))
    targets = [f"results/biomarkers/{p}/{t}.tsv" for p in POPULATIONS for t in ("marker_tests", "cox_univariable")]
    snakemake(work, "--cores", "2", *targets)
    return work


@pytest.fixture(scope="module")
def config(run):
    return yaml.safe_load((run / "config/config.yaml").read_text())["biomarkers"]


def _tables(run, population):
    base = run / "results/biomarkers" / population
    return (pd.read_parquet(base / "analysis_data.parquet"),
            pd.read_csv(base / "marker_tests.tsv", sep="\t", keep_default_na=False, na_values=["NA", "NaN", ""]),
            pd.read_csv(base / "cox_univariable.tsv", sep="\t", keep_default_na=False, na_values=["NA", "NaN", ""]))


@pytest.fixture(scope="module")
def r_results(run, config, tmp_path_factory):
    rscript = require_rscript("biomarker populations")
    tmp = tmp_path_factory.mktemp("r_populations")
    configured = {m["name"]: m for m in config["markers"]}
    spec = {}
    for pop in POPULATIONS:
        data, tests, _ = _tables(run, pop)
        ok = tests[tests["status"] == "ok"]
        markers = []
        for _, row in ok.iterrows():
            m = configured[row["marker"]]
            markers.append({"name": m["name"], "type": m["type"], "transform": m.get("transform") or "none",
                            "scale": float(m.get("scale", 1.0) or 1.0),
                            "reference": "" if m["type"] == "continuous" else str(row["reference"])})
        csv = tmp / f"{pop}.csv"
        data[["time", "event"] + [m["name"] for m in markers]].to_csv(csv, index=False, na_rep="")
        spec[pop] = {"csv": str(csv), "markers": markers}
    (tmp / "spec.json").write_text(json.dumps(spec))
    out = tmp / "out.json"
    subprocess.run([rscript, str(ROOT / "tests/oracle/biomarker_populations_oracle.R"), str(tmp / "spec.json"),
                    str(out)], check=True)
    return json.loads(out.read_text())


def test_populations_rows_and_endpoints(run):
    endpoints = pd.read_parquet(run / "results/endpoints/endpoints.parquet").set_index("patient_id")
    start, _, _ = _tables(run, "from_start")
    stop, _, _ = _tables(run, "post_stop")
    assert len(start) == len(endpoints) and set(start["patient_id"]) == set(endpoints.index)
    cohort = endpoints[endpoints["in_stop_cohort"].fillna(False).astype(bool)]
    assert 0 < len(stop) == len(cohort) < len(start) and set(stop["patient_id"]) == set(cohort.index)
    # the configured endpoint of the example is PFS in both populations
    for frame, time, event in ((start, "pfs_time", "pfs_event"), (stop, "stop_pfs_time", "stop_pfs_event")):
        ref = endpoints.loc[frame["patient_id"]]
        np.testing.assert_array_equal(frame["time"].to_numpy(), ref[time].to_numpy(float))
        np.testing.assert_array_equal(frame["event"].to_numpy(), ref[event].to_numpy(float))


def test_markers_limited_to_their_populations(run, config):
    for pop in POPULATIONS:
        other = next(p for p in POPULATIONS if p != pop)
        only_other = {m["name"] for m in config["markers"] if m.get("populations") == [other]}
        everywhere = {m["name"] for m in config["markers"] if not m.get("populations")}
        assert only_other, f"the example config has no {other}-only marker"
        _, tests, levels = _tables(run, pop)
        assert not only_other & set(tests["marker"]) and not only_other & set(levels["marker"])
        only_here = {m["name"] for m in config["markers"] if m.get("populations") == [pop]}
        assert everywhere | only_here == set(tests["marker"])


def _differences(run, r_results, population):
    """Per compared quantity: (ours, R) pairs of one population."""
    _, tests, levels = _tables(run, population)
    r = r_results[population]
    pairs = []
    ok = tests[tests["status"] == "ok"]
    assert set(ok["marker"]) == set(r["markers"]), "R fitted a different set of markers"
    for _, row in ok.iterrows():
        rm = r["markers"][row["marker"]]
        name = f"{population}/{row['marker']}"
        assert (row["n"], row["events"], row["df"]) == (rm["n"], rm["events"], rm["df"]), name
        lv = levels[(levels["marker"] == row["marker"]) & (levels["is_reference"].astype(str) != "True")]
        if row["type"] == "continuous":
            assert len(lv) == 1 and len(rm["coef"]) == 1
            estimable = lv.assign(r_coef=rm["coef"], r_se=rm["se"])
        else:
            assert list(lv["level"]) == rm["levels"], name
            estimable = lv.assign(r_coef=rm["coef"], r_se=rm["se"])[lv["hr"].notna()]
            pairs += [(name, "p_logrank", row["p_logrank"], rm["logrank"]["p"])]
        for _, lrow in estimable.iterrows():
            pairs += [(f"{name}={lrow['level']}", "coef", lrow["coef"], lrow["r_coef"]),
                      (f"{name}={lrow['level']}", "se", lrow["se"], lrow["r_se"])]
        pairs += [(name, "lr_stat", row["lr_stat"], rm["lr_stat"]), (name, "p_lr", row["p_lr"], rm["p_lr"])]
        if len(estimable) == len(lv):  # Wald tests of diverging coefficients are not comparable
            pairs += [(name, "wald_stat", row["wald_stat"], rm["wald_stat"]),
                      (name, "p_wald", row["p_wald"], rm["p_wald"])]
    return pairs


@pytest.mark.parametrize("population", POPULATIONS)
def test_univariable_cox_and_logrank_equal_r(run, r_results, population):
    pairs = _differences(run, r_results, population)
    assert len(pairs) > 20
    for what in ("coef", "se", "p_lr", "p_logrank"):
        assert any(p[1] == what for p in pairs), f"no {what} compared"
    bad = [(n, w, a, b) for n, w, a, b in pairs if not abs(float(a) - float(b)) <= TOL]
    worst = max(abs(float(a) - float(b)) for _, _, a, b in pairs)
    assert not bad, f"{len(bad)} differences from R beyond {TOL} (max {worst:.3g}): {bad[:10]}"

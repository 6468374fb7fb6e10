"""Biomarker statistics vs R (fisher.test, coxph, survdiff, concordance, survfit, p.adjust, maxstat, Hmisc).

The inputs are generated here deterministically; the committed fixture
tests/fixtures/oracle/biomarkers_oracle.json holds the same inputs and R's answers and is compared
always. The live part runs tests/oracle/biomarkers_oracle.R with Rscript when it is available
(skipped with a reason otherwise; a failure when CI=true). Regenerate the fixture with
``python tests/test_oracle_biomarkers.py --regenerate``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icistop.biomarkers.markers import marker_design, marker_specs

from icistop.biomarkers.models import fit_cox, logrank_pvalue

from icistop.stats import discrimination as disc
from icistop.stats import km
from icistop.stats.fisher import fisher_test
from icistop.stats.maxstat import maxstat_logrank
from icistop.stats.multiplicity import p_adjust
from icistop.stats.splines import harrell_knots, rcs_basis

pytestmark = pytest.mark.oracle

HERE = Path(__file__).resolve().parent
R_SCRIPT = HERE / "oracle" / "biomarkers_oracle.R"
FIXTURE = HERE / "fixtures" / "oracle" / "biomarkers_oracle.json"
COX_LEVELS = ["a", "b", "c"]


def oracle_inputs() -> dict:
    rng = np.random.default_rng(20240611)
    fisher_2x2 = [[3, 1, 1, 3], [10, 2, 3, 15], [0, 5, 6, 2], [12, 30, 7, 41], [1, 0, 0, 1], [25, 13, 9, 31],
                  [2, 7, 8, 2], [50, 60, 45, 70], [7, 0, 3, 9], [0, 0, 4, 5], [81, 19, 60, 40], [1, 9, 9, 1]]
    fisher_rxc = [
        {"nrow": 2, "values": [3, 5, 2, 4, 1, 7]},
        {"nrow": 4, "values": [2, 3, 4, 1, 6, 2, 0, 5]},
        {"nrow": 3, "values": [5, 3, 2, 1, 1, 2, 4, 6, 3, 3, 3, 3]},
        {"nrow": 5, "values": [10, 12, 20, 5, 7, 7, 3, 9, 8, 1]},
        {"nrow": 3, "values": [40, 22, 15, 30, 9, 11]},
        {"nrow": 4, "values": [0, 4, 5, 5, 12, 3, 1, 1]},
    ]
    p = [0.01, 0.02, None, 0.03, 0.5, 0.04, 0.04, 0.9, 0.001, 0.2, None, 0.049]
    n = 150
    grp = rng.choice(COX_LEVELS, size=n, p=[0.5, 0.3, 0.2])
    binv = rng.choice(["no", "yes"], size=n, p=[0.6, 0.4])
    x = np.round(rng.normal(0, 1, n), 3)
    lp = 0.5 * (grp == "b") + 0.9 * (grp == "c") + 0.6 * (binv == "yes") + 0.3 * x
    t_ev = rng.exponential(12 * np.exp(-lp))
    t_c = rng.uniform(3, 40, n)
    time = np.round(np.minimum(t_ev, t_c) * 2) / 2 + 0.5  # half-month grid: many ties
    event = (t_ev <= t_c).astype(int)
    m = 90
    mx = np.round(rng.gamma(2.0, 10.0, m))  # ties in x
    mt = np.round(rng.exponential(10 * np.exp(-0.03 * mx)), 1) + 0.1
    me = (rng.uniform(size=m) < 0.75).astype(int)
    rcs_x = [np.round(rng.exponential(5, 60), 2).tolist(),
             np.concatenate([np.zeros(12), np.round(rng.uniform(0, 20, 150), 1)]).tolist()]
    return {
        "fisher_2x2": fisher_2x2, "fisher_rxc": fisher_rxc, "p_adjust": p,
        "cox_levels": COX_LEVELS,
        "cox_data": {"time": time.tolist(), "event": event.tolist(), "grp": grp.tolist(), "bin": binv.tolist(),
                     "x": x.tolist()},
        "km_time": [6.0, 12.0],
        "maxstat_data": {"x": mx.tolist(), "time": mt.tolist(), "event": me.tolist()},
        "minprop": 0.1, "maxprop": 0.9,
        "rcs_x": rcs_x, "rcs_nk": 4,
    }


def python_answers(inp: dict) -> dict:
    out = {"fisher_2x2": [], "fisher_rxc": []}
    for t in inp["fisher_2x2"]:
        r = fisher_test(np.array(t).reshape(2, 2))
        out["fisher_2x2"].append({"p": r.p_value, "or": r.odds_ratio, "lo": r.ci_low, "hi": r.ci_high})
    for t in inp["fisher_rxc"]:
        out["fisher_rxc"].append(fisher_test(np.array(t["values"]).reshape(t["nrow"], -1)).p_value)
    p = np.array([np.nan if v is None else v for v in inp["p_adjust"]])
    out["p_adjust_bh"] = p_adjust(p, "BH").tolist()
    out["p_adjust_holm"] = p_adjust(p, "holm").tolist()

    d = pd.DataFrame(inp["cox_data"])
    cfg = {"markers": [{"name": "grp", "type": "categorical", "reference": "a"},
                       {"name": "bin", "type": "binary", "reference": "no"},
                       {"name": "x", "type": "continuous"}]}
    specs = {s.name: s for s in marker_specs(cfg)}
    designs = {k: marker_design(d[k], specs[k])[0] for k in specs}
    cox = {}
    for key, X in [("grp", designs["grp"]), ("bin", designs["bin"]), ("x", designs["x"]),
                   ("multi", pd.concat([designs["grp"], designs["bin"], designs["x"]], axis=1))]:
        f = fit_cox(X, d["time"], d["event"])
        cox[key] = {"coef": f.coef.tolist(), "se": f.se.tolist(), "loglik": [f.loglik_null, f.loglik],
                    "lr_p": f.lr_test()[2], "wald_p": f.wald_test()[2]}
    out["cox"] = cox
    out["logrank_grp_p"] = logrank_pvalue(d["time"], d["event"], d["grp"])[2]
    out["concordance_x"] = disc.harrell_c(d["time"], d["event"], d["x"])["c"]
    kms = [disc.km_at(d["time"], d["event"], t) for t in inp["km_time"]]
    km_tab = km.km_table(d, "time", "event", conf_type="log-log")
    m = km.km_median(km_tab).iloc[0]
    med = {"median": m["median"], "median_ci_low": m["lower"], "median_ci_high": m["upper"]}
    out["km"] = {"surv": [k["surv"] for k in kms], "lower": [k["lower"] for k in kms],
                 "upper": [k["upper"] for k in kms], "median": med["median"], "median_lo": med["median_ci_low"],
                 "median_hi": med["median_ci_high"]}
    ms = inp["maxstat_data"]
    r = maxstat_logrank(ms["x"], ms["time"], ms["event"], inp["minprop"], inp["maxprop"])
    out["maxstat"] = {"statistic": r["statistic"], "cutpoint": r["cutpoint"], "p_lau94": r["p_lau94"],
                      "p_lau92": r["p_lau92"]}
    out["rcs"] = []
    for x in inp["rcs_x"]:
        k = harrell_knots(x, inp["rcs_nk"])
        out["rcs"].append({"knots": k.tolist(), "basis_row_sums": rcs_basis(x, k).sum(axis=1).tolist()})
    return out


def _close(a, b, rel=0.0, abs_=0.0):
    if a is None or b is None:
        return a is None and b is None
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def _num(v):
    """JSON value -> float (R's Inf/-Inf come as strings, NA as null)."""
    if v is None:
        return math.nan
    if isinstance(v, str):
        return {"Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan, "NA": math.nan}[v]
    return float(v)


def compare(py: dict, r: dict, maxstat_required: bool = True) -> list[str]:
    """Differences beyond tolerance (Fisher and maxstat rel 1e-8, Cox coefficients and HRs abs 1e-6)."""
    bad = []
    for i, (a, b) in enumerate(zip(py["fisher_2x2"], r["fisher_2x2"])):
        for key in ("p", "or", "lo", "hi"):
            if not _close(a[key], _num(b[key]), rel=1e-8, abs_=1e-300):
                bad.append(f"fisher_2x2[{i}].{key}: {a[key]!r} vs R {b[key]!r}")
    for i, (a, b) in enumerate(zip(py["fisher_rxc"], r["fisher_rxc"])):
        if not _close(a, _num(b), rel=1e-8):
            bad.append(f"fisher_rxc[{i}]: {a!r} vs R {b!r}")
    for key in ("p_adjust_bh", "p_adjust_holm"):
        for i, (a, b) in enumerate(zip(py[key], r[key])):
            if not _close(a, _num(b), rel=1e-12):
                bad.append(f"{key}[{i}]: {a!r} vs R {b!r}")
    for model, pc in py["cox"].items():
        rc = r["cox"][model]
        rcoef = np.atleast_1d(np.array(rc["coef"], dtype=float))
        for j, (a, b) in enumerate(zip(pc["coef"], rcoef)):
            if not _close(a, b, abs_=1e-6):
                bad.append(f"cox.{model}.coef[{j}]: {a!r} vs R {b!r}")
            if not _close(math.exp(a), math.exp(b), abs_=1e-6):
                bad.append(f"cox.{model}.hr[{j}]: {math.exp(a)!r} vs R {math.exp(b)!r}")
        for j, (a, b) in enumerate(zip(pc["se"], np.atleast_1d(np.array(rc["se"], dtype=float)))):
            if not _close(a, b, rel=1e-5):
                bad.append(f"cox.{model}.se[{j}]: {a!r} vs R {b!r}")
        for j, (a, b) in enumerate(zip(pc["loglik"], rc["loglik"])):
            if not _close(a, _num(b), abs_=1e-6):
                bad.append(f"cox.{model}.loglik[{j}]: {a!r} vs R {b!r}")
        for key in ("lr_p", "wald_p"):
            if not _close(pc[key], _num(rc[key]), rel=1e-4):
                bad.append(f"cox.{model}.{key}: {pc[key]!r} vs R {rc[key]!r}")
    if not _close(py["logrank_grp_p"], _num(r["logrank_grp_p"]), rel=1e-8):
        bad.append(f"logrank p: {py['logrank_grp_p']!r} vs R {r['logrank_grp_p']!r}")
    if not _close(py["concordance_x"], _num(r["concordance_x"]), abs_=1e-12):
        bad.append(f"concordance: {py['concordance_x']!r} vs R {r['concordance_x']!r}")
    for key in ("surv", "lower", "upper"):
        for j, (a, b) in enumerate(zip(py["km"][key], np.atleast_1d(r["km"][key]))):
            if not _close(a, _num(b), abs_=1e-10):
                bad.append(f"km.{key}[{j}]: {a!r} vs R {b!r}")
    for key in ("median", "median_lo", "median_hi"):
        if not _close(py["km"][key], _num(r["km"][key]), abs_=1e-10):
            bad.append(f"km.{key}: {py['km'][key]!r} vs R {r['km'][key]!r}")
    if r.get("maxstat") is not None:
        for key in ("statistic", "cutpoint", "p_lau94", "p_lau92"):
            if not _close(py["maxstat"][key], _num(r["maxstat"][key]), rel=1e-8):
                bad.append(f"maxstat.{key}: {py['maxstat'][key]!r} vs R {r['maxstat'][key]!r}")
    elif maxstat_required:
        bad.append("maxstat: R answer missing")
    if r.get("rcs") is not None:
        for i, (a, b) in enumerate(zip(py["rcs"], r["rcs"])):
            for key in ("knots", "basis_row_sums"):
                for j, (u, v) in enumerate(zip(a[key], b[key])):
                    if not _close(u, _num(v), rel=1e-10, abs_=1e-12):
                        bad.append(f"rcs[{i}].{key}[{j}]: {u!r} vs R {v!r}")
    return bad


def run_r(inp: dict, workdir: Path) -> dict:
    src = workdir / "oracle_input.json"
    dst = workdir / "oracle_output.json"
    src.write_text(json.dumps(inp))
    proc = subprocess.run(["Rscript", str(R_SCRIPT), str(src), str(dst)], capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"Rscript failed:\n{proc.stderr[-3000:]}")
    return json.loads(dst.read_text())


@pytest.fixture(scope="module")
def inputs():
    return oracle_inputs()


@pytest.fixture(scope="module")
def answers(inputs):
    return python_answers(inputs)


def test_fixture_inputs_current(inputs):
    fixture = json.loads(FIXTURE.read_text())
    assert json.loads(json.dumps(inputs)) == fixture["inputs"], "regenerate the fixture (--regenerate)"


def test_against_committed_fixture(answers):
    fixture = json.loads(FIXTURE.read_text())
    bad = compare(answers, fixture["r"])
    assert not bad, "\n".join(bad)


def test_against_live_r(inputs, answers, tmp_path):
    if shutil.which("Rscript") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Rscript is required in CI for the R oracle")
        pytest.skip("Rscript not found: live R comparison skipped (committed fixture still compared)")
    r = run_r(inputs, tmp_path)
    if r.get("maxstat") is None:
        # the maxstat R package is optional (apt: r-cran-maxstat); its part is checked against the fixture
        print("R package maxstat not installed: live maxstat comparison skipped (fixture still compared)")
    bad = compare(answers, r, maxstat_required=False)
    assert not bad, "\n".join(bad)


if __name__ == "__main__":
    if "--regenerate" in sys.argv:
        sys.path.insert(0, str(HERE.parent / "workflow" / "scripts"))
        import tempfile

        inp = oracle_inputs()
        with tempfile.TemporaryDirectory() as tmp:
            r_out = run_r(inp, Path(tmp))
        if r_out.get("maxstat") is None:
            raise SystemExit("install the R package maxstat to regenerate the fixture")
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(json.dumps({"inputs": inp, "r": r_out}, indent=1) + "\n")
        print(f"wrote {FIXTURE}")

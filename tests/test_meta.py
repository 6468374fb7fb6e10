"""Inverse-variance meta-analysis (icistop.stats.meta) against R ``metafor::rma`` 3.8 and ``predict``.

Cases: tests/fixtures/oracle/meta_cases.json (k = 1, 2, 3, 4, 5, 6, 8, 12; homogeneous with tau^2 truncated at 0,
strongly heterogeneous, SEs 0.02 to 2, DL = PM = 0 < REML, a 90 % level), each fitted by R with method FE, EE
(z) and DL, REML, PM (z and Hartung-Knapp ``test="knha"``), with metafor's default control and with tight
stopping rules (``Rscript tests/oracle/meta_oracle.R`` writes meta_oracle.json).
- vs tight-control R (same estimators solved to machine precision): every quantity to 1e-8 absolute;
- vs default-control R: DL, FE/EE and every fit with tau^2 = 0 are closed forms and agree to 1e-8 too; REML and
  PM with tau^2 > 0 differ by metafor's stopping rules (REML stops at a tau^2 change < 1e-5, PM's uniroot at
  tol 1.2e-4; observed tau^2 differences up to 7.5e-6), checked as tau^2 to 1e-4 and every other quantity to
  5e-3 relative to max(|R|, 1) (observed up to 1.5e-3, I^2 in percent with a small typical variance).
The committed R output is compared always, live R when installed (required when CI=true).
``python tests/test_meta.py`` prints the max abs differences per quantity.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icistop.stats.meta import meta_analysis, meta_study_table, meta_table, tau2_dl, tau2_pm, tau2_reml
from rscript import require_rscript

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "oracle"
CASES_FILE = FIXTURES / "meta_cases.json"
CASES = json.loads(CASES_FILE.read_text())["cases"]
R_SCRIPT = ROOT / "tests" / "oracle" / "meta_oracle.R"
TOL = 1e-8                            # absolute: tight control; DL, FE/EE and tau^2 = 0 under any control
DEFAULT_TAU2_TOL, DEFAULT_REL_TOL = 1e-4, 5e-3  # iterative tau^2 > 0 vs metafor's default stopping rules


def _r(x) -> np.ndarray:
    conv = {"NA": np.nan, "NaN": np.nan, "Inf": np.inf, "-Inf": -np.inf}
    return np.array([conv.get(v, v) if isinstance(v, str) else v for v in x], dtype=float)


def _pairs(res, r: dict, k: int) -> dict:
    """Quantity -> (icistop, R) arrays for one R fit."""
    fe = r["method"] in ("FE", "EE")
    side = "fixed" if fe else "random"
    stat = "fixed_z" if fe else "random_stat"
    pairs = {"estimate": (getattr(res, side), r["beta"]), "weights": (res.weights_fixed if fe else res.weights_random,
                                                                      r["weights"]),
             "predict": (res.random, r["pred"])}
    if not (k == 1 and r["test"] == "knha"):  # R: SE 0, CI/p NA (t with 0 df); icistop: NaN (checked below)
        pairs.update(se=(getattr(res, f"{side}_se"), r["se"]), ci_lower=(getattr(res, f"{side}_lower"), r["ci_lb"]),
                     ci_upper=(getattr(res, f"{side}_upper"), r["ci_ub"]), stat=(getattr(res, stat), r["zval"]),
                     p=(getattr(res, f"{side}_p"), r["pval"]), predict_se=(res.random_se, r["pred_se"]))
    if fe:  # the fixed-effect model is also reported on the random-effects side
        pairs.update(fe_random=(res.random, r["beta"]), fe_random_se=(res.random_se, r["se"]))
    if k > 1:  # k = 1: heterogeneity NaN by design (metafor: tau^2 = Q = I^2 = 0, H^2 = 1)
        pairs.update(tau2=(res.tau2, r["tau2"]), Q=(res.q, r["QE"]), Q_p=(res.q_p, r["QEp"]), I2=(res.i2, r["I2"]),
                     H2=(res.h2, r["H2"]), pi_lower=(res.pi_lower, r["pi_lb"]), pi_upper=(res.pi_upper, r["pi_ub"]),
                     df=(res.random_df, r["ddf"]))
    return {q: (np.atleast_1d(np.asarray(a, float)), _r(b)) for q, (a, b) in pairs.items()}


def compare(r_out: dict) -> tuple[pd.DataFrame, list[str]]:
    """Max abs differences per case, fit and quantity, and the failures."""
    rows, failures = [], []
    for name, fits in r_out["cases"].items():
        cs = CASES[name]
        for r in fits:
            method, test, control = r["method"], r["test"], r["control"]
            res = meta_analysis(cs["yi"], cs["sei"], method=method, hartung_knapp=test == "knha",
                                conf_level=cs["level"] / 100, labels=cs["labels"])
            k = len(cs["yi"])
            loose = control == "default" and method in ("REML", "PM") and _r(r["tau2"])[0] > 0
            if k == 1 and test == "knha":
                if not (math.isnan(res.random_se) and math.isnan(res.random_p) and math.isnan(res.random_lower)):
                    failures.append(f"{name} {method} knha: k = 1 Hartung-Knapp SE/p/CI must be NaN")
            for q, (a, b) in _pairs(res, r, k).items():
                where = f"{name} {method}/{test}/{control} {q}"
                if a.shape != b.shape:
                    failures.append(f"{where}: shape {a.shape} vs R {b.shape}")
                    continue
                if not np.array_equal(np.isnan(a), np.isnan(b)):
                    failures.append(f"{where}: NaN pattern {a} vs R {b}")
                    continue
                ok = ~np.isnan(a)
                diff = np.abs(a[ok] - b[ok])
                d = float(diff.max()) if ok.any() else 0.0
                rows.append(dict(case=name, method=method, test=test, control=control, quantity=q, max_abs_diff=d))
                if loose and q != "tau2":
                    d, tol, kind = (float((diff / np.maximum(np.abs(b[ok]), 1)).max()) if ok.any() else 0.0,
                                    DEFAULT_REL_TOL, "rel")
                else:
                    tol, kind = (DEFAULT_TAU2_TOL if loose else TOL), "abs"
                if d > tol:
                    failures.append(f"{where}: {a} vs R {b} ({kind} diff {d:.3g} > {tol:g})")
    return pd.DataFrame(rows), failures


def _check(r_out: dict):
    diffs, failures = compare(r_out)
    assert not failures, "\n".join(failures[:20])
    n_fits = sum(len(v) for v in r_out["cases"].values())
    assert n_fits == len(CASES) * 16 and len(diffs) > 1500


def test_against_committed_r_output():
    r_out = json.loads((FIXTURES / "meta_oracle.json").read_text())
    assert r_out["metafor_version"].startswith("3.8")
    _check(r_out)


def test_against_live_r(tmp_path):
    rscript = require_rscript("metafor")
    out = tmp_path / "meta.json"
    proc = subprocess.run([rscript, str(R_SCRIPT), str(CASES_FILE), str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    if proc.returncode != 0 and "metafor" in proc.stderr and os.environ.get("CI", "").lower() != "true":
        pytest.skip(f"R package metafor not installed: {proc.stderr.strip()[-200:]}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    _check(json.loads(out.read_text()))


# ---------------------------------------------------------------------------------------------- pure Python
Y5, S5 = CASES["k5_heterogeneous"]["yi"], CASES["k5_heterogeneous"]["sei"]


def test_fixed_effect_and_dl_by_hand():
    y, s = np.array([0.2, -0.1, 0.5]), np.array([0.1, 0.2, 0.25])
    w = 1 / s ** 2
    mu = (w * y).sum() / w.sum()
    q = (w * (y - mu) ** 2).sum()
    tau2 = max(0.0, (q - 2) / (w.sum() - (w ** 2).sum() / w.sum()))
    res = meta_analysis(y, s, method="DL")
    assert res.fixed == pytest.approx(mu, abs=1e-15) and res.fixed_se == pytest.approx(w.sum() ** -0.5, abs=1e-15)
    assert res.q == pytest.approx(q, rel=1e-13) and res.tau2 == pytest.approx(tau2, rel=1e-13) and tau2 > 0
    wr = 1 / (s ** 2 + tau2)
    assert res.random == pytest.approx((wr * y).sum() / wr.sum(), rel=1e-13)
    assert sum(res.weights_fixed) == pytest.approx(100) and sum(res.weights_random) == pytest.approx(100)


def test_reml_and_pm_solve_their_equations():
    y, v = np.array(Y5), np.array(S5) ** 2
    t = tau2_pm(y, v)
    w = 1 / (v + t)
    assert (w * (y - (w * y).sum() / w.sum()) ** 2).sum() == pytest.approx(len(y) - 1, rel=1e-12)
    t = tau2_reml(y, v)
    w = 1 / (v + t)
    r = y - (w * y).sum() / w.sum()
    score = (w ** 2 * r ** 2).sum() - (w.sum() - (w ** 2).sum() / w.sum())
    assert abs(score) < 1e-10 * (w ** 2).sum()
    assert tau2_dl(y, v) > 0


def test_reml_reports_non_convergence():
    with pytest.raises(RuntimeError, match="did not converge"):
        tau2_reml(np.array(Y5), np.array(S5) ** 2, maxiter=2)


def test_tau2_truncated_at_zero_random_equals_fixed():
    c = CASES["k3_homogeneous"]
    for method in ("DL", "REML", "PM"):
        res = meta_analysis(c["yi"], c["sei"], method=method)
        assert res.tau2 == 0 and res.i2 == 0 and res.h2 == 1
        assert (res.random, res.random_se, res.random_lower) == (res.fixed, res.fixed_se, res.fixed_lower)
        assert res.pi_lower == pytest.approx(res.fixed_lower, abs=1e-15) and "truncated at 0" in res.note
        # Hartung-Knapp as metafor test="knha": scale factor Q / (k - 1) < 1 is NOT truncated at 1
        hk = meta_analysis(c["yi"], c["sei"], method=method, hartung_knapp=True)
        assert hk.random_se == pytest.approx(res.fixed_se * math.sqrt(res.q / 2), rel=1e-12)
        assert hk.random_se < res.random_se and hk.random_df == 2


def test_single_study():
    res = meta_analysis([-0.41], [0.22], labels=["A"])
    assert res.k == 1 and res.q_df == 0 and "k = 1" in res.note
    assert all(math.isnan(x) for x in (res.tau2, res.tau, res.q, res.q_p, res.i2, res.h2, res.pi_lower, res.pi_upper))
    assert (res.random, res.random_se, res.random_p) == (res.fixed, res.fixed_se, res.fixed_p)
    assert (res.fixed, res.fixed_se, res.fixed_lower) == pytest.approx((-0.41, 0.22, -0.41 - 1.959963984540054 * 0.22),
                                                                       abs=1e-15)
    assert res.weights_fixed == res.weights_random == (pytest.approx(100.0, abs=1e-12),)
    hk = meta_analysis([-0.41], [0.22], hartung_knapp=True)
    assert hk.random == -0.41 and math.isnan(hk.random_se) and math.isnan(hk.random_p) and "0 df" in hk.note


def test_identical_estimates_hartung_knapp_scale_zero():
    hk = meta_analysis([0.3, 0.3, 0.3], [0.1, 0.2, 0.3], method="REML", hartung_knapp=True)
    assert hk.q < 1e-25 and hk.tau2 == 0 and hk.random_se == 0 and "scale factor 0" in hk.note


@pytest.mark.parametrize("se, what", [(0.0, "standard error 0.0"), (-0.1, "standard error -0.1"),
                                      (np.nan, "standard error nan"), (np.inf, "standard error inf")])
def test_bad_standard_error_names_the_study(se, what):
    with pytest.raises(ValueError, match=f"'Brackwell' has {what}"):
        meta_analysis([0.1, 0.2, 0.3], [0.1, se, 0.2], labels=["Anvil", "Brackwell", "Corrindale"])


def test_bad_input():
    with pytest.raises(ValueError, match="'study 2' has a non-finite estimate"):
        meta_analysis([0.1, np.nan], [0.1, 0.1])
    with pytest.raises(ValueError, match="2 estimates but 3"):
        meta_analysis([0.1, 0.2], [0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match="no studies"):
        meta_analysis([], [])
    with pytest.raises(ValueError, match="method 'HS'"):
        meta_analysis([0.1, 0.2], [0.1, 0.1], method="HS")
    with pytest.raises(ValueError, match="conf_level"):
        meta_analysis([0.1, 0.2], [0.1, 0.1], conf_level=95)
    with pytest.raises(ValueError, match="not method FE"):
        meta_analysis([0.1, 0.2], [0.1, 0.1], method="FE", hartung_knapp=True)
    with pytest.raises(ValueError, match="1 labels for 2"):
        meta_analysis([0.1, 0.2], [0.1, 0.1], labels=["A"])


@pytest.mark.parametrize("method", ["DL", "REML", "PM"])
def test_invariances(method):
    """Permutation invariance; location and scale equivariance (tau^2 scales with the square)."""
    y, s = np.array(CASES["k8_surv24_90"]["yi"]), np.array(CASES["k8_surv24_90"]["sei"])
    base = meta_analysis(y, s, method=method, hartung_knapp=True)
    perm = np.random.default_rng(1).permutation(len(y))
    p = meta_analysis(y[perm], s[perm], method=method, hartung_knapp=True)
    shifted = meta_analysis(y + 3.0, s, method=method, hartung_knapp=True)
    scaled = meta_analysis(100 * y, 100 * s, method=method, hartung_knapp=True)  # proportion -> percentage points
    assert base.tau2 > 0
    assert (p.tau2, p.random, p.random_se, p.i2) == pytest.approx((base.tau2, base.random, base.random_se, base.i2),
                                                                  rel=1e-10)
    assert np.allclose(np.array(p.weights_random), np.array(base.weights_random)[perm], rtol=1e-10)
    assert (shifted.tau2, shifted.random - 3, shifted.random_se) == pytest.approx(
        (base.tau2, base.random, base.random_se), rel=1e-9)
    got = (scaled.tau2 / 1e4, scaled.random / 100, scaled.random_se / 100, scaled.i2, scaled.random_p)
    assert got == pytest.approx((base.tau2, base.random, base.random_se, base.i2, base.random_p), rel=1e-9)


def test_meta_table_and_study_table():
    rows = [("loghr", lab, y, s) for lab, y, s in zip("ABCDE", Y5, S5)]
    c = CASES["k2_heterogeneous"]
    rows += [("diff_surv24", lab, y, s) for lab, y, s in zip(c["labels"], c["yi"], c["sei"])]
    df = pd.DataFrame(rows, columns=["estimand", "site", "estimate", "se"])
    t = meta_table(df, by="estimand", method="PM", hartung_knapp=True)
    assert list(t["estimand"]) == ["loghr", "diff_surv24"] and list(t["k"]) == [5, 2]
    for (_, row), (yy, ss) in zip(t.iterrows(), [(Y5, S5), (c["yi"], c["sei"])]):
        ref = meta_analysis(yy, ss, method="PM", hartung_knapp=True).summary()
        assert (row["method"], row["note"]) == (ref.pop("method"), ref.pop("note"))
        assert {k: row[k] for k in ref} == pytest.approx(ref, rel=1e-15, nan_ok=True)
    assert {"fixed", "fixed_lower", "random", "random_upper", "tau2", "i2", "q_p", "pi_lower", "note"} <= set(t.columns)
    st = meta_study_table(df, by="estimand", method="PM")
    assert list(st["label"]) == list("ABCDE") + c["labels"]
    assert st.groupby("estimand")["weight_random"].sum().to_numpy() == pytest.approx([100, 100])
    assert st["lower"].iloc[0] == pytest.approx(Y5[0] - 1.959963984540054 * S5[0], abs=1e-15)
    bad = df.copy()
    bad.loc[6, "se"] = 0.0
    with pytest.raises(ValueError, match="estimand=diff_surv24: .*'B' has standard error 0.0"):
        meta_table(bad, by="estimand")
    assert meta_table(df.iloc[:0], by="estimand").empty
    numeric = meta_study_table(df.assign(site=range(len(df))), by="estimand")
    assert list(numeric["label"]) == list(range(len(df)))  # label values kept (not stringified) for merges


if __name__ == "__main__":
    d, f = compare(json.loads((FIXTURES / "meta_oracle.json").read_text()))
    pd.set_option("display.width", 200)
    for control in ("tight", "default"):
        sub = d[d["control"] == control]
        print(f"== vs R control={control}: max abs difference per quantity ==")
        print(sub.groupby("quantity")["max_abs_diff"].max().map("{:.3g}".format).to_string())
        print(sub.groupby(["method", "test"])["max_abs_diff"].max().map("{:.3g}".format).to_string())
    print(f"failures: {len(f)}", *f[:20], sep="\n")

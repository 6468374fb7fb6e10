"""Continuous markers, sensitivity analyses: restricted cubic splines (LR tests of overall and
non-linear association, HR curve against a reference value) and the maximally selected log-rank
cut-point with the Lausen-Sauerbrei-Schumacher corrected p-value.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
from scipy import stats

from icistop.stats.maxstat import maxstat_logrank
from icistop.stats.intervals import z_value
from icistop.stats.splines import harrell_knots, rcs_basis
from icistop.biomarkers.markers import MarkerSpec, marker_specs, transform_values
from icistop.biomarkers.models import fit_cox, hr_summary


def spline_analysis(data: pd.DataFrame, cfg: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Restricted cubic spline Cox model per continuous marker (on the transform scale; Harrell's
    default knot quantiles). Returns (tests: overall LR, nonlinearity LR vs the linear model; curve:
    HR(x) relative to the reference value with pointwise delta-method CI, on the original scale)."""
    specs = [s for s in marker_specs(cfg) if s.type == "continuous"]
    scfg = cfg.get("splines", {})
    nk = int(scfg.get("knots", 4))
    npts = int(scfg.get("grid_points", 100))
    ref_rule = scfg.get("reference", "median")
    conf = float(cfg.get("conf_level", 0.95))
    z = z_value(conf)
    tests, curves = [], []
    for spec in specs:
        raw = data[spec.name].astype(float)
        u = transform_values(raw, spec)
        ok = u.notna()
        base = {"marker": spec.name, "n": int(ok.sum()), "events": int(data.loc[ok, "event"].sum()),
                "n_unknown_excluded": int((~ok).sum()), "knots_requested": nk}
        try:
            knots = harrell_knots(u[ok].to_numpy(), nk)
        except ValueError as exc:
            tests.append({**base, "status": "skipped", "note": f"spline not estimable: {exc}"})
            continue
        if base["events"] == 0:
            tests.append({**base, "status": "skipped", "note": "no events"})
            continue
        B = rcs_basis(u[ok].to_numpy(), knots)
        cols = [f"rcs{j}" for j in range(B.shape[1])]
        t, e = data.loc[ok, "time"], data.loc[ok, "event"]
        try:
            fit = fit_cox(pd.DataFrame(B, columns=cols, index=u[ok].index), t, e)
            lin = fit_cox(pd.DataFrame({"rcs0": u[ok]}), t, e)
        except Exception as exc:  # noqa: BLE001
            tests.append({**base, "status": "failed", "note": f"Cox fit failed: {exc}"})
            continue
        lr_all, df_all, p_all = fit.lr_test()
        lr_nl = max(0.0, 2 * (fit.loglik - lin.loglik))
        df_nl = B.shape[1] - 1
        ref_val = float(raw[ok].median()) if ref_rule == "median" else float(ref_rule)
        tests.append({**base, "knots": len(knots),
                      "knot_locations": ";".join(f"{k:.6g}" for k in _inverse_transform(knots, spec)),
                      "reference_value": ref_val, "lr_overall": lr_all, "df_overall": df_all, "p_overall": p_all,
                      "lr_nonlinear": lr_nl, "df_nonlinear": df_nl, "p_nonlinear": float(stats.chi2.sf(lr_nl, df_nl)),
                      "status": "ok", "note": "; ".join(fit.warnings)})
        lo, hi = np.quantile(raw[ok], [0.05, 0.95]) if ok.sum() >= 20 else (raw[ok].min(), raw[ok].max())
        grid = np.unique(np.concatenate([np.linspace(lo, hi, npts), [ref_val]]))
        ug = transform_values(pd.Series(grid), spec).to_numpy()
        uref = float(transform_values(pd.Series([ref_val]), spec).iloc[0])
        D = rcs_basis(ug, knots) - rcs_basis(np.array([uref]), knots)
        lp = D @ fit.coef
        se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", D, fit.cov, D), 0))
        with np.errstate(over="ignore"):
            hr, lo_ci, hi_ci = np.exp(lp), np.exp(lp - z * se), np.exp(lp + z * se)
        for x, h, lo_, hi_ in zip(grid, hr, lo_ci, hi_ci):
            curves.append({"marker": spec.name, "value": float(x), "reference_value": ref_val,
                           "hr": float(h), "hr_ci_low": float(lo_), "hr_ci_high": float(hi_)})
    return pd.DataFrame(tests), pd.DataFrame(curves)


def _inverse_transform(u, spec: MarkerSpec) -> np.ndarray:
    u = np.asarray(u, dtype=float) * spec.scale
    if spec.transform == "log":
        return np.exp(u)
    if spec.transform == "log2":
        return 2.0**u
    if spec.transform == "log2p1":
        return 2.0**u - 1
    if spec.transform == "log1p":
        return np.expm1(u)
    return u


def cutpoint_analysis(data: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Sensitivity analysis: maximally selected log-rank cut-point per continuous marker with the
    Lausen-Sauerbrei-Schumacher (1994) corrected p-value; the HR of the dichotomy is optimistic."""
    specs = [s for s in marker_specs(cfg) if s.type == "continuous"]
    ccfg = cfg.get("cutpoint", {})
    minprop, maxprop = float(ccfg.get("minprop", 0.1)), float(ccfg.get("maxprop", 0.9))
    conf = float(cfg.get("conf_level", 0.95))
    z = z_value(conf)
    rows = []
    for spec in specs:
        x = data[spec.name].astype(float)
        ok = x.notna()
        base = {"marker": spec.name, "n": int(ok.sum()), "events": int(data.loc[ok, "event"].sum()),
                "n_unknown_excluded": int((~ok).sum()), "minprop": minprop, "maxprop": maxprop}
        if ok.sum() < 4 or x[ok].nunique() < 2 or base["events"] == 0:
            rows.append({**base, "status": "skipped", "note": "too few distinct values or no events"})
            continue
        try:
            res = maxstat_logrank(x[ok], data.loc[ok, "time"], data.loc[ok, "event"], minprop, maxprop)
        except ValueError as exc:
            rows.append({**base, "status": "skipped", "note": str(exc)})
            continue
        high = (x[ok] > res["cutpoint"]).astype(float)
        row = {**base, "cutpoint": res["cutpoint"], "rule": f"high = {spec.name} > cutpoint",
               "n_high": int(high.sum()), "statistic": res["statistic"],
               "p_lau94": min(1.0, res["p_lau94"]), "p_lau92": min(1.0, res["p_lau92"]),
               "p_method": "Lausen, Sauerbrei & Schumacher 1994 improved Bonferroni (maxstat Lau94)",
               "status": "ok", "note": "data-driven cut-point: sensitivity analysis only; HR is optimistic"}
        try:
            fit = fit_cox(pd.DataFrame({"high": high}), data.loc[ok, "time"], data.loc[ok, "event"])
            b, se = fit.coef[0], fit.se[0]
            h = hr_summary(b, se, z)
            row.update(hr_high_vs_low=h["hr"], hr_ci_low=h["hr_ci_low"], hr_ci_high=h["hr_ci_high"])
        except Exception:  # noqa: BLE001
            pass
        rows.append(row)
    return pd.DataFrame(rows)

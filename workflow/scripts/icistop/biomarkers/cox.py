"""Univariable Cox model per marker (HR, CI, events/n per level, Wald p per level, the marker's
likelihood-ratio test with q-values across markers, k-sample log-rank) and the multivariable Cox model of
prespecified covariates (complete cases, drop-one LR tests); :func:`cox_tables` adds the spline and
cut-point analyses of :mod:`icistop.biomarkers.continuous` (the tables of rule biomarker_cox).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from icistop.stats.multiplicity import p_adjust
from icistop.biomarkers.markers import level_order, marker_design, marker_specs
from icistop.stats.intervals import z_value
from icistop.biomarkers.models import CoxFit, fit_cox, hr_summary, logrank_pvalue
from icistop.biomarkers.continuous import cutpoint_analysis, spline_analysis


def univariable_cox(data: pd.DataFrame, cfg: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-marker Cox models. Returns (rows per level/term, one row per marker with tests and q)."""
    specs = marker_specs(cfg)
    conf = float(cfg.get("conf_level", 0.95))
    z = z_value(conf)
    level_rows, marker_rows = [], []
    for spec in specs:
        vals = data[spec.name]
        base = {"marker": spec.name, "type": spec.type}
        X, levels, ref = marker_design(vals, spec)
        idx = X.index
        n_unknown = int(len(data) - len(idx))
        t, e = data.loc[idx, "time"], data.loc[idx, "event"]
        mrow = {**base, "reference": ref if ref is not None else "", "n": int(len(idx)), "events": int(e.sum()),
                "n_unknown_excluded": n_unknown, "n_cohort": len(data)}
        skip = None
        if len(data) == 0:
            skip = "no patients in the population"
        elif len(idx) == 0:
            skip = "all values unknown"
        elif spec.type != "continuous" and len(levels) < 2:
            skip = f"a single known level ({levels[0]})"
        elif spec.type == "continuous" and X[spec.name].nunique() < 2:
            skip = "a single distinct value"
        elif e.sum() == 0:
            skip = "no events among patients with a known value"
        if skip:
            marker_rows.append({**mrow, "status": "skipped", "note": skip})
            level_rows.append({**base, "level": "", "status": "skipped", "note": skip,
                               "n_unknown_excluded": n_unknown})
            continue
        notes = []
        if spec.type != "continuous":
            ev_by = {lv: int(e[vals.loc[idx] == lv].sum()) for lv in levels}
            zero = [lv for lv, k in ev_by.items() if k == 0]
            if zero:
                notes.append("no events in level(s) " + ", ".join(zero) + ": HR not estimable (monotone likelihood)")
        try:
            fit = fit_cox(X, t, e)
        except Exception as exc:  # noqa: BLE001 - report, do not crash
            marker_rows.append({**mrow, "status": "failed", "note": f"Cox fit failed: {exc}"})
            level_rows.append({**base, "level": "", "status": "failed", "note": str(exc)})
            continue
        lr, lr_df, p_lr = fit.lr_test()
        wald, _, p_wald = fit.wald_test()
        p_lrk = math.nan
        if spec.type != "continuous":
            _, _, p_lrk = logrank_pvalue(t, e, vals.loc[idx].astype(str))
        note = "; ".join(notes)
        marker_rows.append({**mrow, "df": lr_df, "lr_stat": lr, "p_lr": p_lr, "wald_stat": wald, "p_wald": p_wald,
                            "p_logrank": p_lrk, "p_marker": p_lr, "status": "ok", "note": note})
        if spec.type == "continuous":
            raw = vals.loc[idx].astype(float)
            b, se = fit.coef[0], fit.se[0]
            level_rows.append({**base, "level": spec.per_unit(), "reference": "", "is_reference": False,
                               "n_level": int(len(idx)), "events_level": int(e.sum()),
                               "median_value": float(raw.median()), "q1_value": float(raw.quantile(.25)),
                               "q3_value": float(raw.quantile(.75)),
                               **hr_summary(b, se, z),
                               "status": "ok", "note": note, "n_unknown_excluded": n_unknown})
            continue
        zero_levels = set(lv for lv in levels if int(e[vals.loc[idx] == lv].sum()) == 0)
        ref_zero = ref in zero_levels
        for i, lv in enumerate(levels):
            sel = vals.loc[idx] == lv
            row = {**base, "level": lv, "reference": ref, "is_reference": i == 0, "n_level": int(sel.sum()),
                   "events_level": int(e[sel].sum()), "status": "ok", "note": note, "n_unknown_excluded": n_unknown}
            if i == 0:
                row.update(hr=1.0)
            else:
                b, se = fit.coef[i - 1], fit.se[i - 1]
                if lv in zero_levels or ref_zero:
                    row.update(coef=b, se=se, hr=math.nan, hr_ci_low=math.nan, hr_ci_high=math.nan, p_level=math.nan)
                else:
                    row.update(hr_summary(b, se, z))
                    if math.isnan(row["hr"]):
                        row["note"] = "; ".join(x for x in [note, f"{lv}: HR not estimable (SE {se:.3g})"] if x)
            level_rows.append(row)
    levels_df = pd.DataFrame(level_rows)
    markers_df = pd.DataFrame(marker_rows)
    method = cfg.get("fdr_method", "BH")
    if not markers_df.empty:
        markers_df["q_marker"] = p_adjust(markers_df.get("p_marker", pd.Series(np.nan, index=markers_df.index))
                                          .to_numpy(dtype=float), method)
        markers_df["fdr_method"] = method
        qmap = markers_df.set_index("marker")["q_marker"]
        if "p_marker" not in markers_df:  # every marker skipped (e.g. an empty stop cohort)
            markers_df["p_marker"] = np.nan
        if not levels_df.empty:
            levels_df["q_marker"] = levels_df["marker"].map(qmap)
            levels_df["p_marker"] = levels_df["marker"].map(markers_df.set_index("marker")["p_marker"])
        markers_df["rank"] = markers_df["q_marker"].rank(method="first").astype("Int64")
    lcols = ["marker", "type", "level", "reference", "is_reference", "n_level", "events_level", "median_value",
             "q1_value", "q3_value", "coef", "se", "hr", "hr_ci_low", "hr_ci_high", "p_level", "p_marker", "q_marker",
             "n_unknown_excluded", "status", "note"]
    mcols = ["marker", "type", "reference", "n", "events", "n_unknown_excluded", "n_cohort", "df", "lr_stat", "p_lr",
             "wald_stat", "p_wald", "p_logrank", "p_marker", "q_marker", "fdr_method", "rank", "status", "note"]
    return levels_df.reindex(columns=lcols), markers_df.reindex(columns=mcols)


def multivariable_design(data: pd.DataFrame, cfg: dict, covariates=None) -> tuple[pd.DataFrame, dict, pd.Index]:
    """Design matrix of the prespecified covariates on complete cases; returns (X, term columns per
    marker, index of complete cases)."""
    specs = {s.name: s for s in marker_specs(cfg)}
    covs = list(covariates if covariates is not None else cfg.get("multivariable", {}).get("covariates", []))
    missing = [c for c in covs if c not in specs]
    if missing:
        raise ValueError(f"multivariable covariates not in the marker list: {missing}")
    complete = data[covs].notna().all(axis=1) if covs else pd.Series(True, index=data.index)
    sub = data[complete]
    parts, terms = [], {}
    for c in covs:
        X, _, _ = marker_design(sub[c], specs[c])
        X = X.reindex(sub.index)
        parts.append(X)
        terms[c] = list(X.columns)
    X = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=sub.index)
    ok = X.notna().all(axis=1)
    return X[ok], terms, X.index[ok]


def multivariable_cox(data: pd.DataFrame, cfg: dict) -> tuple[pd.DataFrame, CoxFit | None]:
    """Multivariable Cox model of the configured covariates on complete cases, with HR/CI/Wald p per
    term and a drop-one likelihood-ratio test per covariate."""
    conf = float(cfg.get("conf_level", 0.95))
    z = z_value(conf)
    specs = {s.name: s for s in marker_specs(cfg)}
    covs = list(cfg.get("multivariable", {}).get("covariates", []))
    if not covs:
        return pd.DataFrame([{"term": "", "status": "skipped", "note": "no covariates configured"}]), None
    X, terms, idx = multivariable_design(data, cfg)
    n_excl = int(len(data) - len(idx))
    t, e = data.loc[idx, "time"], data.loc[idx, "event"]
    dropped = [c for c in covs if X[terms[c]].shape[1] == 0 or (X[terms[c]].nunique() < 2).all()]
    if dropped:
        note = "covariates without variation among complete cases dropped: " + ", ".join(dropped)
        keep = [c for c in covs if c not in dropped]
        X = X[[col for c in keep for col in terms[c]]]
        covs = keep
    else:
        note = ""
    if not covs or e.sum() == 0:
        return pd.DataFrame([{"term": "", "status": "skipped", "note": note or "no events"}]), None
    try:
        fit = fit_cox(X, t, e)
    except Exception as exc:  # noqa: BLE001
        return pd.DataFrame([{"term": "", "status": "failed", "note": f"Cox fit failed: {exc}"}]), None
    rows = []
    for c in covs:
        others = [col for o in covs if o != c for col in terms[o]]
        if others:
            try:
                reduced = fit_cox(X[others], t, e)
                ll_red = reduced.loglik
            except Exception:  # noqa: BLE001
                ll_red = math.nan
        else:
            ll_red = fit.loglik_null
        lr = max(0.0, 2 * (fit.loglik - ll_red))
        p_drop = float(stats.chi2.sf(lr, len(terms[c])))
        for col in terms[c]:
            j = list(X.columns).index(col)
            b, se = fit.coef[j], fit.se[j]
            level = col.split("=", 1)[1] if "=" in col else specs[c].per_unit()
            sel = X[col] == 1 if "=" in col else pd.Series(True, index=X.index)
            rows.append({"marker": c, "term": col, "level": level,
                         "reference": "" if specs[c].type == "continuous" else level_order(specs[c], data.loc[idx, c].astype(str).value_counts())[0],
                         "n_level": int(sel.sum()), "events_level": int(e[sel].sum()),
                         **hr_summary(b, se, z),
                         "lr_drop_stat": lr, "lr_drop_df": len(terms[c]), "p_marker_lr": p_drop})
    out = pd.DataFrame(rows)
    bad_terms = [t for t, h in zip(out["term"], out["hr"]) if not np.isfinite(h)]
    if bad_terms:
        note = "; ".join(x for x in [note, "HR not estimable (monotone likelihood, e.g. no events in a level among "
                                     "complete cases): " + ", ".join(bad_terms)] if x)
    lr_all, df_all, p_all = fit.lr_test()
    out["n"] = fit.n
    out["events"] = fit.events
    out["n_incomplete_excluded"] = n_excl
    out["model_lr_stat"] = lr_all
    out["model_df"] = df_all
    out["model_p_lr"] = p_all
    out["status"] = "ok"
    out["note"] = "; ".join([x for x in [note] + fit.warnings if x])
    return out, fit


def cox_tables(data: pd.DataFrame, cfg: dict) -> dict[str, pd.DataFrame]:
    """The Cox-model tables by name: per level and per marker of the univariable models, the multivariable
    model, the spline tests and curves, and the data-driven cut-points."""
    levels, markers = univariable_cox(data, cfg)
    multi, _ = multivariable_cox(data, cfg)
    tests, curves = spline_analysis(data, cfg)
    return {"univariable": levels, "markers": markers, "multivariable": multi, "spline_tests": tests,
            "spline_curves": curves, "cutpoints": cutpoint_analysis(data, cfg)}

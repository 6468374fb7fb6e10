"""Discrimination of the multivariable model (Harrell's C, IPCW AUC at a horizon, bootstrap optimism)
and calibration by groups of predicted risk.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from icistop.stats import discrimination as disc
from icistop.biomarkers.cox import multivariable_design
from icistop.biomarkers.models import fit_cox


def discrimination_analysis(data: pd.DataFrame, cfg: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Harrell's C and IPCW AUC(t) of the multivariable model, optimism-corrected by the bootstrap,
    and calibration of the predicted t-month risk vs KM by risk groups."""
    dcfg = cfg.get("discrimination", {})
    t = float(dcfg.get("horizon_months", 24))
    n_boot = int(dcfg.get("n_boot", 200))
    seed = int(dcfg.get("seed", 1))
    max_n = dcfg.get("optimism_max_n", 20000)
    n_groups = int(dcfg.get("calibration_groups", 3))
    conf = float(cfg.get("conf_level", 0.95))
    covs = list(cfg.get("multivariable", {}).get("covariates", []))
    if not covs:
        empty = pd.DataFrame([{"metric": "", "status": "skipped", "note": "no covariates configured"}])
        return empty, pd.DataFrame()
    X, terms, idx = multivariable_design(data, cfg)
    X = X.loc[:, X.nunique() > 1]
    frame = pd.concat([X, data.loc[idx, ["time", "event"]]], axis=1).reset_index(drop=True)
    cols = list(X.columns)

    def fit(df):
        if df["event"].sum() == 0:
            raise ValueError("no events")
        use = [c for c in cols if df[c].nunique() > 1]
        if len(use) < len(cols):
            raise ValueError("a covariate without variation in the resample")
        return fit_cox(df[cols], df["time"], df["event"])

    def evaluate(model, df):
        lp = df[cols].to_numpy(float) @ model.coef
        return {"harrell_c": disc.harrell_c(df["time"], df["event"], lp)["c"],
                f"auc_{t:g}": disc.auc_ipcw(df["time"], df["event"], lp, t)}

    def skipped(note):
        row = {"metric": "", "n": len(frame), "events": int(frame["event"].sum()) if len(frame) else 0,
               "horizon_months": t, "covariates": ",".join(covs), "status": "skipped", "note": note}
        return pd.DataFrame([row]), pd.DataFrame()

    if frame.empty or frame["event"].sum() == 0:
        return skipped("no patients with events and complete covariates")
    if not cols:
        return skipped("no covariate varies in the complete cases")
    try:
        res = disc.bootstrap_optimism(frame, fit, evaluate, n_boot, seed,
                                      max_n=int(max_n) if max_n is not None else None)
        model = fit(frame)
    except (ValueError, np.linalg.LinAlgError) as exc:
        return skipped(f"model not estimable on these data ({exc})")
    res["n"] = len(frame)
    res["events"] = int(frame["event"].sum())
    res["horizon_months"] = t
    res["covariates"] = ",".join(covs)
    res["auc_estimator"] = "cumulative/dynamic IPCW (KM censoring weights; Uno 2007)"
    res["status"] = "ok"
    res["note"] = ""
    lp = frame[cols].to_numpy(float) @ model.coef
    risk = disc.breslow_risk(lp, frame["time"], frame["event"], lp, t)
    cal = disc.calibration_groups(frame["time"], frame["event"], risk, t, n_groups, conf)
    cal["horizon_months"] = t
    cal["predicted_method"] = "Cox model, Breslow baseline hazard"
    cal["observed_method"] = "1 - Kaplan-Meier, log(-log) CI"
    return res, cal

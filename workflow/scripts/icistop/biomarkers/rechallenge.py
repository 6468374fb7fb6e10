"""Outcomes of ICI re-challenge after progression off ICI: response and PFS from the re-challenge.
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats



def rechallenge_analysis(endpoints: pd.DataFrame, cfg: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Re-challenge after progression following the stop: best-response distribution and PFS from
    the course-2 start (KM median and rate at ``rate_months``). Returns (response, pfs, km curve)."""
    rcfg = cfg.get("rechallenge", {})
    rate_t = float(rcfg.get("rate_months", 12))
    conf = float(cfg.get("conf_level", 0.95))
    ep = endpoints[endpoints["in_stop_cohort"].fillna(False).astype(bool)]
    progressed = ep[pd.to_numeric(ep["stop_pfs_cause"], errors="coerce") == 1]
    rech = progressed[progressed["has_rechallenge"].fillna(False).astype(bool)]
    n_prog, n_rech = len(progressed), len(rech)
    resp = rech["rechallenge_best_response"].where(rech["rechallenge_best_response"].notna(), "unknown").astype(str)
    resp = resp.replace({"": "unknown", "nan": "unknown", "None": "unknown"})
    order = ["CR", "PR", "SD", "PD", "NE", "unknown"]
    rows = []
    for lv in order + sorted(set(resp) - set(order)):
        k = int((resp == lv).sum())
        if lv not in order[:4] and k == 0:
            continue
        rows.append({"response": lv, "n": k, "pct": 100 * k / n_rech if n_rech else math.nan,
                     "n_rechallenged": n_rech, "n_progressed_after_stop": n_prog})
    known = resp.isin(["CR", "PR", "SD", "PD"])
    orr_k = int(resp.isin(["CR", "PR"]).sum())
    response = pd.DataFrame(rows)
    if n_rech:
        ci = stats.binomtest(orr_k, int(known.sum())).proportion_ci(conf, method="exact") if known.sum() else None
        response = pd.concat([response, pd.DataFrame([{
            "response": "objective response (CR+PR) among evaluable", "n": orr_k,
            "pct": 100 * orr_k / known.sum() if known.sum() else math.nan,
            "pct_ci_low": 100 * ci.low if ci else math.nan, "pct_ci_high": 100 * ci.high if ci else math.nan,
            "n_rechallenged": n_rech, "n_progressed_after_stop": n_prog}])], ignore_index=True)
    t = pd.to_numeric(rech["rechallenge_pfs_time"], errors="coerce")
    e = pd.to_numeric(rech["rechallenge_pfs_event"], errors="coerce")
    ok = t.notna() & e.notna()
    pfs = {"n_progressed_after_stop": n_prog, "n_rechallenged": n_rech, "n": int(ok.sum()),
           "events": int(e[ok].sum()), "rate_months": rate_t}
    km_cols = ["time", "n_risk", "n_event", "n_censor", "surv", "lower", "upper"]
    km = pd.DataFrame(columns=km_cols)
    if ok.sum():
        from icistop.stats import km as kmod

        frame = pd.DataFrame({"time": t[ok].to_numpy(float), "event": e[ok].to_numpy(float)})
        km = kmod.km_table(frame, "time", "event", conf_level=conf, conf_type="log-log")
        med = kmod.km_median(km).iloc[0]
        at = kmod.km_at(km, [rate_t]).iloc[0]
        pfs.update(median=med["median"], median_ci_low=med["lower"], median_ci_high=med["upper"],
                   rate=at["surv"], rate_ci_low=at["lower"], rate_ci_high=at["upper"],
                   method="Kaplan-Meier, Greenwood variance, log(-log) CI (R survfit rules)", status="ok",
                   note="median not reached" if med["median_not_reached"] else "")
        km = km[km_cols]
    else:
        pfs.update(status="skipped", note="no re-challenged patients after progression")
    return response, pd.DataFrame([pfs]), km

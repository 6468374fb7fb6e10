"""Landmark analyses: on vs off ICI at a landmark time.

Population at landmark L: (MSI-H/dMMR) treated patients alive and progression-free at L (outcome
time > L). Exposure: on ICI at L (no stop before L) vs off (stopped before L, hence without
progression). Outcome from L, administratively censored at L + tau. Estimates: KM per group at
the horizons (difference on - off with influence-function SE; log-log pointwise curve CIs), Cox HR (on vs off) unadjusted and
adjusted for the prespecified baseline confounders plus the best response so far at L.
Removes immortal time before L but still compares groups defined by an earlier, confounded stop
decision, and "on at L" includes later stoppers (not a per-protocol contrast).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icistop.stats.km import conf_limits
from icistop.continuation.panel import confounder_design
from icistop.continuation.protocol import Protocol
from icistop.stats.cox_engine import NOT_CONVERGED, cox_arrays
from icistop.stats.km import km_fit


def landmark_population(panel: pd.DataFrame, L: float, p: Protocol) -> pd.DataFrame:
    ok = (panel["pfs_time"].to_numpy(float) > L) & (panel["y_time"].to_numpy(float) > L)
    if p.require_msi_h_or_dmmr and "msi_h_or_dmmr" in panel:
        ok &= panel["msi_h_or_dmmr"].to_numpy(bool)
    pop = panel[ok].copy()
    pop["on_ici"] = (pop["stop_time"].to_numpy(float) >= L).astype(float)
    cr = pop["t_cr"].to_numpy(float) <= L
    pr = (pop["t_pr"].to_numpy(float) <= L) & ~cr
    pop["response_at_landmark"] = np.where(cr, "CR", np.where(pr, "PR", "other"))
    t = np.minimum(pop["y_time"].to_numpy(float), L + p.tau) - L
    pop["lm_time"] = t
    pop["lm_event"] = ((pop["y_event"].to_numpy(int) > 0) & (pop["y_time"].to_numpy(float) <= L + p.tau)).astype(int)
    return pop


def landmark_analysis(panel: pd.DataFrame, L: float, p: Protocol, confounders=None, adjust_response: bool = True) -> dict:
    pop = landmark_population(panel, L, p)
    on = pop["on_ici"].to_numpy(float)
    t, e = pop["lm_time"].to_numpy(float), pop["lm_event"].to_numpy(int)
    res = {"landmark": L, "n_at_risk": len(pop), "n_on": int(on.sum()), "n_off": int((1 - on).sum()),
           "events_on": int(e[on > 0].sum()), "events_off": int(e[on == 0].sum()), "reason": ""}
    for h in p.horizons:
        res[f"events_on_{h:g}"] = int(e[(on > 0) & (t <= h)].sum())
        res[f"events_off_{h:g}"] = int(e[(on == 0) & (t <= h)].sum())
    if not len(pop):
        res["reason"] = f"nobody alive and progression-free at {L:g} months"
    elif on.sum() == 0 or (1 - on).sum() == 0:
        which = "on" if on.sum() == 0 else "off"
        res["reason"] = f"no patient {which} ICI at the {L:g}-month landmark (positivity)"
    elif res["events_on"] == 0 or res["events_off"] == 0:
        res["reason"] = f"no events in the {'on' if res['events_on'] == 0 else 'off'}-ICI group"
    if res["reason"]:
        return res
    cox = cox_arrays(None, t, e, on, ties=p.ties)
    if cox.usable:
        res.update(loghr_unadj=float(cox.coef[0]), se_loghr_unadj=float(cox.model_se[0]))
    conf = list(p.confounders if confounders is None else confounders)
    if adjust_response:
        conf = conf + ["response_at_landmark"]
    Z, names = confounder_design(pop, conf)
    coxa = cox_arrays(None, t, e, np.column_stack([on, Z]) if Z.shape[1] else on, ties=p.ties)
    res["adjusted_for"] = ", ".join(names)
    if coxa.usable_for([0]):  # the ICI term; a diverging confounder coefficient does not affect it
        res.update(loghr=float(coxa.coef[0]), se_loghr=float(coxa.model_se[0]))
    else:
        res["hr_reason"] = "adjusted " + NOT_CONVERGED
    for h in p.horizons:
        s, v = {}, {}
        for g, m in (("off", on == 0), ("on", on > 0)):
            k = km_fit(None, t[m], e[m])
            s[g] = k.at(h)[0]
            v[g] = float((k.influence_surv(h) ** 2).sum())
        res[f"surv_off_{h:g}"], res[f"surv_on_{h:g}"] = s["off"], s["on"]
        res[f"diff_{h:g}"] = s["on"] - s["off"]
        res[f"se_diff_{h:g}"] = float(np.sqrt(v["on"] + v["off"]))
    return res


def landmark_table(panel: pd.DataFrame, landmarks, p: Protocol, confounders=None) -> pd.DataFrame:
    rows = [landmark_analysis(panel, float(L), p, confounders) for L in landmarks]
    df = pd.DataFrame(rows)
    for pre in ("", "_unadj"):
        for col in (f"loghr{pre}", f"se_loghr{pre}"):
            if col not in df:
                df[col] = np.nan
        b, s = df[f"loghr{pre}"], df[f"se_loghr{pre}"]
        df[f"hr{pre}"], df[f"hr{pre}_lower"], df[f"hr{pre}_upper"] = np.exp(b), np.exp(b - 1.96 * s), np.exp(b + 1.96 * s)
    return df


def landmark_km(panel: pd.DataFrame, L: float, p: Protocol, grid=None) -> pd.DataFrame:
    pop = landmark_population(panel, L, p)
    grid = np.linspace(0, p.tau, int(p.tau * 4) + 1) if grid is None else grid
    out = []
    for lab, m in (("off ICI at landmark", pop["on_ici"] == 0), ("on ICI at landmark", pop["on_ici"] > 0)):
        g = pop[m]
        if not len(g):
            continue
        k = km_fit(None, g["lm_time"], g["lm_event"])
        for t in grid:
            s = k.at(t)[0]
            se = float(np.sqrt((k.influence_surv(t) ** 2).sum())) if t > 0 else 0.0
            lo, hi = conf_limits(np.array([s]), np.array([se / s if s > 0 else np.nan]), "log-log")
            out.append({"landmark": L, "group": lab, "time": t, "surv": s, "lower": float(lo[0]), "upper": float(hi[0])})
    return pd.DataFrame(out, columns=["landmark", "group", "time", "surv", "lower", "upper"])


def landmark_interaction(panel: pd.DataFrame, L: float, p: Protocol, marker: str = "cr_at_landmark",
                         confounders=None) -> pd.DataFrame:
    """Marker-by-exposure interaction in the landmark framework: Cox model on + marker + on x marker
    (+ confounders), marker measured at the landmark (``cr_at_landmark``: CR vs PR/other, or a 0/1
    column). Returns HR on vs off per marker stratum and the interaction HR with Wald 95% CIs."""
    pop = landmark_population(panel, L, p)
    if marker == "cr_at_landmark":
        m = (pop["response_at_landmark"] == "CR").to_numpy(float)
    else:
        m = pd.to_numeric(pop[marker], errors="coerce").fillna(0).to_numpy(float)
    on = pop["on_ici"].to_numpy(float)
    cols = ["HR on vs off, marker = 0", "HR on vs off, marker = 1", "interaction HR (ratio of HRs)"]
    if not len(m) or m.min() == m.max() or on.min() == on.max():
        return pd.DataFrame({"landmark": L, "marker": marker, "quantity": cols, "hr": np.nan, "lower": np.nan, "upper": np.nan})
    ev = pop["lm_event"].to_numpy(int)
    cells = {(a, b): int(ev[(on == a) & (m == b)].sum()) for a in (0, 1) for b in (0, 1)}
    if min(cells.values()) == 0:
        note = "not estimable: no events in a marker x exposure cell " + str({f"on={a},marker={b}": v for (a, b), v in cells.items()})
        return pd.DataFrame({"landmark": L, "marker": marker, "quantity": cols, "hr": np.nan, "lower": np.nan,
                             "upper": np.nan, "note": note})
    conf = list(p.confounders if confounders is None else confounders)
    Z, _ = confounder_design(pop, conf)
    X = np.column_stack([on, m, on * m] + ([Z] if Z.shape[1] else []))
    try:
        fit = cox_arrays(None, pop["lm_time"], pop["lm_event"], X, ties=p.ties)
    except (FloatingPointError, np.linalg.LinAlgError):
        return pd.DataFrame({"landmark": L, "marker": marker, "quantity": cols, "hr": np.nan, "lower": np.nan, "upper": np.nan})
    b, V = fit.coef, fit.var
    ests = [(b[0], V[0, 0]), (b[0] + b[2], V[0, 0] + V[2, 2] + 2 * V[0, 2]), (b[2], V[2, 2])]
    out = []
    for q, (est, var) in zip(cols, ests):
        se = float(np.sqrt(var))
        out.append({"landmark": L, "marker": marker, "quantity": q, "hr": float(np.exp(est)),
                    "lower": float(np.exp(est - 1.96 * se)), "upper": float(np.exp(est + 1.96 * se)),
                    "n_marker1": int(m.sum()), "n": len(m)})
    return pd.DataFrame(out)

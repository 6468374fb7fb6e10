"""Naive (immortal-time-biased) comparisons, shown only for contrast. NOT causal estimates.

1. Ever-stopped-early vs continued, from ICI start (the JITC-type design): patients whose first
   course stopped before ``threshold`` months without progression (stop reason not progression /
   death, no progression before the stop) versus all other treated patients (``comparator =
   "all_others"``) or only those still on ICI at the threshold (``"on_at_threshold"``). PFS from
   ICI start, KM per group and Cox HR (continued vs stopped early). The stopped group is
   progression-free by construction until its stop date (immortal time), which biases the
   comparison in favour of stopping.
2. Fixed-duration groups: PFS from ICI start by time on ICI (<12, 12-24, >24 months), KM and
   Cox HRs vs the first group; conditioning on a post-baseline duration, also biased.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icistop.continuation.protocol import Protocol
from icistop.stats.cox_engine import NOT_CONVERGED, cox_arrays
from icistop.stats.km import km_fit

NAIVE_LABEL = "NAIVE (immortal-time biased)"


def stopped_early(panel: pd.DataFrame, threshold: float) -> np.ndarray:
    S = panel["stop_time"].to_numpy(float)
    reason = panel["stop_reason"].to_numpy(object)
    return (S < threshold) & ~np.isin(reason, ["progression", "death"]) & (panel["prog_time"].to_numpy(float) > S)


def naive_ever_stopped(panel: pd.DataFrame, p: Protocol, threshold: float, comparator: str = "all_others") -> dict:
    """Cox HR (continued vs stopped early) and KM PFS from ICI start at landmark + horizons, with the
    events per group (``events_stopped``, ``events_continued``, and up to each horizon). ``reason``: why
    the comparison does not exist (a group without patients or without events); estimates NaN then."""
    pop = panel
    if p.require_msi_h_or_dmmr and "msi_h_or_dmmr" in pop:
        pop = pop[pop["msi_h_or_dmmr"].to_numpy(bool)]
    early = stopped_early(pop, threshold)
    if comparator == "on_at_threshold":
        keep = early | (pop["stop_time"].to_numpy(float) >= threshold)
        pop, early = pop[keep], early[keep]
    elif comparator != "all_others":
        raise ValueError("comparator must be 'all_others' or 'on_at_threshold'")
    cont = (~early).astype(float)
    t = pop["y_time"].to_numpy(float)
    e = pop["y_event"].to_numpy(int)
    res = {"design": "ever stopped early vs continued, from ICI start", "label": NAIVE_LABEL,
           "n_stopped_early": int(early.sum()), "n_continued": int((~early).sum()),
           "events_stopped": int(e[early].sum()), "events_continued": int(e[~early].sum()),
           "loghr": np.nan, "se_loghr": np.nan, "hr": np.nan, "reason": ""}
    for h in p.horizons:
        for g, m in (("stopped", early), ("continued", ~early)):
            res[f"events_{g}_{h:g}"] = int(e[m & (t <= p.landmark + h)].sum())
    if early.sum() == 0:
        res["reason"] = f"no patient stopped within {threshold:.3g} months without progression (positivity)"
        return res
    if (~early).sum() == 0:
        res["reason"] = "every patient stopped early: no comparison group (positivity)"
        return res
    if res["events_stopped"] == 0 or res["events_continued"] == 0:
        group = "stopped-early" if res["events_stopped"] == 0 else "continued"
        res["reason"] = f"no events in the {group} group"
        return res
    cox = cox_arrays(None, t, e, cont, ties=p.ties)
    if not cox.usable:
        res["reason"] = NOT_CONVERGED
        return res
    res.update(loghr=float(cox.coef[0]), se_loghr=float(cox.model_se[0]), hr=float(np.exp(cox.coef[0])))
    for h in p.horizons:
        s = {}
        for g, m in (("stop", early), ("cont", ~early)):
            k = km_fit(None, t[m], e[m])
            s[g] = k.at(p.landmark + h)[0]
            inf = k.influence_surv(p.landmark + h)
            s[g + "_var"] = float((inf ** 2).sum())
        res[f"surv_stop_{h:g}"], res[f"surv_cont_{h:g}"] = s["stop"], s["cont"]
        res[f"diff_{h:g}"] = s["cont"] - s["stop"]
        res[f"se_diff_{h:g}"] = float(np.sqrt(s["stop_var"] + s["cont_var"]))
    return res


def fixed_duration_groups(panel: pd.DataFrame, p: Protocol, breaks=(12.0, 24.0)) -> pd.DataFrame:
    """KM PFS (from ICI start) at landmark + horizons and Cox HR vs the shortest group, by time on ICI.
    Groups without events are left out of the Cox model (an infinite log HR) with a ``reason``; no HR
    exists when the first (reference) group has no events."""
    pop = panel
    if p.require_msi_h_or_dmmr and "msi_h_or_dmmr" in pop:
        pop = pop[pop["msi_h_or_dmmr"].to_numpy(bool)]
    toi = np.where(np.isfinite(pop["stop_time"].to_numpy(float)), pop["stop_time"].to_numpy(float),
                   pop["time_on_ici"].to_numpy(float) if "time_on_ici" in pop else np.inf)
    b = sorted(breaks)
    labels = [f"<{b[0]:g}"] + [f"{lo:g}-{hi:g}" for lo, hi in zip(b[:-1], b[1:])] + [f">{b[-1]:g}"]
    group = np.digitize(toi, b, right=False)
    t = pop["y_time"].to_numpy(float)
    e = pop["y_event"].to_numpy(int)
    events = np.array([e[group == g].sum() for g in range(len(labels))])
    present = [g for g in range(1, len(labels)) if events[g] > 0]
    cox = None
    if events[0] > 0 and present:
        X = np.column_stack([(group == g).astype(float) for g in present])
        keep = np.isin(group, [0, *present])
        cox = cox_arrays(None, t[keep], e[keep], X[keep], ties=p.ties)
        cox = cox if cox.usable else None
    out = []
    for g, lab in enumerate(labels):
        m = group == g
        row = {"group": lab, "n": int(m.sum()), "n_events": int(events[g]), "label": NAIVE_LABEL,
               "hr_vs_first": np.nan, "hr_lower": np.nan, "hr_upper": np.nan, "reason": ""}
        if m.any():
            k = km_fit(None, t[m], e[m])
            for h in p.horizons:
                row[f"pfs_{p.landmark + h:g}m_from_start"] = float(k.at(p.landmark + h)[0])
        if g == 0:
            row["hr_vs_first"] = 1.0 if events[0] > 0 else np.nan
            row["reason"] = "" if events[0] > 0 else "no events in the reference group: no hazard ratio"
        elif not m.any():
            row["reason"] = "no patients"
        elif events[g] == 0:
            row["reason"] = "no events in this group"
        elif cox is None:
            row["reason"] = "no events in the reference group" if events[0] == 0 else NOT_CONVERGED
        else:
            i = present.index(g)
            b_, s_ = cox.coef[i], cox.model_se[i]
            row.update(hr_vs_first=float(np.exp(b_)), hr_lower=float(np.exp(b_ - 1.96 * s_)), hr_upper=float(np.exp(b_ + 1.96 * s_)))
        out.append(row)
    return pd.DataFrame(out)

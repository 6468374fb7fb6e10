"""Time-varying Cox model: on/off ICI as a time-varying exposure.

Counting-process episodes from ``entry`` (default ICI start) to the outcome: each patient's
follow-up is split at the ICI stop time and at the first PR-or-better and first CR assessment,
giving covariates on_ici(t), CR so far(t), PR so far(t) (time-varying confounders: best response so
far) plus baseline confounders (``events_on``/``events_off`` and ``months_on``/``months_off``: events and
person-time by exposure; no person-time or no events on or off ICI: not estimable, ``reason``). HR of on vs off ICI from ``coxph(Surv(start, stop, event) ~ on_ici
+ cr + pr + ...)`` (Efron ties). Splitting is vectorised: a fixed (n x 4) matrix of candidate
cut points per patient, sorted row-wise; no per-patient Python loop, so 10^5 patients take about a
second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icistop.continuation.panel import confounder_design
from icistop.continuation.protocol import Protocol
from icistop.stats.cox_engine import NOT_CONVERGED, cox_arrays


def split_episodes(panel: pd.DataFrame, entry: float = 0.0, horizon: float | None = None) -> pd.DataFrame:
    """(start, stop] episodes with on_ici, cr, pr; one row per patient-episode, vectorised."""
    y = panel["y_time"].to_numpy(float)
    ev = panel["y_event"].to_numpy(int) > 0
    if horizon is not None:
        ev = ev & (y <= horizon)
        y = np.minimum(y, horizon)
    S = panel["stop_time"].to_numpy(float)
    tcr = panel["t_cr"].to_numpy(float)
    tpr = panel["t_pr"].to_numpy(float)
    tprog = panel["prog_time"].to_numpy(float) if "prog_time" in panel else np.full(len(y), np.inf)
    n = len(y)
    keep = y > entry
    inner = np.sort(np.clip(np.column_stack([S, tpr, tcr, tprog]), entry, None), axis=1)
    inner = np.minimum(inner, y[:, None])
    bounds = np.column_stack([np.full(n, entry), inner, y])  # n x 6, nondecreasing
    starts, stops = bounds[:, :-1], bounds[:, 1:]
    valid = (stops > starts) & keep[:, None]
    i, j = np.nonzero(valid)
    st, sp = starts[i, j], stops[i, j]
    out = pd.DataFrame({
        "pid": i, "patient_id": panel["patient_id"].to_numpy()[i], "start": st, "stop": sp,
        "event": (ev[i] & (sp >= y[i])).astype(int),
        "on_ici": (S[i] >= sp).astype(float),
        "cr": (tcr[i] <= st).astype(float),
    })
    out["pr"] = ((tpr[i] <= st) & (out["cr"].to_numpy() == 0)).astype(float)
    out["progressed"] = (tprog[i] <= st).astype(float)
    return out


def timevarying_cox(panel: pd.DataFrame, p: Protocol, entry: float = 0.0, confounders=None,
                    time_varying_response: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit the time-varying Cox model; returns (coefficient table, episodes)."""
    pop = panel
    if p.require_msi_h_or_dmmr and "msi_h_or_dmmr" in pop:
        pop = pop[pop["msi_h_or_dmmr"].to_numpy(bool)].reset_index(drop=True)
    ep = split_episodes(pop, entry)
    Z, names = confounder_design(pop, p.confounders if confounders is None else confounders)
    cols, labels = [ep["on_ici"].to_numpy()], ["on_ici"]
    if time_varying_response:
        cols += [ep["cr"].to_numpy(), ep["pr"].to_numpy()]
        labels += ["cr_so_far", "pr_so_far"]
    if p.outcome == "os":  # after progression patients stop ICI and die: adjust for progression
        cols.append(ep["progressed"].to_numpy())
        labels.append("progressed")
    labels += names
    on = ep["on_ici"].to_numpy() > 0
    dur = (ep["stop"] - ep["start"]).to_numpy(float)
    counts = {"n_patients": len(pop), "n_episodes": len(ep), "n_events": int(ep["event"].sum()),
              "events_on": int(ep["event"].to_numpy()[on].sum()), "events_off": int(ep["event"].to_numpy()[~on].sum()),
              "months_on": float(dur[on].sum()), "months_off": float(dur[~on].sum())}
    reason = ""
    if not len(ep):
        reason = "no patients with follow-up"
    elif counts["months_off"] == 0 or counts["months_on"] == 0:
        reason = f"no follow-up time {'off' if counts['months_off'] == 0 else 'on'} ICI (positivity)"
    elif counts["events_on"] == 0 or counts["events_off"] == 0:
        reason = f"no events {'on' if counts['events_on'] == 0 else 'off'} ICI"
    if reason:
        tab = pd.DataFrame({"term": labels, "coef": np.nan, "se": np.nan, "hr": np.nan, "hr_lower": np.nan,
                            "hr_upper": np.nan})
    else:
        X = np.column_stack(cols + ([Z[ep["pid"].to_numpy()]] if Z.shape[1] else []))
        fit = cox_arrays(ep["start"], ep["stop"], ep["event"], X, ties=p.ties)
        usable = fit.usable_for(range(len(cols)))  # the exposure and response terms; confounders may diverge
        if not usable:
            reason = NOT_CONVERGED
        shown = usable & ~fit.infinite  # a diverging confounder coefficient is not printed
        se = np.where(shown, fit.model_se, np.nan)
        coef = np.where(shown, fit.coef, np.nan)
        tab = pd.DataFrame({"term": labels, "coef": coef, "se": se, "hr": np.exp(coef),
                            "hr_lower": np.exp(coef - 1.96 * se), "hr_upper": np.exp(coef + 1.96 * se)})
    for key, value in counts.items():
        tab[key] = value
    tab["reason"] = np.where(tab["term"] == "on_ici", reason, "")
    return tab, ep

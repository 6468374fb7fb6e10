"""Discrimination and calibration of a risk score for a right-censored endpoint.

- Harrell's C (concordance of the score with the order of event times; higher score = earlier event)
  with the pair conventions of R ``survival::concordance``: a pair is comparable when the shorter
  time is an event (an event and a censoring at the same time are comparable, two events at the
  same time are not); ties in the score count 1/2.
- Time-dependent AUC at t, cumulative/dynamic definition (cases T <= t with an event, controls
  T > t), inverse-probability-of-censoring weighted with the Kaplan-Meier estimate of the censoring
  distribution G: cases weighted 1/G(T_i-), controls 1/G(t) (Uno et al. 2007; Hung & Chiang 2010;
  the IPCW estimator of ``timeROC``); score ties count 1/2.
- Bootstrap optimism correction (Harrell, Lee & Mark 1996): corrected = apparent - mean over B
  resamples of (performance in the resample - performance of the resample's model in the data).
- Calibration at t by risk groups: mean predicted risk vs observed 1 - KM(t) (Greenwood CI on the
  log(-log) scale) within quantile groups of predicted risk.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats


def harrell_c(time, event, score) -> dict:
    """Harrell's C; returns c, concordant, discordant, tied_score, comparable pairs."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    score = np.asarray(score, dtype=float)
    conc = disc = tied = 0.0
    idx = np.flatnonzero(event == 1)
    for start in range(0, idx.size, 256):
        i = idx[start:start + 256]
        ti, si = time[i][:, None], score[i][:, None]
        comparable = (time[None, :] > ti) | ((time[None, :] == ti) & (event[None, :] == 0))
        conc += float(np.sum(comparable & (si > score[None, :])))
        disc += float(np.sum(comparable & (si < score[None, :])))
        tied += float(np.sum(comparable & (si == score[None, :])))
    total = conc + disc + tied
    c = (conc + 0.5 * tied) / total if total > 0 else math.nan
    return {"c": c, "concordant": conc, "discordant": disc, "tied_score": tied, "comparable": total}


def km_curve(time, event) -> pd.DataFrame:
    """Kaplan-Meier product-limit estimate at the distinct event times (time, n_risk, n_event,
    surv, greenwood variance sum)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    ut = np.unique(time[event == 1])
    n_risk = np.array([(time >= u).sum() for u in ut], dtype=float)
    d = np.array([((time == u) & (event == 1)).sum() for u in ut], dtype=float)
    surv = np.cumprod(1 - d / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        gw = np.cumsum(np.where(n_risk > d, d / (n_risk * (n_risk - d)), np.inf))
    return pd.DataFrame({"time": ut, "n_risk": n_risk, "n_event": d, "surv": surv, "greenwood": gw})


def km_at(time, event, t: float, conf_level: float = 0.95) -> dict:
    """KM survival at t with Greenwood SE and log(-log) CI; NaN when follow-up ends before t."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    if time.size == 0 or np.max(time) < t:
        return {"surv": math.nan, "se": math.nan, "lower": math.nan, "upper": math.nan}
    curve = km_curve(time, event)
    curve = curve[curve["time"] <= t]
    if curve.empty:
        return {"surv": 1.0, "se": 0.0, "lower": 1.0, "upper": 1.0}
    s = float(curve["surv"].iloc[-1])
    gw = float(curve["greenwood"].iloc[-1])
    se = s * math.sqrt(gw) if math.isfinite(gw) else math.nan
    if s <= 0 or s >= 1 or not math.isfinite(gw):
        return {"surv": s, "se": se, "lower": math.nan if s > 0 else 0.0, "upper": math.nan if s > 0 else 0.0}
    z = stats.norm.ppf(1 - (1 - conf_level) / 2)
    # log(-log) interval: S^exp(+-z se(log(-log S)))
    se_ll = math.sqrt(gw) / abs(math.log(s))
    lower = s ** math.exp(z * se_ll)
    upper = s ** math.exp(-z * se_ll)
    return {"surv": s, "se": se, "lower": lower, "upper": upper}


def censoring_survival_left(time, event, at) -> np.ndarray:
    """G(at-): KM of the censoring distribution just before ``at`` (events precede censorings at
    tied times, so censorings at ``at`` are not subtracted)."""
    time = np.asarray(time, dtype=float)
    cens = 1 - np.asarray(event, dtype=float)
    curve = km_curve(time, cens)
    at = np.asarray(at, dtype=float)
    pos = np.searchsorted(curve["time"].to_numpy(), at, side="left")  # censoring times < at
    surv = np.concatenate([[1.0], curve["surv"].to_numpy()])
    return surv[pos]


def censoring_survival(time, event, at) -> np.ndarray:
    """G(at): KM of the censoring distribution at ``at`` (right-continuous)."""
    time = np.asarray(time, dtype=float)
    cens = 1 - np.asarray(event, dtype=float)
    curve = km_curve(time, cens)
    pos = np.searchsorted(curve["time"].to_numpy(), np.asarray(at, dtype=float), side="right")
    surv = np.concatenate([[1.0], curve["surv"].to_numpy()])
    return surv[pos]


def auc_ipcw(time, event, score, t: float) -> float:
    """Cumulative/dynamic time-dependent AUC(t) with IPCW (Uno 2007 / timeROC-type estimator)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    score = np.asarray(score, dtype=float)
    cases = (time <= t) & (event == 1)
    controls = time > t
    if not cases.any() or not controls.any():
        return math.nan
    w = 1.0 / censoring_survival_left(time, event, time[cases])
    sc, sk = score[cases][:, None], score[controls][None, :]
    pair = (sc > sk).astype(float) + 0.5 * (sc == sk)
    num = float(np.sum(w * pair.sum(axis=1)))
    return num / (float(np.sum(w)) * controls.sum())


def breslow_risk(lp_new, time, event, lp_fit, t: float) -> np.ndarray:
    """Predicted risk 1 - exp(-H0(t) exp(lp)) with the Breslow baseline cumulative hazard of a Cox
    model whose linear predictors in the fitting data are ``lp_fit``."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    lp_fit = np.asarray(lp_fit, dtype=float)
    shift = float(np.mean(lp_fit))
    r = np.exp(lp_fit - shift)
    ut = np.unique(time[(event == 1) & (time <= t)])
    h0 = 0.0
    for u in ut:
        h0 += ((time == u) & (event == 1)).sum() / r[time >= u].sum()
    return 1 - np.exp(-h0 * np.exp(np.asarray(lp_new, dtype=float) - shift))


def bootstrap_optimism(data: pd.DataFrame, fit, evaluate, n_boot: int, seed: int) -> pd.DataFrame:
    """Harrell's bootstrap optimism correction.

    ``fit(frame)`` returns a model (or raises); ``evaluate(model, frame)`` returns {metric: value}.
    Resamples whose fit or evaluation fails are dropped and counted (``n_failed``).
    """
    rng = np.random.default_rng(seed)
    model = fit(data)
    apparent = evaluate(model, data)
    diffs = {k: [] for k in apparent}
    failed = 0
    n = len(data)
    for _ in range(n_boot):
        idx = rng.integers(0, n, size=n)
        boot = data.iloc[idx].reset_index(drop=True)
        try:
            m_b = fit(boot)
            app_b = evaluate(m_b, boot)
            test_b = evaluate(m_b, data)
        except Exception:  # noqa: BLE001 - a degenerate resample (e.g. a level without events)
            failed += 1
            continue
        for k in apparent:
            if math.isfinite(app_b[k]) and math.isfinite(test_b[k]):
                diffs[k].append(app_b[k] - test_b[k])
    rows = []
    for k, v in apparent.items():
        opt = float(np.mean(diffs[k])) if diffs[k] else math.nan
        rows.append({"metric": k, "apparent": v, "optimism": opt, "corrected": v - opt,
                     "n_boot": n_boot, "n_boot_used": len(diffs[k]), "n_failed": failed, "seed": seed})
    return pd.DataFrame(rows)


def calibration_groups(time, event, predicted_risk, t: float, n_groups: int = 3,
                       conf_level: float = 0.95) -> pd.DataFrame:
    """Mean predicted risk at t vs observed 1 - KM(t) within ``n_groups`` quantile groups of the
    predicted risk (groups formed on ranks, ties broken by order; group 1 = lowest risk)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    pred = np.asarray(predicted_risk, dtype=float)
    n = pred.size
    ranks = stats.rankdata(pred, method="ordinal")
    group = np.ceil(ranks * n_groups / n).astype(int)
    rows = []
    for g in range(1, n_groups + 1):
        sel = group == g
        km = km_at(time[sel], event[sel], t, conf_level)
        rows.append({
            "group": g, "n": int(sel.sum()), "events": int(event[sel].sum()),
            "predicted_min": float(pred[sel].min()) if sel.any() else math.nan,
            "predicted_max": float(pred[sel].max()) if sel.any() else math.nan,
            "predicted_mean": float(pred[sel].mean()) if sel.any() else math.nan,
            "observed": 1 - km["surv"], "observed_lower": 1 - km["upper"], "observed_upper": 1 - km["lower"],
        })
    return pd.DataFrame(rows)

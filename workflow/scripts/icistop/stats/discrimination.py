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
  resamples of (performance in the resample - performance of the resample's model in the data); above
  a configured size on a random subsample, scaled to the full size by sqrt(subsample size / n).
- Calibration at t by risk groups: mean predicted risk vs observed 1 - KM(t) (Greenwood CI on the
  log(-log) scale) within quantile groups of predicted risk.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats


def _inversions_weighted(rank, weight) -> int:
    """Sum of ``weight[i]`` over the pairs i < j (array order) with ``rank[i] > rank[j]``.

    Wavelet-tree count: the ranks' bits are taken from the highest down; at each bit the subjects are
    grouped by the higher bits (a node, kept in array order), and a subject with the bit set is counted
    against the later subjects of its node with the bit clear (the same higher bits and a smaller rank);
    then each node is split stably, bit clear first. O(n log n) time, O(n) memory, all array operations."""
    r = np.asarray(rank, dtype=np.int64)
    w = np.asarray(weight, dtype=np.int64)
    n = r.size
    if n < 2:
        return 0
    idx = np.arange(n)
    start = np.zeros(n, dtype=np.int64)  # first index of each subject's node
    size = np.full(n, n, dtype=np.int64)  # size of each subject's node
    total = 0
    for bit in range(int(r.max()).bit_length() - 1, -1, -1):
        one = (r >> bit) & 1
        zero = 1 - one
        zeros_before = np.cumsum(zero) - zero
        zb = zeros_before - zeros_before[start]  # zeros before the subject, within its node
        last = start + size - 1
        nz = zeros_before[last] + zero[last] - zeros_before[start]  # zeros in the node
        hit = (one == 1) & (w != 0)
        total += int(np.dot(nz[hit] - zb[hit], w[hit]))
        pos = np.where(zero == 1, start + zb, start + nz + (idx - start - zb))  # index after the split
        new_start = np.where(zero == 1, start, start + nz)
        new_size = np.where(zero == 1, nz, size - nz)
        at = np.empty_like(pos)
        at[pos] = idx  # the subject at each index after the split
        r, w, start, size = r[at], w[at], new_start[at], new_size[at]
    return total


def _pair_counts(time, event, score) -> tuple[float, float, float]:
    """(concordant, discordant, tied-score) counts over comparable pairs (i an event, j with
    t_j > t_i, or t_j == t_i and j censored).

    Comparable pairs per event come from sorted times. Concordant pairs (s_j < s_i) are the weighted
    inversions of the score ranks with the subjects ordered by time, events before censorings at a
    tied time and tied events by increasing score (so that a later tied event never has a lower
    score and is not counted). Tied-score pairs are counted within each score value by binary search
    on (score, time) keys. O(n log n) time and O(n) memory."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    score = np.asarray(score, dtype=float)
    ev = event == 1
    if not ev.any():
        return 0.0, 0.0, 0.0
    n = time.size
    _, srank = np.unique(score, return_inverse=True)
    _, trank = np.unique(time, return_inverse=True)
    srank = srank.astype(np.int64).ravel()
    trank = trank.astype(np.int64).ravel()
    order = np.lexsort((srank, ~ev, trank))
    conc = _inversions_weighted(srank[order], ev[order])
    t_all = np.sort(trank)
    t_cens = np.sort(trank[~ev])
    t_ev = np.sort(trank[ev])
    comparable = (n - np.searchsorted(t_all, t_ev, side="right")).sum() + (
        np.searchsorted(t_cens, t_ev, side="right") - np.searchsorted(t_cens, t_ev, side="left")).sum()
    width = int(trank.max()) + 2
    key = srank * width + trank  # one block of keys per score value, ordered by time inside
    k_all = np.sort(key)
    k_cens = np.sort(key[~ev])
    k_ev = np.sort(key[ev])
    block_end = np.searchsorted(k_all, (k_ev // width + 1) * width, side="left")
    tied = (block_end - np.searchsorted(k_all, k_ev, side="right")).sum() + (
        np.searchsorted(k_cens, k_ev, side="right") - np.searchsorted(k_cens, k_ev, side="left")).sum()
    return float(conc), float(int(comparable) - conc - int(tied)), float(int(tied))


def harrell_c(time, event, score) -> dict:
    """Harrell's C; returns c, concordant, discordant, tied_score, comparable pairs.

    Comparable pairs: the shorter time is an event, or equal times with the other censored; tied
    scores count 1/2 (R ``survival::concordance`` with ``timewt = "n"`` counts the same pairs).
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    score = np.asarray(score, dtype=float)
    conc, disc, tied = _pair_counts(time, event, score)
    total = conc + disc + tied
    c = (conc + 0.5 * tied) / total if total > 0 else math.nan
    return {"c": c, "concordant": conc, "discordant": disc, "tied_score": tied, "comparable": total}


def km_curve(time, event) -> pd.DataFrame:
    """Kaplan-Meier product-limit estimate at the distinct event times (time, n_risk, n_event,
    surv, greenwood variance sum)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    ut, d = np.unique(time[event == 1], return_counts=True)
    n_risk = (len(time) - np.searchsorted(np.sort(time), ut, side="left")).astype(float)
    d = d.astype(float)
    surv = np.cumprod(1 - d / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        gw = np.cumsum(np.where(n_risk > d, d / (n_risk * (n_risk - d)), np.inf))
    return pd.DataFrame({"time": ut, "n_risk": n_risk, "n_event": d, "surv": surv, "greenwood": gw})


def km_at(time, event, t: float, conf_level: float = 0.95) -> dict:
    """KM survival at t with Greenwood SE and log(-log) CI; NaN when follow-up ends before t, unless the
    curve has reached 0 (the last patient had the event: S = 0 is known at every later time)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    if time.size == 0:
        return {"surv": math.nan, "se": math.nan, "lower": math.nan, "upper": math.nan}
    curve = km_curve(time, event)
    if np.max(time) < t and (curve.empty or float(curve["surv"].iloc[-1]) > 0):
        return {"surv": math.nan, "se": math.nan, "lower": math.nan, "upper": math.nan}
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
    # per case: controls with a lower score count 1, equal score 1/2 (binary search, not a pair matrix)
    sk = np.sort(score[controls])
    below = np.searchsorted(sk, score[cases], side="left")
    equal = np.searchsorted(sk, score[cases], side="right") - below
    num = float(np.sum(w * (below + 0.5 * equal)))
    return num / (float(np.sum(w)) * controls.sum())


def breslow_risk(lp_new, time, event, lp_fit, t: float) -> np.ndarray:
    """Predicted risk 1 - exp(-H0(t) exp(lp)) with the Breslow baseline cumulative hazard of a Cox
    model whose linear predictors in the fitting data are ``lp_fit``."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    lp_fit = np.asarray(lp_fit, dtype=float)
    shift = float(np.mean(lp_fit))
    r = np.exp(lp_fit - shift)
    ut, d = np.unique(time[(event == 1) & (time <= t)], return_counts=True)
    order = np.argsort(time, kind="stable")
    risk_after = np.concatenate([np.cumsum(r[order][::-1])[::-1], [0.0]])  # sum of r with time >= time[order][k]
    at_risk = risk_after[np.searchsorted(time[order], ut, side="left")]
    h0 = float(np.sum(d / at_risk))
    return 1 - np.exp(-h0 * np.exp(np.asarray(lp_new, dtype=float) - shift))


def bootstrap_optimism(data: pd.DataFrame, fit, evaluate, n_boot: int, seed: int,
                       max_n: int | None = None) -> pd.DataFrame:
    """Harrell's bootstrap optimism correction.

    ``fit(frame)`` returns a model (or raises); ``evaluate(model, frame)`` returns {metric: value}.
    Resamples whose fit or evaluation fails are dropped and counted (``n_failed``).

    Above ``max_n`` rows the resampling runs on a random subsample of ``max_n`` rows (drawn with the
    same seed) and its optimism is scaled by ``sqrt(max_n / n)``, an upper bound: the optimism of a model
    with a fixed number of parameters shrinks at least as fast as 1/sqrt(n) (as 1/n for a smooth measure
    of real effects; as 1/sqrt(n) for a rank measure such as C when weak covariates break score ties,
    which is what registry-size data with a few binary markers showed), while each resample at full size
    would cost a full fit. The apparent performance is always that of the full data.
    """
    rng = np.random.default_rng(seed)
    n_all = len(data)
    model = fit(data)
    apparent = evaluate(model, data)
    scale = 1.0
    work = data
    if max_n is not None and 0 < max_n < n_all:
        work = data.iloc[np.sort(rng.choice(n_all, size=max_n, replace=False))].reset_index(drop=True)
        scale = float(np.sqrt(max_n / n_all))
    diffs = {k: [] for k in apparent}
    failed = 0
    n = len(work)
    for _ in range(n_boot):
        idx = rng.integers(0, n, size=n)
        boot = work.iloc[idx].reset_index(drop=True)
        try:
            m_b = fit(boot)
            app_b = evaluate(m_b, boot)
            test_b = evaluate(m_b, work)
        except Exception:  # noqa: BLE001 - a degenerate resample (e.g. a level without events)
            failed += 1
            continue
        for k in apparent:
            if math.isfinite(app_b[k]) and math.isfinite(test_b[k]):
                diffs[k].append(app_b[k] - test_b[k])
    method = ("bootstrap" if scale == 1.0
              else f"bootstrap in a random subsample of {n} of {n_all}, optimism x sqrt({n}/{n_all}) (upper bound)")
    rows = []
    for k, v in apparent.items():
        opt = float(np.mean(diffs[k])) * scale if diffs[k] else math.nan
        rows.append({"metric": k, "apparent": v, "optimism": opt, "corrected": v - opt,
                     "n_boot": n_boot, "n_boot_used": len(diffs[k]), "n_failed": failed, "seed": seed,
                     "optimism_n": n, "optimism_method": method})
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

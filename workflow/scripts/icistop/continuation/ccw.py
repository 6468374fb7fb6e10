"""Clone-censor-weight emulation of the continue-vs-stop target trial (Hernan & Robins 2016;
Maringe et al. 2020 Int J Epidemiol).

Every eligible patient (see :func:`eligible`) is cloned at time zero (the landmark L) into
A (stop within the grace period (L, G]) and B (continue to completion C unless progression /
allowed stop reason). Clones are censored at deviation:

- A, grace timing "observed": a clone still on ICI at G (and event-free, not yet progressed) is
  censored at G. Only the last grace interval [G - d, G) decides this (those who stopped earlier
  are compliant): logistic model of stopping in [G - d, G) among patients on ICI at G - d and
  event-free at G; clones that stopped in that interval get weight 1 / P(stop) from G on. This is
  Hernan's grace-period regime: stop when one would have, at the latest in the last interval.
- B: intervals [L + k d, L + (k+1) d) up to C. A clone on ICI at the interval start that stops
  during the interval for a reason not allowed (before progression/outcome; a planned_completion
  stop within the tolerance before C is allowed) deviates and is censored at its stop date.
  Pooled logistic model of deviation over person-intervals at risk; the weight in interval k is
  prod_{j <= k} 1 / (1 - p_j) (the same for every clone of the risk set at a given time, so the
  within-interval timing does not bias the KM), frozen once the clone can no longer deviate.
  Censoring at the interval start instead would keep exactly those would-be deviators whose
  event came before their stop, an excess of events (a bias of about +0.03 in the null log HR in
  the simulation study).
- A, grace timing "uniform" (default; the target trial randomises the stop time uniformly over the
  grace period): in each grace interval j, clones on ICI at its start and event-free at its end get
  the factor pi_j / p_j if they stopped and (1 - pi_j) / (1 - p_j) otherwise, pi_j = share of the
  remaining grace period covered by interval j (1 in the last interval: non-stoppers are censored
  at G), p_j from a pooled logistic model of stopping; applied from the end of the interval.

Covariates of the deviation models: baseline confounders, best response so far at the interval
start (CR, PR vs other), and time (interval index, its square; grace-interval indicators in A).
Weights are unstabilised by default (they reproduce the full cloned cohort in each arm, matching a
Cox model on the two complete counterfactual cohorts); ``stabilise`` rescales each interval of an
arm to mean weight 1 (a time-only numerator: KM unchanged, Cox risk sets re-weighted over time).
Optional truncation at percentiles of the clone-interval weights. Estimates: weighted Kaplan-Meier per arm on counting-process rows (time since time
zero), PFS difference / ratio at the horizons, RMST difference up to tau, and the hazard ratio
B vs A from a weighted Cox model (robust variance clustered by patient). Standard errors from
influence functions / the robust sandwich treat the weights as known; the workflow's CIs come
from the bootstrap (refitting the weights), see :mod:`.bootstrap`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from icistop.continuation.arm_variance import arm_terms, surv_se
from icistop.stats.km import conf_limits
from icistop.continuation.panel import confounder_design
from icistop.stats.logistic import logit_fit, logit_predict
from icistop.continuation.protocol import Protocol
from icistop.stats.cox_engine import cox_arrays
from icistop.stats.km import cluster_sum, km_fit


def eligible(panel: pd.DataFrame, p: Protocol) -> np.ndarray:
    """Eligibility at time zero: (MSI-H/dMMR), progression-free and alive, on ICI at the landmark."""
    ok = (panel["pfs_time"].to_numpy() > p.landmark) & (panel["stop_time"].to_numpy() >= p.landmark)
    ok &= panel["y_time"].to_numpy() > p.landmark
    if p.require_msi_h_or_dmmr and "msi_h_or_dmmr" in panel:
        ok &= panel["msi_h_or_dmmr"].to_numpy(bool)
    return ok


def _resp(panel: pd.DataFrame, rows: np.ndarray, t: np.ndarray):
    """Indicators (CR so far, PR-not-CR so far) of the panel rows ``rows`` at times ``t``."""
    cr = panel["t_cr"].to_numpy(float)[rows] <= t
    pr = (panel["t_pr"].to_numpy(float)[rows] <= t) & ~cr
    return cr.astype(float), pr.astype(float)


def _interval_design(panel: pd.DataFrame, p: Protocol, Z: np.ndarray, rows: np.ndarray, starts: np.ndarray,
                     time_cols: list) -> np.ndarray:
    """Person-interval design of a deviation model: intercept, the time terms, best response so far
    at the interval start (when ``p.time_varying``) and the baseline confounders."""
    cols = [np.ones(len(rows)), *time_cols]
    if p.time_varying:
        cols += list(_resp(panel, rows, starts))
    if Z.shape[1]:
        cols.append(Z[rows])
    return np.column_stack(cols)


def _truncate(values: np.ndarray, mask: np.ndarray, pct, freq: np.ndarray | None = None) -> np.ndarray:
    """Clip ``values[mask]`` to its percentiles ``pct``; ``freq`` (per row of ``values``) repeats
    each clone as often as it was drawn (the percentiles of the duplicated sample)."""
    if not pct or not mask.any():
        return values
    sample = values[mask]
    if freq is not None:
        reps = np.broadcast_to(freq[:, None], values.shape)[mask].astype(int)
        sample = np.repeat(sample, reps)
    if not len(sample):
        return values
    lo, hi = np.percentile(sample, pct)
    out = values.copy()
    out[mask] = np.clip(values[mask], lo, hi)
    return out


def _interval_probability(X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, start=None):
    """Pooled logistic fit (``w``: frequency weights): (coefficients, fitted P(y = 1)). When the
    outcome does not vary among rows of positive weight: (None, the observed rate)."""
    yy = y if w is None else y[w > 0]
    if len(yy) and yy.min() != yy.max():
        coef = logit_fit(X, y, weights=w, ridge=1e-6, start=start)
        return coef, logit_predict(X, coef)
    rate = np.average(y, weights=w) if w is None or w.sum() else 0.0
    return None, np.full(len(y), rate)


def _arm_rows(bounds: np.ndarray, n: int, censor: np.ndarray, yr: np.ndarray, evr: np.ndarray) -> dict:
    """Counting-process rows of one arm: segment m = (bounds[m], bounds[m+1]], cut at the outcome
    time ``yr`` and at the artificial censoring time ``censor`` (inf = none). Returns arrays pid
    (row of the panel), seg (m), start, stop, event; the weight of a row is W[pid, seg]."""
    M = len(bounds) - 1
    b0 = np.broadcast_to(bounds[:-1][None, :], (n, M))
    b1 = np.broadcast_to(bounds[1:][None, :], (n, M))
    end = np.minimum(np.minimum(b1, yr[:, None]), censor[:, None])
    i, m = np.nonzero(end > b0)
    stop = end[i, m]
    event = evr[i] & (yr[i] <= b1[i, m]) & (yr[i] <= censor[i]) & (stop == yr[i])
    return {"pid": i, "seg": m, "start": b0[i, m], "stop": stop, "event": event.astype(int)}


def _normalise(W: np.ndarray, bounds: np.ndarray, censor: np.ndarray, yr: np.ndarray,
               freq: np.ndarray | None = None) -> np.ndarray:
    """Stabilisation by a time-only numerator: scale each segment so that the mean weight of the
    clones present at its start is 1 (constant within an arm's risk set: the KM is unchanged)."""
    present = (yr[:, None] > bounds[None, :-1]) & (censor[:, None] > bounds[None, :-1])
    f = np.ones(len(W)) if freq is None else freq
    tot = np.where(present, W * f[:, None], 0).sum(0)
    cnt = (present * f[:, None]).sum(0)
    scale = np.where(tot > 0, cnt / np.where(tot > 0, tot, 1), 1.0)
    return W * scale[None, :]


@dataclass
class CloneDesign:
    """Everything of the clone-censor-weight construction that does not depend on the fitted
    deviation models: the artificial censoring, the person-interval designs of the two logistic
    models and the counting-process rows of both arms (weights come from :func:`clone_weights`)."""

    n: int
    yr: np.ndarray
    bounds: dict          # arm -> segment bounds (months since time zero)
    censor: dict          # arm -> artificial censoring time per clone (inf = none)
    b_index: tuple        # (patient, interval) of the B person-intervals at risk of deviation
    b_X: np.ndarray
    b_y: np.ndarray
    a_index: tuple        # (patient, grace interval) of the A person-intervals used
    a_X: np.ndarray
    a_y: np.ndarray
    a_target: np.ndarray  # pi_j of the used A person-intervals
    a_dev: np.ndarray     # A clones censored at the end of grace
    J: int
    K: int
    arms: dict            # arm -> row arrays (see _arm_rows)
    censored: pd.DataFrame
    covariates: list
    followed: dict        # "A"/"B" -> patients observed to follow the strategy (0: positivity fails)


def clone_design(panel: pd.DataFrame, p: Protocol) -> CloneDesign:
    """Clone and censor (weight-free part). ``panel`` is the eligible panel (see :func:`eligible`)."""
    n = len(panel)
    L, G, d, C = p.landmark, p.grace_end, p.interval, p.completion
    y = panel["y_time"].to_numpy(float)
    ev = panel["y_event"].to_numpy(int)
    prog = panel["prog_time"].to_numpy(float)
    S = panel["stop_time"].to_numpy(float)
    reason = panel["stop_reason"].to_numpy(object)
    allowed = np.isin(reason, list(p.allowed_continue_stop_reasons))
    allowed_at = np.where(reason == "planned_completion", C - p.completion_tolerance, np.inf)
    Z, znames = confounder_design(panel, p.confounders)
    tau_abs = L + p.tau
    yr = np.minimum(y, tau_abs) - L
    evr = (ev > 0) & (y <= tau_abs)

    # ---- B: continue to completion; deviation = stop for a non-allowed reason before C ---------
    K = max(int(np.ceil((C - L) / d - 1e-9)), 0)
    edges = np.minimum(L + d * np.arange(K + 1), C)
    e0, e1 = edges[:-1][None, :], edges[1:][None, :]
    atrisk_b = (S[:, None] >= e0) & (y[:, None] > e0) & (prog[:, None] > e0)
    stop_in = atrisk_b & (S[:, None] < e1)
    dev_b = (stop_in & (S[:, None] < y[:, None]) & (S[:, None] < prog[:, None]) & ~allowed[:, None]
             & (S[:, None] < allowed_at[:, None]))
    r_i, r_k = np.nonzero(atrisk_b)
    t_k = r_k.astype(float)
    b_X = _interval_design(panel, p, Z, r_i, edges[r_k], [t_k, t_k ** 2])
    b_y = dev_b[r_i, r_k].astype(float)
    b_index = (r_i, r_k)
    dev_any = dev_b.any(axis=1) if K else np.zeros(n, bool)
    # deviators are censored at their stop date: censoring them at the interval start would keep only
    # the would-be deviators whose event came before their stop (an excess of events in arm B). The
    # weights are constant within an interval, so at any time all clones of the risk set carry the
    # weight of the same interval (the KM hazard does not depend on a common factor).
    censor_b = np.where(dev_any, S - L, np.inf)
    bounds_b = np.concatenate([edges - L, [max(p.tau, edges[-1] - L + 1e-9)]])

    # ---- A: stop within the grace period (L, G] -------------------------------------------------
    J = max(int(np.ceil((G - L) / d - 1e-9)), 1)
    g = np.minimum(L + d * np.arange(J + 1), G)
    g0, g1 = g[:-1][None, :], g[1:][None, :]
    atrisk_a = (S[:, None] >= g0) & (y[:, None] > g1) & (prog[:, None] > g1)
    stop_a = atrisk_a & (S[:, None] < g1)
    if p.grace_timing == "uniform":
        target = np.broadcast_to((g1 - g0) / (G - g0), (n, J))  # uniform stop time over the rest of grace
        use = atrisk_a
    elif p.grace_timing == "observed":
        target = None
        use = atrisk_a & (np.arange(J)[None, :] == J - 1)
    else:
        raise ValueError("grace_timing must be 'uniform' or 'observed'")
    r_i, r_j = np.nonzero(use)
    grace_terms = [(r_j == j).astype(float) for j in range(1, J) if p.grace_timing == "uniform"]
    a_X = _interval_design(panel, p, Z, r_i, g[r_j], grace_terms)
    a_y = stop_a[r_i, r_j].astype(float)
    a_target = target[r_i, r_j] if target is not None else np.full(len(r_i), np.nan)
    dev_a = atrisk_a[:, -1] & ~stop_a[:, -1]  # still on ICI at G, event-free and not progressed
    censor_a = np.where(dev_a, G - L, np.inf)
    bounds_a = np.concatenate([g - L, [max(p.tau, G - L + 1e-9)]])

    cens = []
    for j in range(J):
        cens.append({"arm": "A (stop)", "interval_start": g[j] - L, "interval_end": g[j + 1] - L,
                     "n_at_risk_of_deviation": int(atrisk_a[:, j].sum()),
                     "n_stopped": int(stop_a[:, j].sum()),
                     "n_censored": int(dev_a.sum()) if j == J - 1 else 0})
    for k in range(K):
        cens.append({"arm": "B (continue)", "interval_start": edges[k] - L, "interval_end": edges[k + 1] - L,
                     "n_at_risk_of_deviation": int(atrisk_b[:, k].sum()), "n_stopped": int(stop_in[:, k].sum()),
                     "n_censored": int(dev_b[:, k].sum())})
    # positivity: A = stopped within grace while progression- and outcome-free; B = on ICI (or stopped for
    # an allowed reason) until completion while outcome-free then
    cont_to_c = ((S >= C - p.completion_tolerance) | allowed) & ~dev_any & (y > min(C, tau_abs))
    followed = {"A": int(stop_a.any(axis=1).sum()) if J else 0, "B": int(cont_to_c.sum())}
    return CloneDesign(
        followed=followed, n=n, yr=yr, bounds={0: bounds_a, 1: bounds_b}, censor={0: censor_a, 1: censor_b},
        b_index=b_index, b_X=b_X, b_y=b_y, a_index=(r_i, r_j), a_X=a_X, a_y=a_y, a_target=a_target,
        a_dev=dev_a, J=J, K=K,
        arms={0: _arm_rows(bounds_a, n, censor_a, yr, evr), 1: _arm_rows(bounds_b, n, censor_b, yr, evr)},
        censored=pd.DataFrame(cens), covariates=znames)


def clone_weights(design: CloneDesign, p: Protocol, freq: np.ndarray | None = None, start: dict | None = None):
    """Fit the two deviation models and return the segment weights {arm: W (clones x segments)}
    and the model coefficients {"A": ..., "B": ...} (None = outcome constant).

    ``freq``: number of times each clone was drawn (bootstrap); None = 1. Frequency weights give
    the same fits, weights, stabilisation and truncation as duplicating the clones. ``start``:
    optional starting coefficients of the logistic fits (same optimum, fewer iterations).
    """
    n, J, K = design.n, design.J, design.K
    start = start or {}
    # B: weight in interval k = prod_{j <= k} 1 / (1 - p_j)
    factor = np.ones((n, K))
    bden = None
    r_i, r_k = design.b_index
    if K and len(r_i):
        fw = None if freq is None else freq[r_i].astype(float)
        bden, pden = _interval_probability(design.b_X, design.b_y, fw, start.get("B"))
        factor[r_i, r_k] = 1.0 / np.clip(1 - pden, 1e-12, None)
    Wb = np.cumprod(factor, axis=1) if K else np.ones((n, 0))
    Wseg_b = np.column_stack([Wb, Wb[:, -1] if K else np.ones(n)])

    # A: factor pi_j / p_j if stopped in grace interval j, (1 - pi_j) / (1 - p_j) otherwise
    fa = np.ones((n, J))
    aden = None
    r_i, r_j = design.a_index
    if len(r_i):
        fw = None if freq is None else freq[r_i].astype(float)
        ya = design.a_y
        aden, pa = _interval_probability(design.a_X, ya, fw, start.get("A"))
        pa = np.clip(pa, 1e-12, 1 - 1e-12)
        pi = np.where(np.isnan(design.a_target), np.where(r_j == J - 1, 1.0, pa), design.a_target)
        fa[r_i, r_j] = np.where(ya > 0, pi / pa, (1 - pi) / (1 - pa))
    fa[design.a_dev, -1] = 1.0
    Wseg_a = np.column_stack([np.ones(n), np.cumprod(fa, axis=1)])  # weight of grace interval j applies after it ends

    W = {0: Wseg_a, 1: Wseg_b}
    for arm in (0, 1):
        bnd, cen = design.bounds[arm], design.censor[arm]
        if p.stabilise:
            W[arm] = _normalise(W[arm], bnd, cen, design.yr, freq)
        if p.truncate:
            present = (design.yr[:, None] > bnd[None, :-1]) & (cen[:, None] > bnd[None, :-1])
            W[arm] = _truncate(W[arm], present, p.truncate, freq)
    return W, {"A": aden, "B": bden}


def build_clones(panel: pd.DataFrame, p: Protocol, return_models: bool = False):
    """Clone, censor and weight. ``panel`` is the eligible panel (see :func:`eligible`).

    Returns a dict with ``rows`` (DataFrame: pid = row of ``panel``, arm 0 = A stop / 1 = B continue,
    start, stop (months since time zero), event, weight) and diagnostics ``censored`` (artificial
    censoring per arm and interval), ``n_eligible``.
    """
    design = clone_design(panel, p)
    W, models = clone_weights(design, p)
    frames = []
    for arm in (0, 1):
        r = design.arms[arm]
        frames.append(pd.DataFrame({"pid": r["pid"], "arm": arm, "start": r["start"], "stop": r["stop"],
                                    "event": r["event"], "weight": W[arm][r["pid"], r["seg"]]}))
    rows = pd.concat(frames, ignore_index=True)
    out = {"rows": rows, "censored": design.censored, "n_eligible": design.n, "covariates": design.covariates,
           "followed": design.followed}
    if return_models:
        out["models"] = models
    return out


def _ess(w: np.ndarray) -> float:
    return float(w.sum() ** 2 / (w ** 2).sum()) if len(w) else float("nan")


def weight_diagnostics(clones: dict, p: Protocol) -> pd.DataFrame:
    """Distribution, max and effective sample size of the weights per arm and interval."""
    rows = clones["rows"]
    out = []
    for arm, label in ((0, "A (stop)"), (1, "B (continue)")):
        r = rows[rows["arm"] == arm]
        for start, g in r.groupby("start"):
            w = g["weight"].to_numpy()
            out.append({"arm": label, "interval_start": start, "n_clones": len(w), "mean": w.mean(), "sd": w.std(ddof=0),
                        "min": w.min(), "p01": np.percentile(w, 1), "median": np.median(w), "p99": np.percentile(w, 99),
                        "max": w.max(), "ess": _ess(w)})
    return pd.DataFrame(out, columns=["arm", "interval_start", "n_clones", "mean", "sd", "min", "p01", "median", "p99",
                                      "max", "ess"])


def horizon_contrasts(fits: dict, h: float) -> dict:
    """Arm survival at horizon h (weighted KM fits {0: A, 1: B}), difference B - A and ratio B / A."""
    sa, sb = fits[0].at(h)[0], fits[1].at(h)[0]
    return {f"surv_A_{h:g}": sa, f"surv_B_{h:g}": sb, f"diff_{h:g}": sb - sa,
            f"ratio_{h:g}": sb / sa if sa > 0 else np.nan}


def arm_counts(rows: pd.DataFrame, p: Protocol) -> dict:
    """Per arm: observed (unweighted) events of clones with positive weight up to tau and up to each
    horizon (months since time zero)."""
    out = {}
    for arm, name in ((0, "A"), (1, "B")):
        r = rows[(rows["arm"] == arm) & (rows["weight"] > 0)]
        ev = r.loc[r["event"] > 0, "stop"].to_numpy(float)
        out[f"events_{name}"] = int(len(ev))
        for h in p.horizons:
            out[f"events_{name}_{h:g}"] = int((ev <= h).sum())
    return out


def estimate(clones: dict, p: Protocol, se: bool = True) -> dict:
    """Weighted KM per arm, differences/ratios at the horizons, RMST difference, weighted HR, the
    events per arm (:func:`arm_counts`) and ``n_followed_A``/``_B``, the patients observed to follow each
    strategy (0: positivity fails; ``cox_converged``: the HR's Newton iterations met
    the tolerance; a monotone likelihood does not)."""
    rows = clones["rows"]
    res: dict = {"n_eligible": clones["n_eligible"]}
    res.update(arm_counts(rows, p))
    res.update({f"n_followed_{k}": v for k, v in clones.get("followed", {}).items()})
    fits = {}
    for arm in (0, 1):
        r = rows[rows["arm"] == arm]
        fits[arm] = km_fit(r["start"], r["stop"], r["event"], r["weight"])
    pid_all = rows["pid"].to_numpy()
    n_pat = int(pid_all.max()) + 1 if len(pid_all) else 0

    def per_patient(arm, values):
        r = rows["arm"].to_numpy() == arm
        return np.bincount(pid_all[r], weights=values, minlength=n_pat)

    for h in p.horizons:
        res.update(horizon_contrasts(fits, h))
        sa, sb = res[f"surv_A_{h:g}"], res[f"surv_B_{h:g}"]
        if se:
            ia = per_patient(0, fits[0].influence_surv(h))
            ib = per_patient(1, fits[1].influence_surv(h))
            res[f"se_surv_A_{h:g}"] = np.sqrt((ia ** 2).sum())
            res[f"se_surv_B_{h:g}"] = np.sqrt((ib ** 2).sum())
            res[f"se_diff_{h:g}"] = np.sqrt(((ib - ia) ** 2).sum())
            res[f"se_logratio_{h:g}"] = np.sqrt(((ib / sb - ia / sa) ** 2).sum()) if sa > 0 and sb > 0 else np.nan
    ra, rb = fits[0].rmst(p.tau), fits[1].rmst(p.tau)
    res["rmst_A"], res["rmst_B"], res["rmst_diff"] = ra, rb, rb - ra
    if se:
        ia = per_patient(0, fits[0].influence_rmst(p.tau))
        ib = per_patient(1, fits[1].influence_rmst(p.tau))
        res["se_rmst_diff"] = np.sqrt(((ib - ia) ** 2).sum())
    if min(res["events_A"], res["events_B"]) == 0:  # no event in an arm: the HR does not exist
        res.update(loghr=np.nan, se_loghr=np.nan, hr=np.nan, cox_converged=False)
    else:
        cox = cox_arrays(rows["start"], rows["stop"], rows["event"], rows["arm"].to_numpy(float), weights=rows["weight"],
                      ties=p.ties, cluster=rows["pid"] if se else None)
        res["loghr"] = float(cox.coef[0])
        res["se_loghr"] = float(cox.se[0]) if se else np.nan
        res["hr"] = float(np.exp(cox.coef[0]))
        res["cox_converged"] = bool(cox.converged)
    res["_km"] = fits
    return res


def run_ccw(panel: pd.DataFrame, p: Protocol, se: bool = True) -> dict:
    """Eligibility, cloning/censoring/weighting and estimation in one call (panel: all treated); with ``se``
    also the per-arm working-Cox variance terms (``_arm_terms``, :func:`.arm_variance.arm_terms`)."""
    elig = panel[eligible(panel, p)].reset_index(drop=True)
    clones = build_clones(elig, p)
    res = estimate(clones, p, se=se)
    res["_clones"], res["_elig"] = clones, elig
    if se and len(clones["rows"]):
        res["_arm_terms"] = arm_terms(elig, clones["rows"], p)
    return res


KM_SE_METHODS = {"working_cox": "working-Cox information SE", "known_weights": "influence function, weights as known"}


def km_table(res: dict, p: Protocol, grid: np.ndarray | None = None, arm_se: str = "working_cox") -> pd.DataFrame:
    """Weighted KM curves per arm on a grid (months since time zero) with pointwise 95% CI, log-log
    transformed as R ``survfit`` (limits in [0, 1]; none where S is 0 or 1). SE: ``arm_se`` "working_cox"
    the working-Cox information SE of the result tables' per-arm rows (:mod:`.arm_variance`; needs
    ``res["_arm_terms"]``, present when :func:`run_ccw` ran with ``se``), otherwise the influence-function SE
    treating the weights as known; column ``se_method`` says which. NaN after the arm's follow-up ends with S > 0."""
    terms = res.get("_arm_terms") if arm_se == "working_cox" else None
    clones = res["_clones"]
    rows = clones["rows"]
    grid = np.linspace(0, p.tau, int(p.tau * 4) + 1) if grid is None else grid
    out = []
    pid = rows["pid"].to_numpy()
    se_method = KM_SE_METHODS["working_cox" if terms is not None else "known_weights"]
    for arm, label in ((0, "A (stop)"), (1, "B (continue)")):
        fit = res["_km"][arm]
        m = rows["arm"].to_numpy() == arm
        model_se = surv_se(*terms[arm], grid) if terms is not None else None
        for i, t in enumerate(grid):
            s = fit.at(t)[0]
            if model_se is not None:
                se = float(model_se[i])
            else:
                se = np.sqrt((cluster_sum(fit.influence_surv(t), pid[m]) ** 2).sum()) if t > 0 else 0.0
            lo, hi = conf_limits(np.array([s]), np.array([se / s if s > 0 else np.nan]), "log-log")
            out.append({"arm": label, "time": t, "surv": s, "se": se, "lower": float(lo[0]), "upper": float(hi[0]),
                        "se_method": se_method})
    return pd.DataFrame(out)

"""Standard errors of the per-strategy estimates of the clone-censor-weight emulation.

Estimands: S_a(h), the probability of being event-free h months after time zero under strategy a, and
RMST_a(tau), both estimated by the weighted Kaplan-Meier curve of the clones of arm a.

Method (working-Cox information variance): at each distinct exit time t_j of arm a, the weighted event
count is treated as a sum over the risk set R_j of independent events with hazard lambda_j r_i, where
r_i = exp(beta'X_i(t_j)) comes from a working Cox model of the outcome on the clone rows of both arms
(unweighted, one baseline hazard per arm, the estimate's tie method). Then

    Var(log S(h)) = sum_{t_j <= h} h_j [sum_R w^2 r / sum_R w r] / Y_wj / (1 - h_j),

with h_j = dN_wj / Y_wj the weighted hazard, and Var(RMST(tau)) the same terms times the squared area
under S after t_j. With all weights 1 and r = 1 this is Greenwood's variance. X holds the history the
weights depend on: the baseline confounders, CR and PR so far and, for OS, progression so far and
progression while on ICI (progression before or at the stop date; it ends the deviation risk and drives
deaths after stopping). Heavily weighted clones of patients at higher risk thereby add more variance
than the known-weights (influence-function) SE gives them.

Why not the bootstrap SD: in the simulation study the bootstrap Wald interval of per-arm OS undercovers
(0.86-0.92) where a few heavily weighted patients carry arm A, while this SE covers 0.94-0.97 there
(benchmarks/simulation_study.md). The comparisons (differences, ratios, RMST difference, HR) keep the
bootstrap SE.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icistop.continuation.panel import confounder_design
from icistop.continuation.protocol import Protocol
from icistop.stats.cox_engine import cox_arrays
from icistop.stats.km import KMFit, KMIndex

ARMS = ((0, "A"), (1, "B"))


def split_rows(rows: dict, cuts: np.ndarray) -> dict:
    """Counting-process rows (``pid``, ``start``, ``stop``, ``event`` and any other per-row arrays) cut at
    the patient's times ``cuts`` (patients x k; NaN / inf = none) that fall strictly inside a row; the
    event stays on the last piece, the other arrays are copied to every piece."""
    pid, start, stop = rows["pid"], rows["start"], rows["stop"]
    c = np.asarray(cuts, float)[pid]
    with np.errstate(invalid="ignore"):
        c = np.where((c > start[:, None]) & (c < stop[:, None]), c, np.inf)
    pts = np.sort(np.column_stack([start, c, stop]), axis=1)
    a, b = pts[:, :-1], pts[:, 1:]
    i, k = np.nonzero(np.isfinite(b) & (b > a))
    out = {key: np.asarray(v)[i] for key, v in rows.items() if key not in ("start", "stop", "event")}
    out.update(start=a[i, k], stop=b[i, k], event=(np.asarray(rows["event"])[i] > 0) & (b[i, k] == stop[i]))
    return out


def history_design(panel: pd.DataFrame, p: Protocol, rows: dict) -> tuple[np.ndarray, list[str]]:
    """Covariates of the working Cox model at the start of each row (rows already cut where they change,
    times in months since time zero): baseline confounders, CR so far, PR (not CR) so far and, unless the
    outcome is PFS, progressed so far and progressed while on ICI."""
    Z, names = confounder_design(panel, p.confounders)
    pid, start = rows["pid"], rows["start"]
    t_cr = panel["t_cr"].to_numpy(float)[pid] - p.landmark
    t_pr = panel["t_pr"].to_numpy(float)[pid] - p.landmark
    cr = t_cr <= start
    cols, out_names = [Z[pid], cr, (t_pr <= start) & ~cr], [*names, "cr_so_far", "pr_so_far"]
    if p.outcome != "pfs":
        prog = panel["prog_time"].to_numpy(float)
        on_ici = prog <= panel["stop_time"].to_numpy(float)
        progressed = prog[pid] - p.landmark <= start
        cols += [progressed, progressed & on_ici[pid]]
        out_names += ["progressed_so_far", "progressed_on_ici"]
    return np.column_stack(cols).astype(float), out_names


def history_cuts(panel: pd.DataFrame, p: Protocol) -> np.ndarray:
    """Per patient the times (months since time zero) where a covariate of :func:`history_design` changes."""
    cols = ["t_cr", "t_pr"] + ([] if p.outcome == "pfs" else ["prog_time"])
    return np.column_stack([panel[c].to_numpy(float) - p.landmark for c in cols])


def relative_hazard(rows: dict, X: np.ndarray, strata: np.ndarray, ties: str = "efron") -> tuple[np.ndarray, list[int]]:
    """(exp(beta'X) per row, columns used): beta from an unweighted Cox model of the rows' outcome with one
    baseline per stratum. Columns constant over the rows are dropped; a column whose coefficient diverges
    (monotone likelihood, e.g. no event among its rows) is dropped and the model refitted."""
    keep = [k for k in range(X.shape[1]) if np.ptp(X[:, k]) > 0] if len(X) else []
    while keep and np.any(rows["event"]):
        fit = cox_arrays(rows["start"], rows["stop"], rows["event"].astype(int), X[:, keep], strata=strata, ties=ties)
        bad = np.asarray(fit.infinite, bool) | ~np.isfinite(fit.coef)
        if not bad.any():
            Xk = X[:, keep]
            return np.exp((Xk - Xk.mean(axis=0)) @ fit.coef), keep
        keep = [k for k, b in zip(keep, bad) if not b]
    return np.ones(len(X)), []


def _risk_sum(ix: KMIndex, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over the rows at risk at each distinct exit time of ``ix``."""
    nt = len(ix.t)
    exit_ge = np.cumsum(np.bincount(ix.xi, weights=values, minlength=nt)[::-1])[::-1]
    entry_ge = np.cumsum(np.bincount(ix.ke, weights=values, minlength=nt + 1)[::-1])[::-1][1:]
    return exit_ge - entry_ge


def variance_terms(fit: KMFit, r: np.ndarray) -> np.ndarray:
    """Per exit time t_j the increment of Var(log S): h_j [sum_R w^2 r / sum_R w r] / Y_wj / (1 - h_j)
    (0 where there is no event, h_j = 1 or nobody is at risk)."""
    w = fit.w
    num, den = _risk_sum(fit.index, w * w * r), _risk_sum(fit.index, w * r)
    y, d = fit.n_risk, fit.n_event
    with np.errstate(all="ignore"):
        h = np.where(d > 0, d / y, 0.0)
        ok = (d > 0) & (h < 1) & (den > 0) & (y > 0)
        return np.where(ok, h * (num / np.where(ok, den, 1.0)) / np.where(ok, y, 1.0) / (1 - h), 0.0)


def surv_se(fit: KMFit, terms: np.ndarray, t) -> np.ndarray:
    """SE of S(t) = S(t) sqrt(sum_{t_j <= t} term_j) at the times ``t`` (NaN where S is unknown)."""
    t = np.atleast_1d(np.asarray(t, float))
    cum = np.concatenate([[0.0], np.cumsum(terms)])
    return fit.at(t) * np.sqrt(cum[np.searchsorted(fit.time, t, side="right")])


def rmst_se(fit: KMFit, terms: np.ndarray, tau: float) -> float:
    """SE of RMST(tau) = sqrt(sum_{t_j <= tau} (int_{t_j}^tau S)^2 term_j) (NaN where the RMST is)."""
    if not np.isfinite(fit.rmst(tau)):
        return np.nan
    inside = fit.time <= tau
    grid = np.concatenate([fit.time[inside], [tau]])
    area_after = np.cumsum((fit.surv[inside] * np.diff(grid))[::-1])[::-1]
    return float(np.sqrt((area_after ** 2 * terms[inside]).sum()))


def arm_terms(panel: pd.DataFrame, clone_rows: pd.DataFrame, p: Protocol) -> dict:
    """Per arm (0 = A, 1 = B) the weighted KM fit on the clone rows cut at the history changes, and its
    variance terms under the working Cox model: {arm: (KMFit, terms)}, plus ``"terms_used"``: the
    working model's covariates (after dropping constant or diverging ones). ``panel``: the eligible panel
    the clones were built from; ``clone_rows``: :func:`icistop.continuation.ccw.build_clones` rows."""
    base = {k: clone_rows[k].to_numpy() for k in ("pid", "arm", "start", "stop", "event", "weight")}
    rows = split_rows(base, history_cuts(panel, p))
    X, names = history_design(panel, p, rows)
    r, used = relative_hazard(rows, X, rows["arm"].astype(int), p.ties)
    out: dict = {"terms_used": [names[k] for k in used]}
    for arm, _ in ARMS:
        m = rows["arm"] == arm
        fit = KMIndex(rows["start"][m], rows["stop"][m], rows["event"][m]).fit(rows["weight"][m].astype(float))
        out[arm] = (fit, variance_terms(fit, r[m]))
    return out


def arm_standard_errors(terms: dict, p: Protocol) -> dict:
    """``se_model_surv_{A,B}_h`` at the horizons and ``se_model_rmst_{A,B}`` from :func:`arm_terms`."""
    out = {}
    for arm, name in ARMS:
        fit, tt = terms[arm]
        for h, se in zip(p.horizons, surv_se(fit, tt, p.horizons)):
            out[f"se_model_surv_{name}_{h:g}"] = float(se)
        out[f"se_model_rmst_{name}"] = rmst_se(fit, tt, p.tau)
    return out

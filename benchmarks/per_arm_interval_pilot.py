"""Pilot behind the open per-arm OS coverage cells of benchmarks/simulation_study.md (issue 17, item 9).

For the first replicates of two confounded scenarios (same cohorts, seeds and bootstrap resamples as the
simulation study; OS only) it records per arm of the clone-censor-weight emulation:

- the estimate of S(24), S(36) and RMST(36) and its bootstrap SD (the report's SE; weights refitted);
- the Kish effective number of the weighted events up to the horizon, ESS_ev = (sum w)^2 / sum w^2;
- an expected-information SE: the variance a weighted product-limit estimate would have if the deaths
  at each time fell on the risk set at random, Var(log S(t)) = sum_j h_j q_j / (1 - h_j) with h_j the
  weighted hazard and q_j = sum_R w^2 / (sum_R w)^2 (Greenwood when all weights are 1), and the same
  terms weighted by the squared area after t_j for the RMST;
- covariate SEs (point estimate only): the same variance when each clone's hazard at event time t_j is
  lambda_j r_i, r_i = exp(beta'X_i(t_j)) from an unweighted Cox model of the outcome on the clone rows
  (counting process, rows cut where the best response changes), lambda_j = d_wj / sum_R w r: the
  weighted death count has variance sum_R w^2 lambda_j r, so the term of t_j becomes
  h_j [sum_R w^2 r / sum_R w r] / Y_wj / (1 - h_j) (the expected-information term when r = 1). Variants
  (VARIANTS): ``cov`` X = the deviation models' covariates (baseline confounders, CR / PR so far at t),
  beta per arm; ``covpool`` the same with one beta for both arms (Cox stratified by arm); ``covbase``
  per arm with CR / PR at time zero instead of at t; ``covresp`` per arm with CR / PR so far only;
  ``covprog`` / ``covprogpool`` as ``cov`` / ``covpool`` plus progression so far at t and progression so far
  on ICI (progression before or at the stop date): the weights also depend on progression (it ends the
  deviation risk), not only on the deviation models' regressors (OS only: for PFS progression is the outcome);
- influence-function SEs (point estimate only): ``if`` treats the weights as known (per-patient influence
  of the weighted KM / RMST, as ccw.estimate); ``ifproj`` the residual of that influence after its
  least-squares projection on the per-patient scores of the arm's logistic deviation model (estimated
  weights: IF_est = IF - Proj(IF | scores), Tsiatis 2006 ch. 9, exact when the model is correct); ``covw``
  the ``cov`` SE times ifproj / if (expected known-weights SE times the observed efficiency of estimating
  the weights; a heuristic candidate);

and prints the coverage of cloglog / logit(RMST/tau) Wald intervals with each SE (and with the
maximum of the bootstrap and expected ones), by scenario and estimand, the mean SE ratios, and for arm A
by ESS_ev. Not a CI test; about 10-20 minutes on 2 cores:

    PYTHONPATH=workflow/scripts python benchmarks/per_arm_interval_pilot.py --replicates 300
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy.stats import norm

from icistop.continuation import simstudy
from icistop.continuation.bootstrap import ReplicateEngine, replicate_rng
from icistop.continuation.ccw import clone_weights
from icistop.continuation.panel import confounder_design
from icistop.continuation.protocol import protocol_from_config
from icistop.data.synth import generate_cohort
from icistop.stats.cox_engine import cox_arrays
from icistop.stats.km import KMIndex
from icistop.stats.logistic import logit_predict

ROOT = Path(__file__).resolve().parents[1]
CFG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
SIM, CONT = CFG["simulation"], CFG["continuation"]
P = replace(protocol_from_config({k: CONT[k] for k in ("protocol", "confounders", "ccw")}), outcome="os")
SCENARIOS = {"high_survival_confounded": 4, "null_confounded": 0}  # index in the config's scenario list
ESTIMANDS = ("s24", "s36", "rmst")
VARIANTS = ("cov", "covpool", "covbase", "covresp", "covprog", "covprogpool")  # covariate SEs, see the docstring
IF_SES = ("if", "ifproj", "covw")  # influence-function SEs and the covariate SE scaled by their ratio


def _risk_sum(ix, values, nt):
    exit_ge = np.cumsum(np.bincount(ix.xi, weights=values, minlength=nt)[::-1])[::-1]
    entry_ge = np.cumsum(np.bincount(ix.ke, weights=values, minlength=nt + 1)[::-1])[::-1][1:]
    return exit_ge - entry_ge


def arm_summary(fit, horizons, tau, expected: bool, freq=None) -> dict:
    """Estimates and (``expected``) the ESS of the events and the expected-information SE; ``freq``: the
    rows' bootstrap multiplicities (a row drawn c times stands for c patients of weight w / c each)."""
    out = {f"s{h:g}": float(fit.at(h)[0]) for h in horizons}
    out["rmst"] = fit.rmst(tau)
    if not expected:
        return out
    ix, w = fit.index, fit.w
    unit_sq = _unit_sq(w, freq)
    for hz in horizons:
        ev = ix.ev & (ix.x <= hz) & (w > 0)
        out[f"ess_ev{hz:g}"] = float(w[ev].sum() ** 2 / unit_sq[ev].sum()) if ev.any() else 0.0
    out.update(_se_from_terms(fit, _terms(fit, np.ones(len(w)), freq), horizons, tau, "xse"))
    out["ess_evrmst"] = out[f"ess_ev{tau:g}"] if f"ess_ev{tau:g}" in out else np.nan
    return out


def _unit_sq(w, freq=None):
    """Per row the sum over its bootstrap copies of (w / c)^2 (w^2 without ``freq``)."""
    f = np.ones(len(w)) if freq is None else np.asarray(freq, float)
    return np.where(f > 0, w * w / np.where(f > 0, f, 1.0), 0.0)


def _terms(fit, r, freq=None):
    """Per exit time t_j the term of Var(log S) when row i's hazard is lambda_j r_i:
    h_j [sum_R (w^2 / c) r / sum_R w r] / Y_wj / (1 - h_j); r = 1 gives h_j q_j / (1 - h_j)."""
    ix, w = fit.index, fit.w
    nt = len(ix.t)
    num = _risk_sum(ix, _unit_sq(w, freq) * r, nt)
    den = _risk_sum(ix, w * r, nt)
    y, d = fit.n_risk, fit.n_event
    with np.errstate(all="ignore"):
        h = np.where(d > 0, d / y, 0.0)
        return np.where((d > 0) & (h < 1) & (den > 0), h * (num / den) / y / (1 - h), 0.0)


def _se_from_terms(fit, term, horizons, tau, prefix) -> dict:
    """SE of S(h) = S(h) sqrt(sum_{t_j <= h} term_j) and of RMST(tau) = sqrt(sum (area after t_j)^2 term_j)."""
    ix = fit.index
    out = {f"{prefix}_s{hz:g}": float(fit.at(hz)[0]) * float(np.sqrt(term[ix.t <= hz].sum())) for hz in horizons}
    inside = ix.t <= tau
    area_after = np.cumsum((fit.surv[inside] * np.diff(np.concatenate([ix.t[inside], [tau]])))[::-1])[::-1]
    out[f"{prefix}_rmst"] = float(np.sqrt((area_after ** 2 * term[inside]).sum()))
    return out


def split_rows(rows: dict, cuts: np.ndarray) -> dict:
    """Counting-process rows (pid, seg, start, stop, event) cut at the patient's times ``cuts`` (patients x k;
    NaN / inf = none) that fall strictly inside a row; the event stays on the last piece."""
    pid, start, stop = rows["pid"], rows["start"], rows["stop"]
    c = cuts[pid]
    c = np.where((c > start[:, None]) & (c < stop[:, None]), c, np.inf)
    pts = np.sort(np.column_stack([start, c, stop]), axis=1)
    a, b = pts[:, :-1], pts[:, 1:]
    i, k = np.nonzero(np.isfinite(b) & (b > a))
    return {"pid": pid[i], "seg": rows["seg"][i], "start": a[i, k], "stop": b[i, k],
            "event": (rows["event"][i] > 0) & (b[i, k] == stop[i])}


def relative_hazard(rows: dict, X: np.ndarray, strata=None, freq=None) -> tuple[np.ndarray, bool]:
    """exp(beta'X) per row, beta from an unweighted Cox model of the rows' outcome (``freq``: bootstrap
    multiplicity per row as case weights and Efron tie counts; ``strata``: one baseline per stratum);
    columns constant over the rows are dropped."""
    X = X[:, X.std(axis=0) > 0]
    if not X.shape[1] or not rows["event"].any():
        return np.ones(len(X)), True
    fit = cox_arrays(rows["start"], rows["stop"], rows["event"].astype(int), X, strata=strata, ties=P.ties,
                     weights=freq, freq=freq)
    return np.exp((X - X.mean(axis=0)) @ fit.coef), bool(fit.converged and np.all(np.isfinite(fit.coef)))


class CovariateRows:
    """Both arms' clone rows cut where the best response so far or progression status changes, with the
    deviation models' covariates per piece: baseline confounders, CR / PR so far at the piece start
    (time-varying) and at time zero; and progression so far (also: on ICI at the progression)."""

    def __init__(self, eng: ReplicateEngine, panel: pd.DataFrame):
        elig = panel.iloc[eng.elig_rows].reset_index(drop=True)
        Z, _ = confounder_design(elig, P.confounders)
        tcr, tpr, tpd = (elig[c].to_numpy(float) - P.landmark for c in ("t_cr", "t_pr", "prog_time"))
        on_ici_at_pd = elig["prog_time"].to_numpy(float) <= elig["stop_time"].to_numpy(float)
        self.rows, self.km, self.x = {}, {}, {}
        for a in (0, 1):
            r = split_rows(eng.design.arms[a], np.column_stack([tcr, tpr, tpd]))
            cr = tcr[r["pid"]] <= r["start"]
            pr = (tpr[r["pid"]] <= r["start"]) & ~cr
            pd_ = tpd[r["pid"]] <= r["start"]
            cr0, pr0 = tcr[r["pid"]] <= 0, (tpr[r["pid"]] <= 0) & ~(tcr[r["pid"]] <= 0)
            self.rows[a] = r
            self.km[a] = KMIndex(r["start"], r["stop"], r["event"])
            self.x[a] = {"cov": np.column_stack([Z[r["pid"]], cr, pr]),
                         "covbase": np.column_stack([Z[r["pid"]], cr0, pr0]),
                         "covresp": np.column_stack([cr, pr]).astype(float),
                         "covprog": np.column_stack([Z[r["pid"]], cr, pr, pd_, pd_ & on_ici_at_pd[r["pid"]]])}

    def summaries(self, W: dict, f: np.ndarray, freq: bool = False) -> dict:
        """{arm: {cse_<variant>_<estimand>, conv_<variant>}} for segment weights ``W`` and patient
        frequencies ``f`` (``freq``: a bootstrap resample, multiplicities enter the Cox fits and the terms)."""
        rh = {}
        for a in (0, 1):
            fr = f[self.rows[a]["pid"]] if freq else None
            for v in ("cov", "covbase", "covresp", "covprog"):
                rh[a, v] = relative_hazard(self.rows[a], self.x[a][v], freq=fr)
        both = {k: np.concatenate([self.rows[0][k], self.rows[1][k]]) for k in ("start", "stop", "event", "pid")}
        strata = np.repeat([0, 1], [len(self.rows[0]["pid"]), len(self.rows[1]["pid"])])
        n0 = len(self.rows[0]["pid"])
        for v in ("cov", "covprog"):
            r_pool, conv_pool = relative_hazard(both, np.vstack([self.x[0][v], self.x[1][v]]), strata,
                                                f[both["pid"]] if freq else None)
            rh[0, f"{v}pool"], rh[1, f"{v}pool"] = (r_pool[:n0], conv_pool), (r_pool[n0:], conv_pool)
        out = {}
        for a in (0, 1):
            r = self.rows[a]
            fit = self.km[a].fit(f[r["pid"]] * W[a][r["pid"], r["seg"]])
            fr = f[r["pid"]] if freq else None
            out[a] = {}
            for v in VARIANTS:
                rel, conv = rh[a, v]
                out[a].update(_se_from_terms(fit, _terms(fit, rel, fr), P.horizons, P.tau, f"cse_{v}"))
                out[a][f"conv_{v}"] = conv
        return out


def patient_scores(X, y, rows, coef, n) -> np.ndarray:
    """Per-patient score sum_k X_k (y_k - p_k) of a pooled logistic deviation model (n x p; none when the
    model was not fitted)."""
    if coef is None or not len(rows):
        return np.zeros((n, 0))
    u = X * (y - logit_predict(X, coef))[:, None]
    return np.column_stack([np.bincount(rows, weights=u[:, k], minlength=n) for k in range(X.shape[1])])


def influence_ses(eng: ReplicateEngine, fits: dict, models: dict) -> dict:
    """{arm: {if_<e>, ifproj_<e>}}: known-weights SE (per-patient influence) and the SE of its residual after
    projection on the scores of the arm's deviation model (A: stopping in grace, B: deviation)."""
    d, n = eng.design, eng.design.n
    U = {0: patient_scores(d.a_X, d.a_y, d.a_index[0], models["A"], n),
         1: patient_scores(d.b_X, d.b_y, d.b_index[0], models["B"], n)}
    out = {}
    for a in (0, 1):
        fit, pid = fits[a], eng.pid[a]
        infl = {f"s{h:g}": fit.influence_surv(h) for h in P.horizons} | {"rmst": fit.influence_rmst(P.tau)}
        out[a] = {}
        for e, v in infl.items():
            ip = np.bincount(pid, weights=v, minlength=n)
            res = ip - U[a] @ np.linalg.lstsq(U[a], ip, rcond=None)[0] if U[a].shape[1] else ip
            out[a][f"if_{e}"], out[a][f"ifproj_{e}"] = float(np.sqrt((ip ** 2).sum())), float(np.sqrt((res ** 2).sum()))
    return out


def one_replicate(args) -> dict:
    name, rep, n_boot = args
    i = SCENARIOS[name]
    seed = simstudy.replicate_seed(SIM["seed"], i, rep)
    tables, _ = generate_cohort(simstudy.scenario_params(SIM["scenarios"][i], SIM["n_patients"], seed))
    panel = simstudy.tables_to_panels(tables, ("os",))["os"]
    eng = ReplicateEngine(panel, P, marker=None)
    n = len(panel)

    def fits(freq):
        f = np.asarray(freq, float)[eng.elig_rows]
        W, _ = clone_weights(eng.design, P, f, start=eng.start)
        return ({a: eng.km[a].fit(f[eng.pid[a]] * W[a][eng.pid[a], eng.seg[a]]) for a in (0, 1)},
                {a: f[eng.pid[a]] for a in (0, 1)})

    point, _ = fits(np.ones(n))
    row = {"scenario": name, "replicate": rep}
    for a, arm in ((0, "A"), (1, "B")):
        row.update({f"{arm}_{k}": v for k, v in arm_summary(point[a], P.horizons, P.tau, True).items()})
    f1 = np.ones(len(eng.elig_rows))
    W1, models = clone_weights(eng.design, P, f1, start=eng.start)
    cov = CovariateRows(eng, panel).summaries(W1, f1)
    ifs = influence_ses(eng, point, models)
    for a, arm in ((0, "A"), (1, "B")):
        row.update({f"{arm}_{k}": v for k, v in cov[a].items()})
        row.update({f"{arm}_{k}": v for k, v in ifs[a].items()})
        for e in ESTIMANDS:
            row[f"{arm}_covw_{e}"] = cov[a][f"cse_cov_{e}"] * ifs[a][f"ifproj_{e}"] / ifs[a][f"if_{e}"]
    boots = []
    for b in range(n_boot):
        idx = replicate_rng(seed, b).integers(0, n, n)
        fb, fr = fits(np.bincount(idx, minlength=n))
        boots.append({f"{arm}_{k}": v for a, arm in ((0, "A"), (1, "B"))
                      for k, v in arm_summary(fb[a], P.horizons, P.tau, True, fr[a]).items()})
    boots = pd.DataFrame(boots)
    sd = boots[[f"{arm}_{e}" for arm in "AB" for e in ESTIMANDS]].std(ddof=1)
    row.update({f"{k}_bse": float(v) for k, v in sd.items()})
    # studentized bootstrap: t* on the transformed scale with the expected-information SE of each replicate
    for arm in "AB":
        for e in ESTIMANDS:
            est = row[f"{arm}_{e}"]
            t = _t_star(boots[f"{arm}_{e}"].to_numpy(float), boots[f"{arm}_xse_{e}"].to_numpy(float), est, e)
            row[f"{arm}_{e}_t025"], row[f"{arm}_{e}_t975"] = (np.quantile(t, [0.025, 0.975]) if len(t) > 1
                                                              else (np.nan, np.nan))
    return row


def _g(x, e):
    x = np.asarray(x, float)
    with np.errstate(all="ignore"):
        if e == "rmst":
            return np.log(x / (P.tau - x)), P.tau / (x * (P.tau - x))
        return np.log(-np.log(x)), 1 / (x * np.abs(np.log(x)))


def _t_star(values, xse, est, e):
    g0, _ = _g(est, e)
    g, dg = _g(values, e)
    with np.errstate(all="ignore"):
        t = (g - g0) / (xse * dg)
    return t[np.isfinite(t)]


def wald_covers(est, se, truth, estimand, tau, z, q=None):
    """Truth inside the interval g(est) - q_hi sg .. g(est) - q_lo sg mapped back (q = (-z, z): Wald)."""
    q_lo, q_hi = (-z, z) if q is None else q
    g0, dg = _g(est, estimand)
    lims = _g_inv(np.array([g0 - q_hi * se * dg, g0 - q_lo * se * dg]), estimand)
    lo, hi = np.sort(lims)
    return float(lo <= truth <= hi)


def _g_inv(y, e):
    return P.tau / (1 + np.exp(-y)) if e == "rmst" else np.exp(-np.exp(y))


def coverage(res: pd.DataFrame, truths: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    z = float(norm.ppf(0.975))
    rows = []
    for _, r in res.iterrows():
        for arm in "AB":
            for e in ESTIMANDS:
                est, bse, xse = r[f"{arm}_{e}"], r[f"{arm}_{e}_bse"], r[f"{arm}_xse_{e}"]
                t = truths[r["scenario"]][f"{arm}_{e}"]
                rows.append({"scenario": r["scenario"], "estimand": f"{arm} {e}", "ess_ev": r[f"{arm}_ess_ev{e[1:] if e != 'rmst' else 'rmst'}"],
                             "estimate": est, "se_bootstrap": bse, "se_expected": xse,
                             "se_ratio_expected_to_bootstrap": xse / bse,
                             "bootstrap": wald_covers(est, bse, t, e, P.tau, z),
                             "expected": wald_covers(est, xse, t, e, P.tau, z),
                             "max": wald_covers(est, max(bse, xse), t, e, P.tau, z),
                             "boot_t": wald_covers(est, xse, t, e, P.tau, z, (r[f"{arm}_{e}_t025"], r[f"{arm}_{e}_t975"])),
                             **{f"se_{v}": r[f"{arm}_cse_{v}_{e}"] for v in VARIANTS},
                             **{f"se_ratio_{v}_to_bootstrap": r[f"{arm}_cse_{v}_{e}"] / bse for v in VARIANTS},
                             **{f"conv_{v}": float(r[f"{arm}_conv_{v}"]) for v in VARIANTS},
                             **{v: wald_covers(est, r[f"{arm}_cse_{v}_{e}"], t, e, P.tau, z) for v in VARIANTS},
                             **{f"se_{v}": r[f"{arm}_{v}_{e}"] for v in IF_SES},
                             **{v: wald_covers(est, r[f"{arm}_{v}_{e}"], t, e, P.tau, z) for v in IF_SES}})
    cov = pd.DataFrame(rows)
    overall = cov.groupby(["scenario", "estimand"]).agg(n=("bootstrap", "size"), se_ratio=("se_ratio_expected_to_bootstrap", "mean"),
                                                         bootstrap=("bootstrap", "mean"), expected=("expected", "mean"),
                                                         max=("max", "mean"), boot_t=("boot_t", "mean"),
                                                         **{v: (v, "mean") for v in (*VARIANTS, *IF_SES)})
    a = cov[cov["estimand"].str.startswith("A")].copy()
    a["ess_ev_bin"] = pd.cut(a["ess_ev"], [0, 5, 8, 10, 12, np.inf])
    by_ess = a.groupby(["scenario", "estimand", "ess_ev_bin"], observed=True).agg(
        n=("bootstrap", "size"), bootstrap=("bootstrap", "mean"), expected=("expected", "mean"), boot_t=("boot_t", "mean"),
        **{v: (v, "mean") for v in (*VARIANTS, *IF_SES)})
    return overall, by_ess, se_table(cov)


def se_table(cov: pd.DataFrame) -> pd.DataFrame:
    """Per scenario x estimand: empirical SD of the estimates, each SE's mean (and for some the root mean
    square) over the empirical SD, the mean ratio of each covariate SE to the bootstrap SE and the share of converged Cox fits."""
    ses = ("bootstrap", "expected", *VARIANTS, *IF_SES)
    out = []
    for (sc, est), g in cov.groupby(["scenario", "estimand"]):
        emp = g["estimate"].std(ddof=1)
        row = {"scenario": sc, "estimand": est, "empirical_sd": emp}
        row.update({f"{s}/emp": g[f"se_{s}"].mean() / emp for s in ses})
        row.update({f"rms_{s}/emp": np.sqrt((g[f"se_{s}"] ** 2).mean()) / emp for s in ("bootstrap", "if", "cov")})
        row.update({f"{v}/boot": g[f"se_ratio_{v}_to_bootstrap"].mean() for v in VARIANTS})
        row.update({f"conv_{v}": g[f"conv_{v}"].mean() for v in VARIANTS})
        out.append(row)
    return pd.DataFrame(out).set_index(["scenario", "estimand"])


def truths_from_study() -> dict:
    """Per-arm OS truths of the committed simulation study (benchmarks/simulation_study_results.tsv)."""
    t = pd.read_csv(ROOT / "benchmarks" / "simulation_study_results.tsv", sep="\t")
    t = t[(t["outcome"] == "os") & (t["estimator"] == "ccw") & (t["method"] == "transformed_wald")]
    names = {"surv_A_24": "A_s24", "surv_A_36": "A_s36", "rmst_A": "A_rmst", "surv_B_24": "B_s24",
             "surv_B_36": "B_s36", "rmst_B": "B_rmst"}
    return {sc: {names[e]: float(v) for e, v in g.set_index("estimand")["truth"].items() if e in names}
            for sc, g in t.groupby("scenario")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=300)
    ap.add_argument("--n-boot", type=int, default=SIM["n_boot"])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default="/tmp/per_arm_interval_pilot.tsv")
    a = ap.parse_args()
    jobs = [(name, r, a.n_boot) for name in SCENARIOS for r in range(a.replicates)]
    with ProcessPoolExecutor(a.jobs) as ex:
        res = pd.DataFrame(list(ex.map(one_replicate, jobs, chunksize=4)))
    res.to_csv(a.out, sep="\t", index=False, float_format="%.10g")
    overall, by_ess, ses = coverage(res, truths_from_study())
    pd.set_option("display.width", 250)
    print(overall.round(3).to_string())
    print(by_ess.round(3).to_string())
    print(ses.round(3).to_string())


if __name__ == "__main__":
    main()

"""Pilot behind the open per-arm OS coverage cells of benchmarks/simulation_study.md (issue 17, item 9).

For the first replicates of two confounded scenarios (same cohorts, seeds and bootstrap resamples as the
simulation study; OS only) it records per arm of the clone-censor-weight emulation:

- the estimate of S(24), S(36) and RMST(36) and its bootstrap SD (the report's SE; weights refitted);
- the Kish effective number of the weighted events up to the horizon, ESS_ev = (sum w)^2 / sum w^2;
- an expected-information SE: the variance a weighted product-limit estimate would have if the deaths
  at each time fell on the risk set at random, Var(log S(t)) = sum_j h_j q_j / (1 - h_j) with h_j the
  weighted hazard and q_j = sum_R w^2 / (sum_R w)^2 (Greenwood when all weights are 1), and the same
  terms weighted by the squared area after t_j for the RMST;

and prints the coverage of cloglog / logit(RMST/tau) Wald intervals with each SE (and with their
maximum), by scenario and estimand, and for arm A by ESS_ev. Not a CI test; about 10 minutes on 2 cores:

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
from icistop.continuation.protocol import protocol_from_config
from icistop.data.synth import generate_cohort

ROOT = Path(__file__).resolve().parents[1]
CFG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
SIM, CONT = CFG["simulation"], CFG["continuation"]
P = replace(protocol_from_config({k: CONT[k] for k in ("protocol", "confounders", "ccw")}), outcome="os")
SCENARIOS = {"high_survival_confounded": 4, "null_confounded": 0}  # index in the config's scenario list
ESTIMANDS = ("s24", "s36", "rmst")


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
    f = np.ones(len(w)) if freq is None else np.asarray(freq, float)
    unit_sq = np.where(f > 0, w * w / np.where(f > 0, f, 1.0), 0.0)  # sum over copies of (w / c)^2
    nt = len(ix.t)
    q = _risk_sum(ix, unit_sq, nt)
    y, d = fit.n_risk, fit.n_event
    with np.errstate(all="ignore"):
        h = np.where(d > 0, d / y, 0.0)
        term = np.where((d > 0) & (h < 1), h * (q / y ** 2) / (1 - h), 0.0)
    for hz in horizons:
        ev = ix.ev & (ix.x <= hz) & (w > 0)
        out[f"ess_ev{hz:g}"] = float(w[ev].sum() ** 2 / unit_sq[ev].sum()) if ev.any() else 0.0
        out[f"xse_s{hz:g}"] = out[f"s{hz:g}"] * float(np.sqrt(term[ix.t <= hz].sum()))
    inside = ix.t <= tau
    area_after = np.cumsum((fit.surv[inside] * np.diff(np.concatenate([ix.t[inside], [tau]])))[::-1])[::-1]
    out["xse_rmst"] = float(np.sqrt((area_after ** 2 * term[inside]).sum()))
    out["ess_evrmst"] = out[f"ess_ev{tau:g}"] if f"ess_ev{tau:g}" in out else np.nan
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
                             "se_ratio_expected_to_bootstrap": xse / bse,
                             "bootstrap": wald_covers(est, bse, t, e, P.tau, z),
                             "expected": wald_covers(est, xse, t, e, P.tau, z),
                             "max": wald_covers(est, max(bse, xse), t, e, P.tau, z),
                             "boot_t": wald_covers(est, xse, t, e, P.tau, z, (r[f"{arm}_{e}_t025"], r[f"{arm}_{e}_t975"]))})
    cov = pd.DataFrame(rows)
    overall = cov.groupby(["scenario", "estimand"]).agg(n=("bootstrap", "size"), se_ratio=("se_ratio_expected_to_bootstrap", "mean"),
                                                         bootstrap=("bootstrap", "mean"), expected=("expected", "mean"),
                                                         max=("max", "mean"), boot_t=("boot_t", "mean"))
    a = cov[cov["estimand"].str.startswith("A")].copy()
    a["ess_ev_bin"] = pd.cut(a["ess_ev"], [0, 5, 8, 10, 12, np.inf])
    by_ess = a.groupby(["scenario", "estimand", "ess_ev_bin"], observed=True).agg(
        n=("bootstrap", "size"), bootstrap=("bootstrap", "mean"), expected=("expected", "mean"), boot_t=("boot_t", "mean"))
    return overall, by_ess


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
    overall, by_ess = coverage(res, truths_from_study())
    pd.set_option("display.width", 200)
    print(overall.round(3).to_string())
    print(by_ess.round(3).to_string())


if __name__ == "__main__":
    main()

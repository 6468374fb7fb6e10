"""Speed of our survival engine against R `survival` on the same data (issue: scale benchmarks).

Times Kaplan-Meier (km_table), Cox (Efron ties; own engine and lifelines), the cox.zph PH test of
that Cox fit (ph_test vs R cox.zph, fit excluded) and the weighted counting-process Kaplan-Meier used by
clone-censor-weighting, the stratified log-rank test and stratified Cox model (strata: a 5-level factor ``s``) and the
time-split Cox model of the survival_compare rule (episodes split at 12 and 24, one HR of ``g`` per interval:
time_split_hr vs R survSplit + coxph with (tstart, time] rows, splitting included), the Aalen-Johansen
cumulative incidence with competing risks of the survival_competing rule (aj_cif: cif_table with IJ standard errors
and log CI, causes 1 and 2 of the ``status`` column, vs R multi-state survfit(Surv(time, factor(status, 0:2)) ~ 1))
and the restricted mean survival time to tau = 36 with its SE of the survival_rmst rule (rmst: rmst vs R
summary(survfit(Surv(time, event) ~ 1), rmean = 36)$table, survfit and summary timed together), against R
survfit / survdiff / coxph, on
simulated data of 10^4 and 10^5 subjects. Each timing is the median of ``--repeats`` runs; R is
timed inside R (system.time of the call only, data already loaded), Python likewise. For aj_cif and rmst the
script also prints the max abs difference Python vs R (CIF and SE of both causes at 6, 12, 24, 36, 48; RMST and
its SE) as an agreement check (informational, never fails the run).

Usage: .venv/bin/python benchmarks/speed_vs_r.py [--sizes 10000 100000] [--repeats 5] [--out PATH]
Writes benchmarks/speed_vs_r.tsv (or --out).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

from icistop.stats.cif import cif_at, cif_table  # noqa: E402
from icistop.stats.cox import cox_fit, ph_test, time_split_hr  # noqa: E402
from icistop.stats.km import km_table  # noqa: E402
from icistop.stats.logrank import logrank  # noqa: E402
from icistop.stats.rmst import rmst  # noqa: E402

CHECK_TIMES = (6.0, 12.0, 24.0, 36.0, 48.0)
TAU = 36.0

R_CODE = r"""
suppressPackageStartupMessages({library(survival); library(jsonlite)})
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[1]); w <- read.csv(a[2]); reps <- as.integer(a[3])
med <- function(f) median(sapply(seq_len(reps), function(i) system.time(f())[["elapsed"]]))
out <- list(
  km = med(function() survfit(Surv(time, event) ~ 1, data = d, conf.type = "log-log")),
  cox = med(function() coxph(Surv(time, event) ~ x1 + x2 + g, data = d, ties = "efron")),
  cox_zph = {fit <- coxph(Surv(time, event) ~ x1 + x2 + g, data = d, ties = "efron"); med(function() cox.zph(fit))},
  weighted_cp_km = med(function() survfit(Surv(start, stop, event) ~ arm, data = w, weights = wt)),
  logrank_strat = med(function() survdiff(Surv(time, event) ~ g + strata(s), data = d)),
  cox_strat = med(function() coxph(Surv(time, event) ~ g + strata(s), data = d, ties = "efron")),
  cox_timesplit = med(function() {
    e <- survSplit(Surv(time, event) ~ ., data = d, cut = c(12, 24), episode = "iv")
    x <- model.matrix(~ g:factor(iv), e)  # one column per non-reference level of g and interval
    x <- x[, grepl("^g[^a]", colnames(x)), drop = FALSE]
    coxph(Surv(e$tstart, e$time, e$event) ~ x, ties = "efron")
  }),
  aj_cif = med(function() survfit(Surv(time, factor(status, 0:2)) ~ 1, data = d)),
  rmst = med(function() summary(survfit(Surv(time, event) ~ 1, data = d), rmean = 36)$table)
)
# agreement check (not timed): CIF and SE of causes 1, 2 at the check times; RMST and its SE
cf <- survfit(Surv(time, factor(status, 0:2)) ~ 1, data = d)
cs <- summary(cf, times = c(6, 12, 24, 36, 48))
rt <- summary(survfit(Surv(time, event) ~ 1, data = d), rmean = 36)$table
out$check <- list(cif1 = cs$pstate[, match("1", cf$states)], cif2 = cs$pstate[, match("2", cf$states)],
                  se1 = cs$std.err[, match("1", cf$states)], se2 = cs$std.err[, match("2", cf$states)],
                  rmst = unname(rt["rmean"]), rmst_se = unname(rt["se(rmean)"]))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA), a[4])
"""


def simulate(n: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.binomial(1, 0.4, n)
    g = rng.choice(["a", "b", "c"], n)
    t = rng.exponential(24 * np.exp(-(0.3 * x1 + 0.5 * x2)))
    c = rng.uniform(0, 60, n)
    d = pd.DataFrame({"time": np.round(np.minimum(t, c), 2) + 0.01, "event": (t <= c).astype(int),
                      "x1": x1, "x2": x2, "g": g})
    start = rng.uniform(0, 5, n)
    stop = start + rng.exponential(20, n) + 0.01
    w = pd.DataFrame({"start": np.round(start, 2), "stop": np.round(stop, 2) + 0.02,
                      "event": rng.binomial(1, 0.5, n), "arm": rng.choice(["A", "B"], n),
                      "wt": rng.uniform(0.5, 3, n)})
    d["s"] = rng.choice(["s1", "s2", "s3", "s4", "s5"], n)
    # competing-risk status (0 censored, 1 event of interest, 2 competing) from its own generator, so the
    # draws above - and the other rows - are unchanged: an event is of cause 2 with probability 0.35
    cause2 = np.random.default_rng([seed, 2]).binomial(1, 0.35, n)
    d["status"] = d["event"] * (1 + cause2)
    return d, w


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def report_agreement(d: pd.DataFrame, rc: dict) -> None:
    """Print the max abs (and relative) difference Python vs R for aj_cif and rmst (informational only)."""
    at = cif_at(cif_table(d, "time", "status", causes=[1, 2]), CHECK_TIMES).set_index(["cause", "time"])
    py_cif = np.concatenate([at.loc[k, "cif"].to_numpy() for k in (1, 2)])
    py_se = np.concatenate([at.loc[k, "se"].to_numpy() for k in (1, 2)])
    r_cif = np.concatenate([np.atleast_1d(rc["cif1"]), np.atleast_1d(rc["cif2"])]).astype(float)
    r_se = np.concatenate([np.atleast_1d(rc["se1"]), np.atleast_1d(rc["se2"])]).astype(float)
    rm = rmst(d, "time", "event", TAU).iloc[0]
    d_rm, d_rse = abs(rm["rmst"] - rc["rmst"]), abs(rm["se"] - rc["rmst_se"])
    print(f"check aj_cif at t={list(CHECK_TIMES)}: max abs diff cif {np.max(np.abs(py_cif - r_cif)):.3g}, "
          f"se {np.max(np.abs(py_se - r_se)):.3g} (max rel se {np.max(np.abs(py_se / r_se - 1)):.3g})", flush=True)
    print(f"check rmst tau={TAU:g}: python {rm['rmst']:.10g} (se {rm['se']:.10g}) vs R {rc['rmst']:.10g} "
          f"(se {rc['rmst_se']:.10g}); abs diff {d_rm:.3g}, se {d_rse:.3g} "
          f"(rel {d_rm / abs(rc['rmst']):.3g}, se {d_rse / rc['rmst_se']:.3g})", flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "speed_vs_r.tsv"))
    args = ap.parse_args(argv)
    rows = []
    for n in args.sizes:
        d, w = simulate(n)
        fit = cox_fit(d, "time", "event", ["x1", "x2", "g"], categorical={"g": "a"}, engine="efron")
        py = {
            "km": median_time(lambda: km_table(d, "time", "event"), args.repeats),
            "cox": median_time(lambda: cox_fit(d, "time", "event", ["x1", "x2", "g"], categorical={"g": "a"},
                                               engine="efron"), args.repeats),
            "cox_lifelines": median_time(lambda: cox_fit(d, "time", "event", ["x1", "x2", "g"],
                                                         categorical={"g": "a"}, engine="lifelines"), args.repeats),
            "cox_zph": median_time(lambda: ph_test(fit), args.repeats),
            "weighted_cp_km": median_time(lambda: km_table(w, "stop", "event", group="arm", entry="start",
                                                           weights="wt"), args.repeats),
            "logrank_strat": median_time(lambda: logrank(d, "time", "event", "g", strata="s"), args.repeats),
            "cox_strat": median_time(lambda: cox_fit(d, "time", "event", ["g"], categorical={"g": "a"}, strata="s"),
                                     args.repeats),
            "cox_timesplit": median_time(lambda: time_split_hr(d, "time", "event", ["g"], ["g"], cuts=(12.0, 24.0),
                                                               categorical={"g": "a"}), args.repeats),
            "aj_cif": median_time(lambda: cif_table(d, "time", "status", causes=[1, 2]), args.repeats),
            "rmst": median_time(lambda: rmst(d, "time", "event", TAU), args.repeats),
        }
        with tempfile.TemporaryDirectory() as tmp:
            dp, wp, rp, op = (Path(tmp) / f for f in ("d.csv", "w.csv", "b.R", "o.json"))
            d.to_csv(dp, index=False)
            w.to_csv(wp, index=False)
            rp.write_text(R_CODE)
            subprocess.run(["Rscript", str(rp), str(dp), str(wp), str(args.repeats), str(op)], check=True)
            r = json.loads(op.read_text())
        report_agreement(d, r["check"])
        for task, seconds in py.items():
            r_task = "cox" if task == "cox_lifelines" else task
            rows.append(dict(n=n, task=task, python_s=round(seconds, 4), r_s=round(r[r_task], 4),
                             ratio_python_over_r=round(seconds / max(r[r_task], 1e-3), 2)))
        print(pd.DataFrame(rows).tail(len(py)).to_string(index=False), flush=True)
    frame = pd.DataFrame(rows)
    frame["machine"] = f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}".strip()
    frame.to_csv(args.out, sep="\t", index=False)


if __name__ == "__main__":
    main()

"""Performance of the simulation study's estimators (Morris, White & Crowther 2019): the truth of each
estimand from :func:`icistop.data.synth.counterfactual_truth`, bias (Monte-Carlo SE), empirical and mean
model SE, coverage (Monte-Carlo SE), misses below / above, out-of-range limits and the share printed as
not estimable, per scenario, outcome, estimator, interval method and estimand; and the markdown table of
benchmarks/simulation_study.md."""

from __future__ import annotations

import numpy as np
import pandas as pd
from icistop.stats.intervals import CI_METHODS, scale_of

from icistop.continuation.simstudy import METHODS, OUTCOMES

SUMMARY_KEYS = ["scenario", "outcome", "estimator", "method", "estimand"]



def _at(values: dict, h: str):
    for key in (h, float(h), int(float(h)), str(int(float(h))), f"{float(h):g}"):
        if key in values:
            return values[key]
    raise KeyError(h)


def _truth_block(truth: dict, outcome: str) -> dict:
    if outcome == "pfs":
        return truth
    if outcome in truth:
        return truth[outcome]
    raise KeyError(f"truth has no {outcome!r} block (counterfactual_truth(..., os=True))")


def truth_value(truth: dict, outcome: str, estimand: str, followup: bool = True) -> float:
    """True value of ``estimand`` (names of :func:`ccw_rows`) for ``outcome`` from a
    :func:`icistop.data.synth.counterfactual_truth` dict (B = continue, A = stop; loghr = log HR B vs A).

    The Cox HR is not a fixed number when hazards are not proportional: it depends on the follow-up.
    ``loghr`` is therefore compared with ``hr_B_vs_A_followup`` (counterfactual arms censored by the
    generator's own follow-up, what a Cox model on the simulated data estimates) when the truth has it
    and ``followup``; otherwise with ``hr_B_vs_A`` (no censoring before tau)."""
    t = _truth_block(truth, outcome)
    if estimand == "loghr":
        key = "hr_B_vs_A_followup" if followup and "hr_B_vs_A_followup" in t else "hr_B_vs_A"
        return float(np.log(t[key]))
    if estimand in ("rmst_A", "rmst_B"):
        return float(t[estimand])
    if estimand == "rmst_diff":
        return float(t["rmst_difference_B_minus_A"])
    kind, h = estimand.rsplit("_", 1)
    block = {"surv_A": "surv_A", "surv_B": "surv_B", "diff": "difference_B_minus_A", "ratio": "ratio_B_over_A"}
    if kind not in block:
        raise KeyError(f"no truth for {estimand}")
    return float(_at(t[block[kind]], h))


def truth_mc_se(truth: dict, outcome: str, estimand: str) -> float:
    """Monte-Carlo SE of the truth itself (binomial for per-arm survival, reported for differences; NaN
    otherwise)."""
    t = _truth_block(truth, outcome)
    kind, _, h = estimand.rpartition("_")
    if kind in ("surv_A", "surv_B"):
        s = float(_at(t[kind], h))
        return float(np.sqrt(s * (1 - s) / truth["n_eligible"]))
    if kind == "diff" and "mc_se_difference" in t:
        return float(_at(t["mc_se_difference"], h))
    return np.nan


def _parameter_space(estimand: str) -> tuple[float, float]:
    scale = scale_of(estimand)
    return {"cloglog": (0.0, 1.0), "atanh": (-1.0, 1.0)}.get(scale, (-np.inf, np.inf))


def _flag(values) -> np.ndarray:
    return np.array([str(v).strip().lower() in ("true", "1", "1.0") for v in values], bool)


def _estimand_rank(estimand: str) -> tuple:
    """Display order: per horizon S_A, S_B, diff, ratio; then RMST A, B, diff and the log HR."""
    kinds = ("surv_A", "surv_B", "diff", "ratio")
    kind, _, h = estimand.rpartition("_")
    if kind in kinds:
        return (0, float(h), kinds.index(kind))
    tail = ("rmst_A", "rmst_B", "rmst_diff", "loghr")
    return (1, tail.index(estimand) if estimand in tail else len(tail), estimand)


def order_summary(summary: pd.DataFrame, scenarios=None) -> pd.DataFrame:
    """Rows in a stable display order: scenarios as given (else as found), PFS before OS, naive, landmark,
    ccw, methods as :data:`METHODS`, estimands by :func:`_estimand_rank`."""
    if not len(summary):
        return summary
    scen = list(scenarios or []) + [s for s in dict.fromkeys(summary["scenario"]) if s not in (scenarios or [])]
    est = ["naive", "landmark", "ccw"]
    meth = ["model_wald", *METHODS]
    key = summary.apply(lambda r: (scen.index(r["scenario"]), list(OUTCOMES).index(r["outcome"])
                                   if r["outcome"] in OUTCOMES else 9, est.index(r["estimator"])
                                   if r["estimator"] in est else 9, _estimand_rank(r["estimand"]),
                                   meth.index(r["method"]) if r["method"] in meth else 99), axis=1)
    return summary.iloc[sorted(range(len(summary)), key=lambda i: key.iloc[i])].reset_index(drop=True)


def summarise(results: pd.DataFrame, truths: dict[str, dict], order=None) -> pd.DataFrame:
    """Performance per scenario x outcome x estimator x method x estimand.

    ``truth``: :func:`truth_value` (for the log HR under the simulated follow-up; ``truth_no_censoring``
    without censoring before tau). Over the replicates with a finite estimate (``n_rep``): bias = mean
    estimate - truth (MC SE = empirical SE / sqrt(n_rep)), empirical SE, mean model SE. Over those with
    both limits finite (``n_ci``): coverage = share of intervals containing the truth (MC SE
    sqrt(c (1 - c) / n_ci)), ``miss_below`` (truth below the lower limit), ``miss_above``, mean width,
    ``out_of_range`` (a limit outside [0, 1] for probabilities, [-1, 1] for differences), and
    ``coverage_estimable`` (intervals the report prints, ``estimable`` True). ``not_estimable``: share of
    all replicates flagged."""
    out = []
    for key, g in results.groupby(SUMMARY_KEYS, sort=False):
        rec = dict(zip(SUMMARY_KEYS, key))
        scen, outcome, estimand = rec["scenario"], rec["outcome"], rec["estimand"]
        truth = truth_value(truths[scen], outcome, estimand)
        est = g["estimate"].to_numpy(float)
        ok = np.isfinite(est)
        n = int(ok.sum())
        emp = float(np.std(est[ok], ddof=1)) if n > 1 else np.nan
        se = g["se"].to_numpy(float)[ok]
        lo, hi = g["lower"].to_numpy(float), g["upper"].to_numpy(float)
        ci = ok & np.isfinite(lo) & np.isfinite(hi)
        m = int(ci.sum())
        covered = (lo[ci] <= truth) & (truth <= hi[ci])
        cov = float(covered.mean()) if m else np.nan
        estimable = _flag(g["estimable"])
        pe = estimable[ci]
        a, b = _parameter_space(estimand)
        rec.update({
            "n_rep": n, "n_ci": m, "truth": truth, "truth_mc_se": truth_mc_se(truths[scen], outcome, estimand),
            "truth_no_censoring": truth_value(truths[scen], outcome, estimand, followup=False),
            "mean_estimate": float(est[ok].mean()) if n else np.nan,
            "bias": float(est[ok].mean() - truth) if n else np.nan,
            "mc_se_bias": emp / np.sqrt(n) if n > 1 else np.nan, "empirical_se": emp,
            "mean_model_se": float(np.nanmean(se)) if np.isfinite(se).any() else np.nan,
            "coverage": cov, "mc_se_coverage": float(np.sqrt(cov * (1 - cov) / m)) if m else np.nan,
            "miss_below": float((truth < lo[ci]).mean()) if m else np.nan,
            "miss_above": float((truth > hi[ci]).mean()) if m else np.nan,
            "mean_width": float((hi[ci] - lo[ci]).mean()) if m else np.nan,
            "out_of_range": float(((lo[ci] < a) | (hi[ci] > b)).mean()) if m else np.nan,
            "not_estimable": float(1 - estimable.mean()) if len(g) else np.nan,
            "coverage_estimable": float(covered[pe].mean()) if pe.any() else np.nan,
        })
        out.append(rec)
    return order_summary(pd.DataFrame(out), order if order is not None else list(truths))


def _fmt(v, digits=3) -> str:
    return "" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


ESTIMAND_LABELS = {"loghr": "log HR", "rmst_diff": "RMST diff", "rmst_A": "RMST A", "rmst_B": "RMST B"}


def estimand_label(estimand: str) -> str:
    if estimand in ESTIMAND_LABELS:
        return ESTIMAND_LABELS[estimand]
    kind, h = estimand.rsplit("_", 1)
    return {"surv_A": "S_A", "surv_B": "S_B", "diff": "diff", "ratio": "ratio"}.get(kind, kind) + f"({h})"


def markdown_table(summary: pd.DataFrame, estimator: str = "ccw") -> str:
    """One row per scenario x outcome x estimand of ``estimator``: truth, bias (MC SE), empirical SE, then
    per interval method the mean model SE and the coverage (MC SE); the share flagged not estimable by the
    report (default method). Coverage outside 92-98 % is bold."""
    s = summary[summary["estimator"] == estimator]
    methods = [m for m in (*CI_METHODS, "working_cox_wald", "bootstrap_wald", "known_weights") if m in set(s["method"])]
    head = ["scenario", "outcome", "estimand", "truth", "bias (MC SE)", "emp. SE"]
    for m in methods:
        head += [f"{m} SE", f"{m} coverage"]
    head += ["not estimable"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (scen, outcome, estimand), g in s.groupby(["scenario", "outcome", "estimand"], sort=False):
        g = g.set_index("method")
        first = g.iloc[0]
        cells = [scen, outcome.upper(), estimand_label(estimand), _fmt(first["truth"], 4),
                 f"{first['bias']:+.4f} ({first['mc_se_bias']:.4f})", _fmt(first["empirical_se"], 4)]
        for m in methods:
            if m not in g.index:
                cells += ["", ""]
                continue
            c = g.loc[m, "coverage"]
            text = f"{c:.3f} ({g.loc[m, 'mc_se_coverage']:.3f})" if np.isfinite(c) else ""
            if np.isfinite(c) and not 0.92 <= c <= 0.98:
                text = f"**{text}**"
            cells += [_fmt(g.loc[m, "mean_model_se"], 4), text]
        ne = g.loc["transformed_wald", "not_estimable"] if "transformed_wald" in g.index else np.nan
        cells.append(f"{100 * ne:.1f} %" if np.isfinite(ne) else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


ANALYTIC_SOURCE = {"known_weights": "known_weights", "working_cox": "working_cox_wald"}


def analytic_default_rows(summary: pd.DataFrame, analytic_arm_se=None) -> pd.DataFrame:
    """The simulation rows of the intervals used without the bootstrap (``continuation.bootstrap.analytic_above_n``):
    CCW comparisons from ``known_weights``; per-arm survival from the method of ``analytic_arm_se`` per outcome
    (:func:`icistop.stats.intervals.analytic_arm_se_for`) and per-arm RMST from ``working_cox_wald``, the same
    selection :func:`icistop.continuation.tables.estimates_table` makes. Column ``source`` names the method row."""
    from icistop.stats.intervals import analytic_arm_se_for

    s = summary[summary["estimator"] == "ccw"]
    out = []
    for (scen, outcome, estimand), g in s.groupby(["scenario", "outcome", "estimand"], sort=False):
        if estimand in ("rmst_A", "rmst_B"):
            source = "working_cox_wald"
        elif estimand.startswith("surv_"):
            source = ANALYTIC_SOURCE[analytic_arm_se_for(analytic_arm_se, outcome)]
        else:
            source = "known_weights"
        row = g[g["method"] == source]
        if len(row):
            out.append(row.iloc[0].to_dict() | {"source": source})
    return pd.DataFrame(out)

"""Range checks over every result table: no probability outside [0, 1], no difference of probabilities
outside [-1, 1], no negative count, no confidence interval that excludes its own point estimate.

Columns are recognised by name (the workflow's naming conventions); :func:`table_errors` checks one
table, :func:`results_errors` every TSV under a results directory.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

TOL = 1e-9

# probabilities: whole column names or prefixes
PROBABILITY = re.compile(r"^(surv|cif|event_free|observed|predicted_(min|max|mean)|rate|p|q|lrt_p|p_.*|q_.*|"
                         r"surv_.*|cif_.*|pfs_\d+m_from_start|.*_p|model_p_lr|p_lau9\d)$")
PERCENT = re.compile(r"^(pct|pct_.*|.*_pct)$")
DIFFERENCE = re.compile(r"^diff_\d+(\.\d+)?$")
COUNT = re.compile(r"^(n|n_.*|.*_n|events|events_.*|.*_events|n_event|n_censor|n_risk|cum_events|cum_censored|"
                   r"progressions|deaths|recurred_level|n_clones|n_boot.*|n_failed)$")
# (estimate, lower, upper) column triplets
TRIPLETS = [("estimate", "lower", "upper"), ("surv", "lower", "upper"), ("cif", "lower", "upper"),
            ("hr", "lower", "upper"), ("hr", "hr_lower", "hr_upper"), ("hr", "hr_ci_low", "hr_ci_high"),
            ("hr_vs_first", "hr_lower", "hr_upper"), ("hr_unadj", "hr_unadj_lower", "hr_unadj_upper"),
            ("hr_high_vs_low", "hr_ci_low", "hr_ci_high"), ("odds_ratio", "or_ci_low", "or_ci_high"),
            ("rate", "rate_ci_low", "rate_ci_high"), ("median", "median_ci_low", "median_ci_high"),
            ("median", "lower", "upper"), ("median", "median_lower", "median_upper"), ("rmst", "lower", "upper"),
            ("diff", "lower", "upper"), ("observed", "observed_lower", "observed_upper"),
            ("cif_progression", "cif_progression_low", "cif_progression_high"),
            ("cif_death", "cif_death_low", "cif_death_high"), ("pct", "pct_ci_low", "pct_ci_high"),
            ("rate_per_100py", "lower_per_100py", "upper_per_100py"),
            ("rate_per_person_month", "lower_per_person_month", "upper_per_person_month")]
# tables whose columns mean something else under the names above
SKIP_COLUMNS = {"km_medians.tsv": {"lower", "upper"}, "followup.tsv": set(), "rechallenge_response.tsv": {"pct"},
                "cox.tsv": {"p"}, "calibration.tsv": set()}


def _num(frame: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(frame[col], errors="coerce").to_numpy(float)


def _estimand_kind(frame: pd.DataFrame) -> np.ndarray | None:
    """Per row: 'prob' / 'diff' / 'ratio' / None for long tables with an ``estimand`` column."""
    if "estimand" not in frame:
        return None
    names = frame["estimand"].astype(str)
    return np.where(names.str.match(r"^surv_"), "prob",
                    np.where(names.str.match(r"^diff_") | names.str.contains(" difference at "), "diff",
                             np.where(names.str.match(r"^(ratio_|hr$)") | names.str.startswith("HR"), "ratio", "")))


def table_errors(frame: pd.DataFrame, name: str = "table") -> list[str]:
    errors = []
    skip = SKIP_COLUMNS.get(Path(name).name, set())
    has_prob_estimate = any(c in frame for c in ("surv", "cif"))
    for col in frame.columns:
        if col in skip:
            continue
        v = _num(frame, col)
        if not np.isfinite(v).any():
            continue
        if PROBABILITY.match(col) or (has_prob_estimate and col in ("lower", "upper")):
            bad = np.isfinite(v) & ((v < -TOL) | (v > 1 + TOL))
            if bad.any():
                errors.append(f"{name}: column {col} outside [0, 1]: {v[bad][:3].tolist()}")
        elif PERCENT.match(col):
            bad = np.isfinite(v) & ((v < -TOL) | (v > 100 + TOL))
            if bad.any():
                errors.append(f"{name}: percentage column {col} outside [0, 100]: {v[bad][:3].tolist()}")
        elif DIFFERENCE.match(col):
            bad = np.isfinite(v) & (np.abs(v) > 1 + TOL)
            if bad.any():
                errors.append(f"{name}: column {col} outside [-1, 1]: {v[bad][:3].tolist()}")
        if COUNT.match(col):
            bad = np.isfinite(v) & (v < 0)
            if bad.any():
                errors.append(f"{name}: count column {col} negative: {v[bad][:3].tolist()}")
    kind = _estimand_kind(frame)
    if kind is not None and {"estimate", "lower", "upper"} <= set(frame.columns):
        est, lo, hi = _num(frame, "estimate"), _num(frame, "lower"), _num(frame, "upper")
        for k, (a, b) in {"prob": (0, 1), "diff": (-1, 1), "ratio": (0, np.inf)}.items():
            m = kind == k
            for arr, what in ((est, "estimate"), (lo, "lower"), (hi, "upper")):
                bad = m & np.isfinite(arr) & ((arr < a - TOL) | (arr > b + TOL))
                if bad.any():
                    errors.append(f"{name}: {what} of {k} estimand(s) {list(frame.loc[bad, 'estimand'])[:3]} "
                                  f"outside [{a}, {b}]")
    claimed = set()
    for est_col, lo_col, hi_col in TRIPLETS:
        if not {est_col, lo_col, hi_col} <= set(frame.columns) or {lo_col, hi_col} & skip:
            continue
        if (lo_col, hi_col) == ("lower", "upper") and "diff" in frame and est_col != "diff":
            continue  # a table of differences: lower/upper belong to diff
        if (lo_col, hi_col) in claimed:
            continue  # the first matching estimate column owns a (lower, upper) pair
        claimed.add((lo_col, hi_col))
        est, lo, hi = _num(frame, est_col), _num(frame, lo_col), _num(frame, hi_col)
        ok = np.isfinite(est) & np.isfinite(lo) & np.isfinite(hi)
        scale = np.maximum(1.0, np.abs(np.where(ok, est, 0.0)))
        bad = ok & ((lo > est + TOL * scale) | (hi < est - TOL * scale))
        if bad.any():
            rows = np.flatnonzero(bad)[:3]
            errors.append(f"{name}: CI ({lo_col}, {hi_col}) excludes {est_col} in rows {rows.tolist()}: "
                          f"{[(est[i], lo[i], hi[i]) for i in rows]}")
    return errors


def results_errors(results: Path) -> list[str]:
    errors = []
    for path in sorted(Path(results).rglob("*.tsv")):
        if "tables" in path.parts:  # display tables hold text, checked through their sources
            continue
        try:
            frame = pd.read_csv(path, sep="\t")
        except pd.errors.EmptyDataError:
            continue
        errors += table_errors(frame, str(path.relative_to(results)))
    return errors

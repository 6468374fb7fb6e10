"""Per-patient analysis panel from ``endpoints.parquet`` and ``assessments.parquet``.

One row per treated patient with the columns the continuation analyses need (months from ICI
start): outcome time/event, first progression, ICI stop time (inf when not stopped), stop reason,
first time of a CR and of a PR-or-better assessment (inf when none; this determines the
time-varying "best response so far"), and the baseline confounder design matrix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RESPONSE_LEVELS = ("CR", "PR", "other")


def _first_time(assessments: pd.DataFrame, ids: pd.Index, responses: tuple) -> np.ndarray:
    a = assessments[assessments["response"].isin(responses) & (assessments["time"] > 0)]
    first = a.groupby("patient_id")["time"].min()
    return first.reindex(ids).fillna(np.inf).to_numpy(float)


def prepare_panel(endpoints: pd.DataFrame, assessments: pd.DataFrame, outcome: str = "pfs") -> pd.DataFrame:
    """Analysis panel (one row per patient of ``endpoints``), vectorised."""
    ep = endpoints.reset_index(drop=True)
    ids = pd.Index(ep["patient_id"])
    out = pd.DataFrame({"patient_id": ep["patient_id"].to_numpy()})
    if outcome == "pfs":
        out["y_time"] = ep["pfs_time"].to_numpy(float)
        out["y_event"] = ep["pfs_event"].to_numpy(float).astype(int)
    elif outcome == "os":
        out["y_time"] = ep["os_time"].to_numpy(float)
        out["y_event"] = ep["os_event"].to_numpy(float).astype(int)
    else:
        raise ValueError("outcome must be 'pfs' or 'os'")
    out["pfs_time"] = ep["pfs_time"].to_numpy(float)
    out["pfs_event"] = ep["pfs_event"].to_numpy(float).astype(int)
    prog = ep["progression_time"].to_numpy(float) if "progression_time" in ep else np.full(len(ep), np.nan)
    out["prog_time"] = np.where(np.isnan(prog), np.inf, prog)
    stopped = ep["stopped"].to_numpy(bool)
    out["stop_time"] = np.where(stopped, ep["time_on_ici"].to_numpy(float), np.inf)
    out["stop_reason"] = ep["stop_reason"].astype(object).where(stopped, "ongoing").to_numpy()
    out["msi_h_or_dmmr"] = ep["msi_h_or_dmmr"].to_numpy(bool) if "msi_h_or_dmmr" in ep else True
    a = assessments[assessments["patient_id"].isin(ids)]
    out["t_cr"] = _first_time(a, ids, ("CR",))
    out["t_pr"] = _first_time(a, ids, ("CR", "PR"))
    for col in ep.columns:
        if col not in out.columns and col not in ("stopped",):
            out[col] = ep[col].to_numpy()
    return out


def response_so_far(panel: pd.DataFrame, t) -> np.ndarray:
    """Best response so far at time(s) ``t`` (months from ICI start): 'CR', 'PR' or 'other'."""
    t = np.asarray(t, float)
    cr = panel["t_cr"].to_numpy()[..., None] <= t if t.ndim else panel["t_cr"].to_numpy() <= t
    pr = panel["t_pr"].to_numpy()[..., None] <= t if t.ndim else panel["t_pr"].to_numpy() <= t
    return np.where(cr, "CR", np.where(pr, "PR", "other"))


def confounder_design(panel: pd.DataFrame, columns) -> tuple[np.ndarray, list[str]]:
    """Numeric design matrix of baseline confounders (no intercept).

    Numeric columns: missing values imputed by the median plus a missingness indicator when any
    is missing. Other columns: indicator per level (most frequent level is the reference;
    missing is its own level). Constant columns are dropped.
    """
    mats, names = [], []
    for col in columns:
        if col not in panel.columns:
            continue
        s = panel[col]
        if pd.api.types.is_bool_dtype(s):
            s = s.astype(float)
        num = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_numeric_dtype(s) else s.astype(float)
        if pd.api.types.is_numeric_dtype(s) or num.notna().mean() > 0.99:
            v = num.to_numpy(float)
            miss = np.isnan(v)
            if miss.all():
                continue
            v = np.where(miss, np.nanmedian(v), v)
            if np.nanstd(v) > 0:
                mats.append(v)
                names.append(col)
            if miss.any() and not miss.all():
                mats.append(miss.astype(float))
                names.append(f"{col}_missing")
        else:
            lev = s.astype(object).where(s.notna(), "missing").astype(str)
            counts = lev.value_counts()
            for level in sorted(counts.index[1:]):
                mats.append((lev == level).to_numpy(float))
                names.append(f"{col}[{level}]")
    if not mats:
        return np.zeros((len(panel), 0)), []
    return np.column_stack(mats), names

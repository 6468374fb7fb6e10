"""Time binning and the per-bin counts a site shares.

Times (months) are replaced by the end of the bin they fall in: ``t -> ceil(t / width) * width`` with
bins (0, w], (w, 2w], ... (a time of exactly k w stays k w; time 0 stays 0). The shared table has,
per combination of the ``by`` columns and per bin end with anything happening, the number of events
and of censorings. The number at risk at a bin end is the sum of both over that and later bins of the
same combination, so no individual time or date is needed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COUNT_COLUMNS = ["time", "n_event", "n_censor"]


def bin_times(times, width: float) -> np.ndarray:
    """End of the bin of width ``width`` (months) each time falls in; NaN stays NaN. Ratios are
    rounded to 9 decimals first, so that a time on a bin edge stays there despite float error."""
    if not width > 0:
        raise ValueError(f"bin width must be positive, got {width!r}")
    t = np.asarray(times, float)
    if np.any(t[np.isfinite(t)] < 0):
        raise ValueError("times must be >= 0")
    return np.ceil(np.round(t / width, 9)) * width


def survival_counts(df: pd.DataFrame, time: str, event: str, width: float, by=()) -> pd.DataFrame:
    """Events and censorings per ``by`` combination and bin end (rows with a missing time, event or
    ``by`` value are left out). Columns: ``by``..., time, n_event, n_censor; sorted."""
    by = [by] if isinstance(by, str) else list(by)
    d = df[[*by, time, event]].dropna()
    ev = pd.to_numeric(d[event]).to_numpy(float)
    if not np.isin(ev, (0, 1)).all():
        raise ValueError(f"column {event!r} must be 0/1")
    out = d[by].copy()
    out["time"] = bin_times(d[time], width)
    out["n_event"] = ev.astype(int)
    out["n_censor"] = 1 - out["n_event"]
    out = out.groupby([*by, "time"], sort=True, observed=True)[["n_event", "n_censor"]].sum().reset_index()
    return out[[*by, *COUNT_COLUMNS]]


def add_counts(tables: list[pd.DataFrame], keys) -> pd.DataFrame:
    """Sum count tables (e.g. of several sites) by their ``keys`` columns (plus time)."""
    keys = [keys] if isinstance(keys, str) else list(keys)
    both = pd.concat(tables, ignore_index=True)
    out = both.groupby([*keys, "time"], sort=True, observed=True)[["n_event", "n_censor"]].sum().reset_index()
    return out[[*keys, *COUNT_COLUMNS]]


def at_risk(counts: pd.DataFrame, keys=()) -> pd.Series:
    """Number at risk at each row's time within its ``keys`` combination: everyone whose binned time
    is at or after it (events and censorings at a time are at risk at that time, as R)."""
    keys = [keys] if isinstance(keys, str) else list(keys)
    c = counts.sort_values([*keys, "time"], kind="mergesort")
    total = c["n_event"] + c["n_censor"]
    rev = total[::-1].groupby([c[k][::-1] for k in keys], observed=True, sort=False).cumsum() if keys else total[::-1].cumsum()
    return rev[::-1].reindex(counts.index)

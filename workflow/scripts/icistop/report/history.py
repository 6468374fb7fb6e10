"""Run history: key numbers of each report rendering, and what changed since the previous run.

When a refreshed export is analysed, the report shows a "what changed since the previous run" box:
patients, events, follow-up and key estimates before and after. Each rendering appends one JSON
line to ``results/history/runs.jsonl`` (outside Snakemake's bookkeeping on purpose: it is a log of
runs, not a result of this run). Only aggregate numbers are stored, never identifiers or dates.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

HISTORY_COLUMNS = ["quantity", "previous", "current", "change"]


def key_numbers(endpoints: pd.DataFrame, km_landmarks: pd.DataFrame | None = None,
                followup: pd.DataFrame | None = None, extra: dict | None = None) -> dict:
    """Aggregate numbers that identify a run's data and main results (floats rounded to 4 digits)."""
    stop = endpoints[endpoints["in_stop_cohort"].astype(bool)]
    numbers = {
        "patients (treated cohort)": int(len(endpoints)),
        "patients (stop cohort)": int(len(stop)),
        "PFS events after stopping": int(stop["stop_pfs_event"].fillna(0).sum()),
        "deaths (treated cohort)": int(endpoints["os_event"].fillna(0).sum()),
    }
    if followup is not None and len(followup):
        row = followup[(followup["endpoint"] == "os_after_stop")]
        if len(row):
            numbers["median follow-up after stopping (months)"] = round(float(row["median"].iloc[0]), 4)
    if km_landmarks is not None and len(km_landmarks):
        lm = km_landmarks[(km_landmarks["endpoint"] == "pfs_after_stop") & (km_landmarks["grouping"] == "overall")]
        for _, r in lm.iterrows():
            if pd.notna(r["surv"]):
                numbers[f"PFS after stopping at {r['time']:g} months"] = round(float(r["surv"]), 4)
    for key, value in (extra or {}).items():
        numbers[key] = round(float(value), 4) if isinstance(value, float) else value
    return numbers


def read_history(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:  # a torn line from an interrupted run: skip it
                continue
    return records


def previous_different_run(history: list[dict], fingerprint: str) -> dict | None:
    """The latest earlier run whose inputs differ (a rerun on identical inputs is not a change)."""
    for record in reversed(history):
        if record.get("fingerprint") != fingerprint:
            return record
    return None


def compare(previous: dict | None, current: dict) -> pd.DataFrame:
    """One row per quantity: previous value, current value and the change (current - previous)."""
    rows = []
    before = (previous or {}).get("numbers", {})
    for key, value in current.items():
        old = before.get(key)
        change = None
        if isinstance(value, (int, float)) and isinstance(old, (int, float)):
            change = round(value - old, 4)
        rows.append(dict(quantity=key, previous=old, current=value, change=change))
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS, dtype=object)


def append_run(path: str | Path, record: dict) -> None:
    """Append one run record as a JSON line (written in one call, then flushed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")
        handle.flush()

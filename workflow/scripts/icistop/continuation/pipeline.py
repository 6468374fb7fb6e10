"""Glue for the Snakemake entry points: read inputs, run an analysis, write TSV/JSON/figures."""

from __future__ import annotations

import numpy as np
import pandas as pd

from icistop.continuation.panel import prepare_panel
from icistop.continuation.protocol import Protocol, protocol_from_config


def outcome_unavailable(endpoints: pd.DataFrame, outcome: str) -> str | None:
    """Why ``outcome`` cannot be analysed at all (None when it can): PFS needs tumour assessments."""
    if outcome == "pfs" and ("last_assessment_time" not in endpoints or endpoints["last_assessment_time"].isna().all()):
        return "no tumour assessments in the data, so progression is unknown: PFS not estimable"
    return None


def load_panel(endpoints_path, assessments_path, outcome: str = "pfs") -> pd.DataFrame:
    return prepare_panel(pd.read_parquet(endpoints_path), pd.read_parquet(assessments_path), outcome=outcome)


def load_analysis(endpoints_path, assessments_path, outcome: str = "pfs") -> tuple[pd.DataFrame, str | None]:
    """(panel, reason): the analysis panel, emptied (no rows) when the outcome is not estimable, and
    the reason (None when it is), so that every analysis reports "not estimable" instead of numbers."""
    endpoints = pd.read_parquet(endpoints_path)
    panel = prepare_panel(endpoints, pd.read_parquet(assessments_path), outcome=outcome)
    reason = outcome_unavailable(endpoints, outcome)
    return (panel.iloc[0:0].copy() if reason else panel), reason


def protocol_for(params_cfg: dict, outcome: str) -> Protocol:
    return protocol_from_config(params_cfg, outcome=outcome)


def outcome_inputs(smk) -> tuple[str, pd.DataFrame, str | None, Protocol]:
    """What a per-outcome continuation rule reads: (outcome wildcard, analysis panel, reason it is not
    estimable or None, protocol), from the inputs ``endpoints`` and ``assessments`` and the params ``cfg``."""
    outcome = smk.wildcards.outcome
    panel, reason = load_analysis(smk.input.endpoints, smk.input.assessments, outcome)
    return outcome, panel, reason, protocol_for(smk.params.cfg, outcome)


def with_reason(frame: pd.DataFrame, reason: str | None, rows=None) -> pd.DataFrame:
    """``frame`` with its ``reason`` column set to ``reason`` (all rows, or the boolean mask ``rows``)
    when the outcome is not estimable; unchanged when ``reason`` is None."""
    if not reason:
        return frame
    out = frame.copy()
    mask = np.ones(len(out), bool) if rows is None else np.asarray(rows, bool)
    if "reason" not in out:
        out["reason"] = ""
    out.loc[mask, "reason"] = reason
    return out


def scalars(d: dict) -> dict:
    """JSON-friendly copy of a result dict (drops private keys and arrays)."""
    out = {}
    for k, v in d.items():
        if k.startswith("_"):
            continue
        if isinstance(v, (np.floating, float)):
            out[k] = None if not np.isfinite(v) else float(v)
        elif isinstance(v, (np.integer, int)) and not isinstance(v, bool):
            out[k] = int(v)
        elif isinstance(v, (str, bool)) or v is None:
            out[k] = v
    return out

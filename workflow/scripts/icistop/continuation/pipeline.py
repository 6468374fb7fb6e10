"""Glue for the Snakemake entry points: read inputs, run an analysis, write TSV/JSON/figures."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .data import prepare_panel
from .protocol import Protocol, protocol_from_config


def load_panel(endpoints_path, assessments_path, outcome: str = "pfs") -> pd.DataFrame:
    return prepare_panel(pd.read_parquet(endpoints_path), pd.read_parquet(assessments_path), outcome=outcome)


def protocol_for(params_cfg: dict, outcome: str) -> Protocol:
    return protocol_from_config(params_cfg, outcome=outcome)


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

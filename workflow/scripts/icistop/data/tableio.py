"""Reading and writing the workflow's intermediate files (Parquet, TSV, JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd


def read_validated(paths) -> dict[str, pd.DataFrame]:
    """Validated tables keyed by name (file stem); an empty optional table (ctdna) is left out."""
    tables = {}
    for path in paths:
        frame = pd.read_parquet(path)
        name = Path(path).stem
        if name == "ctdna" and frame.empty:
            continue
        tables[name] = frame
    return tables


def write_tsv(frame: pd.DataFrame, path, float_format: str = "%.10g") -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, sep="\t", index=False, float_format=float_format, na_rep="NA")


def write_tables(output, frames: dict[str, pd.DataFrame], float_format: str = "%.10g") -> None:
    """Write each frame as TSV to the path of the same name in ``output`` (a rule's named outputs)."""
    for name, frame in frames.items():
        write_tsv(frame, getattr(output, name), float_format)


def _default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (pd.Timestamp,)):
        return value.strftime("%Y-%m-%d")
    raise TypeError(f"not JSON serialisable: {type(value)}")


def write_json(data, path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True, default=_default)
        handle.write("\n")


def read_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)

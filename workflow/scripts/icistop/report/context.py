"""The report's intermediate model: one JSON "section" per report section.

A section builder takes a dict of input files (the rule's named inputs) and the privacy options and
returns a :class:`SectionResult`: the JSON-able section (text, tables, figure references, raw
values for the key findings), the matplotlib figures and the display tables (written as TSV).
Everything in a section is already formatted and privacy-filtered; the HTML template only lays it
out (with autoescape), so the TSV tables and the page show the same text.

Cells are strings, or dicts ``{"text", "key", "value"}`` for key numbers: the page marks them with
``data-key``/``data-value`` so tests can compare the page with the result tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

NOT_RUN = "not run"


@dataclass
class SectionResult:
    section: dict
    figures: dict = field(default_factory=dict)   # name -> matplotlib Figure
    tables: dict = field(default_factory=dict)    # name -> DataFrame (display text, written as TSV)


def new_section(name: str, title: str, status: str = "ok", reason: str | None = None) -> dict:
    return {"name": name, "title": title, "status": status, "reason": reason, "paragraphs": [], "tables": [],
            "figures": [], "blocks": [], "values": {}, "notes": []}


def add_table(section: dict, spec: dict) -> None:
    """Append a table; ``blocks`` keeps the order of tables and figures for the page."""
    section["tables"].append(spec)
    section.setdefault("blocks", []).append(["table", spec["id"]])


def add_figure(section: dict, spec: dict) -> None:
    section["figures"].append(spec)
    section.setdefault("blocks", []).append(["figure", spec["id"]])


def not_run(name: str, title: str, reason: str) -> SectionResult:
    return SectionResult(new_section(name, title, NOT_RUN, reason))


def key_cell(text: str, key: str, value) -> dict:
    """A cell carrying a key number (raw value kept for checks)."""
    v = None
    try:
        f = float(value)
        v = f if math.isfinite(f) else None
    except (TypeError, ValueError):
        v = None
    return {"text": str(text), "key": key, "value": v}


def cell_text(cell) -> str:
    return cell["text"] if isinstance(cell, dict) else ("" if cell is None else str(cell))


def table_spec(name: str, caption: str, frame: pd.DataFrame, numeric=(), notes=(), cells=None,
               group_rows: bool = False) -> dict:
    """A display table: ``frame`` holds the text shown (also the TSV); ``cells`` optionally replaces
    the row cells by key cells (same shape). ``group_rows``: the first column names a group of
    consecutive rows and is shown once per group."""
    columns = [str(c) for c in frame.columns]
    rows = cells if cells is not None else [[("" if pd.isna(v) else str(v)) for v in row]
                                            for row in frame.itertuples(index=False)]
    return {"id": name, "caption": caption, "columns": columns,
            "numeric": [c in numeric for c in columns], "rows": rows, "notes": list(notes),
            "group_rows": bool(group_rows), "tsv": f"results/tables/{name}.tsv"}


def figure_spec(name: str, caption: str, alt: str, size: str = "normal") -> dict:
    """A figure reference; ``size`` ("normal", "narrow", "tall") sets its width on the page."""
    return {"id": name, "caption": caption, "alt": alt, "svg": f"results/figures/{name}.svg",
            "png": f"results/figures/{name}.png", "size": size}


def json_safe(value):
    """Non-finite floats (NaN, inf) as None, recursively, so the section JSON is valid JSON."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return json_safe(value.item())
        except (ValueError, TypeError):
            return value
    return value


def frame_from_cells(columns, rows) -> pd.DataFrame:
    return pd.DataFrame([[cell_text(c) for c in row] for row in rows], columns=columns)


def read_tsv(path) -> pd.DataFrame:
    """A result table; a table with no rows and no columns (a skipped analysis) reads as empty."""
    try:
        return pd.read_csv(path, sep="\t", na_values=["NA", ""], keep_default_na=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def require_columns(frame: pd.DataFrame, columns, source) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{Path(str(source)).name}: missing column(s) {', '.join(missing)} "
                         f"(has {', '.join(map(str, frame.columns))})")

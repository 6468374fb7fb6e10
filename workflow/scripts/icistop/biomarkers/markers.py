"""Marker specifications, the analysis data of a population and design matrices.

Populations (config ``biomarkers.populations``, endpoint per population in ``biomarkers.endpoint``):
- ``post_stop``: the stop cohort (``in_stop_cohort``), time from the stop date; endpoint PFS
  (``stop_pfs_time``, ``stop_pfs_event``; ``cause`` 1 = progression, 2 = death without progression) or
  OS (``stop_os_*``; ``cause`` 1 = death);
- ``from_start``: every treated patient of the cohort (the endpoints table), time from the first ICI
  dose; endpoint PFS (``pfs_*``) or OS (``os_*``).
A marker is analysed in the populations its ``populations`` list names (default all). Unknown marker
values (configured ``unknown_values`` plus a marker's own ``unknown`` list, and missing values) are
excluded marker by marker and counted; nothing is imputed. A marker whose known values are all missing or
form a single level is skipped with its reason. Markers are binary, categorical (treatment coding against
``reference``) or continuous (analysed on the ``transform`` scale divided by ``scale``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from icistop.biomarkers.populations import ENDPOINT_COLUMNS


MARKER_TYPES = ("binary", "categorical", "continuous")
TRANSFORMS = ("none", "log", "log2", "log2p1", "log1p")
RESERVED = ("patient_id", "time", "event", "cause")


@dataclass(frozen=True)
class MarkerSpec:
    name: str
    column: str
    type: str
    reference: str | None = None
    levels: tuple = ()
    unknown: tuple = ()
    recode: dict = field(default_factory=dict)
    transform: str = "none"
    scale: float = 1.0
    unit: str = ""
    label: str = ""

    @property
    def display(self) -> str:
        return self.label or self.name

    def per_unit(self) -> str:
        """Human-readable unit of a continuous marker's HR."""
        if self.unit:
            return self.unit
        if self.transform == "log2p1":
            return f"per doubling of ({self.column} + 1)"
        if self.transform == "log2":
            return f"per doubling of {self.column}"
        if self.transform in ("log", "log1p"):
            return f"per e-fold increase of {self.column}" + (" + 1" if self.transform == "log1p" else "")
        return f"per {self.scale:g} units" if self.scale != 1 else "per unit"


def marker_specs(cfg: dict) -> list[MarkerSpec]:
    """Marker specifications from the ``biomarkers`` config section (validated here too)."""
    specs = []
    seen = set()
    for m in cfg["markers"]:
        name = m["name"]
        if name in seen:
            raise ValueError(f"duplicate marker name {name!r}")
        if name in RESERVED:
            raise ValueError(f"marker name {name!r} is reserved")
        seen.add(name)
        mtype = m["type"]
        if mtype not in MARKER_TYPES:
            raise ValueError(f"marker {name}: type must be one of {MARKER_TYPES}")
        transform = m.get("transform") or "none"
        if transform not in TRANSFORMS:
            raise ValueError(f"marker {name}: transform must be one of {TRANSFORMS}")
        specs.append(MarkerSpec(
            name=name, column=m.get("column", name), type=mtype,
            reference=None if m.get("reference") is None else str(m["reference"]),
            levels=tuple(str(v) for v in (m.get("levels") or ())),
            unknown=tuple(str(v) for v in (m.get("unknown") or ())),
            recode={str(k): str(v) for k, v in (m.get("recode") or {}).items()},
            transform=transform, scale=float(m.get("scale", 1.0) or 1.0),
            unit=m.get("unit", "") or "", label=m.get("label", "") or "",
        ))
    return specs


def transform_values(x: pd.Series, spec: MarkerSpec) -> pd.Series:
    """Analysis scale of a continuous marker: transform(x) / scale."""
    x = pd.to_numeric(x, errors="coerce").astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if spec.transform == "log":
            y = np.log(x.where(x > 0))
        elif spec.transform == "log2":
            y = np.log2(x.where(x > 0))
        elif spec.transform == "log2p1":
            y = np.log2(x.where(x > -1) + 1)
        elif spec.transform == "log1p":
            y = np.log1p(x.where(x > -1))
        else:
            y = x
    return y / spec.scale


def derive_ctdna_at_stop(endpoints: pd.DataFrame, ctdna: pd.DataFrame | None,
                         lookback_months: float | None = None) -> pd.Series:
    """Last ctDNA result on or before the stop date (times in months from course-1 start;
    the stop is at ``time_on_ici`` for stopped patients), optionally within ``lookback_months``.
    NaN for patients without a stop or without a qualifying result."""
    out = pd.Series(np.nan, index=endpoints.index, dtype=object)
    if ctdna is None or ctdna.empty:
        return out
    stop = endpoints.set_index("patient_id")["time_on_ici"].where(endpoints.set_index("patient_id")["stopped"].astype(bool))
    c = ctdna.dropna(subset=["time", "result"]).copy()
    c["stop"] = c["patient_id"].map(stop)
    keep = c["time"] <= c["stop"] + 1e-9
    if lookback_months is not None:
        keep &= c["time"] >= c["stop"] - lookback_months - 1e-9
    c = c[keep].sort_values(["patient_id", "time"], kind="stable")
    last = c.groupby("patient_id", sort=False)["result"].last()
    return endpoints["patient_id"].map(last).astype(object)


def _clean_categorical(x: pd.Series, spec: MarkerSpec, unknown_values) -> pd.Series:
    def norm(v):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            return np.nan
        if isinstance(v, (bool, np.bool_)):
            s = "yes" if v else "no"
        elif isinstance(v, (float, np.floating)) and float(v).is_integer():
            s = str(int(v))
        else:
            s = str(v).strip()
        s = spec.recode.get(s, s)
        if s in unknown_values or s in spec.unknown:
            return np.nan
        return s

    return x.map(norm).astype(object)


def population_rows(endpoints: pd.DataFrame, population: str) -> pd.DataFrame:
    """Rows of the endpoints table in the population (from_start: all treated patients)."""
    if population == "post_stop":
        return endpoints[endpoints["in_stop_cohort"].fillna(False).astype(bool)]
    return endpoints


def prepare_analysis_data(endpoints: pd.DataFrame, ctdna: pd.DataFrame | None, cfg: dict
                          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per patient of the population (``cfg['population']``, default post_stop) with time, event,
    cause and one cleaned column per marker (categorical: string levels, unknown -> NaN; continuous:
    original scale, NaN when unknown), and a per-marker inventory (counts per level, unknown, status/note)."""
    population = cfg.get("population", "post_stop")
    endpoint = cfg.get("population_endpoint", "pfs")
    specs = marker_specs(cfg)
    unknown_values = set(str(v) for v in cfg.get("unknown_values", ["unknown"]))
    ep = endpoints.copy()
    if any(s.column == "ctdna_at_stop" for s in specs) and "ctdna_at_stop" not in ep.columns:
        ep["ctdna_at_stop"] = derive_ctdna_at_stop(ep, ctdna, cfg.get("ctdna", {}).get("lookback_months"))
    cohort = population_rows(ep, population).copy()
    time_col, event_col, cause_col = ENDPOINT_COLUMNS[(population, endpoint)]
    event = pd.to_numeric(cohort[event_col], errors="coerce").to_numpy(dtype=float)
    data = pd.DataFrame({
        "patient_id": cohort["patient_id"].to_numpy(),
        "time": pd.to_numeric(cohort[time_col], errors="coerce").to_numpy(dtype=float),
        "event": event,
        "cause": event if cause_col is None else pd.to_numeric(cohort[cause_col], errors="coerce").to_numpy(dtype=float),
    })
    inventory = []
    for spec in specs:
        if spec.column not in cohort.columns:
            data[spec.name] = np.nan
            inventory.append({"marker": spec.name, "type": spec.type, "level": "", "n": 0,
                              "n_unknown": len(cohort), "status": "skipped",
                              "note": f"column {spec.column!r} not in the endpoints table"})
            continue
        raw = cohort[spec.column].reset_index(drop=True)
        if spec.type == "continuous":
            vals = raw.map(lambda v: np.nan if (isinstance(v, str) and (v.strip() in unknown_values or v.strip() in spec.unknown)) else v)
            vals = pd.to_numeric(vals, errors="coerce").astype(float)
            data[spec.name] = vals.to_numpy()
            n_known = int(vals.notna().sum())
            tx = transform_values(vals, spec)
            status, note = "ok", ""
            if n_known == 0:
                status, note = "skipped", "no patients in the population" if len(vals) == 0 else "all values unknown"
            elif tx.notna().sum() < n_known:
                note = f"{n_known - int(tx.notna().sum())} values outside the domain of transform {spec.transform}"
            if status == "ok" and tx.dropna().nunique() < 2:
                status, note = "skipped", "a single distinct value"
            inventory.append({"marker": spec.name, "type": spec.type, "level": "(continuous)", "n": n_known,
                              "n_unknown": int(len(vals) - n_known), "median": float(vals.median()) if n_known else math.nan,
                              "q1": float(vals.quantile(0.25)) if n_known else math.nan,
                              "q3": float(vals.quantile(0.75)) if n_known else math.nan,
                              "status": status, "note": note})
        else:
            vals = _clean_categorical(raw, spec, unknown_values)
            data[spec.name] = vals.to_numpy()
            counts = vals.value_counts(dropna=True)
            n_unknown = int(vals.isna().sum())
            status, note = _categorical_status(spec, counts)
            if vals.empty:
                note = "no patients in the population"
            if counts.empty:
                inventory.append({"marker": spec.name, "type": spec.type, "level": "", "n": 0,
                                  "n_unknown": n_unknown, "status": status, "note": note})
            for level in level_order(spec, counts):
                inventory.append({"marker": spec.name, "type": spec.type, "level": level,
                                  "is_reference": level == _reference(spec, counts),
                                  "n": int(counts.get(level, 0)), "n_unknown": n_unknown,
                                  "status": status, "note": note})
    inv = pd.DataFrame(inventory)
    return data, inv


def _reference(spec: MarkerSpec, counts: pd.Series) -> str | None:
    if counts.empty:
        return None
    if spec.reference is not None and spec.reference in counts.index and counts[spec.reference] > 0:
        return spec.reference
    # most frequent level, ties broken alphabetically (deterministic)
    top = counts.max()
    return sorted(str(v) for v in counts.index[counts == top])[0]


def level_order(spec: MarkerSpec, counts: pd.Series) -> list[str]:
    ref = _reference(spec, counts)
    present = [str(v) for v in counts.index if counts[v] > 0]
    ordered = [v for v in spec.levels if v in present] + sorted(v for v in present if v not in spec.levels)
    if ref is None:
        return ordered
    return [ref] + [v for v in ordered if v != ref]


def _categorical_status(spec: MarkerSpec, counts: pd.Series) -> tuple[str, str]:
    counts = counts[counts > 0]
    if counts.empty:
        return "skipped", "all values unknown"
    if len(counts) < 2:
        return "skipped", f"a single known level ({counts.index[0]})"
    notes = []
    if spec.type == "binary" and len(counts) > 2:
        notes.append(f"binary marker has {len(counts)} levels; analysed as categorical")
    if spec.reference is not None and _reference(spec, counts) != spec.reference:
        notes.append(f"reference {spec.reference!r} absent; most frequent level used")
    return "ok", "; ".join(notes)


def marker_design(values: pd.Series, spec: MarkerSpec) -> tuple[pd.DataFrame, list[str], str | None]:
    """Design columns of one marker for rows with a known value (treatment coding vs reference).

    Returns (X indexed like the known rows, level order with the reference first, reference)."""
    if spec.type == "continuous":
        x = transform_values(values, spec).dropna()
        return pd.DataFrame({spec.name: x}), [], None
    v = values.dropna().astype(str)
    counts = v.value_counts()
    levels = level_order(spec, counts)
    if not levels:
        return pd.DataFrame(index=v.index), [], None
    ref = levels[0]
    X = pd.DataFrame({f"{spec.name}={lv}": (v == lv).astype(float) for lv in levels[1:]}, index=v.index)
    return X, levels, ref



"""Table 1: baseline characteristics of the stop cohort by stop reason.

Counts with column percentages (denominator: all patients of the column, so the levels of a variable,
including "missing", add up to 100%), medians with interquartile range (quantiles as R's default
type 7) and the number of missing values for continuous variables. Source: one row per patient of
``endpoints.parquet`` with ``in_stop_cohort``. Small-cell suppression: counts below k show as "<k"
without a percentage; medians of columns with fewer than k non-missing values are not shown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icistop.report.privacy import count_pct, is_suppressed, site_labels, suppress_count
from icistop.report.format import label

STOP_REASON_ORDER = ["planned_completion", "elective_response", "toxicity", "patient_choice", "surgery",
                     "other", "progression", "death", "ongoing"]
TOTAL = "Total"
MISSING = "missing"

# (column, display name, kind, levels); kind: continuous | categorical | binary (the "yes" level)
VARIABLES = [
    ("age_at_ici_start", "Age at ICI start, years", "continuous", None),
    ("sex", "Sex", "categorical", ["female", "male", "unknown"]),
    ("site", "Site", "site", None),
    ("ecog", "ECOG performance status", "categorical", [0, 1, 2, 3, 4]),
    ("primary_site", "Primary tumour site", "categorical", ["right_colon", "left_colon", "rectum", "unknown"]),
    ("sidedness", "Sidedness", "categorical", ["right", "left", "unknown"]),
    ("metastasis_timing", "Metastases", "categorical", ["synchronous", "metachronous", "unknown"]),
    ("msi_status", "MSI status", "categorical", ["MSI-H", "MSS", "unknown"]),
    ("mmr_status", "MMR status", "categorical", ["dMMR", "pMMR", "unknown"]),
    ("lynch_syndrome", "Lynch syndrome", "categorical", ["yes", "no", "unknown"]),
    ("ras_status", "RAS", "categorical", ["mutant", "wildtype", "unknown"]),
    ("braf_v600e", "BRAF V600E", "categorical", ["mutant", "wildtype", "unknown"]),
    ("tmb", "TMB, mut/Mb", "continuous", None),
    ("met_liver", "Liver metastases", "binary", None),
    ("met_lung", "Lung metastases", "binary", None),
    ("met_lymph_node", "Lymph node metastases", "binary", None),
    ("met_peritoneum", "Peritoneal metastases", "binary", None),
    ("met_bone", "Bone metastases", "binary", None),
    ("n_met_sites", "Number of metastatic sites", "count_groups", [0, 1, 2, 3]),
    ("regimen", "Regimen", "categorical", ["anti-PD-1", "anti-PD-L1", "anti-PD-1+anti-CTLA-4", "other"]),
    ("line", "Line of therapy", "count_groups", [1, 2, 3]),
    ("time_on_ici", "Time on ICI, months", "continuous", None),
    ("time_on_ici_group", "Time on ICI group, months", "categorical", None),
    ("best_response", "Best response on ICI", "categorical", ["CR", "PR", "SD", "PD", "NE"]),
    ("response_at_stop", "Response at stop", "categorical", ["CR", "PR", "SD", "PD"]),
    ("has_rechallenge", "ICI re-challenge", "flag", None),
]


def _quantiles(values: pd.Series):
    v = pd.to_numeric(values, errors="coerce").dropna().to_numpy(float)
    if not len(v):
        return None
    q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75])
    return med, q1, q3


def _group_columns(frame: pd.DataFrame, by: str) -> list[tuple[str, pd.Series]]:
    present = [r for r in STOP_REASON_ORDER if (frame[by] == r).any()]
    present += sorted(set(frame[by].dropna().astype(str)) - set(present))
    groups = [(label(r), frame[by] == r) for r in present]
    groups.append((TOTAL, pd.Series(True, index=frame.index)))
    return groups


def _interval_key(value) -> tuple:
    """Order of interval labels such as '<12', '12-24', '>24'."""
    text = str(value)
    digits = "".join(c if (c.isdigit() or c == ".") else " " for c in text).split()
    first = float(digits[0]) if digits else float("inf")
    rank = 0 if text.startswith("<") else 2 if text.startswith(">") else 1
    return (first, rank) if rank != 0 else (first - 1e-9, rank)


def _levels(values: pd.Series, declared) -> list:
    seen = list(pd.unique(values.dropna()))
    if declared is None:
        return sorted(seen, key=_interval_key)
    declared_str = [str(d) for d in declared]
    extra = sorted((v for v in seen if str(v) not in declared_str), key=str)
    return [d for d in declared if any(str(v) == str(d) for v in seen)] + extra


def table1(endpoints: pd.DataFrame, by: str = "stop_reason", k: int = 0, show_identifiers: bool = False,
           cohort_column: str | None = "in_stop_cohort") -> tuple[pd.DataFrame, dict]:
    """Table 1 as a display frame and the raw counts.

    Returns (table, raw): ``table`` has columns variable, level, statistic and one text column per
    group (label of the stop reason, then "Total"); its first row holds the number of patients.
    ``raw`` maps (variable, level, group) -> count (or (median, q1, q3) for continuous variables),
    unsuppressed, for checks.
    """
    frame = endpoints
    if cohort_column and cohort_column in frame:
        frame = frame[frame[cohort_column].astype(bool)]
    frame = frame.reset_index(drop=True)
    groups = _group_columns(frame, by)
    names = [g for g, _ in groups]
    rows: list[dict] = []
    raw: dict = {}

    def add(variable, level, statistic, cells):
        rows.append({"variable": variable, "level": level, "statistic": statistic, **dict(zip(names, cells))})

    sizes = {g: int(mask.sum()) for g, mask in groups}
    add("Patients", "", "n", [suppress_count(sizes[g], k) for g in names])
    for g in names:
        raw[("Patients", "", g)] = sizes[g]

    for column, name, kind, declared in VARIABLES:
        if column not in frame:
            continue
        values = frame[column]
        if kind == "site":
            if values.isna().all():
                continue
            mapping = site_labels(values, show_identifiers)
            values = values.map(lambda s: mapping.get(str(s)) if pd.notna(s) else None)
            declared = list(dict.fromkeys(mapping.values()))
            kind = "categorical"
        if kind == "continuous":
            cells = []
            for g, mask in groups:
                v = values[mask]
                q = _quantiles(v)
                raw[(name, "median [IQR]", g)] = q
                n_ok = int(pd.to_numeric(v, errors="coerce").notna().sum())
                if q is None:
                    cells.append("NA")
                elif k and n_ok < k:
                    cells.append(f"n<{k}")
                else:
                    cells.append(f"{q[0]:.1f} [{q[1]:.1f}\u2013{q[2]:.1f}]")
            add(name, "", "median [IQR]", cells)
            n_missing = {g: int(pd.to_numeric(values[m], errors="coerce").isna().sum()) for g, m in groups}
            if any(n_missing.values()):
                for g in names:
                    raw[(name, MISSING, g)] = n_missing[g]
                add(name, MISSING, "n", [suppress_count(n_missing[g], k) for g in names])
            continue
        if kind == "flag":
            values = values.map(lambda x: None if pd.isna(x) else ("yes" if bool(x) else "no"))
            kind, declared = "binary", None
        if kind == "binary":
            shown = ["yes"] + (["unknown"] if (values == "unknown").any() else [])
            stat_levels = [(lvl, values == lvl) for lvl in shown]
        elif kind == "count_groups":
            numeric = pd.to_numeric(values, errors="coerce")
            top = declared[-1]
            stat_levels = [(str(v), numeric == v) for v in declared[:-1]] + [(f"\u2265{top}", numeric >= top)]
        else:
            stat_levels = [(label(lvl), values.astype(object).map(str) == str(lvl)) for lvl in _levels(values, declared)]
        if values.isna().any():
            stat_levels.append((MISSING, values.isna()))
        for level, match in stat_levels:
            cells = []
            for g, mask in groups:
                n = int((match & mask).sum())
                raw[(name, level, g)] = n
                cells.append(count_pct(n, sizes[g], k))
            add(name, level, "n (%)", cells)
    table = pd.DataFrame(rows, columns=["variable", "level", "statistic", *names])
    return table, raw


def suppressed_cells(table: pd.DataFrame, k: int) -> int:
    """Number of cells shown as '<k' (for the note under the table)."""
    if not k:
        return 0
    marker = f"<{k}"
    return int(sum(str(v).startswith(marker) for v in table.iloc[:, 3:].to_numpy().ravel()))


__all__ = ["table1", "suppressed_cells", "VARIABLES", "TOTAL", "is_suppressed"]

"""Mapping report of a source adapter (OMOP CDM, CDISC ADaM): one row per mapping rule applied.

Each row says which source table a rule read, how many of its records came in, how many the rule
used and dropped, and why (``detail``), so that a reader can trace every contract row to its source
and see what was left behind. The report's data section prints it; the adapter writes it as
``results/adapter/mapping.tsv``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

MAPPING_COLUMNS = ["source_table", "rule", "records_in", "records_used", "records_dropped", "detail"]


@dataclass
class MappingLog:
    """Collects the rows of a mapping report in the order the rules ran."""

    rows: list[dict] = field(default_factory=list)

    def add(self, source_table: str, rule: str, records_in: int, records_used: int, detail: str = "") -> None:
        """One rule: ``records_in`` read, ``records_used`` kept; the difference is dropped for ``detail``."""
        records_in, records_used = int(records_in), int(records_used)
        if not 0 <= records_used <= records_in:
            raise ValueError(f"mapping rule '{rule}': used {records_used} of {records_in} records")
        self.rows.append({"source_table": source_table, "rule": rule, "records_in": records_in,
                          "records_used": records_used, "records_dropped": records_in - records_used,
                          "detail": detail})

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=MAPPING_COLUMNS)

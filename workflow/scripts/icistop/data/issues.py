"""Data issues: one record per problem found in the input, and the error raised for them.

Every problem names the table, the 1-based data row (the header is not counted, so a
CSV row ``r`` is on line ``r + 1`` of the file), the column, the offending value and what
was expected. Row 0 is the header row: such an issue is shown as "<file>, header: <message>", the
message naming the column(s) and their positions. Errors stop the workflow; warnings are carried
into the report.
"""

from __future__ import annotations

from dataclasses import dataclass, asdict

import pandas as pd

ISSUE_COLUMNS = ["severity", "table", "row", "column", "value", "message"]
MAX_LISTED_PER_CHECK = 100  # per (table, column, check); the rest are counted in one summary line


@dataclass(frozen=True)
class Issue:
    severity: str  # "error" or "warning"
    table: str
    row: int | None
    column: str | None
    value: str | None
    message: str

    def describe(self, file_name: str | None = None) -> str:
        where = file_name or self.table
        parts = [where]
        if self.row == 0:  # the header: the message names the column(s) and positions
            return f"{where}, header: {self.message}"
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts) + f": {self.message}"


class UserError(Exception):
    """A problem the user must fix (not a data-contract issue), printed as its plain message."""


class DataError(Exception):
    """Input data that cannot be analysed; carries the issues that caused it."""

    def __init__(self, issues: list[Issue], files: dict[str, str] | None = None, max_shown: int = 10,
                 footer: str | None = None):
        self.issues = [i for i in issues if i.severity == "error"] or list(issues)
        self.files = files or {}
        shown = [i.describe(self.files.get(i.table)) for i in self.issues[:max_shown]]
        more = len(self.issues) - len(shown)
        text = "Input data failed validation:\n  - " + "\n  - ".join(shown)
        if more > 0:
            text += f"\n  ... and {more} more error(s)"
        if footer:
            text += f"\n{footer}"
        super().__init__(text)


def issues_frame(issues: list[Issue]) -> pd.DataFrame:
    """Issues as a tidy table (severity, table, row, column, value, message)."""
    frame = pd.DataFrame([asdict(i) for i in issues], columns=ISSUE_COLUMNS)
    frame["row"] = frame["row"].astype("Int64")
    return frame


def row_issues(
    severity: str,
    table: str,
    column: str | None,
    rows: pd.Series,
    values: pd.Series,
    message: str,
) -> list[Issue]:
    """One issue per offending row, capped at MAX_LISTED_PER_CHECK plus a count of the rest.

    ``message`` may contain ``{value}``, replaced by each row's value.
    """
    out = []
    for row, value in zip(rows.iloc[:MAX_LISTED_PER_CHECK], values.iloc[:MAX_LISTED_PER_CHECK]):
        text = None if pd.isna(value) else str(value)
        out.append(Issue(severity, table, int(row), column, text, message.format(value=text)))
    rest = len(rows) - MAX_LISTED_PER_CHECK
    if rest > 0:
        generic = message.format(value="...")
        out.append(Issue(severity, table, None, column, None, f"{rest} more row(s) like the above: {generic}"))
    return out

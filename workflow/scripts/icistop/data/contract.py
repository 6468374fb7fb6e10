"""Input data contract v1: locate, read and type-check the input tables.

Tables live in one data directory as ``<name>.csv`` (comma), ``<name>.tsv`` / ``<name>.txt``
(tab) or ``<name>.parquet``. Each table's columns are described by a JSON-schema in
``workflow/schemas/<name>.schema.yaml`` (the single source of truth, also rendered in
``docs/data-contract.md``). Text cells that are empty or ``NA`` are missing values.
Columns not in the schema are kept and ignored. Column names are compared after trimming surrounding
whitespace; contract names are lower case and must be spelled exactly so. A header that repeats a name
(also when the copies differ only by surrounding whitespace or letter case), or that writes a contract
column in other capitals, is an error for the whole file (the header row is reported as row 0).

Checks done here are per table (columns, types, categories, ranges, dates, uniqueness);
checks across tables live in :mod:`icistop.data.validation`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import yaml

from icistop.data.issues import Issue, row_issues

TABLES = ("patients", "treatments", "assessments", "ctdna")
REQUIRED_TABLES = ("patients", "treatments", "assessments")
EXTENSIONS = {".csv": ",", ".tsv": "\t", ".txt": "\t", ".parquet": None}
MISSING_TOKENS = {"", "NA"}
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas"
ROW = "_row"  # 1-based data row number carried through validation


def load_schema(table: str, schema_dir: Path = SCHEMA_DIR) -> dict:
    with open(Path(schema_dir) / f"{table}.schema.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def find_table_files(data_dir: str | Path) -> dict[str, Path]:
    """Map each contract table present in ``data_dir`` to its file (one file per table)."""
    data_dir = Path(data_dir)
    found: dict[str, Path] = {}
    for table in TABLES:
        candidates = [data_dir / f"{table}{ext}" for ext in EXTENSIONS if (data_dir / f"{table}{ext}").is_file()]
        if len(candidates) > 1:
            names = ", ".join(c.name for c in candidates)
            raise ValueError(f"data directory {data_dir} has more than one file for table '{table}': {names}; keep one")
        if candidates:
            found[table] = candidates[0]
    return found


def missing_tables(files: dict[str, Path], data_dir: str | Path) -> list[Issue]:
    issues = []
    for table in REQUIRED_TABLES:
        if table not in files:
            options = ", ".join(f"{table}{ext}" for ext in EXTENSIONS)
            issues.append(
                Issue("error", table, None, None, None, f"required table is missing from {data_dir}: expected one of {options}")
            )
    return issues


def _positions(numbers: list[int]) -> str:
    words = [str(n) for n in numbers]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def header_issues(names, table: str, schema: dict) -> list[Issue]:
    """Errors for a header as written (``names`` in file order; positions reported 1-based).

    - a name given more than once, comparing names after trimming surrounding whitespace and ignoring
      case ("tmb", " tmb" and "TMB" are the same column): one error per repeated name, naming all positions;
    - a contract column written in other capitals ("TMB" for "tmb"): the contract is case-sensitive.
    Empty names (e.g. trailing separators) are left to the reader, which names them "Unnamed: <i>".
    """
    contract = {c.casefold(): c for c in schema["properties"]}
    groups: dict[str, list[tuple[int, str]]] = {}
    for position, name in enumerate(names, start=1):
        raw = "" if name is None else str(name)
        if raw.strip():
            groups.setdefault(raw.strip().casefold(), []).append((position, raw))
    issues = []
    for key, found in groups.items():
        if len(found) > 1:
            shown = contract.get(key, found[0][1].strip())
            times = "twice" if len(found) == 2 else f"{len(found)} times"
            where = f"columns {_positions([p for p, _ in found])}"
            spellings = [raw for _, raw in found]
            if len(set(spellings)) > 1:
                where += ", written " + _positions([f"'{raw}'" for raw in spellings])
                where += "; names are compared ignoring case and surrounding spaces"
            fix = "rename or remove one" if len(found) == 2 else "rename or remove all but one"
            issues.append(Issue("error", table, 0, shown, shown, f"column '{shown}' appears {times} ({where}); {fix}"))
        elif key in contract and found[0][1].strip() != contract[key]:
            position, raw = found[0]
            issues.append(Issue("error", table, 0, contract[key], raw,
                                f"column '{raw.strip()}' (column {position}) is the contract column '{contract[key]}' "
                                f"written in other capitals; column names are case-sensitive: rename it to "
                                f"'{contract[key]}'"))
    return issues


def _decode_text(path: Path, table: str) -> tuple[str | None, list[Issue]]:
    raw = path.read_bytes()
    if not raw.strip():
        return None, [Issue("error", table, None, None, None, f"file {path.name} is empty; expected a header row and data rows")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        byte = raw[exc.start : exc.start + 1].hex()
        return None, [
            Issue(
                "error",
                table,
                max(line - 1, 0) or None,
                None,
                f"0x{byte}",
                f"file {path.name} is not valid UTF-8: byte 0x{byte} on line {line}; re-save the export as UTF-8",
            )
        ]
    return text, []


def read_raw_table(path: Path, table: str, schema: dict) -> tuple[pd.DataFrame | None, list[Issue]]:
    """Read one table as text cells (or Parquet as stored); no type conversion yet."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            names = pq.read_schema(path).names
        except Exception:  # unreadable: reported by read_parquet below
            names = []
        issues = header_issues(names, table, schema)
        if issues:
            return None, issues
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            return None, [Issue("error", table, None, None, None, f"cannot read Parquet file {path.name}: {exc}")]
        if frame.empty and len(frame.columns) == 0:
            return None, [Issue("error", table, None, None, None, f"file {path.name} is empty")]
        frame.columns = [str(c).strip() for c in frame.columns]
        return frame, []
    text, issues = _decode_text(path, table)
    if text is None:
        return None, issues
    sep = EXTENSIONS[suffix]
    from io import StringIO

    try:
        frame = pd.read_csv(StringIO(text), sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=True)
    except pd.errors.ParserError as exc:
        return None, [Issue("error", table, None, None, None, f"cannot parse {path.name}: {exc}")]
    expected = list(schema["properties"])
    if frame.shape[1] == 1 and frame.columns[0] not in expected:
        header = frame.columns[0]
        for other, label in ((";", "semicolon"), ("\t", "tab"), (",", "comma"), ("|", "pipe")):
            if other != sep and other in header:
                want = "comma" if sep == "," else "tab"
                return None, [
                    Issue(
                        "error",
                        table,
                        None,
                        None,
                        None,
                        f"file {path.name} looks {label}-delimited, but {suffix} files must be {want}-separated "
                        f"(rename it or re-export); expected columns such as {', '.join(expected[:4])}",
                    )
                ]
    # the header as written (read_csv renames a repeated name "tmb" to "tmb.1")
    header = pd.read_csv(StringIO(text), sep=sep, header=None, nrows=1, dtype=str, keep_default_na=False)
    issues += header_issues(header.iloc[0].tolist() if len(header) else [], table, schema)
    if any(i.severity == "error" for i in issues):
        return None, issues
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        if table in REQUIRED_TABLES[:2]:
            return None, [Issue("error", table, None, None, None, f"file {path.name} has a header but no data rows")]
        issues.append(Issue("warning", table, None, None, None, f"file {path.name} has a header but no data rows"))
    return frame, issues


def _is_missing(series: pd.Series) -> pd.Series:
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        return series.isna() | series.astype(str).str.strip().isin(MISSING_TOKENS)
    return series.isna()


def _types(spec: dict) -> list[str]:
    kind = spec.get("type", "string")
    return [kind] if isinstance(kind, str) else list(kind)


def coerce_table(frame: pd.DataFrame, table: str, schema: dict) -> tuple[pd.DataFrame, list[Issue]]:
    """Check and convert each schema column; return the typed table (with ``_row``) and issues."""
    issues: list[Issue] = []
    props: dict = schema["properties"]
    for column in schema.get("required", []):
        if column not in frame.columns:
            issues.append(
                Issue(
                    "error",
                    table,
                    None,
                    column,
                    None,
                    f"required column '{column}' is missing; columns found: {', '.join(map(str, frame.columns))}",
                )
            )
    if any(i.severity == "error" for i in issues):
        return frame, issues

    out = frame.copy()
    out.insert(0, ROW, np.arange(1, len(out) + 1))
    rows = out[ROW]
    for column, spec in props.items():
        if column not in out.columns:
            continue
        types = _types(spec)
        raw = out[column]
        missing = _is_missing(raw)
        if "null" not in types and missing.any():
            hint = " (use 'unknown')" if "unknown" in spec.get("enum", []) else ""
            issues += row_issues("error", table, column, rows[missing], raw[missing], f"value is empty; a value is required{hint}")
        if "number" in types or "integer" in types:
            values = pd.to_numeric(raw.where(~missing), errors="coerce")
            bad = ~missing & values.isna()
            what = "an integer" if "integer" in types else "a number"
            issues += row_issues("error", table, column, rows[bad], raw[bad], f"'{{value}}' is not {what}")
            if "integer" in types:
                frac = values.notna() & (values != values.round())
                issues += row_issues("error", table, column, rows[frac], raw[frac], "'{value}' is not a whole number")
            if "minimum" in spec:
                low = values < spec["minimum"]
                issues += row_issues("error", table, column, rows[low], raw[low], f"{{value}} is below the minimum {spec['minimum']}")
            if "maximum" in spec:
                high = values > spec["maximum"]
                issues += row_issues("error", table, column, rows[high], raw[high], f"{{value}} is above the maximum {spec['maximum']}")
            out[column] = values.round().astype("Int64") if "integer" in types else values.astype(float)
        elif spec.get("format") == "date":
            if pd.api.types.is_datetime64_any_dtype(raw):
                out[column] = pd.to_datetime(raw).dt.normalize()
                continue
            text = raw.astype(str).str.strip().where(~missing)
            shaped = text.str.match(DATE_PATTERN.pattern, na=False).astype(bool)
            parsed = pd.to_datetime(text.where(shaped), format="%Y-%m-%d", errors="coerce")
            bad = ~missing & parsed.isna()
            issues += row_issues(
                "error",
                table,
                column,
                rows[bad],
                raw[bad],
                "'{value}' is not a valid date; expected an existing calendar date written YYYY-MM-DD (ISO-8601)",
            )
            out[column] = parsed
        else:
            text = raw.astype(str).str.strip().where(~missing)
            allowed = [v for v in spec.get("enum", []) if v is not None]
            if allowed:
                bad = ~missing & ~text.isin(allowed)
                issues += row_issues(
                    "error", table, column, rows[bad], raw[bad], f"unknown value '{{value}}'; allowed values: {', '.join(allowed)}"
                )
            out[column] = text.astype(object).where(~missing, None)
    for key in schema.get("x-unique", []):
        cols = [key] if isinstance(key, str) else list(key)
        if not all(c in out.columns for c in cols):
            continue
        dup = out.duplicated(cols, keep="first") & out[cols].notna().all(axis=1)
        if dup.any():
            first = out[~out.duplicated(cols, keep="first")].set_index(cols)[ROW]
            label = " + ".join(cols)
            for _, r in out[dup].head(100).iterrows():
                k = tuple(r[c] for c in cols) if len(cols) > 1 else r[cols[0]]
                value = ", ".join(map(str, k)) if isinstance(k, tuple) else str(k)
                issues.append(
                    Issue("error", table, int(r[ROW]), label, value, f"duplicate {label} '{value}' (first at row {int(first.loc[k])})")
                )
    return out, issues


# ---------------------------------------------------------------- declared extra columns (covariates.extra)
# Each declared column becomes a schema property (numeric: a number within minimum/maximum; categorical: one
# of values; empty = unknown), so bad values get the contract's error naming file, row and column.
# Undeclared extra columns are dropped with one warning line per table.

def extra_properties(extra: list[dict] | None) -> dict:
    """JSON-schema properties of the declared extra columns (merged into the patients schema)."""
    props = {}
    for col in extra or []:
        if col["type"] == "numeric":
            spec = {"type": ["number", "null"]}
            for bound in ("minimum", "maximum"):
                if col.get(bound) is not None:
                    spec[bound] = col[bound]
        else:
            spec = {"type": ["string", "null"], "enum": [str(v) for v in col["values"]] + [None]}
        spec["description"] = col.get("description", "declared extra column (config covariates.extra)")
        props[col["name"]] = spec
    return props


def with_extra_columns(schema: dict, extra: list[dict] | None) -> dict:
    """The table schema with the declared extra columns; a name clashing with a contract column is an error."""
    props = extra_properties(extra)
    clash = sorted(set(props) & set(schema["properties"]))
    if clash:
        raise ValueError(f"covariates.extra declares {', '.join(clash)}, already a contract column of "
                         f"{schema.get('title', 'the table')}; remove it from covariates.extra")
    return {**schema, "properties": {**schema["properties"], **props}}


def undeclared_columns(frame: pd.DataFrame, table: str, schema: dict, row_column: str) -> tuple[pd.DataFrame, list[Issue]]:
    """Drop columns that neither the contract nor ``covariates.extra`` declares; one warning naming them."""
    extra = [c for c in frame.columns if c not in schema["properties"] and c != row_column]
    if not extra:
        return frame, []
    names = ", ".join(f"'{c}'" for c in extra)
    what = "column" if len(extra) == 1 else "columns"
    issue = Issue("warning", table, None, None, None,
                  f"{len(extra)} undeclared {what} ignored: {names} (declare them in covariates.extra to use them)")
    return frame.drop(columns=extra), [issue]


def read_table(path: Path, table: str, schema_dir: Path = SCHEMA_DIR,
               extra_columns: list[dict] | None = None) -> tuple[pd.DataFrame | None, list[Issue]]:
    """Read and type-check one contract table; ``extra_columns`` (config ``covariates.extra``) are checked
    like contract columns, other columns beyond the contract are dropped with one warning."""
    schema = with_extra_columns(load_schema(table, schema_dir), extra_columns)
    frame, issues = read_raw_table(path, table, schema)
    if frame is None:
        return None, issues
    typed, more = coerce_table(frame, table, schema)
    if any(i.severity == "error" for i in more):
        return typed, issues + more
    typed, ignored = undeclared_columns(typed, table, schema, ROW)
    return typed, issues + more + ignored

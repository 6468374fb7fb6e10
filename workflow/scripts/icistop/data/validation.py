"""Validate a data directory against contract v1: per-table checks plus checks across tables.

Cross-table rules (errors unless stated):
- every patient_id in treatments, assessments and ctdna exists in patients;
- per course: start_date <= stop_date <= last_contact_date, start_date <= last_contact_date;
- stop_reason is empty exactly when stop_date is empty; stop_reason 'death' needs a death_date;
- last_contact_date not after death_date; death not before any ICI start, assessment or ctDNA date;
- courses numbered from 1, do not overlap, and only the last one may be ongoing;
- assessments after last_contact_date: warning (last follow-up is then the latest assessment);
- stop_reason 'progression' without a PD assessment up to 60 days after the stop: warning
  (the stop date is then used as the progression date);
- patients without any ICI course: warning (excluded by the cohort definition).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from icistop.data.contract import ROW, find_table_files, missing_tables, read_table
from icistop.data.issues import Issue, issues_frame, row_issues

PROGRESSION_MATCH_DAYS = 60


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _unknown_patients(table: str, frame: pd.DataFrame, known: pd.Index) -> list[Issue]:
    bad = ~frame["patient_id"].isin(known)
    return row_issues("error", table, "patient_id", frame.loc[bad, ROW], frame.loc[bad, "patient_id"],
                      "patient_id '{value}' is not in the patients table")


def _fmt(d) -> str:
    return "" if pd.isna(d) else pd.Timestamp(d).strftime("%Y-%m-%d")


def _date_order(table: str, frame: pd.DataFrame, mask: pd.Series, column: str, message: str) -> list[Issue]:
    """Issues for rows where ``mask`` holds; ``message`` is formatted per row with its columns."""
    rows = frame[mask]
    out = []
    for _, r in rows.head(100).iterrows():
        values = {k: _fmt(v) if isinstance(v, pd.Timestamp) else v for k, v in r.items()}
        out.append(Issue("error", table, int(r[ROW]), column, values.get(column, None), message.format(**values)))
    if len(rows) > 100:
        out.append(Issue("error", table, None, column, None, f"{len(rows) - 100} more row(s) with the same problem"))
    return out


def cross_table_issues(tables: dict[str, pd.DataFrame]) -> list[Issue]:
    patients = tables["patients"]
    treatments = tables["treatments"]
    assessments = tables["assessments"]
    issues: list[Issue] = []
    known = pd.Index(patients["patient_id"].dropna().unique())
    for name in ("treatments", "assessments", "ctdna"):
        if name in tables:
            issues += _unknown_patients(name, tables[name], known)

    pat = patients.drop_duplicates("patient_id").set_index("patient_id")[["last_contact_date", "death_date"]]
    # patients: contact after death
    issues += _date_order(
        "patients", patients, patients["death_date"].notna() & (patients["last_contact_date"] > patients["death_date"]),
        "last_contact_date", "last_contact_date {last_contact_date} is after death_date {death_date}",
    )

    tr = treatments.join(pat, on="patient_id")
    issues += _date_order("treatments", tr, tr["stop_date"] < tr["start_date"], "stop_date",
                          "stop_date {stop_date} is before start_date {start_date}")
    issues += _date_order("treatments", tr, tr["start_date"] > tr["last_contact_date"], "start_date",
                          "start_date {start_date} is after the patient's last_contact_date {last_contact_date}")
    issues += _date_order("treatments", tr, tr["stop_date"] > tr["last_contact_date"], "stop_date",
                          "stop_date {stop_date} is after the patient's last_contact_date {last_contact_date}")
    issues += _date_order("treatments", tr, tr["death_date"] < tr["start_date"], "start_date",
                          "death_date {death_date} is before ICI start_date {start_date}")
    issues += _date_order("treatments", tr, tr["stop_date"].isna() & tr["stop_reason"].notna(), "stop_reason",
                          "stop_reason '{stop_reason}' is given but stop_date is empty; leave both empty for an ongoing course")
    issues += _date_order("treatments", tr, tr["stop_date"].notna() & tr["stop_reason"].isna(), "stop_reason",
                          "stop_date {stop_date} is given but stop_reason is empty")
    issues += _date_order("treatments", tr, (tr["stop_reason"] == "death") & tr["death_date"].isna(), "stop_reason",
                          "stop_reason is 'death' but the patient has no death_date")

    # courses: numbering, overlap, only the last may be ongoing
    ordered = tr.sort_values(["patient_id", "course"])
    first_course = ordered.groupby("patient_id")["course"].transform("min")
    issues += _date_order("treatments", ordered, (ordered["course"] == first_course) & (ordered["course"] != 1), "course",
                          "patient's first listed course is {course}; courses must be numbered from 1")
    nxt_start = ordered.groupby("patient_id")["start_date"].shift(-1)
    nxt_course = ordered.groupby("patient_id")["course"].shift(-1)
    ordered = ordered.assign(next_start=nxt_start, next_course=nxt_course)
    has_next = ordered["next_start"].notna()
    overlap = has_next & (ordered["stop_date"].isna() | (ordered["next_start"] < ordered["stop_date"]))
    issues += _date_order("treatments", ordered, overlap, "start_date",
                          "course {course} (start {start_date}, stop {stop_date}) overlaps the next course, which starts {next_start}")

    # assessments and ctDNA against follow-up
    for name in ("assessments", "ctdna"):
        if name not in tables:
            continue
        frame = tables[name].join(pat, on="patient_id")
        issues += _date_order(name, frame, frame["date"] > frame["death_date"], "date",
                              "date {date} is after the patient's death_date {death_date}")
        late = (frame["date"] > frame["last_contact_date"]) & ~(frame["date"] > frame["death_date"])
        issues += [
            Issue("warning", i.table, i.row, i.column, i.value, i.message)
            for i in _date_order(name, frame, late, "date",
                                 "date {date} is after last_contact_date {last_contact_date}; last follow-up taken as this date")
        ]

    # progression stops without a PD assessment
    pd_dates = assessments.loc[assessments["response"] == "PD", ["patient_id", "date"]]
    prog = tr[tr["stop_reason"] == "progression"][[ROW, "patient_id", "stop_date"]]
    if len(prog):
        merged = prog.merge(pd_dates, on="patient_id", how="left")
        window = (merged["date"] <= merged["stop_date"] + pd.Timedelta(days=PROGRESSION_MATCH_DAYS))
        matched = merged[window].groupby(ROW).size()
        lacking = prog[~prog[ROW].isin(matched.index)]
        issues += row_issues(
            "warning", "treatments", "stop_reason", lacking[ROW], lacking["stop_date"].dt.strftime("%Y-%m-%d"),
            f"stop_reason 'progression' but no PD assessment up to {PROGRESSION_MATCH_DAYS} days after the stop date "
            "{value}; the stop date is used as the progression date",
        )
    untreated = patients[~patients["patient_id"].isin(treatments["patient_id"])]
    if len(untreated):
        issues.append(Issue("warning", "patients", None, "patient_id", None,
                            f"{len(untreated)} patient(s) have no ICI course in treatments and are excluded from all cohorts"))
    return issues


def validate_directory(data_dir: str | Path, extra_columns: dict[str, list[dict]] | None = None
                       ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, dict]:
    """Read and validate every contract table in ``data_dir``; ``extra_columns`` maps a table to its
    declared extra columns (config ``covariates.extra`` for patients).

    Returns the typed tables (without the internal row column), the issues table and a summary
    (per table: file, sha256, rows, columns; error and warning counts). Never raises for bad data:
    the caller decides what to do with errors.
    """
    data_dir = Path(data_dir)
    files = find_table_files(data_dir)
    issues = missing_tables(files, data_dir)
    tables: dict[str, pd.DataFrame] = {}
    summary: dict = {"data_dir": str(data_dir), "tables": {}}
    for name, path in files.items():
        frame, found = read_table(path, name, extra_columns=(extra_columns or {}).get(name))
        issues += found
        summary["tables"][name] = {
            "file": path.name,
            "sha256": sha256(path),
            "rows": None if frame is None else int(len(frame)),
            "columns": None if frame is None else [c for c in frame.columns if c != ROW],
        }
        if frame is not None:
            tables[name] = frame
    per_table_ok = not any(i.severity == "error" for i in issues)
    if per_table_ok and all(t in tables for t in ("patients", "treatments", "assessments")):
        issues += cross_table_issues(tables)
    frame = issues_frame(issues)
    summary["n_errors"] = int((frame["severity"] == "error").sum())
    summary["n_warnings"] = int((frame["severity"] == "warning").sum())
    summary["status"] = "failed" if summary["n_errors"] else "passed"
    clean = {name: t.drop(columns=[ROW], errors="ignore") for name, t in tables.items()}
    return clean, frame, summary

"""Report sections fed by the foundation's outputs: data validation, cohort flow, Table 1, swimmer plot.

Inputs (named as in the report rules):
- data: ``summary`` (results/validation/summary.json: tables.{name}.file/sha256/rows/columns, n_errors,
  n_warnings, status) and ``issues`` (results/validation/issues.tsv: severity, table, row, column,
  value, message);
- cohort: ``attrition`` (results/cohort/attrition.tsv: step, criterion, n_remaining, n_excluded, cohort);
  optional ``exclusion_reasons`` (results/cohort/exclusion_reasons.tsv: step, order, reason, n_excluded);
- table1: ``endpoints`` (results/endpoints/endpoints.parquet, rows with in_stop_cohort);
- swimmer: ``endpoints`` and ``assessments`` (results/endpoints/assessments.parquet: patient_id, time, response).
"""

from __future__ import annotations

import pandas as pd

from icistop.report.privacy import mask_message, suppress_count
from icistop.report.consort import REASONS_ORDER_NOTE, consort_figure, excluded_text, reasons_text, step_reasons
from icistop.report.context import (SectionResult, add_figure, add_table, figure_spec, key_cell, new_section,
                             not_run, read_tsv, require_columns, table_spec)
from icistop.report.format import label, plural
from icistop.report.swimmer import sample_rows, swimmer_data, swimmer_figure
from icistop.report.table1 import TOTAL, suppressed_cells, table1
from icistop.data.tableio import read_json


def data_section(files: dict, show_identifiers: bool = False, k: int = 0) -> SectionResult:
    summary = read_json(files["summary"])
    issues = pd.read_csv(files["issues"], sep="\t", dtype=str, keep_default_na=False)
    sec = new_section("data", "Data and validation")
    tables = summary.get("tables", {})
    sec["values"] = {"n_errors": summary.get("n_errors", 0), "n_warnings": summary.get("n_warnings", 0),
                     "status": summary.get("status"), "rows": {n: t.get("rows") for n, t in tables.items()}}
    inputs = pd.DataFrame([{"Table": name, "File": info.get("file", ""), "Rows": info.get("rows"),
                            "Columns": len(info.get("columns") or [])} for name, info in tables.items()])
    cells = [[r["Table"], r["File"], key_cell(str(r["Rows"]), f"rows_{r['Table']}", r["Rows"]), str(r["Columns"])]
             for r in inputs.to_dict("records")]
    add_table(sec, table_spec("data_inputs", "Input tables read (SHA-256 checksums under Provenance).",
                                    inputs, numeric=("Rows", "Columns"), cells=cells))
    n_warn = int(summary.get("n_warnings", 0))
    sec["paragraphs"].append(
        f"Validation {summary.get('status', 'unknown')}: {plural(int(summary.get('n_errors', 0)), 'error')} and "
        f"{plural(n_warn, 'warning')} in {plural(len(tables), 'table')}.")
    warnings = issues[issues["severity"] == "warning"] if "severity" in issues else issues.iloc[0:0]
    result = SectionResult(sec)
    if len(warnings):
        if show_identifiers:
            frame = pd.DataFrame({"Table": warnings["table"], "Row": warnings["row"], "Column": warnings["column"],
                                  "Value": warnings["value"], "Message": warnings["message"]})
            caption = "Validation warnings, one per data row (identifiers and values shown: internal use only)."
        else:
            masked = warnings.assign(message=[mask_message(m, v) for m, v in zip(warnings["message"], warnings["value"])])
            grouped = (masked.groupby(["table", "column", "message"], sort=False, dropna=False)
                       .size().reset_index(name="rows"))
            frame = pd.DataFrame({"Table": grouped["table"], "Column": grouped["column"], "Message": grouped["message"],
                                  "Data rows": [suppress_count(n, k) for n in grouped["rows"]]})
            caption = ("Validation warnings, grouped; dates and data values are masked "
                       "(report.show_identifiers shows them).")
        add_table(sec, table_spec("data_warnings", caption, frame, numeric=("Row", "Data rows")))
        result.tables["data_warnings"] = frame
    else:
        result.tables["data_warnings"] = pd.DataFrame(columns=["Table", "Column", "Message", "Data rows"])
    result.tables["data_inputs"] = inputs
    if files.get("mapping"):
        result.tables["data_mapping"] = _mapping_table(sec, files["mapping"], k)
    return result


def _mapping_table(sec: dict, path: str, k: int) -> pd.DataFrame:
    """The source adapter's mapping report: every rule with the records it read, used and dropped."""
    mapping = read_tsv(path)
    require_columns(mapping, ["source_table", "rule", "records_in", "records_used", "records_dropped", "detail"], path)
    detail = mapping["detail"].fillna("").astype(str)
    if k > 0:  # counts inside the free text follow the same small-cell rule as the columns
        detail = detail.str.replace(r"\b(\d+)\b", lambda m: suppress_count(int(m.group(1)), k), regex=True)
    frame = pd.DataFrame({"Source table": mapping["source_table"], "Mapping rule": mapping["rule"],
                          "Records read": [suppress_count(int(n), k) for n in mapping["records_in"]],
                          "Used": [suppress_count(int(n), k) for n in mapping["records_used"]],
                          "Dropped": [suppress_count(int(n), k) for n in mapping["records_dropped"]],
                          "Why dropped / notes": detail})
    add_table(sec, table_spec("data_mapping", "How the contract tables were made from the source (the adapter's "
                              "mapping report: records read, used and dropped by each rule; docs/omop-mapping.md, "
                              "docs/adam-mapping.md).", frame, numeric=("Records read", "Used", "Dropped")))
    sec["paragraphs"].append(
        f"The input tables were made from the source by an adapter: {plural(len(frame), 'mapping rule')}, "
        f"{suppress_count(int(mapping['records_dropped'].sum()), k)} source records dropped in total (see the mapping "
        "table for each rule and reason).")
    return frame


def cohort_section(files: dict, k: int = 0) -> SectionResult:
    attrition = read_tsv(files["attrition"])
    require_columns(attrition, ["step", "criterion", "n_remaining", "n_excluded"], files["attrition"])
    reasons = None
    if files.get("exclusion_reasons"):
        reasons = read_tsv(files["exclusion_reasons"])
        require_columns(reasons, ["step", "order", "reason", "n_excluded"], files["exclusion_reasons"])
    sec = new_section("cohort", "Cohort selection")
    items = [step_reasons(reasons, s) for s in attrition["step"]]
    frame = pd.DataFrame({
        "Step": attrition["step"].astype(int).astype(str),
        "Criterion": attrition["criterion"].astype(str),
        "Remaining": [suppress_count(n, k) for n in attrition["n_remaining"]],
        "Excluded": [suppress_count(n, k) for n in attrition["n_excluded"]],
        "Reasons for exclusion": [reasons_text(i, k) for i in items],
        "Cohort": [label(c) for c in attrition.get("cohort", pd.Series([""] * len(attrition)))],
    })
    flow = "; ".join(f"{c}: n = {suppress_count(n, k)}" + (f" ({excluded_text(x, i, k)})" if i else "")
                     for c, n, x, i in zip(attrition["criterion"], attrition["n_remaining"], attrition["n_excluded"],
                                           items))
    cells = []
    for i, r in attrition.reset_index(drop=True).iterrows():
        row = list(frame.iloc[i])
        row[2] = key_cell(row[2], f"attrition_{int(r['step'])}_remaining", r["n_remaining"])
        cells.append(row)
    note = f" {REASONS_ORDER_NOTE}" if reasons is not None else ""
    add_figure(sec, figure_spec("consort", f"Flow of patients through the cohort definition (CONSORT style).{note}",
                                      f"Flow diagram of the cohort selection. {flow}", size="narrow"))
    add_table(sec, table_spec("attrition", f"Attrition, step by step (source of the flow diagram).{note}", frame,
                                    numeric=("Remaining", "Excluded"), cells=cells))
    values = {"n_export": int(attrition["n_remaining"].iloc[0])}
    if "cohort" in attrition:
        for cohort, g in attrition.groupby("cohort", sort=False):
            values[f"n_{cohort}"] = int(g["n_remaining"].iloc[-1])
    sec["values"] = values
    n_treated, n_stop = values.get("n_treated"), values.get("n_stop_cohort")
    if n_treated is not None and n_stop is not None:
        sec["paragraphs"].append(
            f"Of {suppress_count(values['n_export'], k)} patients in the data, {suppress_count(n_treated, k)} formed "
            f"the treated cohort and {suppress_count(n_stop, k)} stopped ICI without progression (stop cohort).")
    return SectionResult(sec, figures={"consort": consort_figure(attrition, k=k, reasons=reasons)},
                         tables={"attrition": frame})


def table1_display(table: pd.DataFrame) -> pd.DataFrame:
    """Table 1 as shown and written (results/tables/table1.tsv): the statistic joins the characteristic
    ("Sex, n (%)"; "Age at ICI start, years, median [IQR]"); "missing" rows of a continuous
    variable are counts."""
    stat = {}
    for var, st in zip(table["variable"], table["statistic"]):
        stat.setdefault(var, st)
    names = [f"{v}, {stat[v]}" for v in table["variable"]]
    out = pd.DataFrame({"Characteristic": names, "Level": table["level"]})
    for col in table.columns[3:]:
        out[col] = table[col].to_numpy()
    return out


def table1_section(files: dict, show_identifiers: bool = False, k: int = 0) -> SectionResult:
    endpoints = pd.read_parquet(files["endpoints"])
    sec = new_section("table1", "Baseline characteristics (Table 1)")
    stop = endpoints[endpoints["in_stop_cohort"].astype(bool)]
    if stop.empty:
        sec["status"] = "empty"
        sec["reason"] = "The stop cohort is empty."
        return SectionResult(sec, tables={"table1": pd.DataFrame(columns=["variable", "level", "statistic"])})
    table, raw = table1(endpoints, k=k, show_identifiers=show_identifiers)
    groups = list(table.columns[3:])
    display = table1_display(table)
    cells = []
    for (_, row), (_, shown) in zip(table.iterrows(), display.iterrows()):
        out = [shown["Characteristic"], shown["Level"]]
        for g in groups:
            if row["variable"] == "Patients":
                out.append(key_cell(row[g], f"table1_n_{g.replace(' ', '_')}", raw[("Patients", "", g)]))
            else:
                out.append(row[g])
        cells.append(out)
    notes = ["Column percentages; the levels of a variable, including missing, add up to 100%.",
             "Medians with interquartile range (R quantile type 7)."]
    n_sup = suppressed_cells(table, k)
    if k:
        notes.append(f"Small-cell suppression: {n_sup} cell(s) with a count below {k} are shown as <{k}.")
    if not show_identifiers and "site" in endpoints and endpoints["site"].notna().any():
        notes.append("Sites are numbered by decreasing number of patients (names hidden).")
    add_table(sec, table_spec("table1", "Patients who stopped ICI without progression, by stop reason.",
                              display, numeric=tuple(groups), notes=notes, cells=cells, group_rows=True))
    sec["values"] = {"n": {g: raw[("Patients", "", g)] for g in groups}, "total_label": TOTAL}
    return SectionResult(sec, tables={"table1": display})


def swimmer_section(files: dict, enabled: bool = True, k: int = 0, max_patients: int = 500,
                    seed: int = 0) -> SectionResult:
    title = "Patient courses (swimmer plot)"
    if not enabled:
        return not_run("swimmer", title, "Disabled by report.swimmer (individual-level figure).")
    endpoints = pd.read_parquet(files["endpoints"])
    assessments = pd.read_parquet(files["assessments"])
    rows, marks = swimmer_data(endpoints, assessments)
    sec = new_section("swimmer", title)
    if rows.empty:
        sec["status"] = "empty"
        sec["reason"] = "The stop cohort is empty."
        return SectionResult(sec)
    n_all = len(rows)
    rows, marks = sample_rows(rows, marks, max_patients, seed)
    who = (f"{suppress_count(n_all, k)} patients" if len(rows) == n_all else
           f"a random sample of {len(rows)} of the {suppress_count(n_all, k)} patients, seed {seed}; "
           "report.swimmer_max_patients")
    sec["paragraphs"].append(
        f"One row per patient of the stop cohort ({who}, anonymous row numbers), "
        "sorted by time on ICI; "
        "months since the start of the first ICI course.")
    add_figure(sec, figure_spec("swimmer", "Course of each patient who stopped ICI without progression: time on "
                                      "ICI coloured by stop reason, tumour responses, progression, death and re-challenge.",
                                      "Swimmer plot of the stop cohort", size="tall"))
    sec["values"] = {"n": int(n_all), "n_plotted": int(len(rows))}
    return SectionResult(sec, figures={"swimmer": swimmer_figure(rows, marks)})

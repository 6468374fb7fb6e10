"""Analysis cohorts and the attrition (CONSORT) table.

Two cohorts, both defined on the first ICI course (course 1) of each patient:
- ``treated``: patients with a first ICI course started on or before the data cut-off who meet the
  configured criteria (default: MSI-H or dMMR; optional site, age and line restrictions);
- ``stop_cohort`` ("stopped without progression", the Simmons et al. 2023 design): treated patients
  whose course 1 has a stop date on or before the cut-off, a stop reason not in
  ``exclude_stop_reasons`` (default progression, death) and, when ``exclude_pd_before_stop``, no PD
  assessment after ICI start and on or before the stop date.
The contract concerns metastatic colorectal cancer only, so "mCRC" is not re-checked here.
"""

from __future__ import annotations

import pandas as pd

ATTRITION_COLUMNS = ["step", "criterion", "n_remaining", "n_excluded", "cohort"]


def resolve_cutoff(tables: dict[str, pd.DataFrame], data_cutoff: str | None) -> pd.Timestamp:
    """The administrative cut-off: the configured date, else the latest date in the data."""
    if data_cutoff:
        return pd.Timestamp(data_cutoff)
    dates = [tables["patients"]["last_contact_date"].max(), tables["patients"]["death_date"].max()]
    for name, column in (("assessments", "date"), ("treatments", "stop_date"), ("ctdna", "date")):
        if name in tables and len(tables[name]):
            dates.append(tables[name][column].max())
    return pd.Timestamp(max(d for d in dates if pd.notna(d)))


def first_courses(treatments: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Course 1 per patient, with a stop after the cut-off treated as ongoing at the cut-off."""
    first = treatments[(treatments["course"] == 1) & (treatments["start_date"] <= cutoff)].copy()
    after = first["stop_date"] > cutoff
    first.loc[after, "stop_date"] = pd.NaT
    first.loc[after, "stop_reason"] = None
    return first.set_index("patient_id")


def define_cohorts(tables: dict[str, pd.DataFrame], criteria: dict, cutoff: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Flag each patient's cohort membership and record attrition step by step.

    Returns ``cohorts`` (patient_id, in_treated, in_stop_cohort, exclusion: first failed step)
    and ``attrition`` (step, criterion, n_remaining, n_excluded, cohort).
    """
    patients = tables["patients"].set_index("patient_id")
    course1 = first_courses(tables["treatments"], cutoff)
    assessments = tables["assessments"]
    steps: list[tuple[str, pd.Series]] = []  # (criterion, passes) in order

    keep = pd.Series(True, index=patients.index)
    steps.append(("Patients in the export", keep.copy()))
    keep = keep & patients.index.isin(course1.index)
    steps.append(("Started a first ICI course on or before the data cut-off", keep.copy()))
    if criteria.get("require_msi_h_or_dmmr", True):
        keep = keep & ((patients["msi_status"] == "MSI-H") | (patients["mmr_status"] == "dMMR"))
        steps.append(("MSI-H or dMMR", keep.copy()))
    if criteria.get("sites"):
        keep = keep & patients["site"].isin(criteria["sites"])
        steps.append((f"Site in {', '.join(criteria['sites'])}", keep.copy()))
    if criteria.get("min_age") is not None:
        keep = keep & (patients["age_at_ici_start"] >= criteria["min_age"])
        steps.append((f"Age at ICI start >= {criteria['min_age']}", keep.copy()))
    if criteria.get("lines"):
        line = course1["line"].reindex(patients.index)
        keep = keep & line.isin(criteria["lines"])
        steps.append((f"First ICI course in line {', '.join(map(str, criteria['lines']))}", keep.copy()))
    treated = keep.copy()
    n_treated_steps = len(steps)

    stop_rules = criteria.get("stop_cohort", {})
    stop = course1["stop_date"].reindex(patients.index)
    reason = course1["stop_reason"].reindex(patients.index)
    keep = keep & stop.notna()
    steps.append(("Stopped the first ICI course before the data cut-off", keep.copy()))
    excluded_reasons = stop_rules.get("exclude_stop_reasons", ["progression", "death"])
    if excluded_reasons:
        keep = keep & ~reason.isin(excluded_reasons)
        steps.append((f"Stop reason not {' / '.join(excluded_reasons)}", keep.copy()))
    if stop_rules.get("exclude_pd_before_stop", True):
        pd_rows = assessments[assessments["response"] == "PD"].join(
            course1[["start_date", "stop_date"]], on="patient_id", how="inner"
        )
        early = pd_rows[(pd_rows["date"] > pd_rows["start_date"]) & (pd_rows["date"] <= pd_rows["stop_date"])]
        keep = keep & ~patients.index.isin(early["patient_id"].unique())
        steps.append(("No progression (PD) on or before the stop date", keep.copy()))

    rows = []
    previous = None
    exclusion = pd.Series(pd.NA, index=patients.index, dtype=object)
    for number, (criterion, passes) in enumerate(steps, start=1):
        n = int(passes.sum())
        dropped = 0 if previous is None else int((previous & ~passes).sum())
        if previous is not None:
            exclusion[previous & ~passes] = criterion
        cohort = "treated" if number <= n_treated_steps else "stop_cohort"
        rows.append((number, criterion, n, dropped, cohort))
        previous = passes
    attrition = pd.DataFrame(rows, columns=ATTRITION_COLUMNS)
    cohorts = pd.DataFrame(
        {"patient_id": patients.index, "in_treated": treated.values, "in_stop_cohort": keep.values,
         "exclusion": exclusion.values}
    )
    return cohorts, attrition

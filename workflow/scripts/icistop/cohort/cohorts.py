"""Analysis cohorts and the attrition (CONSORT) table.

Two cohorts, both defined on the first ICI course (course 1) of each patient:
- ``treated``: patients with a first ICI course started on or before the data cut-off who meet the
  configured criteria (default: MSI-H or dMMR; optional site, age and line restrictions);
- ``stop_cohort`` ("stopped without progression", the Simmons et al. 2023 design): treated patients
  whose course 1 has a stop date on or before the cut-off, a stop reason not in
  ``exclude_stop_reasons`` (default progression, death) and, when ``exclude_pd_before_stop``, no PD
  assessment after ICI start and on or before the stop date.
The contract concerns metastatic colorectal cancer only, so "mCRC" is not re-checked here.

Reasons for exclusion (the CONSORT side boxes): each step lists its reasons in a fixed order; a patient
excluded by a step is counted once, under the first listed reason that applies (the reasons of one step
are mutually exclusive as defined, so the order only fixes the display). The counts are numbers of
patients and add up to the step's ``n_excluded``; reasons no patient met are kept with count 0.
"""

from __future__ import annotations

import pandas as pd

ATTRITION_COLUMNS = ["step", "criterion", "n_remaining", "n_excluded", "cohort"]
REASON_COLUMNS = ["step", "criterion", "cohort", "order", "reason", "n_excluded"]
STOP_REASON_LABELS = {
    "progression": "stopped for progression",
    "death": "stopped because of death",
    "toxicity": "stopped for toxicity",
    "planned_completion": "stopped at planned completion",
    "elective_response": "stopped electively in response",
    "patient_choice": "stopped by patient choice",
    "surgery": "stopped for surgery",
    "other": "stopped for another reason",
}


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

    Returns ``cohorts`` (patient_id, in_treated, in_stop_cohort, exclusion: first failed step,
    exclusion_reason: the reason within that step) and ``attrition`` (step, criterion, n_remaining,
    n_excluded, cohort). :func:`cohort_flow` also returns the counts per reason.
    """
    cohorts, attrition, _ = cohort_flow(tables, criteria, cutoff)
    return cohorts, attrition


def _mask(values, index) -> pd.Series:
    """A boolean Series on ``index`` (missing counts as False)."""
    return pd.Series(values, index=index).fillna(False).astype(bool)


def cohort_flow(tables: dict[str, pd.DataFrame], criteria: dict,
                cutoff: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """:func:`define_cohorts` plus ``reasons`` (step, criterion, cohort, order, reason, n_excluded): the
    patients excluded at each step counted by reason, one row per reason of the step in its order."""
    patients = tables["patients"].set_index("patient_id")
    index = patients.index
    treatments = tables["treatments"]
    course1 = first_courses(treatments, cutoff)
    assessments = tables["assessments"]
    # (criterion, passes, [(reason, applies), ...]) in order; ``applies`` is evaluated on the excluded only
    steps: list[tuple[str, pd.Series, list[tuple[str, pd.Series]]]] = []

    keep = pd.Series(True, index=index)
    steps.append(("Patients in the export", keep.copy(), []))
    keep = keep & index.isin(course1.index)
    any_course = index.isin(treatments["patient_id"])
    has_course1 = index.isin(treatments.loc[treatments["course"] == 1, "patient_id"])
    steps.append(("Started a first ICI course on or before the data cut-off", keep.copy(), [
        ("no ICI course in the treatments table", _mask(~any_course, index)),
        ("first ICI course started after the data cut-off", _mask(has_course1, index)),
        ("no course numbered 1 in the treatments table", _mask(any_course & ~has_course1, index)),
    ]))
    if criteria.get("require_msi_h_or_dmmr", True):
        msi, mmr = patients["msi_status"], patients["mmr_status"]
        keep = keep & ((msi == "MSI-H") | (mmr == "dMMR"))
        negative = (msi == "MSS") | (mmr == "pMMR")
        steps.append(("MSI-H or dMMR", keep.copy(), [
            ("not MSI-H/dMMR (MSS or pMMR)", _mask(negative, index)),
            ("MSI/MMR status unknown", _mask(~negative, index)),
        ]))
    if criteria.get("sites"):
        site = patients["site"] if "site" in patients else pd.Series(None, index=index, dtype=object)
        keep = keep & site.isin(criteria["sites"])
        steps.append((f"Site in {', '.join(criteria['sites'])}", keep.copy(), [
            ("centre not recorded", _mask(site.isna(), index)),
            ("treated at another centre", _mask(site.notna() & ~site.isin(criteria["sites"]), index)),
        ]))
    if criteria.get("min_age") is not None:
        age = patients["age_at_ici_start"]
        keep = keep & (age >= criteria["min_age"])
        steps.append((f"Age at ICI start >= {criteria['min_age']}", keep.copy(), [
            (f"younger than {criteria['min_age']:g} years at ICI start", _mask(age < criteria["min_age"], index)),
            ("age at ICI start unknown", _mask(age.isna(), index)),
        ]))
    if criteria.get("lines"):
        line = course1["line"].reindex(index)
        keep = keep & line.isin(criteria["lines"])
        steps.append((f"First ICI course in line {', '.join(map(str, criteria['lines']))}", keep.copy(), [
            ("first ICI course in another line of therapy", _mask(line.notna() & ~line.isin(criteria["lines"]), index)),
            ("line of the first ICI course unknown", _mask(line.isna(), index)),
        ]))
    treated = keep.copy()
    n_treated_steps = len(steps)

    stop_rules = criteria.get("stop_cohort", {})
    stop = course1["stop_date"].reindex(index)
    reason = course1["stop_reason"].reindex(index)
    keep = keep & stop.notna()
    steps.append(("Stopped the first ICI course before the data cut-off", keep.copy(), [
        ("still on ICI at the data cut-off", _mask(stop.isna(), index)),
    ]))
    excluded_reasons = stop_rules.get("exclude_stop_reasons", ["progression", "death"])
    if excluded_reasons:
        keep = keep & ~reason.isin(excluded_reasons)
        steps.append((f"Stop reason not {' / '.join(excluded_reasons)}", keep.copy(), [
            (STOP_REASON_LABELS.get(r, f"stopped for {r}"), _mask(reason == r, index)) for r in excluded_reasons
        ]))
    if stop_rules.get("exclude_pd_before_stop", True):
        pd_rows = assessments[assessments["response"] == "PD"].join(
            course1[["start_date", "stop_date"]], on="patient_id", how="inner"
        )
        early = pd_rows[(pd_rows["date"] > pd_rows["start_date"]) & (pd_rows["date"] <= pd_rows["stop_date"])]
        pd_before = index.isin(early["patient_id"].unique())
        keep = keep & ~pd_before
        steps.append(("No progression (PD) on or before the stop date", keep.copy(), [
            ("progression (PD) assessment on or before the stop date", _mask(pd_before, index)),
        ]))

    rows, reason_rows = [], []
    previous = None
    exclusion = pd.Series(pd.NA, index=index, dtype=object)
    exclusion_reason = pd.Series(pd.NA, index=index, dtype=object)
    for number, (criterion, passes, reasons) in enumerate(steps, start=1):
        n = int(passes.sum())
        cohort = "treated" if number <= n_treated_steps else "stop_cohort"
        dropped = 0
        if previous is not None:
            excluded = previous & ~passes
            dropped = int(excluded.sum())
            exclusion[excluded] = criterion
            unassigned = excluded.copy()
            for order, (label, applies) in enumerate(reasons, start=1):
                hit = unassigned & applies
                exclusion_reason[hit] = label
                unassigned &= ~hit
                reason_rows.append((number, criterion, cohort, order, label, int(hit.sum())))
            if unassigned.any():  # the reasons of a step must cover every patient it excludes
                raise RuntimeError(f"cohort step '{criterion}': {int(unassigned.sum())} excluded patient(s) "
                                   "match none of the step's reasons")
        rows.append((number, criterion, n, dropped, cohort))
        previous = passes
    attrition = pd.DataFrame(rows, columns=ATTRITION_COLUMNS)
    reasons_table = pd.DataFrame(reason_rows, columns=REASON_COLUMNS)
    cohorts = pd.DataFrame(
        {"patient_id": index, "in_treated": treated.values, "in_stop_cohort": keep.values,
         "exclusion": exclusion.values, "exclusion_reason": exclusion_reason.values}
    )
    return cohorts, attrition, reasons_table

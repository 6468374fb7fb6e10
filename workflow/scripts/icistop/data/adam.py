"""Import CDISC ADaM datasets (ADSL, ADTTE, ADRS) into data contract v1.

Reads SAS transport (``.xpt``), ``.sas7bdat``, CSV or Parquet (:func:`read_adam_file`) and maps the
records to the contract's patients, treatments and assessments tables (:func:`import_adam`). The full
mapping table, with every rule and the documented differences of the round trip, is
``docs/adam-mapping.md``. In short:

- ADSL, one record per subject: USUBJID -> patient_id; SITEID, SEX, AGE and the sponsor-defined baseline
  variables (names in ``ADSL_VARIABLES``, overridable in config ``adam.variables``) -> patients;
  LSTALVDT / DTHDT -> last contact / death (else from the ADTTE OS record). ICI courses: one per ADaM
  period (TRxxSDT/TRxxEDT, TRTxxA, EOPxxSTT, DCPxxRS, DCPxxRSP, TRxxLINE) when period variables exist,
  otherwise one course from TRTSDT/TRTEDT, TRT01A, EOTSTT, DCTREAS, DCTREASP, LINE. Stop reasons from
  the CDISC NCOMPLT term (``DCTREAS``) through ``DCTREAS_MAP``, a specify text (``DCTREASP``) through
  ``DCTREASP_MAP`` first; an unmapped term is an error (never silently ``other``: a misread
  progression would enter the stop cohort).
- ADRS: PARAMCD OVRLRESP (AVALC CR/PR/SD/PD; NE dropped and counted) -> assessments at ADT; PARAMCD
  BOR -> best_response of the course APERIOD (course 1 without APERIOD). Other PARAMCDs are counted
  and ignored.
- ADTTE: PARAMCD OS gives death (CNSR = 0) and, without LSTALVDT, the last contact; a death in both
  ADSL and ADTTE must agree. PARAMCD PFS: an event (CNSR = 0) that is neither a PD in ADRS on ADT nor
  a death becomes a PD assessment at ADT (counted).

Dates are SAS dates (days since 1960-01-01, as ``.xpt`` stores them), date objects, ISO-8601 text
(``YYYY-MM-DD``) or SAS DATE9 text (``02JAN2020``). Every problem is a :class:`DataError` whose issues
name the file, the 1-based record, the ADaM variable, the value and what was expected.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from icistop.data.issues import DataError, Issue, row_issues
from icistop.data.mapping import MappingLog

SAS_EPOCH = pd.Timestamp("1960-01-01")
FORMATS = (".xpt", ".sas7bdat", ".csv", ".parquet")

# contract column (or role) -> ADSL variable; config adam.variables overrides single entries
ADSL_VARIABLES = {
    "patient_id": "USUBJID", "site": "SITEID", "sex": "SEX", "age_at_ici_start": "AGE",
    "primary_site": "PRIMSITE", "metastasis_timing": "METSYN", "msi_status": "MSISTAT", "mmr_status": "MMRSTAT",
    "lynch_syndrome": "LYNCHFL", "ras_status": "RASSTAT", "braf_v600e": "BRAFSTAT", "tmb": "TMB",
    "met_liver": "METLIVFL", "met_lung": "METLUNFL", "met_lymph_node": "METLNFL", "met_peritoneum": "METPERFL",
    "met_bone": "METBONFL", "ecog": "ECOGBL", "last_contact_date": "LSTALVDT", "death_date": "DTHDT",
    "death_flag": "DTHFL",
    # single course (no period variables)
    "start_date": "TRTSDT", "stop_date": "TRTEDT", "regimen": "TRT01A", "line": "LINE", "status": "EOTSTT",
    "stop_reason": "DCTREAS", "stop_reason_specify": "DCTREASP",
}
# one ICI course per ADaM period; xx = 01, 02, ...
PERIOD_VARIABLES = {
    "start_date": "TRxxSDT", "stop_date": "TRxxEDT", "regimen": "TRTxxA", "line": "TRxxLINE",
    "status": "EOPxxSTT", "stop_reason": "DCPxxRS", "stop_reason_specify": "DCPxxRSP",
}
PARAMCD = {"pfs": "PFS", "os": "OS", "response": "OVRLRESP", "best_response": "BOR"}

YES_NO = {"Y": "yes", "N": "no"}
VALUE_MAPS = {
    "sex": {"F": "female", "M": "male", "U": "unknown", "UNDIFFERENTIATED": "unknown"},
    "primary_site": {"RIGHT COLON": "right_colon", "LEFT COLON": "left_colon", "RECTUM": "rectum"},
    "metastasis_timing": {"SYNCHRONOUS": "synchronous", "METACHRONOUS": "metachronous"},
    "msi_status": {"MSI-H": "MSI-H", "MSS": "MSS", "MSI-L": "MSS"},
    "mmr_status": {"DMMR": "dMMR", "PMMR": "pMMR", "DEFICIENT": "dMMR", "PROFICIENT": "pMMR"},
    "lynch_syndrome": YES_NO,
    "ras_status": {"MUTANT": "mutant", "WILD TYPE": "wildtype", "WILDTYPE": "wildtype", "WILD-TYPE": "wildtype"},
    "braf_v600e": {"MUTANT": "mutant", "WILD TYPE": "wildtype", "WILDTYPE": "wildtype", "WILD-TYPE": "wildtype"},
    **{m: YES_NO for m in ("met_liver", "met_lung", "met_lymph_node", "met_peritoneum", "met_bone")},
}
UNKNOWN_TOKENS = {"", "UNKNOWN", "NOT DONE", "ND", "U"}
# TRTxxA (upper case, spaces around '+' removed) -> contract regimen; config adam.regimen adds to it
REGIMEN_MAP = {
    "ANTI-PD-1": "anti-PD-1", "ANTI-PD-L1": "anti-PD-L1", "ANTI-PD-1+ANTI-CTLA-4": "anti-PD-1+anti-CTLA-4",
    "OTHER": "other",
    **{d: "anti-PD-1" for d in ("PEMBROLIZUMAB", "NIVOLUMAB", "DOSTARLIMAB", "CEMIPLIMAB", "TISLELIZUMAB",
                                "TORIPALIMAB", "SINTILIMAB", "CAMRELIZUMAB", "RETIFANLIMAB")},
    **{d: "anti-PD-L1" for d in ("ATEZOLIZUMAB", "DURVALUMAB", "AVELUMAB")},
    "NIVOLUMAB+IPILIMUMAB": "anti-PD-1+anti-CTLA-4", "PEMBROLIZUMAB+IPILIMUMAB": "anti-PD-1+anti-CTLA-4",
}
# CDISC NCOMPLT term -> stop_reason; config adam.dctreas adds to / overrides it
DCTREAS_MAP = {
    "COMPLETED": "planned_completion", "ADVERSE EVENT": "toxicity", "PROGRESSIVE DISEASE": "progression",
    "DEATH": "death", "WITHDRAWAL BY SUBJECT": "patient_choice", "PHYSICIAN DECISION": "other",
    "LOST TO FOLLOW-UP": "other", "PROTOCOL DEVIATION": "other", "PROTOCOL VIOLATION": "other",
    "STUDY TERMINATED BY SPONSOR": "other", "SITE TERMINATED BY SPONSOR": "other",
    "NON-COMPLIANCE WITH STUDY DRUG": "other", "PREGNANCY": "other", "OTHER": "other",
}
# specify text (DCTREASP / DCPxxRSP) -> stop_reason, applied before DCTREAS; config adam.dctreasp adds to it
DCTREASP_MAP = {"ELECTIVE STOP AFTER RESPONSE": "elective_response", "SURGICAL RESECTION": "surgery"}
STOP_REASONS = {"planned_completion", "elective_response", "toxicity", "patient_choice", "surgery", "progression",
                "death", "other"}
STATUS = {"COMPLETED", "DISCONTINUED", "ONGOING"}
RESPONSES = {"CR": "CR", "PR": "PR", "SD": "SD", "PD": "PD", "NON-CR/NON-PD": "SD"}
NOT_EVALUABLE = {"NE", "NOT EVALUABLE", "UNK", "NA"}

PATIENT_COLUMNS = ["patient_id", "site", "sex", "age_at_ici_start", "primary_site", "metastasis_timing", "msi_status",
                   "mmr_status", "lynch_syndrome", "ras_status", "braf_v600e", "tmb", "met_liver", "met_lung",
                   "met_lymph_node", "met_peritoneum", "met_bone", "ecog", "last_contact_date", "death_date"]
TREATMENT_COLUMNS = ["patient_id", "course", "regimen", "line", "start_date", "stop_date", "stop_reason",
                     "best_response"]
ASSESSMENT_COLUMNS = ["patient_id", "date", "response"]


# ------------------------------------------------------------------------------------------- reading
def read_adam_file(path) -> pd.DataFrame:
    """One ADaM dataset by extension (.xpt, .sas7bdat, .csv, .parquet); variable names upper case.

    SAS files are read without date conversion (dates stay SAS day numbers); CSV cells are read as text
    (empty = missing). A file that cannot be read raises DataError naming it.
    """
    path = Path(path)
    name, ext = path.name, path.suffix.lower()
    if ext not in FORMATS:
        raise DataError([Issue("error", name, None, None, None,
                               f"unsupported file type '{ext}'; expected one of {', '.join(FORMATS)}")])
    if not path.is_file():
        raise DataError([Issue("error", name, None, None, None, f"file not found: {path}")])
    try:
        if ext == ".xpt":
            import pyreadstat
            frame, _ = pyreadstat.read_xport(str(path), disable_datetime_conversion=True)
        elif ext == ".sas7bdat":
            import pyreadstat
            frame, _ = pyreadstat.read_sas7bdat(str(path), disable_datetime_conversion=True)
        elif ext == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        else:
            frame = pd.read_parquet(path)
    except Exception as exc:  # any reader failure is a problem of the file, said in one line
        raise DataError([Issue("error", name, None, None, None,
                               f"cannot be read as {ext[1:]}: {type(exc).__name__}: {exc}")]) from None
    names = [str(c).strip().upper() for c in frame.columns]
    seen: dict[str, list[int]] = {}
    for i, n in enumerate(names, start=1):
        seen.setdefault(n, []).append(i)
    repeated = {n: pos for n, pos in seen.items() if len(pos) > 1}
    if repeated:
        raise DataError([Issue("error", name, 0, n, None,
                               f"variable '{n}' appears {len(pos)} times (columns {', '.join(map(str, pos))})")
                         for n, pos in repeated.items()])
    frame.columns = names
    return frame


# ------------------------------------------------------------------------------------------- cells
def _term(value) -> str:
    """One coded value normalised for matching: upper case, single spaces, no spaces around '+'; missing -> ''."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    text = re.sub(r"\s+", " ", str(value).strip().upper())
    return re.sub(r"\s*\+\s*", "+", text)


def _key(series: pd.Series) -> pd.Series:
    """Coded values normalised for matching (see :func:`_term`)."""
    codes = {v: _term(v) for v in pd.unique(series.astype(object))}
    return series.astype(object).map(codes).fillna("").astype(str)


_text = _key


def _norm_map(mapping: dict) -> dict:
    return {_term(k): v for k, v in mapping.items()}


def _is_blank(series: pd.Series) -> pd.Series:
    return _text(series) == ""


DATE9 = re.compile(r"^\d{2}[A-Z]{3}\d{4}$")
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SAS_DAY_RANGE = (-21915, 51134)  # 1900-01-01 .. 2099-12-31 as SAS day numbers


def parse_dates(series: pd.Series, table: str, column: str, rows: pd.Series) -> tuple[pd.Series, list[Issue]]:
    """Dates from SAS day numbers, date/datetime objects, ISO ``YYYY-MM-DD`` or DATE9 ``02JAN2020`` text."""
    out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    bad = pd.Series(False, index=series.index)
    if pd.api.types.is_datetime64_any_dtype(series):
        return pd.to_datetime(series).dt.tz_localize(None).dt.normalize().astype("datetime64[ns]"), []
    numeric = pd.to_numeric(series, errors="coerce") if series.dtype != object else pd.Series(np.nan, index=series.index)
    for idx, value in series.items():
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        if isinstance(value, (pd.Timestamp, np.datetime64)) or hasattr(value, "year"):
            out[idx] = pd.Timestamp(value).normalize()
            continue
        number = numeric[idx] if series.dtype != object else None
        text = str(value).strip().upper()
        if number is None and re.fullmatch(r"-?\d+(\.0+)?", text):
            number = float(text)
        if text == "":
            continue
        if number is not None and not np.isnan(number):
            if number == round(number) and SAS_DAY_RANGE[0] <= number <= SAS_DAY_RANGE[1]:
                out[idx] = SAS_EPOCH + pd.Timedelta(days=int(number))
            else:
                bad[idx] = True
        elif ISO.match(text):
            out[idx] = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
            bad[idx] = pd.isna(out[idx])
        elif DATE9.match(text):
            out[idx] = pd.to_datetime(text, format="%d%b%Y", errors="coerce")
            bad[idx] = pd.isna(out[idx])
        else:
            bad[idx] = True
    issues = row_issues("error", table, column, rows[bad], series[bad],
                        "'{value}' is not a date; expected a SAS date (days since 1960-01-01, whole number), "
                        "YYYY-MM-DD or DDMONYYYY")
    return out, issues


def _required(frame: pd.DataFrame, table: str, variables: list[str], why: str = "") -> list[Issue]:
    missing = [v for v in variables if v not in frame.columns]
    return [Issue("error", table, None, v, None,
                  f"required variable {v} is missing{why}; variables found: {', '.join(frame.columns)}")
            for v in missing]


def _raise(issues: list[Issue]) -> None:
    if any(i.severity == "error" for i in issues):
        raise DataError(issues, footer="See docs/adam-mapping.md for the expected ADaM variables and values.")


def _map_values(raw: pd.Series, mapping: dict, table: str, column: str, rows: pd.Series, unknown_ok: bool = True,
                hint: str = "") -> tuple[pd.Series, list[Issue]]:
    """Coded values -> contract values; blank (and UNKNOWN-like) -> 'unknown'; anything else an error."""
    key = _key(raw)
    mapped = key.map(mapping)
    blank = key.isin(UNKNOWN_TOKENS) if unknown_ok else key == ""
    bad = mapped.isna() & ~blank
    expected = ", ".join(sorted(set(mapping)))
    issues = row_issues("error", table, column, rows[bad], raw[bad],
                        f"unknown value '{{value}}'; expected one of {expected}{' or blank' if unknown_ok else ''}{hint}")
    return mapped.where(~blank, "unknown"), issues


# ------------------------------------------------------------------------------------------- ADSL
def _site_text(value):
    """SITEID as text: a numeric id without decimals (701.0 -> '701'); missing stays None."""
    if value is None:
        return None
    return str(int(value)) if isinstance(value, float) and value == int(value) else str(value).strip()


def _periods(adsl: pd.DataFrame, start_template: str) -> list[str]:
    """Period numbers ('01', '02', ...) that have a start variable (TRxxSDT), in order."""
    pattern = re.escape(start_template.upper()).replace("XX", r"(\d\d)")
    return sorted({m.group(1) for c in adsl.columns if (m := re.fullmatch(pattern, c))})


def _course_frame(adsl: pd.DataFrame, names: dict, course: int, table: str, rows: pd.Series,
                  settings: dict, log: MappingLog, label: str) -> tuple[pd.DataFrame, list[Issue]]:
    """One course per subject with a start date, from the variables in ``names`` (role -> variable)."""
    issues = _required(adsl, table, [names["start_date"], names["regimen"]])
    if issues:
        return pd.DataFrame(), issues
    start, more = parse_dates(adsl[names["start_date"]], table, names["start_date"], rows)
    issues += more
    given = start.notna()
    blank_col = pd.Series("", index=adsl.index)
    stop_raw = adsl[names["stop_date"]] if names["stop_date"] in adsl else pd.Series(np.nan, index=adsl.index)
    stop, more = parse_dates(stop_raw, table, names["stop_date"], rows)
    issues += more
    status = _key(adsl[names["status"]]) if names["status"] in adsl else blank_col
    bad = given & (status != "") & ~status.isin(STATUS)
    issues += row_issues("error", table, names["status"], rows[bad], status[bad],
                         f"unknown value '{{value}}'; expected one of {', '.join(sorted(STATUS))}")
    ongoing = given & ((status == "ONGOING") | ((status == "") & stop.isna()))
    n_dropped_stop = int((ongoing & stop.notna()).sum())
    stop = stop.where(~ongoing)
    reason_var, spec_var = names["stop_reason"], names["stop_reason_specify"]
    reason = _key(adsl[reason_var]) if reason_var in adsl else blank_col
    specify = _key(adsl[spec_var]) if spec_var in adsl else blank_col
    dmap = _norm_map({**DCTREAS_MAP, **(settings.get("dctreas") or {})})
    smap = _norm_map({**DCTREASP_MAP, **(settings.get("dctreasp") or {})})
    by_spec = specify.map(smap)
    by_term = reason.map(dmap)
    completed = (status == "COMPLETED") & (reason == "")
    stop_reason = by_spec.where(by_spec.notna(), by_term).where(~completed, "planned_completion")
    stopped = given & ~ongoing
    unmapped = stopped & stop_reason.isna() & (reason != "")
    issues += row_issues("error", table, reason_var, rows[unmapped], reason[unmapped],
                         f"stop reason '{{value}}' is not mapped; known terms: {', '.join(sorted(dmap))}; "
                         "map it in config adam.dctreas (or its specify text in adam.dctreasp)")
    no_reason = stopped & stop_reason.isna() & (reason == "")
    issues += row_issues("error", table, reason_var, rows[no_reason], reason[no_reason],
                         f"treatment ended on {names['stop_date']} but {reason_var} is blank and "
                         f"{names['status']} is not COMPLETED; give the reason (or {names['status']} ONGOING)")
    orphan = given & ongoing & (status == "") & (reason != "")
    issues += row_issues("error", table, reason_var, rows[orphan], reason[orphan],
                         f"stop reason '{{value}}' without {names['stop_date']}; give the date of the last dose "
                         f"(or {names['status']} ONGOING and no reason)")
    no_stop = stopped & stop.isna()
    issues += row_issues("error", table, names["stop_date"], rows[no_stop], status[no_stop],
                         f"{names['status']} is '{{value}}' but {names['stop_date']} is empty; give the date of the last dose")
    rmap = _norm_map({**REGIMEN_MAP, **(settings.get("regimen") or {})})
    regimen_raw = adsl[names["regimen"]]
    regimen = _key(regimen_raw).map(rmap)
    bad = given & regimen.isna()
    issues += row_issues("error", table, names["regimen"], rows[bad], regimen_raw[bad],
                         "treatment '{value}' is not mapped to a regimen; map it in config adam.regimen to one of "
                         "anti-PD-1, anti-PD-L1, anti-PD-1+anti-CTLA-4, other")
    line = pd.Series(np.nan, index=adsl.index)
    if names["line"] in adsl:
        line = pd.to_numeric(adsl[names["line"]].where(~_is_blank(adsl[names["line"]])), errors="coerce")
        bad = given & line.isna() & ~_is_blank(adsl[names["line"]])
        issues += row_issues("error", table, names["line"], rows[bad], adsl.loc[bad, names["line"]],
                             "'{value}' is not a line of therapy (whole number >= 1)")
    courses = pd.DataFrame({
        "patient_id": adsl["_patient_id"],
        "course": course, "regimen": regimen, "line": line, "start_date": start, "stop_date": stop,
        "stop_reason": stop_reason.where(stopped), "_row": rows,
    })[given]
    n_spec = int((stopped & by_spec.notna()).sum())
    log.add(table, f"{label}: {names['start_date']}/{names['stop_date']} -> course {course}", len(adsl), int(given.sum()),
            f"subjects without {names['start_date']} have no course {course}; {int(ongoing.sum())} ongoing "
            f"({names['status']} ONGOING or no {names['stop_date']}), {n_dropped_stop} {names['stop_date']} of ongoing "
            f"treatment not used; {n_spec} stop reason(s) from {spec_var}")
    return courses, issues


def _adsl(adsl: pd.DataFrame, table: str, settings: dict, log: MappingLog) -> tuple[pd.DataFrame, pd.DataFrame, list[Issue]]:
    var = {k: str(v).upper() for k, v in {**ADSL_VARIABLES, **(settings.get("variables") or {})}.items()}
    templates = {**PERIOD_VARIABLES, **(settings.get("period_variables") or {})}
    issues = _required(adsl, table, [var["patient_id"], var["sex"]])
    _raise(issues)
    rows = pd.Series(np.arange(1, len(adsl) + 1), index=adsl.index)
    adsl = adsl.copy()
    pid = adsl[var["patient_id"]].astype(object).where(adsl[var["patient_id"]].notna(), "").astype(str).str.strip()
    adsl["_patient_id"] = pid
    issues += row_issues("error", table, var["patient_id"], rows[pid == ""], pid[pid == ""], "USUBJID is blank")
    dup = pid.duplicated(keep="first") & (pid != "")
    first = rows[~pid.duplicated(keep="first")].set_axis(pid[~pid.duplicated(keep="first")].values)
    for idx in pid[dup].index[:100]:
        issues.append(Issue("error", table, int(rows[idx]), var["patient_id"], pid[idx],
                            f"duplicate subject '{pid[idx]}' (first at record {int(first[pid[idx]])}); ADSL has one "
                            "record per subject"))
    patients = pd.DataFrame({"patient_id": pid})
    site = var["site"]
    patients["site"] = adsl[site].astype(object).where(~_is_blank(adsl[site]), None).map(_site_text) if site in adsl else None
    absent = []
    for column in ("sex", "primary_site", "metastasis_timing", "msi_status", "mmr_status", "lynch_syndrome",
                   "ras_status", "braf_v600e", "met_liver", "met_lung", "met_lymph_node", "met_peritoneum", "met_bone"):
        name = var[column]
        if name not in adsl:
            patients[column] = "unknown"
            absent.append(name)
            continue
        values, more = _map_values(adsl[name], _norm_map(VALUE_MAPS[column]), table, name, rows)
        patients[column] = values
        issues += more
    for column, low, high, whole in (("age_at_ici_start", 0, 120, False), ("tmb", 0, None, False), ("ecog", 0, 4, True)):
        name = var[column]
        if name not in adsl:
            patients[column] = np.nan
            absent.append(name)
            continue
        raw = adsl[name]
        values = pd.to_numeric(raw.where(~_is_blank(raw)), errors="coerce")
        bad = values.isna() & ~_is_blank(raw)
        bad |= values.notna() & ((values < low) | ((values > high) if high is not None else False))
        if whole:
            bad |= values.notna() & (values != values.round())
        rng = f"{low}-{high}" if high is not None else f">= {low}"
        issues += row_issues("error", table, name, rows[bad], raw[bad],
                             f"'{{value}}' is not valid; expected {'a whole number' if whole else 'a number'} {rng} or blank")
        patients[column] = values
    patients["ecog"] = patients["ecog"].astype("Float64").round().astype("Int64")
    for column in ("last_contact_date", "death_date"):
        name = var[column]
        if name in adsl:
            patients[column], more = parse_dates(adsl[name], table, name, rows)
            issues += more
        else:
            patients[column] = pd.NaT
    patients["_row"] = rows
    patients.attrs["has"] = {c: var[c] in adsl for c in ("last_contact_date", "death_date")}
    flag = var["death_flag"]
    if flag in adsl and var["death_date"] in adsl:
        dthfl = _key(adsl[flag]) == "Y"
        bad = dthfl & patients["death_date"].isna()
        issues += row_issues("error", table, var["death_date"], rows[bad], adsl.loc[bad, flag],
                             f"{flag} is Y but {var['death_date']} is empty; give the date of death")
    log.add(table, "ADSL -> patients (one per USUBJID)", len(adsl), len(adsl),
            "baseline variables absent, all unknown/empty: " + (", ".join(absent) if absent else "none"))

    periods = _periods(adsl, templates["start_date"].replace("xx", "XX"))
    if periods:
        frames = []
        for number, xx in enumerate(periods, start=1):
            if int(xx) != number:
                issues.append(Issue("error", table, None, templates["start_date"].replace("xx", xx).upper(), None,
                                    f"period variables skip from {number - 1:02d} to {xx}; periods are numbered 01, 02, ..."))
                break
            names = {k: v.replace("xx", xx).upper() for k, v in templates.items()}
            if number == 1 and names["line"] not in adsl and var["line"] in adsl:
                names["line"] = var["line"]
            frame, more = _course_frame(adsl, names, number, table, rows, settings, log, f"period {xx}")
            issues += more
            frames.append(frame)
        treatments = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if var["start_date"] in adsl and not treatments.empty:
            overall, _ = parse_dates(adsl[var["start_date"]], table, var["start_date"], rows)
            first = patients.assign(_s=overall)[["patient_id", "_s", "_row"]].merge(
                treatments[treatments["course"] == 1][["patient_id", "start_date"]], on="patient_id", how="left")
            bad = first["_s"].notna() & (first["_s"] != first["start_date"])
            issues += row_issues("error", table, var["start_date"], first.loc[bad, "_row"],
                                 first.loc[bad, "_s"].dt.strftime("%Y-%m-%d"),
                                 f"{var['start_date']} '{{value}}' differs from TR01SDT (the first period's start)")
        if not treatments.empty:
            later = treatments[treatments["course"] > 1]
            gap = ~later.set_index(["patient_id", "course"]).index.map(
                lambda k: (k[0], k[1] - 1)).isin(treatments.set_index(["patient_id", "course"]).index)
            issues += row_issues("error", table, "TRxxSDT", later.loc[gap, "_row"], later.loc[gap, "patient_id"],
                                 "subject '{value}' has a later period without the one before it")
    else:
        names = {k: var[k] for k in PERIOD_VARIABLES}
        treatments, more = _course_frame(adsl, names, 1, table, rows, settings, log, "single course")
        issues += more
    return patients, treatments, issues


# ------------------------------------------------------------------------------------------- ADRS / ADTTE
def _records(frame: pd.DataFrame, table: str, known: set, variables: list[str]) -> tuple[pd.DataFrame, list[Issue]]:
    """Record numbers, stripped USUBJID and PARAMCD; subjects not in ADSL are errors."""
    issues = _required(frame, table, variables)
    if issues:
        return frame, issues
    frame = frame.copy()
    frame["_row"] = np.arange(1, len(frame) + 1)
    frame["_patient_id"] = frame["USUBJID"].astype(object).where(frame["USUBJID"].notna(), "").astype(str).str.strip()
    frame["_paramcd"] = _key(frame["PARAMCD"])
    bad = ~frame["_patient_id"].isin(known)
    issues += row_issues("error", table, "USUBJID", frame.loc[bad, "_row"], frame.loc[bad, "_patient_id"],
                         "subject '{value}' is not in ADSL")
    return frame, issues


def _adrs(adrs: pd.DataFrame, table: str, known: set, treatments: pd.DataFrame, paramcd: dict,
          log: MappingLog) -> tuple[pd.DataFrame, pd.DataFrame, list[Issue]]:
    """Assessments (OVRLRESP) and best response per course (BOR)."""
    adrs, issues = _records(adrs, table, known, ["USUBJID", "PARAMCD", "AVALC", "ADT"])
    if issues and "_row" not in adrs:
        return pd.DataFrame(columns=ASSESSMENT_COLUMNS), pd.DataFrame(), issues
    rows = adrs["_row"]
    value = _key(adrs["AVALC"])
    resp = adrs["_paramcd"] == paramcd["response"]
    date, more = parse_dates(adrs["ADT"].where(resp), table, "ADT", rows)
    issues += more
    missing = resp & date.isna() & _is_blank(adrs["ADT"])
    issues += row_issues("error", table, "ADT", rows[missing], adrs.loc[missing, "AVALC"],
                         "response '{value}' has no date (ADT)")
    ne = resp & value.isin(NOT_EVALUABLE)
    bad = resp & ~ne & ~value.isin(RESPONSES)
    issues += row_issues("error", table, "AVALC", rows[bad], adrs.loc[bad, "AVALC"],
                         f"unknown response '{{value}}' for PARAMCD {paramcd['response']}; expected CR, PR, SD, PD, "
                         "NON-CR/NON-PD (as SD) or NE (dropped)")
    use = resp & ~ne & ~bad
    assessments = pd.DataFrame({"patient_id": adrs.loc[use, "_patient_id"], "date": date[use],
                                "response": value[use].map(RESPONSES), "_row": rows[use]})
    log.add(table, f"PARAMCD {paramcd['response']} -> assessments", int(resp.sum()), int(use.sum()),
            f"{int(ne.sum())} not evaluable (AVALC NE) dropped")
    bor = adrs["_paramcd"] == paramcd["best_response"]
    bad = bor & ~value.isin(set(RESPONSES) | {"NE"})
    issues += row_issues("error", table, "AVALC", rows[bad], adrs.loc[bad, "AVALC"],
                         f"unknown best response '{{value}}' for PARAMCD {paramcd['best_response']}; expected CR, PR, SD, "
                         "PD, NON-CR/NON-PD (as SD) or NE")
    period = (pd.to_numeric(adrs["APERIOD"], errors="coerce") if "APERIOD" in adrs
              else pd.Series(np.nan, index=adrs.index)).fillna(1)
    best = pd.DataFrame({"patient_id": adrs.loc[bor, "_patient_id"], "course": period[bor].astype(int),
                         "best_response": value[bor].map({**RESPONSES, "NE": "NE"}), "_row": rows[bor]})
    dup = best.duplicated(["patient_id", "course"])
    issues += row_issues("error", table, "PARAMCD", best.loc[dup, "_row"], best.loc[dup, "patient_id"],
                         f"subject '{{value}}' has more than one {paramcd['best_response']} record for the same APERIOD")
    keys = set(zip(treatments["patient_id"], treatments["course"])) if not treatments.empty else set()
    orphan = ~pd.Series([k in keys for k in zip(best["patient_id"], best["course"])], index=best.index, dtype=bool)
    issues += row_issues("error", table, "APERIOD", best.loc[orphan, "_row"], best.loc[orphan, "course"],
                         "best response for period {value}, but ADSL has no treatment in that period")
    other = ~(resp | bor)
    log.add(table, f"PARAMCD {paramcd['best_response']} -> treatments.best_response (course = APERIOD, else 1)",
            int(bor.sum()), int(bor.sum()), "")
    log.add(table, "PARAMCD filter: other parameters ignored", int(len(adrs)), int(len(adrs) - other.sum()),
            ", ".join(f"{k} ({v})" for k, v in adrs.loc[other, "_paramcd"].value_counts().items()) or "none")
    return assessments, best, issues


def _adtte(adtte: pd.DataFrame, table: str, known: set, patients: pd.DataFrame, assessments: pd.DataFrame,
           paramcd: dict, log: MappingLog, adsl_table: str) -> tuple[pd.DataFrame, pd.DataFrame, list[Issue]]:
    """Death and last contact from OS; PD assessments for PFS progression events missing from ADRS."""
    adtte, issues = _records(adtte, table, known, ["USUBJID", "PARAMCD", "CNSR", "ADT"])
    if issues and "_row" not in adtte:
        return patients, assessments, issues
    rows = adtte["_row"]
    use = adtte["_paramcd"].isin([paramcd["os"], paramcd["pfs"]])
    adt, more = parse_dates(adtte["ADT"].where(use), table, "ADT", rows)
    issues += more
    cnsr = pd.to_numeric(adtte["CNSR"], errors="coerce")
    bad = use & (cnsr.isna() | (cnsr < 0) | (cnsr != cnsr.round()))
    issues += row_issues("error", table, "CNSR", rows[bad], adtte.loc[bad, "CNSR"],
                         "'{value}' is not a censoring indicator; expected 0 (event) or a positive whole number (censored)")
    nodate = use & adt.isna() & _is_blank(adtte["ADT"])
    issues += row_issues("error", table, "ADT", rows[nodate], adtte.loc[nodate, "PARAMCD"], "{value} record has no ADT")
    patients = patients.copy()
    adtte = adtte.assign(_adt=adt, _cnsr=cnsr)  # before filtering: assigning to an empty frame would adopt the index
    os_ = adtte[adtte["_paramcd"] == paramcd["os"]]
    dup = os_["_patient_id"].duplicated()
    issues += row_issues("error", table, "USUBJID", os_.loc[dup, "_row"], os_.loc[dup, "_patient_id"],
                         f"subject '{{value}}' has more than one {paramcd['os']} record")
    os_ = os_[~dup].set_index("_patient_id")
    p = patients.set_index("patient_id")
    has = patients.attrs.get("has", {})
    death_os = os_["_adt"].where(os_["_cnsr"] == 0).reindex(p.index)
    n_death_filled = n_contact_filled = 0
    if has.get("death_date"):
        clash = death_os.notna() & (p["death_date"] != death_os)
        for pid in clash[clash].index[:100]:
            r = os_.loc[pid]
            dthdt = p.at[pid, "death_date"]
            issues.append(Issue("error", table, int(r["_row"]), "ADT", r["_adt"].strftime("%Y-%m-%d"),
                                f"OS death of '{pid}' on {r['_adt']:%Y-%m-%d} but ADSL DTHDT is "
                                f"{'empty' if pd.isna(dthdt) else f'{dthdt:%Y-%m-%d}'}"))
        censored_dead = os_["_cnsr"].gt(0).reindex(p.index, fill_value=False) & p["death_date"].notna()
        for pid in censored_dead[censored_dead].index[:100]:
            issues.append(Issue("error", table, int(os_.at[pid, "_row"]), "CNSR", str(os_.at[pid, "CNSR"]),
                                f"OS of '{pid}' is censored but ADSL DTHDT is {p.at[pid, 'death_date']:%Y-%m-%d}"))
    else:
        n_death_filled = int(death_os.notna().sum())
        p["death_date"] = death_os
    if not has.get("last_contact_date"):
        contact = os_["_adt"].reindex(p.index)
        n_contact_filled = int(contact.notna().sum())
        p["last_contact_date"] = contact
        lost = p["last_contact_date"].isna()
        ids = pd.Series(p.index[lost], index=p.index[lost])
        issues += row_issues("error", adsl_table, ADSL_VARIABLES["last_contact_date"], p.loc[lost, "_row"], ids,
                             f"no last contact date for '{{value}}': ADSL has no LSTALVDT and ADTTE no {paramcd['os']} record")
    n_differ = int((os_["_cnsr"].gt(0) & (os_["_adt"] != p["last_contact_date"].reindex(os_.index))).sum())
    log.add(table, f"PARAMCD {paramcd['os']} -> death / last contact", len(os_), len(os_),
            f"death dates taken from ADTTE: {n_death_filled}; last contact from ADTTE: {n_contact_filled}; "
            f"censored OS dates that differ from LSTALVDT (LSTALVDT used): {n_differ if has.get('last_contact_date') else 0}")
    pfs = adtte[adtte["_paramcd"] == paramcd["pfs"]]
    events = pfs[pfs["_cnsr"] == 0]
    pd_days = set(zip(assessments.loc[assessments["response"] == "PD", "patient_id"],
                      assessments.loc[assessments["response"] == "PD", "date"]))
    desc = _key(events["EVNTDESC"]) if "EVNTDESC" in events else pd.Series("", index=events.index)
    death_at = events["_patient_id"].map(p["death_date"])
    is_death = desc.str.contains("DEATH") | (desc.eq("") & (events["_adt"] == death_at))
    in_adrs = pd.Series([k in pd_days for k in zip(events["_patient_id"], events["_adt"])], index=events.index, dtype=bool)
    add = events[~in_adrs & ~is_death & events["_adt"].notna()]
    added = pd.DataFrame({"patient_id": add["_patient_id"], "date": add["_adt"], "response": "PD", "_row": 0})
    log.add(table, f"PARAMCD {paramcd['pfs']} progression not in ADRS -> PD assessment at ADT", len(pfs), len(add),
            f"{len(pfs) - len(events)} censored, {int(in_adrs.sum())} events with a PD in ADRS on ADT, "
            f"{int((~in_adrs & is_death).sum())} deaths")
    ignored = ~use
    log.add(table, "PARAMCD filter: other parameters ignored", len(adtte), int(use.sum()),
            ", ".join(f"{k} ({v})" for k, v in adtte.loc[ignored, "_paramcd"].value_counts().items()) or "none")
    if not added.empty:
        assessments = added if assessments.empty else pd.concat([assessments, added], ignore_index=True)
    return p.reset_index(), assessments, issues


# ------------------------------------------------------------------------------------------- main
def import_adam(adsl: pd.DataFrame, adtte: pd.DataFrame | None = None, adrs: pd.DataFrame | None = None, *,
                settings: dict | None = None, sources: dict | None = None) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Contract tables (patients, treatments, assessments; dates as datetime64) and the mapping report.

    ``settings`` is config ``adam`` (variables, period_variables, paramcd, dctreas, dctreasp, regimen);
    ``sources`` names the file of each dataset in messages (default ADSL / ADTTE / ADRS).
    Raises DataError listing every problem found.
    """
    settings = settings or {}
    names = {"adsl": "ADSL", "adtte": "ADTTE", "adrs": "ADRS", **(sources or {})}
    paramcd = {**PARAMCD, **(settings.get("paramcd") or {})}
    paramcd = {k: _term(v) for k, v in paramcd.items()}
    log = MappingLog()
    adsl = adsl.rename(columns=lambda c: str(c).strip().upper())
    patients, treatments, issues = _adsl(adsl, names["adsl"], settings, log)
    if patients["patient_id"].duplicated().any() or (patients["patient_id"] == "").any():
        _raise(issues)  # subjects must be identifiable before the other datasets are joined to them
    known = set(patients["patient_id"])
    if treatments.empty:
        treatments = pd.DataFrame(columns=TREATMENT_COLUMNS[:-1] + ["_row"])
    if adrs is not None:
        assessments, best, more = _adrs(adrs.rename(columns=lambda c: str(c).strip().upper()), names["adrs"], known,
                                        treatments, paramcd, log)
        issues += more
    else:
        assessments, best = pd.DataFrame(columns=ASSESSMENT_COLUMNS + ["_row"]), pd.DataFrame()
        log.add(names["adrs"], "no ADRS: assessments table has a header only", 0, 0, "")
    if adtte is not None:
        patients, assessments, more = _adtte(adtte.rename(columns=lambda c: str(c).strip().upper()), names["adtte"],
                                             known, patients, assessments, paramcd, log, names["adsl"])
        issues += more
    else:
        missing = patients["last_contact_date"].isna()
        issues += row_issues("error", names["adsl"], ADSL_VARIABLES["last_contact_date"], patients.loc[missing, "_row"],
                             patients.loc[missing, "patient_id"],
                             "no last contact date for '{value}' (LSTALVDT empty and no ADTTE given)")
    _raise(issues)

    if not best.empty:
        treatments = treatments.merge(best[["patient_id", "course", "best_response"]], on=["patient_id", "course"], how="left")
    else:
        treatments["best_response"] = None
    order = {pid: i for i, pid in enumerate(patients["patient_id"])}
    treatments = treatments.assign(_o=treatments["patient_id"].map(order)).sort_values(["_o", "course"], kind="stable")
    treatments["line"] = pd.to_numeric(treatments["line"]).round().astype("Int64")
    treatments["course"] = treatments["course"].astype(int)
    assessments = (assessments.assign(_o=assessments["patient_id"].map(order)).reset_index(drop=True)
                   .rename_axis("_i").sort_values(["_o", "date", "_i"], kind="stable"))
    tables = {
        "patients": patients[PATIENT_COLUMNS].reset_index(drop=True),
        "treatments": treatments[TREATMENT_COLUMNS].reset_index(drop=True),
        "assessments": assessments[ASSESSMENT_COLUMNS].reset_index(drop=True),
    }
    return tables, log.to_frame()


def write_contract(tables: dict[str, pd.DataFrame], paths: dict[str, str | Path]) -> None:
    """Write contract tables as CSV (ISO dates, empty cells for missing values)."""
    for name, path in paths.items():
        tables[name].to_csv(path, index=False, date_format="%Y-%m-%d", na_rep="", lineterminator="\n")

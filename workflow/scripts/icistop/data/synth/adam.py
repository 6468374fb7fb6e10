"""Write contract tables as CDISC ADaM-shaped ADSL, ADTTE and ADRS (SAS transport v5 ``.xpt`` or CSV).

The inverse of :mod:`icistop.data.adam` (see ``docs/adam-mapping.md``): one ADSL record per patient with
the baseline variables, overall treatment variables (TRTSDT = first course start, TRTEDT / EOTSTT /
DCTREAS / DCTREASP of the last course) and one ADaM period per ICI course (TRxxSDT, TRxxEDT, TRTxxA,
TRxxLINE, EOPxxSTT, DCPxxRS, DCPxxRSP); ADRS with PARAMCD OVRLRESP per assessment and BOR per course
(APERIOD = course); ADTTE with PFS and OS from the first ICI start (AVAL in days, ADT - STARTDT + 1).
ctDNA has no ADaM home here and is not written. Dates in ``.xpt`` are SAS dates (days since
1960-01-01, format DATE9.), in CSV ISO-8601 text.

CLI (regenerates ``resources/adam_example`` from ``resources/example``)::

    PYTHONPATH=workflow/scripts python -m icistop.data.synth adam --contract resources/example \\
        --out resources/adam_example
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd

SAS_EPOCH = pd.Timestamp("1960-01-01")
STUDYID = "ICISTOP-SYN"
XPT_STAMP = b"30SEP24:00:00:00"  # the example's data cut-off, so that the same tables give the same bytes

# contract values -> ADaM codes (the reader's maps invert these)
SEX = {"female": "F", "male": "M", "unknown": "U"}
PRIMSITE = {"right_colon": "RIGHT COLON", "left_colon": "LEFT COLON", "rectum": "RECTUM"}
METSYN = {"synchronous": "SYNCHRONOUS", "metachronous": "METACHRONOUS"}
MUTATION = {"mutant": "MUTANT", "wildtype": "WILD TYPE"}
FLAG = {"yes": "Y", "no": "N"}
# stop_reason -> (EOTSTT, DCTREAS, DCTREASP)
STOP = {
    "planned_completion": ("COMPLETED", "", ""),
    "elective_response": ("DISCONTINUED", "PHYSICIAN DECISION", "ELECTIVE STOP AFTER RESPONSE"),
    "toxicity": ("DISCONTINUED", "ADVERSE EVENT", ""),
    "patient_choice": ("DISCONTINUED", "WITHDRAWAL BY SUBJECT", ""),
    "surgery": ("DISCONTINUED", "OTHER", "SURGICAL RESECTION"),
    "progression": ("DISCONTINUED", "PROGRESSIVE DISEASE", ""),
    "death": ("DISCONTINUED", "DEATH", ""),
    "other": ("DISCONTINUED", "OTHER", ""),
}

LABELS = {
    "STUDYID": "Study Identifier", "USUBJID": "Unique Subject Identifier", "SUBJID": "Subject Identifier for the Study",
    "SITEID": "Study Site Identifier", "AGE": "Age", "AGEU": "Age Units", "SEX": "Sex",
    "TRT01A": "Actual Treatment for Period 01", "TRTSDT": "Date of First Exposure to Treatment",
    "TRTEDT": "Date of Last Exposure to Treatment", "EOTSTT": "End of Treatment Status",
    "DCTREAS": "Reason for Discontinuation of Treatment", "DCTREASP": "Reason Spec for Discont of Treatment",
    "LINE": "Line of Therapy (Period 01)", "DTHFL": "Subject Death Flag", "DTHDT": "Date of Death",
    "LSTALVDT": "Date Last Known Alive", "PRIMSITE": "Primary Tumor Location",
    "METSYN": "Timing of Metastases", "MSISTAT": "Microsatellite Instability Status",
    "MMRSTAT": "Mismatch Repair Status", "LYNCHFL": "Lynch Syndrome Flag", "RASSTAT": "KRAS/NRAS Mutation Status",
    "BRAFSTAT": "BRAF V600E Mutation Status", "TMB": "Tumor Mutational Burden (mut/Mb)",
    "METLIVFL": "Liver Metastases Flag", "METLUNFL": "Lung Metastases Flag", "METLNFL": "Lymph Node Metastases Flag",
    "METPERFL": "Peritoneal Metastases Flag", "METBONFL": "Bone Metastases Flag", "ECOGBL": "Baseline ECOG",
    "PARAMCD": "Parameter Code", "PARAM": "Parameter", "AVALC": "Analysis Value (C)", "AVAL": "Analysis Value",
    "ADT": "Analysis Date", "APERIOD": "Period", "STARTDT": "Time-to-Event Origin Date for Subject",
    "CNSR": "Censor", "EVNTDESC": "Event or Censoring Description", "ASEQ": "Analysis Sequence Number",
}
PERIOD_LABELS = [
    (r"TR(\d\d)SDT", "Date of First Exposure in Period {}"), (r"TR(\d\d)EDT", "Date of Last Exposure in Period {}"),
    (r"TRT(\d\d)A", "Actual Treatment for Period {}"), (r"TR(\d\d)LINE", "Line of Therapy in Period {}"),
    (r"EOP(\d\d)STT", "End of Period {} Status"), (r"DCP(\d\d)RS", "Reason for Discont from Period {}"),
    (r"DCP(\d\d)RSP", "Reason Spec for Discont from Period {}"),
]
DATASET_LABELS = {"ADSL": "Subject-Level Analysis Dataset", "ADTTE": "Time-to-Event Analysis Dataset",
                  "ADRS": "Response Analysis Dataset"}


def _code(series: pd.Series, mapping: dict) -> pd.Series:
    """Contract category -> ADaM code; 'unknown' and missing -> blank."""
    return series.map(mapping).fillna("").astype(str)


def _label(name: str) -> str:
    """Variable label (at most 40 characters, as SAS transport v5 allows)."""
    if name in LABELS:
        return LABELS[name]
    for pattern, label in PERIOD_LABELS:
        if m := re.fullmatch(pattern, name):
            return label.format(m.group(1))
    return name


def adam_tables(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """ADSL, ADTTE, ADRS from typed contract tables (dates as datetime64, missing as NaN/NaT/None)."""
    p, t, a = tables["patients"], tables["treatments"], tables["assessments"]
    p = p.reset_index(drop=True)
    adsl = pd.DataFrame({
        "STUDYID": STUDYID, "USUBJID": p["patient_id"].astype(str),
        "SUBJID": p["patient_id"].astype(str), "SITEID": p["site"].fillna("").astype(str),
        "AGE": p["age_at_ici_start"].astype(float), "AGEU": np.where(p["age_at_ici_start"].notna(), "YEARS", ""),
        "SEX": _code(p["sex"], SEX),
        "PRIMSITE": _code(p["primary_site"], PRIMSITE), "METSYN": _code(p["metastasis_timing"], METSYN),
        "MSISTAT": _code(p["msi_status"], {"MSI-H": "MSI-H", "MSS": "MSS"}),
        "MMRSTAT": _code(p["mmr_status"], {"dMMR": "DMMR", "pMMR": "PMMR"}),
        "LYNCHFL": _code(p["lynch_syndrome"], FLAG), "RASSTAT": _code(p["ras_status"], MUTATION),
        "BRAFSTAT": _code(p["braf_v600e"], MUTATION), "TMB": p["tmb"].astype(float),
        "METLIVFL": _code(p["met_liver"], FLAG), "METLUNFL": _code(p["met_lung"], FLAG),
        "METLNFL": _code(p["met_lymph_node"], FLAG), "METPERFL": _code(p["met_peritoneum"], FLAG),
        "METBONFL": _code(p["met_bone"], FLAG), "ECOGBL": p["ecog"].astype(float),
        "DTHFL": np.where(p["death_date"].notna(), "Y", ""), "DTHDT": p["death_date"],
        "LSTALVDT": p["last_contact_date"],
    })
    courses = t.sort_values(["patient_id", "course"])
    n_periods = int(courses["course"].max()) if len(courses) else 0
    by_course = {k: g.set_index("patient_id") for k, g in courses.groupby("course")}
    pid = adsl["USUBJID"]
    for k in range(1, n_periods + 1):
        xx = f"{k:02d}"
        c = by_course.get(k, pd.DataFrame(columns=t.columns).set_index("patient_id")).reindex(pid)
        stop = c["stop_reason"].map(STOP)
        adsl[f"TR{xx}SDT"] = c["start_date"].values
        adsl[f"TR{xx}EDT"] = c["stop_date"].values
        adsl[f"TRT{xx}A"] = c["regimen"].fillna("").str.upper().values
        adsl[f"TR{xx}LINE"] = c["line"].astype(float).values
        ongoing = c["start_date"].notna() & c["stop_date"].isna()
        adsl[f"EOP{xx}STT"] = np.where(ongoing, "ONGOING", stop.map(lambda s: s[0] if isinstance(s, tuple) else "")).astype(str)
        adsl[f"DCP{xx}RS"] = stop.map(lambda s: s[1] if isinstance(s, tuple) else "").fillna("").values
        adsl[f"DCP{xx}RSP"] = stop.map(lambda s: s[2] if isinstance(s, tuple) else "").fillna("").values
    last = courses.groupby("patient_id").tail(1).set_index("patient_id").reindex(pid)
    first = by_course.get(1, pd.DataFrame(columns=t.columns).set_index("patient_id")).reindex(pid)
    stop = last["stop_reason"].map(STOP)
    adsl["TRT01A"] = first["regimen"].fillna("").str.upper().values
    adsl["TRTSDT"] = first["start_date"].values
    adsl["TRTEDT"] = last["stop_date"].values
    adsl["EOTSTT"] = np.where(last["start_date"].notna() & last["stop_date"].isna(), "ONGOING",
                              stop.map(lambda s: s[0] if isinstance(s, tuple) else "")).astype(str)
    adsl["DCTREAS"] = stop.map(lambda s: s[1] if isinstance(s, tuple) else "").fillna("").values
    adsl["DCTREASP"] = stop.map(lambda s: s[2] if isinstance(s, tuple) else "").fillna("").values
    adsl["LINE"] = first["line"].astype(float).values

    a = a.sort_values(["patient_id", "date"], kind="stable")
    resp = pd.DataFrame({"STUDYID": STUDYID, "USUBJID": a["patient_id"].values, "PARAMCD": "OVRLRESP",
                         "PARAM": "Overall Response by Investigator", "AVALC": a["response"].values,
                         "ADT": a["date"].values, "APERIOD": np.nan})
    bor = courses[courses["best_response"].notna()]
    best = pd.DataFrame({"STUDYID": STUDYID, "USUBJID": bor["patient_id"].values, "PARAMCD": "BOR",
                         "PARAM": "Best Overall Response by Investigator", "AVALC": bor["best_response"].values,
                         "ADT": pd.NaT, "APERIOD": bor["course"].astype(float).values})
    adrs = pd.concat([resp, best], ignore_index=True)
    order = {v: i for i, v in enumerate(pid)}
    adrs = adrs.assign(_o=adrs["USUBJID"].map(order), _b=(adrs["PARAMCD"] == "BOR").astype(int))
    adrs = adrs.sort_values(["_o", "_b"], kind="stable").drop(columns=["_o", "_b"]).reset_index(drop=True)
    adrs.insert(2, "ASEQ", adrs.groupby("USUBJID").cumcount().astype(float) + 1)

    adtte = _adtte(adsl, a)
    return {"ADSL": adsl, "ADTTE": adtte, "ADRS": adrs}


def _adtte(adsl: pd.DataFrame, a: pd.DataFrame) -> pd.DataFrame:
    """PFS (first PD after the first ICI start, or death; censored at the last assessment, else the start) and
    OS (death; censored at last contact), both from TRTSDT, for subjects with a first course."""
    s = adsl.set_index("USUBJID")
    treated = s[s["TRTSDT"].notna()]
    start = treated["TRTSDT"]
    aa = a[a["patient_id"].isin(start.index)].assign(_s=lambda f: f["patient_id"].map(start))
    after = aa[aa["date"] > aa["_s"]]
    first_pd = after[after["response"] == "PD"].groupby("patient_id")["date"].min().reindex(start.index)
    last_assessment = after.groupby("patient_id")["date"].max().reindex(start.index)
    death = treated["DTHDT"]
    pd_first = first_pd.notna() & ~(death < first_pd)
    pfs_date = first_pd.where(pd_first, death)
    pfs_event = pfs_date.notna()
    pfs_date = pfs_date.where(pfs_event, last_assessment.fillna(start))
    pfs_desc = np.where(pd_first, "PROGRESSIVE DISEASE", np.where(pfs_event, "DEATH", "LAST ASSESSMENT"))
    os_event = death.notna()
    os_date = death.where(os_event, treated["LSTALVDT"])
    rows = []
    for code, param, date, event, desc in (
            ("PFS", "Progression-Free Survival from First ICI Dose (Days)", pfs_date, pfs_event, pfs_desc),
            ("OS", "Overall Survival from First ICI Dose (Days)", os_date, os_event,
             np.where(os_event, "DEATH", "LAST KNOWN ALIVE"))):
        rows.append(pd.DataFrame({
            "STUDYID": STUDYID, "USUBJID": start.index, "PARAMCD": code, "PARAM": param,
            "AVAL": ((date - start).dt.days + 1).astype(float).values, "STARTDT": start.values, "ADT": date.values,
            "CNSR": np.where(event, 0.0, 1.0), "EVNTDESC": desc}))
    order = {v: i for i, v in enumerate(adsl["USUBJID"])}
    out = pd.concat(rows, ignore_index=True)
    return out.assign(_o=out["USUBJID"].map(order)).sort_values(["_o"], kind="stable").drop(columns="_o").reset_index(drop=True)


def _sas_dates(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """datetime64 columns -> SAS day numbers (float), with format DATE9."""
    out, formats = frame.copy(), {}
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            out[col] = (frame[col] - SAS_EPOCH).dt.days.astype(float)
            formats[col] = "DATE9."
    return out, formats


def _fix_timestamps(path: Path, stamp: bytes = XPT_STAMP) -> None:
    """Replace the creation/modification times in the transport headers by a fixed stamp (reproducible files)."""
    data = path.read_bytes()
    end = data.index(b"NAMESTR HEADER RECORD")
    head = re.sub(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d", stamp, data[:end])
    path.write_bytes(head + data[end:])


def write_adam(datasets: dict[str, pd.DataFrame], out_dir, fmt: str = "xpt") -> list[Path]:
    """Write ADSL/ADTTE/ADRS as ``adsl.xpt`` ... (SAS transport v5 with labels) or ``adsl.csv`` (ISO dates)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in datasets.items():
        path = out / f"{name.lower()}.{fmt}"
        if fmt == "xpt":
            import pyreadstat
            data, formats = _sas_dates(frame)
            pyreadstat.write_xport(data, str(path), file_label=DATASET_LABELS[name],
                                   column_labels={c: _label(c) for c in data.columns}, table_name=name,
                                   file_format_version=5, variable_format=formats)
            _fix_timestamps(path)
        elif fmt == "csv":
            frame.to_csv(path, index=False, date_format="%Y-%m-%d", na_rep="", lineterminator="\n")
        else:
            raise ValueError(f"format must be xpt or csv, not {fmt!r}")
        written.append(path)
    return written


def main(argv=None) -> None:
    from icistop.data.contract import read_table

    ap = argparse.ArgumentParser(prog="python -m icistop.data.synth adam", description=__doc__.splitlines()[0])
    ap.add_argument("--contract", default="resources/example", help="folder with the contract CSV tables")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--format", choices=["xpt", "csv"], default="xpt")
    a = ap.parse_args(argv)
    tables = {}
    for name in ("patients", "treatments", "assessments"):
        frame, issues = read_table(Path(a.contract) / f"{name}.csv", name)
        errors = [i.describe() for i in issues if i.severity == "error"]
        if errors:
            raise SystemExit("\n".join(errors[:10]))
        tables[name] = frame.drop(columns="_row")
    for path in write_adam(adam_tables(tables), a.out, a.format):
        print(path)


if __name__ == "__main__":
    main()

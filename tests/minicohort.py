"""A hand-built mini cohort in data contract v1, with hand-computed endpoints (see test_endpoints.py).

P1 MSI-H, stopped electively 2021-01-01 after CR, PD 2022-01-01 -> stop cohort, progression
P2 dMMR (MSI unknown), stopped for toxicity 2020-08-01, died 2021-02-01 without PD -> stop cohort, death
P3 MSI-H, stopped for progression (PD 2020-05-10) -> not in stop cohort
P4 MSS/pMMR -> excluded (not MSI-H/dMMR)
P5 MSI-H, ongoing -> treated only
P6 MSI-H, planned completion 2020-12-01 but PD 2020-11-15 before the stop -> excluded from stop cohort
P7 no ICI course -> excluded
P8 MSI-H, elective stop 2020-06-01, PD 2020-12-01, re-challenge 2021-01-01, PD 2021-09-01
"""

import pandas as pd

BASE = dict(sex="female", age_at_ici_start=60, primary_site="right_colon", metastasis_timing="synchronous",
            msi_status="MSI-H", mmr_status="dMMR", lynch_syndrome="no", ras_status="wildtype",
            braf_v600e="wildtype", tmb=40.0, met_liver="yes", met_lung="no", met_lymph_node="no",
            met_peritoneum="no", met_bone="no", ecog=0, site="A", death_date="")


def patients() -> pd.DataFrame:
    rows = [
        dict(BASE, patient_id="P1", last_contact_date="2022-06-01"),
        dict(BASE, patient_id="P2", msi_status="unknown", last_contact_date="2021-02-01", death_date="2021-02-01", met_lung="yes"),
        dict(BASE, patient_id="P3", last_contact_date="2021-01-01"),
        dict(BASE, patient_id="P4", msi_status="MSS", mmr_status="pMMR", last_contact_date="2021-01-01"),
        dict(BASE, patient_id="P5", last_contact_date="2021-09-01", primary_site="rectum"),
        dict(BASE, patient_id="P6", last_contact_date="2021-06-01"),
        dict(BASE, patient_id="P7", last_contact_date="2021-06-01"),
        dict(BASE, patient_id="P8", last_contact_date="2022-01-01", tmb=""),
    ]
    return pd.DataFrame(rows)


def treatments() -> pd.DataFrame:
    cols = ["patient_id", "course", "regimen", "line", "start_date", "stop_date", "stop_reason", "best_response"]
    rows = [
        ("P1", 1, "anti-PD-1", 1, "2020-01-01", "2021-01-01", "elective_response", ""),
        ("P2", 1, "anti-PD-1+anti-CTLA-4", 1, "2020-02-01", "2020-08-01", "toxicity", ""),
        ("P3", 1, "anti-PD-1", 2, "2020-01-15", "2020-05-15", "progression", ""),
        ("P4", 1, "anti-PD-1", 1, "2020-01-01", "2020-04-01", "progression", ""),
        ("P5", 1, "anti-PD-L1", 1, "2021-01-01", "", "", ""),
        ("P6", 1, "anti-PD-1", 1, "2019-12-01", "2020-12-01", "planned_completion", ""),
        ("P8", 1, "anti-PD-1", 1, "2019-06-01", "2020-06-01", "elective_response", "CR"),
        ("P8", 2, "anti-PD-1", 2, "2021-01-01", "2021-07-01", "toxicity", ""),
    ]
    return pd.DataFrame(rows, columns=cols)


def assessments() -> pd.DataFrame:
    rows = [
        ("P1", "2020-03-01", "PR"), ("P1", "2020-06-01", "CR"), ("P1", "2021-01-01", "CR"),
        ("P1", "2021-06-01", "CR"), ("P1", "2022-01-01", "PD"),
        ("P2", "2020-04-01", "SD"), ("P2", "2020-07-01", "SD"), ("P2", "2020-10-01", "SD"),
        ("P3", "2020-05-10", "PD"),
        ("P4", "2020-03-20", "PD"),
        ("P5", "2021-03-01", "PR"), ("P5", "2021-06-01", "PR"),
        ("P6", "2020-06-01", "PR"), ("P6", "2020-11-15", "PD"),
        ("P8", "2019-09-01", "PR"), ("P8", "2020-03-01", "CR"), ("P8", "2020-12-01", "PD"),
        ("P8", "2021-03-01", "PR"), ("P8", "2021-09-01", "PD"),
    ]
    return pd.DataFrame(rows, columns=["patient_id", "date", "response"])


def ctdna() -> pd.DataFrame:
    return pd.DataFrame([("P1", "2021-01-01", "not_detected"), ("P2", "2020-08-01", "detected")],
                        columns=["patient_id", "date", "result"])


def tables() -> dict[str, pd.DataFrame]:
    return {"patients": patients(), "treatments": treatments(), "assessments": assessments(), "ctdna": ctdna()}


def write(directory, fmt: str = "csv", overrides: dict | None = None) -> None:
    """Write the mini cohort as .csv, .tsv or .parquet; ``overrides`` replaces whole tables."""
    data = tables()
    data.update(overrides or {})
    for name, frame in data.items():
        if frame is None:
            continue
        path = directory / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False)
        elif fmt == "tsv":
            frame.to_csv(path, sep="\t", index=False)
        else:
            frame.replace("", None).to_parquet(path, index=False)

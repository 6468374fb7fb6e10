"""Import a cBioPortal clinical-data export into data contract v1.

Written for the Samstein et al. 2019 study (cBioPortal ``tmb_mskcc_2018``: 1,661 ICI-treated
patients, OS in whole months from the first ICI dose) and usable for exports with the same column
names. Every assumption, in order of consequence:

1. **Time origin and dates.** The export has no dates. Each patient's first ICI dose is placed on a
   fixed anchor date (``anchor_date``, default 2000-01-01; meaningless, only intervals are used), and
   the end of follow-up at anchor + OS months x 30.4375 days, rounded to whole days. Month values are
   whole numbers in the source, so no two different values collide after rounding, and survival
   probabilities and Cox estimates (which depend on the order of times only) are unchanged; times
   differ from the source months by less than 0.02 months.
2. **Deaths.** ``Overall Survival Status`` '1:DECEASED' -> death_date = end of follow-up.
3. **Treatment.** One ICI course per patient starting at the anchor; stop date and stop reason are
   unknown (left empty, i.e. ongoing), so analyses after stopping, the continuation analysis and
   PFS-based biomarker analyses have no data and are skipped. ``Drug Type``: 'PD-1/PDL-1' ->
   anti-PD-1 (PD-1 and PD-L1 are not distinguished by the source), 'Combo' ->
   anti-PD-1+anti-CTLA-4, 'CTLA4' -> other. Line of therapy is unknown (empty).
4. **MSI.** MSI/MMR status is not in the source. With ``msi_proxy_tmb`` set (default None), TMB >= that
   value is declared MSI-H and lower TMB MSS (a proxy, e.g. 20 mut/Mb); otherwise 'unknown'.
   mmr_status is always 'unknown'.
5. **Age.** ``Age at Which Sequencing was Reported (Days)`` holds years (see SOURCE.md) and is age at
   sequencing, not at ICI start; it is used as an approximation of age_at_ici_start.
6. **Sites.** ``Primary Tumor Site``: cecum/ascending/transverse -> right_colon;
   descending/sigmoid -> left_colon; rectum/rectosigmoid -> rectum; 'Colon', 'Colorectal NOS' ->
   unknown. ``Metastatic Site`` is the site of the sequenced specimen, not a list of metastases:
   met_<organ> is 'yes' when the specimen came from that organ, else 'unknown' (never 'no').
7. Not in the source (all 'unknown' / empty): metastasis timing, Lynch syndrome, RAS, BRAF, ECOG,
   tumour assessments (the assessments table is written with a header only), ctDNA.

Licence of the Samstein data: ODbL 1.0 (attribute; keep derived data open).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icistop import DAYS_PER_MONTH

PRIMARY_SITE = {
    "cecum": "right_colon", "ascending colon": "right_colon", "transverse colon": "right_colon",
    "descending colon": "left_colon", "sigmoid colon": "left_colon",
    "rectum": "rectum", "rectosigmoid colon": "rectum", "rectosimoid colon": "rectum",
}
REGIMEN = {"PD-1/PDL-1": "anti-PD-1", "Combo": "anti-PD-1+anti-CTLA-4", "CTLA4": "other"}
MET_SITE = {"liver": "met_liver", "lung": "met_lung", "lymph node": "met_lymph_node",
            "peritoneum": "met_peritoneum", "bone": "met_bone"}
REQUIRED_COLUMNS = ["Patient ID", "Cancer Type", "Overall Survival (Months)", "Overall Survival Status"]


def import_cbioportal(clinical: pd.DataFrame, cancer_types: list[str] | None = None,
                      msi_proxy_tmb: float | None = None, anchor_date: str = "2000-01-01",
                      site_name: str = "MSKCC") -> dict[str, pd.DataFrame]:
    """Contract tables (patients, treatments, assessments) from a cBioPortal clinical table."""
    missing = [c for c in REQUIRED_COLUMNS if c not in clinical.columns]
    if missing:
        raise ValueError(f"cBioPortal export lacks column(s) {', '.join(missing)}")
    data = clinical
    if cancer_types:
        data = data[data["Cancer Type"].isin(cancer_types)]
    data = data.dropna(subset=["Overall Survival (Months)", "Overall Survival Status"])
    if data.empty:
        raise ValueError(f"no patients of cancer type(s) {cancer_types} with overall survival in the export")
    anchor = pd.Timestamp(anchor_date)
    end = anchor + pd.to_timedelta(np.round(data["Overall Survival (Months)"].astype(float) * DAYS_PER_MONTH), unit="D")
    dead = data["Overall Survival Status"].astype(str).str.startswith("1")
    fmt = "%Y-%m-%d"

    patients = pd.DataFrame({"patient_id": data["Patient ID"].astype(str).values})
    patients["site"] = site_name
    patients["sex"] = data["Sex"].str.lower().map({"male": "male", "female": "female"}).fillna("unknown").values if "Sex" in data else "unknown"
    age_col = "Age at Which Sequencing was Reported (Days)"
    patients["age_at_ici_start"] = pd.to_numeric(data[age_col], errors="coerce").values if age_col in data else np.nan
    site = data.get("Primary Tumor Site", pd.Series(index=data.index, dtype=object)).astype(str).str.strip().str.lower()
    patients["primary_site"] = site.map(PRIMARY_SITE).fillna("unknown").values
    patients["metastasis_timing"] = "unknown"
    tmb = pd.to_numeric(data["TMB Score"], errors="coerce") if "TMB Score" in data else pd.Series(np.nan, index=data.index)
    if msi_proxy_tmb is None:
        patients["msi_status"] = "unknown"
    else:
        patients["msi_status"] = np.where(tmb.isna(), "unknown", np.where(tmb >= msi_proxy_tmb, "MSI-H", "MSS"))
    patients["mmr_status"] = "unknown"
    for column in ("lynch_syndrome", "ras_status", "braf_v600e"):
        patients[column] = "unknown"
    patients["tmb"] = tmb.values
    specimen = data.get("Metastatic Site", pd.Series(index=data.index, dtype=object)).astype(str).str.strip().str.lower()
    for organ, column in MET_SITE.items():
        patients[column] = np.where(specimen.values == organ, "yes", "unknown")
    patients["ecog"] = pd.array([pd.NA] * len(patients), dtype="Int64")
    patients["last_contact_date"] = end.dt.strftime(fmt).values
    patients["death_date"] = np.where(dead.values, end.dt.strftime(fmt).values, "")

    treatments = pd.DataFrame({
        "patient_id": patients["patient_id"],
        "course": 1,
        "regimen": data["Drug Type"].map(REGIMEN).fillna("other").values if "Drug Type" in data else "other",
        "line": pd.array([pd.NA] * len(patients), dtype="Int64"),
        "start_date": anchor.strftime(fmt),
        "stop_date": "",
        "stop_reason": "",
        "best_response": "",
    })
    assessments = pd.DataFrame(columns=["patient_id", "date", "response"])
    return {"patients": patients, "treatments": treatments, "assessments": assessments}

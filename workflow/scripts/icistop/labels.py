"""Display labels: the one mapping from data codes to words, used by every table and figure.

Column names get their display name (``met_lung`` -> "lung metastases"); other codes lose their
underscores (``elective_response`` -> "elective response"). Figures and tables both call
:func:`label`, so a level reads the same in a legend and in the table next to it.
"""

from __future__ import annotations

LABELS = {
    "age_at_ici_start": "age at ICI start", "ecog": "ECOG performance status", "braf_v600e": "BRAF V600E",
    "ras_status": "RAS status", "msi_status": "MSI status", "mmr_status": "MMR status", "tmb": "TMB",
    "n_met_sites": "number of metastatic sites", "time_on_ici": "time on ICI", "time_on_ici_group": "time-on-ICI group",
    "ctdna_at_stop": "ctDNA at stop", "cr_at_landmark": "complete response by the landmark",
    "met_liver": "liver metastases", "met_lung": "lung metastases", "met_lymph_node": "lymph node metastases",
    "met_peritoneum": "peritoneal metastases", "met_bone": "bone metastases", "lynch_syndrome": "Lynch syndrome",
}


def label(value: str) -> str:
    """A code as words: known column names get their display name, other codes lose underscores
    ('elective_response' -> 'elective response')."""
    text = str(value)
    return LABELS.get(text, text.replace("_", " "))

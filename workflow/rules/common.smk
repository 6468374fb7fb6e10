import datetime
from pathlib import Path

from snakemake.utils import validate

# YAML reads an unquoted 2024-06-30 as a date; the schema expects the ISO string.
if isinstance(config.get("data_cutoff"), datetime.date):
    config["data_cutoff"] = config["data_cutoff"].isoformat()

validate(config, schema="../schemas/config.schema.yaml")

CONTRACT_TABLES = ["patients", "treatments", "assessments", "ctdna"]
TABLE_EXTENSIONS = [".csv", ".tsv", ".txt", ".parquet"]
SCHEMA_FILES = [f"workflow/schemas/{t}.schema.yaml" for t in CONTRACT_TABLES]


def data_files(wildcards):
    """Every contract table file present in data_dir (missing ones are reported by validate_data).

    With a ``cbioportal`` section, the tables are made by rule import_cbioportal.
    """
    data_dir = Path(config["data_dir"])
    if config.get("cbioportal"):
        return [
            str(data_dir / f"{t}.csv")
            for t in ["patients", "treatments", "assessments"]
        ]
    return sorted(
        str(data_dir / f"{table}{ext}")
        for table in CONTRACT_TABLES
        for ext in TABLE_EXTENSIONS
        if (data_dir / f"{table}{ext}").is_file()
    )


def validated(table):
    return f"results/validation/{table}.parquet"


# biomarkers (rules in biomarkers.smk)
BIOMARKERS = config["biomarkers"]
BIOMARKER_FIG_FORMATS = BIOMARKERS.get("plots", {}).get("formats", ["png", "svg"])


def biomarker_figures(name, caption=None):
    """One file per configured format; each shown in the Snakemake report when a caption is given."""
    files = expand(
        "results/biomarkers/figures/{name}.{fmt}", name=name, fmt=BIOMARKER_FIG_FORMATS
    )
    if caption is None:
        return files
    return [report(f, caption=caption, category="5. Biomarkers") for f in files]


def biomarker_targets():
    return [
        "results/biomarkers/marker_inventory.tsv",
        "results/biomarkers/horizon_fisher.tsv",
        "results/biomarkers/cox_univariable.tsv",
        "results/biomarkers/cif_summary.tsv",
        "results/biomarkers/discrimination.tsv",
        "results/biomarkers/rechallenge_pfs.tsv",
        *biomarker_figures("forest"),
    ]


def all_targets():
    return [
        "results/validation/summary.json",
        "results/cohort/attrition.tsv",
        "results/endpoints/endpoints.parquet",
        "results/survival/km_landmarks.tsv",
        "results/survival/cox.tsv",
        "results/survival/rmst.tsv",
        "results/survival/cif_landmarks.tsv",
        "results/survival/hazard_by_interval.tsv",
        *biomarker_targets(),
        "results/report/report.html",
    ]

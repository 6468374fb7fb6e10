import datetime
import sys
from pathlib import Path

from snakemake.utils import validate

WORKFLOW_DIR = Path(str(workflow.current_basedir)).resolve().parent
sys.path.insert(0, str(WORKFLOW_DIR / "scripts"))

from icistop.codedeps import CodeIndex

# YAML reads an unquoted 2024-06-30 as a date; the schema expects the ISO string.
if isinstance(config.get("data_cutoff"), datetime.date):
    config["data_cutoff"] = config["data_cutoff"].isoformat()

validate(config, schema="../schemas/config.schema.yaml")

CONTRACT_TABLES = ["patients", "treatments", "assessments", "ctdna"]
# covariates beyond the contract: declared extra columns of patients and derived covariates
COVARIATES = {"extra": [], "derived": [], **(config.get("covariates") or {})}
TABLE_EXTENSIONS = [".csv", ".tsv", ".txt", ".parquet"]
SCHEMA_FILES = [f"workflow/schemas/{t}.schema.yaml" for t in CONTRACT_TABLES]


# Source adapters: a config section of one of these names makes data_dir from another format
# (rule import_<name>, workflow/rules/import_<name>.smk) instead of reading data_dir as it is.
ADAPTER_TABLES = {
    "cbioportal": ["patients", "treatments", "assessments"],
    "omop": CONTRACT_TABLES,
    "adam": ["patients", "treatments", "assessments"],
}
_adapters = [name for name in ADAPTER_TABLES if config.get(name)]
if len(_adapters) > 1:
    raise ValueError(
        f"config: choose one data source adapter, not {' and '.join(_adapters)}"
    )
ADAPTER = _adapters[0] if _adapters else None


def adapter_tables():
    """The contract table files an adapter writes into data_dir."""
    return [f"{config['data_dir']}/{t}.csv" for t in ADAPTER_TABLES[ADAPTER]]


def omop_settings():
    """OMOP adapter settings (icistop.data.omop.adapter.OmopSettings fields) from config section omop."""
    keys = [
        "patient_id",
        "course_gap_days",
        "ongoing_days",
        "death_stop_days",
        "measurement_window_days",
        "ecog_window_days",
        "episode_match_days",
        "best_response_days",
    ]
    return {k: config["omop"][k] for k in keys if k in config.get("omop", {})}


def omop_database_file():
    """The DuckDB file of the OMOP instance (an input, so a refreshed export reruns the import)."""
    database = config["omop"].get("database")
    return [database] if database else []


def data_files(wildcards):
    """Every contract table file present in data_dir (missing ones are reported by validate_data).

    With an adapter section (cbioportal, omop, adam), the tables are made by rule import_<adapter>.
    """
    data_dir = Path(config["data_dir"])
    if ADAPTER:
        return adapter_tables()
    return sorted(
        str(data_dir / f"{table}{ext}")
        for table in CONTRACT_TABLES
        for ext in TABLE_EXTENSIONS
        if (data_dir / f"{table}{ext}").is_file()
    )


def validated(table):
    return f"results/validation/{table}.parquet"


# Source files behind each script (see workflow/scripts/icistop/codedeps.py). Snakemake itself
# reruns a script job when the entry script changes, but not when a package module it imports does.
CODE_INDEX = CodeIndex(WORKFLOW_DIR / "scripts", root=WORKFLOW_DIR.parent)
REPORT_TEMPLATES = sorted(str(p) for p in (WORKFLOW_DIR / "report/templates").glob("*"))


def code_version(*scripts, dispatch=(), files=()):
    """Params ``code_<file>="<path> sha256:<hash>"``, one per source file the entry scripts run.

    Use as ``**code_version("x.py")`` in a rule's params: a content change of any of these files
    reruns the rule (params trigger; a new mtime alone does not), and the dry-run reason names the
    file. List a second script when the rule's results stand for another rule's temp() output.
    ``dispatch``: the one module report_section.py imports for this rule's section; ``files``:
    other files the rule reads as code (templates).
    """
    dispatch = (dispatch,) if isinstance(dispatch, str) else tuple(dispatch)
    return CODE_INDEX.params(scripts, dispatch=dispatch, extra=tuple(files))


# continuation and simulation study (rules in continuation.smk, simulation.smk)
CONTINUATION = config["continuation"]
CONT_OUTCOMES = CONTINUATION.get("outcomes", ["pfs"])
CONT_FIG_FORMATS = CONTINUATION.get("plots", {}).get("formats", ["png", "svg"])
CONT_N_SHARDS = int(CONTINUATION["bootstrap"]["n_shards"])
CONT_LANDMARKS = [float(x) for x in CONTINUATION["landmark"]["landmarks"]]
CONT_CATEGORY = "4. Continuing vs stopping ICI"
CONT_INPUT = {
    "endpoints": "results/endpoints/endpoints.parquet",
    "assessments": "results/endpoints/assessments.parquet",
}


def continuation_protocol_cfg():
    """Every config value the analyses use (passed as params so a change reruns the rules)."""
    return {
        "protocol": CONTINUATION["protocol"],
        "confounders": CONTINUATION["confounders"],
        "ccw": CONTINUATION["ccw"],
    }


def continuation_targets():
    out = ["results/continuation/protocol.tsv"]
    for outcome in CONT_OUTCOMES:
        out += [
            f"results/continuation/{outcome}/comparison.tsv",
            f"results/continuation/{outcome}/ccw_estimates.tsv",
            f"results/continuation/{outcome}/interaction.tsv",
            f"results/continuation/{outcome}/weight_diagnostics.tsv",
            *expand(
                "results/continuation/figures/{outcome}_ccw_km.{fmt}",
                outcome=outcome,
                fmt=CONT_FIG_FORMATS,
            ),
            *expand(
                "results/continuation/figures/{outcome}_ccw_weights.{fmt}",
                outcome=outcome,
                fmt=CONT_FIG_FORMATS,
            ),
        ]
    return out


SIMULATION = config["simulation"]
SIM_SCENARIOS = {s["name"]: (i, s) for i, s in enumerate(SIMULATION["scenarios"])}
SIM_N_CHUNKS = int(SIMULATION["n_chunks"])


# biomarkers (rules in biomarkers.smk)
BIOMARKERS = config["biomarkers"]
BIOMARKER_FIG_FORMATS = BIOMARKERS.get("plots", {}).get("formats", ["png", "svg"])


from icistop.biomarkers.populations import POPULATIONS as BIOMARKER_POPULATION_NAMES

BIOMARKER_POPULATIONS = list(
    BIOMARKERS.get("populations") or BIOMARKER_POPULATION_NAMES
)


def biomarker_population_params():
    """Params of a population rule: its population (wildcard) and the configured endpoints (defaults in
    icistop.biomarkers.populations.population_endpoint)."""
    return {
        "population": lambda wildcards: wildcards.population,
        "endpoint": BIOMARKERS.get("endpoint", {}),
    }


def biomarker_figures(name, caption=None):
    """One file per configured format (in the population's folder); each shown in the Snakemake report
    when a caption is given."""
    files = [
        f"results/biomarkers/{{population}}/figures/{name}.{fmt}"
        for fmt in BIOMARKER_FIG_FORMATS
    ]
    if caption is None:
        return files
    return [report(f, caption=caption, category="5. Biomarkers") for f in files]


def biomarker_targets():
    per_population = [
        "marker_inventory.tsv",
        "horizon_fisher.tsv",
        "cox_univariable.tsv",
        "cif_summary.tsv",
        "discrimination.tsv",
    ]
    return [
        *expand(
            "results/biomarkers/{population}/{name}",
            population=BIOMARKER_POPULATIONS,
            name=per_population,
        ),
        *expand(
            "results/biomarkers/{population}/figures/forest.{fmt}",
            population=BIOMARKER_POPULATIONS,
            fmt=BIOMARKER_FIG_FORMATS,
        ),
        "results/biomarkers/rechallenge_pfs.tsv",
    ]


# multi-centre analysis (rules in multicentre.smk and pool.smk)
from icistop.multicentre.settings import pooling_settings

MULTICENTRE = config["multicentre"]
POOL = [str(p) for p in config.get("pool") or []]


def site_package_outcomes():
    """Continuation outcomes whose site estimates go into the package (none when the stage is off)."""
    return list(CONT_OUTCOMES) if CONTINUATION.get("enabled", True) else []


def site_package_continuation():
    return [
        f"results/continuation/{o}/ccw_estimates.tsv" for o in site_package_outcomes()
    ]


def all_targets():
    if POOL:  # pooling mode: only the site packages are read
        return ["results/pooled/report.html"]
    return [
        "results/validation/summary.json",
        "results/cohort/attrition.tsv",
        "results/endpoints/endpoints.parquet",
        "results/survival/km_landmarks.tsv",
        "results/survival/cox.tsv",
        "results/survival/rmst.tsv",
        "results/survival/cif_landmarks.tsv",
        "results/survival/hazard_by_interval.tsv",
        *(continuation_targets() if CONTINUATION.get("enabled", True) else []),
        *biomarker_targets(),
        "results/report/report.html",
    ]

# ICI discontinuation in MSI-H/dMMR metastatic colorectal cancer.
# Chain: validation -> cohort -> endpoints -> survival -> continuation -> biomarkers -> report.
# Run: snakemake --cores 4   (see README.md)

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/validation.smk"


# a source adapter (config section cbioportal, omop or adam) makes the contract tables in data_dir
if ADAPTER:

    include: f"workflow/rules/import_{ADAPTER}.smk"


include: "workflow/rules/cohort.smk"
include: "workflow/rules/endpoints.smk"
include: "workflow/rules/survival.smk"
include: "workflow/rules/simulation.smk"


if config["continuation"].get("enabled", True):

    include: "workflow/rules/continuation.smk"


include: "workflow/rules/biomarkers.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/multicentre.smk"


if config.get("pool"):

    include: "workflow/rules/pool.smk"


rule all:
    default_target: True
    input:
        all_targets(),

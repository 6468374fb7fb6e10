# The self-contained HTML report (results/report/report.html).
# Each section is built by its own rule (report_<section>) from a named dict of input files into
# results/report/sections/<section>.json plus its figures (results/figures/*.png|svg) and display
# tables (results/tables/*.tsv); rule report assembles the page. Which stage sections are part of the
# run, and the files each reads, is decided in workflow/scripts/icistop/report/wiring.py.

import sys

sys.path.insert(0, f"{workflow.current_basedir}/../scripts")

from icistop.report.wiring import ReportWiring

REPORT_WIRING = ReportWiring(config, workflow, report, contract_tables=CONTRACT_TABLES)


rule report_data:
    input:
        **REPORT_WIRING.data_files(),
    output:
        json="results/report/sections/data.json",
        tables=REPORT_WIRING.table_files("data"),
    log:
        "logs/report_data.log",
    benchmark:
        "benchmarks/runs/report_data.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("report_section.py", dispatch="icistop.report.core"),
        **REPORT_WIRING.privacy,
        section="data",
        options=REPORT_WIRING.section_options("data"),
    script:
        "../scripts/report_section.py"


rule report_cohort:
    input:
        **REPORT_WIRING.cohort_files(),
    output:
        json="results/report/sections/cohort.json",
        figures=REPORT_WIRING.figure_files("cohort", wrap=True),
        tables=REPORT_WIRING.table_files("cohort"),
    log:
        "logs/report_cohort.log",
    benchmark:
        "benchmarks/runs/report_cohort.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("report_section.py", dispatch="icistop.report.core"),
        **REPORT_WIRING.privacy,
        section="cohort",
        options=REPORT_WIRING.section_options("cohort"),
    script:
        "../scripts/report_section.py"


rule report_table1:
    input:
        endpoints="results/endpoints/endpoints.parquet",
    output:
        json="results/report/sections/table1.json",
        tables=[
            report(
                "results/tables/table1.tsv",
                caption="../report/report_table1.rst",
                category="0. Report",
                subcategory="table1",
            ),
        ],
    log:
        "logs/report_table1.log",
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("report_section.py", dispatch="icistop.report.core"),
        **REPORT_WIRING.privacy,
        section="table1",
        options=REPORT_WIRING.section_options("table1"),
    script:
        "../scripts/report_section.py"


rule report_swimmer:
    input:
        endpoints="results/endpoints/endpoints.parquet",
        assessments="results/endpoints/assessments.parquet",
    output:
        json="results/report/sections/swimmer.json",
        figures=REPORT_WIRING.figure_files("swimmer", wrap=True),
    log:
        "logs/report_swimmer.log",
    benchmark:
        "benchmarks/runs/report_swimmer.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("report_section.py", dispatch="icistop.report.core"),
        **REPORT_WIRING.privacy,
        section="swimmer",
        options=REPORT_WIRING.section_options("swimmer"),
    script:
        "../scripts/report_section.py"


rule report_survival:
    input:
        unpack(REPORT_WIRING.stage_inputs("survival")),
    output:
        json="results/report/sections/survival.json",
        figures=REPORT_WIRING.figure_files("survival", wrap=True),
        tables=REPORT_WIRING.table_files("survival"),
    log:
        "logs/report_survival.log",
    benchmark:
        "benchmarks/runs/report_survival.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("report_section.py", dispatch="icistop.report.survival"),
        **REPORT_WIRING.privacy,
        section="survival",
        options=REPORT_WIRING.section_options("survival"),
    script:
        "../scripts/report_section.py"


rule report_continuation:
    input:
        unpack(REPORT_WIRING.stage_inputs("continuation")),
    output:
        json="results/report/sections/continuation.json",
        figures=REPORT_WIRING.figure_files("continuation", wrap=True),
        tables=REPORT_WIRING.table_files("continuation"),
    log:
        "logs/report_continuation.log",
    benchmark:
        "benchmarks/runs/report_continuation.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("report_section.py", dispatch="icistop.report.continuation"),
        **REPORT_WIRING.privacy,
        section="continuation",
        options=REPORT_WIRING.section_options("continuation"),
    script:
        "../scripts/report_section.py"


rule report_biomarkers:
    input:
        unpack(REPORT_WIRING.stage_inputs("biomarkers")),
    output:
        json="results/report/sections/biomarkers.json",
        figures=REPORT_WIRING.figure_files("biomarkers", wrap=True),
        tables=REPORT_WIRING.table_files("biomarkers"),
    log:
        "logs/report_biomarkers.log",
    benchmark:
        "benchmarks/runs/report_biomarkers.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("report_section.py", dispatch="icistop.report.biomarkers"),
        **REPORT_WIRING.privacy,
        section="biomarkers",
        options=REPORT_WIRING.section_options("biomarkers"),
    script:
        "../scripts/report_section.py"


rule report:
    input:
        unpack(REPORT_WIRING.inputs),
    output:
        html=report(
            "results/report/report.html",
            caption="../report/report.rst",
            category="0. Report",
        ),
    log:
        "logs/report.log",
    benchmark:
        "benchmarks/runs/report.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("render_report.py", files=REPORT_TEMPLATES),
        **REPORT_WIRING.privacy,
        title=config["report"]["title"],
        config=config,
    script:
        "../scripts/render_report.py"

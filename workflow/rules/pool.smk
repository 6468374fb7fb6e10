# Pooling site packages (config key `pool`; docs/multicentre.md). Only the packages are read.
# Run: snakemake --cores 4 --config pool='[a.zip, b.zip, c.zip]'  ->  results/pooled/report.html
POOLED_CATEGORY = "7. Pooled multi-centre analysis"


rule pool_packages:
    input:
        packages=POOL,
    output:
        packages=report(
            "results/pooled/packages.tsv",
            caption="../report/pooled_packages.rst",
            category=POOLED_CATEGORY,
        ),
    log:
        "logs/pool_packages.log",
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("pool_packages.py"),
    script:
        "../scripts/pool_packages.py"


rule pool_survival:
    input:
        packages=POOL,
        checked="results/pooled/packages.tsv",
    output:
        km_curves="results/pooled/km_curves.tsv",
        km_landmarks="results/pooled/km_landmarks.tsv",
        logrank="results/pooled/logrank.tsv",
        cox="results/pooled/cox.tsv",
        site_km_curves="results/pooled/site_km_curves.tsv",
        site_heterogeneity="results/pooled/site_heterogeneity.tsv",
    log:
        "logs/pool_survival.log",
    benchmark:
        "benchmarks/runs/pool_survival.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("pool_survival.py"),
    script:
        "../scripts/pool_survival.py"


rule pool_horizon:
    input:
        packages=POOL,
        checked="results/pooled/packages.tsv",
    output:
        horizon="results/pooled/horizon_tables.tsv",
    log:
        "logs/pool_horizon.log",
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("pool_horizon.py"),
        conf_level=config["biomarkers"]["conf_level"],
    script:
        "../scripts/pool_horizon.py"


rule pool_meta:
    input:
        packages=POOL,
        checked="results/pooled/packages.tsv",
    output:
        meta="results/pooled/continuation_meta.tsv",
        sites="results/pooled/continuation_sites.tsv",
    log:
        "logs/pool_meta.log",
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("pool_meta.py"),
        method=MULTICENTRE["meta_method"],
        hartung_knapp=MULTICENTRE["hartung_knapp"],
    script:
        "../scripts/pool_meta.py"


rule pooled_report:
    input:
        packages="results/pooled/packages.tsv",
        km_curves="results/pooled/km_curves.tsv",
        km_landmarks="results/pooled/km_landmarks.tsv",
        logrank="results/pooled/logrank.tsv",
        cox="results/pooled/cox.tsv",
        site_km_curves="results/pooled/site_km_curves.tsv",
        site_heterogeneity="results/pooled/site_heterogeneity.tsv",
        horizon="results/pooled/horizon_tables.tsv",
        meta="results/pooled/continuation_meta.tsv",
        sites="results/pooled/continuation_sites.tsv",
        template="workflow/report/templates/pooled_report.html.j2",
    output:
        html=report(
            "results/pooled/report.html",
            caption="../report/pooled_report.rst",
            category=POOLED_CATEGORY,
        ),
    log:
        "logs/pooled_report.log",
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("pooled_report.py", files=REPORT_TEMPLATES),
        title=config["report"]["title"] + ": pooled multi-centre analysis",
        meta_method=MULTICENTRE["meta_method"],
        hartung_knapp=MULTICENTRE["hartung_knapp"],
    script:
        "../scripts/pooled_report.py"

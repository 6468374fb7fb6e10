rule define_cohort:
    input:
        tables=expand("results/validation/{table}.parquet", table=CONTRACT_TABLES),
    output:
        cohorts="results/cohort/cohorts.parquet",
        attrition=report(
            "results/cohort/attrition.tsv",
            caption="../report/attrition.rst",
            category="2. Cohort",
        ),
        cutoff="results/cohort/cutoff.json",
        reasons="results/cohort/exclusion_reasons.tsv",
    log:
        "logs/define_cohort.log",
    benchmark:
        "benchmarks/runs/define_cohort.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("define_cohort.py"),
        criteria=config["cohort"],
        data_cutoff=config["data_cutoff"],
    script:
        "../scripts/define_cohort.py"

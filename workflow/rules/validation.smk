rule validate_data:
    input:
        tables=data_files,
        schemas=SCHEMA_FILES,
    output:
        issues=report(
            "results/validation/issues.tsv",
            caption="../report/validation_issues.rst",
            category="1. Data",
        ),
        summary="results/validation/summary.json",
        tables=expand("results/validation/{table}.parquet", table=CONTRACT_TABLES),
    log:
        log="logs/validate_data.log",
        issues="logs/validate_data.issues.tsv",
    benchmark:
        "benchmarks/runs/validate_data.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("validate_data.py"),
        data_dir=config["data_dir"],
        extra_columns={"patients": COVARIATES["extra"]},
    script:
        "../scripts/validate_data.py"

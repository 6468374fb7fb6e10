rule derive_endpoints:
    input:
        tables=expand("results/validation/{table}.parquet", table=CONTRACT_TABLES),
        cohorts="results/cohort/cohorts.parquet",
        cutoff="results/cohort/cutoff.json",
    output:
        endpoints="results/endpoints/endpoints.parquet",
        assessments="results/endpoints/assessments.parquet",
        ctdna="results/endpoints/ctdna.parquet",
        derived="results/endpoints/derived_covariates.tsv",
    log:
        "logs/derive_endpoints.log",
    benchmark:
        "benchmarks/runs/derive_endpoints.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("derive_endpoints.py"),
        pfs_censor_at=config["endpoints"]["pfs_censor_at"],
        time_on_ici_breaks=config["endpoints"]["time_on_ici_breaks"],
        extra_columns=[c["name"] for c in COVARIATES["extra"]],
        derived=COVARIATES["derived"],
    script:
        "../scripts/derive_endpoints.py"

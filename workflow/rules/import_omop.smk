# Source adapter: OMOP CDM v5.4 (DuckDB or PostgreSQL) -> data contract v1 tables in data_dir (config
# section omop; docs/omop-mapping.md). The mapping report goes into the report's data section.


rule import_omop:
    input:
        concepts=config["omop"]["concepts"],
        database=omop_database_file(),
    output:
        tables=adapter_tables(),
        mapping="results/adapter/mapping.tsv",
    log:
        "logs/import_omop.log",
    benchmark:
        "benchmarks/runs/import_omop.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("import_omop.py"),
        url_env=config["omop"].get("url_env", ""),
        cdm_schema=config["omop"].get("cdm_schema", "main"),
        settings=omop_settings(),
    script:
        "../scripts/import_omop.py"

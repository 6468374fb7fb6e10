# Source adapter: CDISC ADaM (ADSL, ADTTE, ADRS) -> data contract v1 tables in data_dir (config section adam;
# docs/adam-mapping.md). The mapping report goes into the report's data section.


rule import_adam:
    input:
        unpack(
            lambda wildcards: {
                name: config["adam"][name]
                for name in ("adsl", "adtte", "adrs")
                if config["adam"].get(name)
            }
        ),
    output:
        tables=adapter_tables(),
        mapping="results/adapter/mapping.tsv",
    log:
        "logs/import_adam.log",
    benchmark:
        "benchmarks/runs/import_adam.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("import_adam.py"),
        settings={
            key: value
            for key, value in config["adam"].items()
            if key not in ("adsl", "adtte", "adrs")
        },
    script:
        "../scripts/import_adam.py"

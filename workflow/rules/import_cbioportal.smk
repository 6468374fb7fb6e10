# Source adapter: cBioPortal clinical export -> data contract v1 tables in data_dir (config section cbioportal).


rule import_cbioportal:
    input:
        clinical=config["cbioportal"]["clinical_tsv"],
    output:
        tables=expand(
            "{data_dir}/{table}.csv",
            data_dir=config["data_dir"],
            table=["patients", "treatments", "assessments"],
        ),
    log:
        "logs/import_cbioportal.log",
    benchmark:
        "benchmarks/runs/import_cbioportal.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("import_cbioportal.py"),
        cancer_types=config["cbioportal"]["cancer_types"],
        msi_proxy_tmb=config["cbioportal"]["msi_proxy_tmb"],
        anchor_date=config["cbioportal"]["anchor_date"],
        site_name=config["cbioportal"]["site_name"],
    script:
        "../scripts/import_cbioportal.py"

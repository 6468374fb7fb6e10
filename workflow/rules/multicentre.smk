# Multi-centre analysis: this site's package of aggregates (docs/multicentre.md).
# Run: snakemake site_package --cores 4   ->  results/site_package/<site>.zip (and the same files
# unpacked in results/site_package/<site>/ to review before the package leaves the site).


rule site_package:
    input:
        endpoints="results/endpoints/endpoints.parquet",
        analysis_data="results/biomarkers/post_stop/analysis_data.parquet",
        continuation=site_package_continuation(),
    output:
        folder=directory(f"results/site_package/{MULTICENTRE['site']}"),
        zip=f"results/site_package/{MULTICENTRE['site']}.zip",
    log:
        "logs/site_package.log",
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("site_package.py"),
        multicentre=MULTICENTRE,
        settings=pooling_settings(config),
        outcomes=site_package_outcomes(),
    script:
        "../scripts/site_package.py"

# Question 3: patient and tumour features that predict outcome, in each population of
# biomarkers.populations: post_stop (stop cohort, time from the stop) and from_start (all treated
# patients, time from the first ICI dose). Tables in results/biomarkers/{population}/, figures in
# results/biomarkers/{population}/figures/; re-challenge (not a population analysis) in results/biomarkers/.


wildcard_constraints:
    population="|".join(BIOMARKER_POPULATION_NAMES),


rule biomarker_prepare:
    input:
        endpoints="results/endpoints/endpoints.parquet",
        ctdna=["results/endpoints/ctdna.parquet"],
    output:
        data="results/biomarkers/{population}/analysis_data.parquet",
        inventory=report(
            "results/biomarkers/{population}/marker_inventory.tsv",
            caption="../report/biomarker_inventory.rst",
            category="5. Biomarkers",
        ),
    log:
        "logs/biomarker_prepare/{population}.log",
    benchmark:
        "benchmarks/runs/biomarker_prepare/{population}.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("biomarker_prepare.py"),
        **biomarker_population_params(),
        markers=BIOMARKERS["markers"],
        unknown_values=BIOMARKERS["unknown_values"],
        ctdna=BIOMARKERS["ctdna"],
    script:
        "../scripts/biomarker_prepare.py"


rule biomarker_horizon:
    input:
        data="results/biomarkers/{population}/analysis_data.parquet",
    output:
        table=report(
            "results/biomarkers/{population}/horizon_fisher.tsv",
            caption="../report/biomarker_horizon.rst",
            category="5. Biomarkers",
        ),
    log:
        "logs/biomarker_horizon/{population}.log",
    benchmark:
        "benchmarks/runs/biomarker_horizon/{population}.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("biomarker_horizon.py"),
        **biomarker_population_params(),
        markers=BIOMARKERS["markers"],
        horizon=BIOMARKERS["horizon"],
        conf_level=BIOMARKERS["conf_level"],
        fdr_method=BIOMARKERS["fdr_method"],
    script:
        "../scripts/biomarker_horizon.py"


rule biomarker_cox:
    input:
        data="results/biomarkers/{population}/analysis_data.parquet",
    output:
        univariable=report(
            "results/biomarkers/{population}/cox_univariable.tsv",
            caption="../report/biomarker_cox_univariable.rst",
            category="5. Biomarkers",
        ),
        markers=report(
            "results/biomarkers/{population}/marker_tests.tsv",
            caption="../report/biomarker_marker_tests.rst",
            category="5. Biomarkers",
        ),
        multivariable=report(
            "results/biomarkers/{population}/cox_multivariable.tsv",
            caption="../report/biomarker_cox_multivariable.rst",
            category="5. Biomarkers",
        ),
        spline_tests=report(
            "results/biomarkers/{population}/spline_tests.tsv",
            caption="../report/biomarker_splines.rst",
            category="5. Biomarkers",
        ),
        spline_curves="results/biomarkers/{population}/spline_curves.tsv",
        cutpoints=report(
            "results/biomarkers/{population}/cutpoints.tsv",
            caption="../report/biomarker_cutpoints.rst",
            category="5. Biomarkers",
        ),
    log:
        "logs/biomarker_cox/{population}.log",
    benchmark:
        "benchmarks/runs/biomarker_cox/{population}.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("biomarker_cox.py"),
        **biomarker_population_params(),
        markers=BIOMARKERS["markers"],
        conf_level=BIOMARKERS["conf_level"],
        fdr_method=BIOMARKERS["fdr_method"],
        multivariable=BIOMARKERS["multivariable"],
        splines=BIOMARKERS["splines"],
        cutpoint=BIOMARKERS["cutpoint"],
    script:
        "../scripts/biomarker_cox.py"


rule biomarker_cif:
    input:
        data="results/biomarkers/{population}/analysis_data.parquet",
        markers="results/biomarkers/{population}/marker_tests.tsv",
    output:
        curves="results/biomarkers/{population}/cif_curves.tsv",
        summary=report(
            "results/biomarkers/{population}/cif_summary.tsv",
            caption="../report/biomarker_cif.rst",
            category="5. Biomarkers",
        ),
    log:
        "logs/biomarker_cif/{population}.log",
    benchmark:
        "benchmarks/runs/biomarker_cif/{population}.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("biomarker_cif.py"),
        **biomarker_population_params(),
        competing_risks=BIOMARKERS["competing_risks"],
    script:
        "../scripts/biomarker_cif.py"


rule biomarker_discrimination:
    input:
        data="results/biomarkers/{population}/analysis_data.parquet",
    output:
        metrics=report(
            "results/biomarkers/{population}/discrimination.tsv",
            caption="../report/biomarker_discrimination.rst",
            category="5. Biomarkers",
        ),
        calibration=report(
            "results/biomarkers/{population}/calibration.tsv",
            caption="../report/biomarker_calibration.rst",
            category="5. Biomarkers",
        ),
    log:
        "logs/biomarker_discrimination/{population}.log",
    benchmark:
        "benchmarks/runs/biomarker_discrimination/{population}.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("biomarker_discrimination.py"),
        **biomarker_population_params(),
        markers=BIOMARKERS["markers"],
        conf_level=BIOMARKERS["conf_level"],
        multivariable=BIOMARKERS["multivariable"],
        discrimination=BIOMARKERS["discrimination"],
    script:
        "../scripts/biomarker_discrimination.py"


rule biomarker_rechallenge:
    input:
        endpoints="results/endpoints/endpoints.parquet",
    output:
        response=report(
            "results/biomarkers/rechallenge_response.tsv",
            caption="../report/biomarker_rechallenge.rst",
            category="5. Biomarkers",
        ),
        pfs=report(
            "results/biomarkers/rechallenge_pfs.tsv",
            caption="../report/biomarker_rechallenge.rst",
            category="5. Biomarkers",
        ),
        km="results/biomarkers/rechallenge_km.tsv",
    log:
        "logs/biomarker_rechallenge.log",
    benchmark:
        "benchmarks/runs/biomarker_rechallenge.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("biomarker_rechallenge.py"),
        conf_level=BIOMARKERS["conf_level"],
        rechallenge=BIOMARKERS["rechallenge"],
    script:
        "../scripts/biomarker_rechallenge.py"


rule biomarker_figures:
    input:
        data="results/biomarkers/{population}/analysis_data.parquet",
        univariable="results/biomarkers/{population}/cox_univariable.tsv",
        markers="results/biomarkers/{population}/marker_tests.tsv",
        spline_tests="results/biomarkers/{population}/spline_tests.tsv",
        spline_curves="results/biomarkers/{population}/spline_curves.tsv",
        calibration="results/biomarkers/{population}/calibration.tsv",
        cif="results/biomarkers/{population}/cif_curves.tsv",
    output:
        forest=biomarker_figures("forest", "../report/biomarker_forest.rst"),
        km=biomarker_figures("km_top_markers", "../report/biomarker_km.rst"),
        splines=biomarker_figures("spline_hr", "../report/biomarker_spline_figure.rst"),
        calibration=biomarker_figures(
            "calibration", "../report/biomarker_calibration.rst"
        ),
        cif=biomarker_figures("cif_top_markers", "../report/biomarker_cif.rst"),
    log:
        "logs/biomarker_figures/{population}.log",
    benchmark:
        "benchmarks/runs/biomarker_figures/{population}.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("biomarker_figures.py"),
        **biomarker_population_params(),
        formats=BIOMARKER_FIG_FORMATS,
        dpi=BIOMARKERS.get("plots", {}).get("dpi", 150),
        km_top_k=BIOMARKERS.get("plots", {}).get("km_top_k", 4),
    script:
        "../scripts/biomarker_figures.py"

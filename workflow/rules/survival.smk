SURVIVAL_PARAMS = config["survival"]
KM_FIGURES = [
    "pfs_after_stop",
    "os_after_stop",
    "pfs_after_stop_by_stop_reason",
    "pfs_from_start",
    "os_from_start",
]


rule survival_km:
    input:
        endpoints="results/endpoints/endpoints.parquet",
    output:
        curves="results/survival/km_curves.tsv",
        landmarks=report(
            "results/survival/km_landmarks.tsv",
            caption="../report/survival_landmarks.rst",
            category="3. Survival after stopping",
        ),
        medians="results/survival/km_medians.tsv",
        risktable="results/survival/km_risktable.tsv",
        followup="results/survival/followup.tsv",
        notes="results/survival/km_notes.tsv",
        figures=report(
            expand(
                "results/figures/survival/km_{name}.{ext}",
                name=KM_FIGURES,
                ext=["png", "svg"],
            ),
            caption="../report/survival_km.rst",
            category="3. Survival after stopping",
        ),
    log:
        "logs/survival_km.log",
    benchmark:
        "benchmarks/runs/survival_km.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("survival_km.py"),
        landmarks=SURVIVAL_PARAMS["landmarks"],
        risk_table_times=SURVIVAL_PARAMS["risk_table_times"],
        conf_level=SURVIVAL_PARAMS["conf_level"],
        groupings_after_stop=SURVIVAL_PARAMS["groupings_after_stop"],
        groupings_from_start=SURVIVAL_PARAMS["groupings_from_start"],
        min_at_risk_frac=SURVIVAL_PARAMS["min_at_risk_frac"],
    script:
        "../scripts/survival_km.py"


rule survival_compare:
    input:
        endpoints="results/endpoints/endpoints.parquet",
    output:
        logrank=report(
            "results/survival/logrank.tsv",
            caption="../report/survival_logrank.rst",
            category="3. Survival after stopping",
        ),
        cox=report(
            "results/survival/cox.tsv",
            caption="../report/survival_cox.rst",
            category="3. Survival after stopping",
        ),
        ph_test="results/survival/ph_test.tsv",
        timesplit="results/survival/cox_timesplit.tsv",
        notes="results/survival/compare_notes.tsv",
    log:
        "logs/survival_compare.log",
    benchmark:
        "benchmarks/runs/survival_compare.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("survival_compare.py"),
        groupings_after_stop=SURVIVAL_PARAMS["groupings_after_stop"],
        groupings_from_start=SURVIVAL_PARAMS["groupings_from_start"],
        reference_levels=SURVIVAL_PARAMS["reference_levels"],
        strata=SURVIVAL_PARAMS["strata"],
        ph_alpha=SURVIVAL_PARAMS["ph_alpha"],
        timesplit_cuts=SURVIVAL_PARAMS["timesplit_cuts"],
        conf_level=SURVIVAL_PARAMS["conf_level"],
    script:
        "../scripts/survival_compare.py"


rule survival_rmst:
    input:
        endpoints="results/endpoints/endpoints.parquet",
    output:
        rmst="results/survival/rmst.tsv",
        rmst_diff="results/survival/rmst_diff.tsv",
        notes="results/survival/rmst_notes.tsv",
    log:
        "logs/survival_rmst.log",
    benchmark:
        "benchmarks/runs/survival_rmst.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("survival_rmst.py"),
        tau=SURVIVAL_PARAMS["rmst_tau"],
        groupings_after_stop=SURVIVAL_PARAMS["groupings_after_stop"],
        groupings_from_start=SURVIVAL_PARAMS["groupings_from_start"],
        reference_levels=SURVIVAL_PARAMS["reference_levels"],
        conf_level=SURVIVAL_PARAMS["conf_level"],
    script:
        "../scripts/survival_rmst.py"


rule survival_competing:
    input:
        endpoints="results/endpoints/endpoints.parquet",
    output:
        cif="results/survival/cif_curves.tsv",
        cif_landmarks=report(
            "results/survival/cif_landmarks.tsv",
            caption="../report/survival_cif.rst",
            category="3. Survival after stopping",
        ),
        cause_specific_cox="results/survival/cause_specific_cox.tsv",
        notes="results/survival/competing_notes.tsv",
        figures=expand(
            "results/figures/survival/cif_after_stop.{ext}", ext=["png", "svg"]
        ),
    log:
        "logs/survival_competing.log",
    benchmark:
        "benchmarks/runs/survival_competing.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("survival_competing.py"),
        landmarks=SURVIVAL_PARAMS["landmarks"],
        groupings_after_stop=SURVIVAL_PARAMS["groupings_after_stop"],
        reference_levels=SURVIVAL_PARAMS["reference_levels"],
        conf_level=SURVIVAL_PARAMS["conf_level"],
    script:
        "../scripts/survival_competing.py"


rule survival_hazard:
    input:
        endpoints="results/endpoints/endpoints.parquet",
    output:
        hazard=report(
            "results/survival/hazard_by_interval.tsv",
            caption="../report/survival_hazard.rst",
            category="3. Survival after stopping",
        ),
        notes="results/survival/hazard_notes.tsv",
        figures=expand(
            "results/figures/survival/hazard_after_stop.{ext}", ext=["png", "svg"]
        ),
    log:
        "logs/survival_hazard.log",
    benchmark:
        "benchmarks/runs/survival_hazard.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("survival_hazard.py"),
        breaks=SURVIVAL_PARAMS["hazard_breaks"],
        groupings=["stop_reason"],
        conf_level=SURVIVAL_PARAMS["conf_level"],
    script:
        "../scripts/survival_hazard.py"

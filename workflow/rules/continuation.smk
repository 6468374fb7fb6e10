# Question 2: does continuing ICI (vs stopping) prevent progression? Estimated without immortal-time
# bias: naive comparisons (shown as biased), landmark analyses, time-varying Cox and a
# clone-censor-weight target-trial emulation with a sharded bootstrap.
# Tables in results/continuation/{outcome}/, figures in results/continuation/figures/.


rule continuation_all:
    input:
        continuation_targets(),


rule continuation_protocol:
    output:
        table=report(
            "results/continuation/protocol.tsv",
            caption="../report/continuation_protocol.rst",
            category=CONT_CATEGORY,
        ),
    log:
        "logs/continuation_protocol.log",
    benchmark:
        "benchmarks/runs/continuation_protocol.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("continuation_protocol.py"),
        cfg=continuation_protocol_cfg(),
        ci_method=CONTINUATION["bootstrap"].get("ci_method", "transformed_wald"),
        arm_se=CONTINUATION["bootstrap"].get("arm_se"),
        outcomes=CONT_OUTCOMES,
    script:
        "../scripts/continuation_protocol.py"


rule continuation_naive:
    input:
        **CONT_INPUT,
    output:
        ever_stopped=report(
            "results/continuation/{outcome}/naive_ever_stopped.tsv",
            caption="../report/continuation_naive.rst",
            category=CONT_CATEGORY,
            subcategory="{outcome}",
        ),
        duration_groups="results/continuation/{outcome}/naive_duration_groups.tsv",
    log:
        "logs/continuation_naive_{outcome}.log",
    benchmark:
        "benchmarks/runs/continuation_naive_{outcome}.tsv"
    wildcard_constraints:
        outcome="pfs|os",
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("continuation_naive.py"),
        cfg=continuation_protocol_cfg(),
        naive=CONTINUATION["naive"],
    script:
        "../scripts/continuation_naive.py"


rule continuation_landmark:
    input:
        **CONT_INPUT,
    output:
        table=report(
            "results/continuation/{outcome}/landmark.tsv",
            caption="../report/continuation_landmark.rst",
            category=CONT_CATEGORY,
            subcategory="{outcome}",
        ),
        km="results/continuation/{outcome}/landmark_km.tsv",
        interaction=report(
            "results/continuation/{outcome}/landmark_interaction.tsv",
            caption="../report/continuation_interaction.rst",
            category=CONT_CATEGORY,
            subcategory="{outcome}",
        ),
        figures=[
            report(
                f"results/continuation/figures/{{outcome}}_landmark{L:g}_km.{fmt}",
                caption="../report/continuation_landmark_km.rst",
                category=CONT_CATEGORY,
                subcategory="{outcome}",
            )
            for L in CONT_LANDMARKS
            for fmt in CONT_FIG_FORMATS
        ],
    log:
        "logs/continuation_landmark_{outcome}.log",
    benchmark:
        "benchmarks/runs/continuation_landmark_{outcome}.tsv"
    wildcard_constraints:
        outcome="pfs|os",
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("continuation_landmark.py"),
        cfg=continuation_protocol_cfg(),
        landmarks=CONT_LANDMARKS,
        marker=CONTINUATION["interaction"]["marker"],
    script:
        "../scripts/continuation_landmark.py"


rule continuation_timevarying:
    input:
        **CONT_INPUT,
    output:
        table=report(
            "results/continuation/{outcome}/timevarying_cox.tsv",
            caption="../report/continuation_timevarying.rst",
            category=CONT_CATEGORY,
            subcategory="{outcome}",
        ),
    log:
        "logs/continuation_timevarying_{outcome}.log",
    benchmark:
        "benchmarks/runs/continuation_timevarying_{outcome}.tsv"
    wildcard_constraints:
        outcome="pfs|os",
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("continuation_timevarying.py"),
        cfg=continuation_protocol_cfg(),
        entry=CONTINUATION["timevarying"]["entry"],
    script:
        "../scripts/continuation_timevarying.py"


rule continuation_ccw:
    input:
        **CONT_INPUT,
    output:
        point="results/continuation/{outcome}/ccw_point.json",
        km="results/continuation/{outcome}/ccw_km.tsv",
        weights=report(
            "results/continuation/{outcome}/weight_diagnostics.tsv",
            caption="../report/continuation_weights.rst",
            category=CONT_CATEGORY,
            subcategory="{outcome}",
        ),
        censoring="results/continuation/{outcome}/artificial_censoring.tsv",
        km_figure=[
            report(
                f"results/continuation/figures/{{outcome}}_ccw_km.{fmt}",
                caption="../report/continuation_ccw_km.rst",
                category=CONT_CATEGORY,
                subcategory="{outcome}",
            )
            for fmt in CONT_FIG_FORMATS
        ],
        weight_figure=[
            report(
                f"results/continuation/figures/{{outcome}}_ccw_weights.{fmt}",
                caption="../report/continuation_weights.rst",
                category=CONT_CATEGORY,
                subcategory="{outcome}",
            )
            for fmt in CONT_FIG_FORMATS
        ],
    log:
        "logs/continuation_ccw_{outcome}.log",
    benchmark:
        "benchmarks/runs/continuation_ccw_{outcome}.tsv"
    wildcard_constraints:
        outcome="pfs|os",
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("continuation_ccw.py"),
        cfg=continuation_protocol_cfg(),
        marker=CONTINUATION["interaction"]["marker"],
        arm_se=CONTINUATION["bootstrap"].get("arm_se"),
    script:
        "../scripts/continuation_ccw.py"


rule continuation_bootstrap:
    input:
        **CONT_INPUT,
        point="results/continuation/{outcome}/ccw_point.json",
    output:
        shard=temp("results/continuation/{outcome}/bootstrap/shard_{shard}.tsv"),
    log:
        "logs/continuation_bootstrap_{outcome}_{shard}.log",
    benchmark:
        "benchmarks/runs/continuation_bootstrap_{outcome}_{shard}.tsv"
    wildcard_constraints:
        outcome="pfs|os",
        shard=r"\d+",
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("continuation_bootstrap.py"),
        cfg=continuation_protocol_cfg(),
        bootstrap=CONTINUATION["bootstrap"],
        marker=CONTINUATION["interaction"]["marker"],
    script:
        "../scripts/continuation_bootstrap.py"


rule continuation_gather:
    input:
        shards=expand(
            "results/continuation/{{outcome}}/bootstrap/shard_{shard}.tsv",
            shard=range(CONT_N_SHARDS),
        ),
        point="results/continuation/{outcome}/ccw_point.json",
        naive="results/continuation/{outcome}/naive_ever_stopped.tsv",
        landmark="results/continuation/{outcome}/landmark.tsv",
        timevarying="results/continuation/{outcome}/timevarying_cox.tsv",
    output:
        replicates="results/continuation/{outcome}/bootstrap_replicates.tsv",
        estimates=report(
            "results/continuation/{outcome}/ccw_estimates.tsv",
            caption="../report/continuation_ccw_estimates.rst",
            category=CONT_CATEGORY,
            subcategory="{outcome}",
        ),
        interaction=report(
            "results/continuation/{outcome}/interaction.tsv",
            caption="../report/continuation_interaction.rst",
            category=CONT_CATEGORY,
            subcategory="{outcome}",
        ),
        comparison=report(
            "results/continuation/{outcome}/comparison.tsv",
            caption="../report/continuation_comparison.rst",
            category=CONT_CATEGORY,
            subcategory="{outcome}",
        ),
    log:
        "logs/continuation_gather_{outcome}.log",
    benchmark:
        "benchmarks/runs/continuation_gather_{outcome}.tsv"
    wildcard_constraints:
        outcome="pfs|os",
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("continuation_gather.py", "continuation_bootstrap.py"),
        marker=CONTINUATION["interaction"]["marker"],
        horizons=CONTINUATION["protocol"]["horizons"],
        bootstrap=CONTINUATION["bootstrap"],
        estimability=CONTINUATION.get("estimability", {}),
    script:
        "../scripts/continuation_gather.py"

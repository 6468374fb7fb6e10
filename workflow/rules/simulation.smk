# Simulation study (benchmark, not CI): naive, landmark and clone-censor-weight estimators of the
# effect of continuing vs stopping ICI against the generator's counterfactual truth, for PFS and OS,
# every estimand of the report and each interval method (report code path: estimates_table).
# Target: `snakemake simulation_study --cores 2` -> results/simulation/summary.tsv (+ table, figure).
# Replicates are split into chunks (jobs); every replicate has its own seed, so the result does
# not depend on the number of chunks or cores. See benchmarks/simulation_study.md.


rule simulation_study:
    input:
        summary="results/simulation/summary.tsv",
        table="results/simulation/summary_table.md",
        figure=expand(
            "results/simulation/simulation_performance.{fmt}", fmt=["png", "svg"]
        ),


rule simulation_truth:
    output:
        truth="results/simulation/truth/{scenario}.json",
    log:
        "logs/simulation_truth_{scenario}.log",
    benchmark:
        "benchmarks/runs/simulation_truth_{scenario}.tsv"
    wildcard_constraints:
        scenario="|".join(SIM_SCENARIOS),
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("simulation_truth.py"),
        scenario=lambda wc: SIM_SCENARIOS[wc.scenario][1],
        scenario_index=lambda wc: SIM_SCENARIOS[wc.scenario][0],
        cfg=continuation_protocol_cfg(),
        truth_n=SIMULATION["truth_n"],
        seed=SIMULATION["seed"],
    script:
        "../scripts/simulation_truth.py"


rule simulation_chunk:
    output:
        table="results/simulation/chunks/{scenario}/chunk_{chunk}.tsv",
    log:
        "logs/simulation_chunk_{scenario}_{chunk}.log",
    benchmark:
        "benchmarks/runs/simulation_chunk_{scenario}_{chunk}.tsv"
    wildcard_constraints:
        scenario="|".join(SIM_SCENARIOS),
        chunk=r"\d+",
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("simulation_chunk.py"),
        scenario=lambda wc: SIM_SCENARIOS[wc.scenario][1],
        scenario_index=lambda wc: SIM_SCENARIOS[wc.scenario][0],
        cfg=continuation_protocol_cfg(),
        n_replicates=SIMULATION["n_replicates"],
        n_chunks=SIMULATION["n_chunks"],
        n_patients=SIMULATION["n_patients"],
        n_boot=SIMULATION["n_boot"],
        seed=SIMULATION["seed"],
        naive_threshold_days=config["continuation"]["naive"]["stop_threshold_days"],
        estimability=CONTINUATION.get("estimability", {}),
        arm_se=CONTINUATION["bootstrap"].get("arm_se"),
    script:
        "../scripts/simulation_chunk.py"


rule simulation_summary:
    input:
        chunks=expand(
            "results/simulation/chunks/{scenario}/chunk_{chunk}.tsv",
            scenario=list(SIM_SCENARIOS),
            chunk=range(SIM_N_CHUNKS),
        ),
        truths=expand(
            "results/simulation/truth/{scenario}.json", scenario=list(SIM_SCENARIOS)
        ),
    output:
        summary="results/simulation/summary.tsv",
        table="results/simulation/summary_table.md",
        replicates="results/simulation/replicates.tsv",
        figure=expand(
            "results/simulation/simulation_performance.{fmt}", fmt=["png", "svg"]
        ),
    log:
        "logs/simulation_summary.log",
    benchmark:
        "benchmarks/runs/simulation_summary.tsv"
    conda:
        "../envs/icistop.yaml"
    params:
        **code_version("simulation_summary.py"),
        scenarios=list(SIM_SCENARIOS),
    script:
        "../scripts/simulation_summary.py"

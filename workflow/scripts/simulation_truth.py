"""Snakemake entry point: counterfactual truth of one simulation scenario (rule simulation_truth)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

from icistop.continuation.protocol import protocol_from_config  # noqa: E402
from icistop.continuation.simstudy import scenario_truth  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import write_json  # noqa: E402


def main(smk):
    p = protocol_from_config(smk.params.cfg)
    seed = int(smk.params.seed) + int(smk.params.scenario_index)
    truth = scenario_truth(smk.params.scenario, p, smk.params.truth_n, seed)
    write_json(truth, smk.output.truth)


run_step(snakemake, main)  # noqa: F821

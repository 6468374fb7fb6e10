"""Snakemake entry point: one chunk of simulation replicates (rule simulation_chunk)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

from icistop import DAYS_PER_MONTH  # noqa: E402
from icistop.continuation.estimability import rules_from_config  # noqa: E402
from icistop.continuation.protocol import protocol_from_config  # noqa: E402
from icistop.continuation.simstudy import chunk_replicates, run_chunk  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import write_tsv  # noqa: E402


def main(smk):
    prm = smk.params
    p = protocol_from_config(prm.cfg)
    reps = chunk_replicates(int(prm.n_replicates), int(prm.n_chunks), int(smk.wildcards.chunk))
    df = run_chunk(prm.scenario, int(prm.scenario_index), reps, p, int(prm.n_patients), int(prm.n_boot),
                   int(prm.seed), float(prm.naive_threshold_days) / DAYS_PER_MONTH,
                   rules=rules_from_config(dict(prm.estimability)), arm_se=prm.arm_se)
    write_tsv(df, smk.output.table)


run_step(snakemake, main)  # noqa: F821

"""Snakemake entry point: target-trial protocol table (rule continuation_protocol)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

from icistop.continuation.protocol import protocol_from_config, protocol_table  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import write_tsv  # noqa: E402


def main(smk):
    p = protocol_from_config(smk.params.cfg)
    write_tsv(protocol_table(p, smk.params.ci_method, smk.params.arm_se, smk.params.outcomes), smk.output.table)


run_step(snakemake, main)  # noqa: F821

"""Snakemake entry point: one shard of bootstrap replicates of the CCW analysis (rule continuation_bootstrap)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

from icistop.continuation.bootstrap import run_shard  # noqa: E402
from icistop.continuation.pipeline import outcome_inputs  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import write_tsv  # noqa: E402


def main(smk):
    _, panel, _, p = outcome_inputs(smk)
    b = smk.params.bootstrap
    df = run_shard(panel, p, int(b["n_boot"]), int(b["n_shards"]), int(smk.wildcards.shard), int(b["seed"]),
                   marker=smk.params.marker)
    write_tsv(df, smk.output.shard, float_format="%.17g")


run_step(snakemake, main)  # noqa: F821

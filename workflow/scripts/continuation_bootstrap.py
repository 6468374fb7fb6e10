"""Snakemake entry point: one shard of bootstrap replicates of the CCW analysis (rule continuation_bootstrap).
Writes no replicates when the emulated trial is above ``analytic_above_n`` (analytic SEs instead)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import logging  # noqa: E402

import pandas as pd  # noqa: E402

from icistop.continuation.bootstrap import analytic_variance, run_shard  # noqa: E402
from icistop.continuation.pipeline import outcome_inputs  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import read_json, write_tsv  # noqa: E402


def main(smk):
    b = smk.params.bootstrap
    n_eligible = read_json(smk.input.point)["estimates"].get("n_eligible")
    if analytic_variance(n_eligible, b.get("analytic_above_n")):
        logging.getLogger("bootstrap").info("%s eligible > analytic_above_n = %s: no replicates (analytic SEs)",
                                            n_eligible, b.get("analytic_above_n"))
        write_tsv(pd.DataFrame({"replicate": pd.Series(dtype=int)}), smk.output.shard)
        return
    _, panel, _, p = outcome_inputs(smk)
    df = run_shard(panel, p, int(b["n_boot"]), int(b["n_shards"]), int(smk.wildcards.shard), int(b["seed"]),
                   marker=smk.params.marker)
    write_tsv(df, smk.output.shard, float_format="%.17g")


run_step(snakemake, main)  # noqa: F821

"""Snakemake entry point: performance measures of the simulation study (rule simulation_summary)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from icistop.continuation.plots import simulation_figure  # noqa: E402
from icistop.continuation.simsummary import markdown_table, summarise  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import read_json, write_tsv  # noqa: E402


def main(smk):
    res = pd.concat([pd.read_csv(f, sep="\t") for f in smk.input.chunks], ignore_index=True)
    res = res.sort_values(["scenario", "replicate", "outcome", "estimator", "method", "estimand"],
                          kind="mergesort").reset_index(drop=True)
    truths = {Path(f).stem: read_json(f) for f in smk.input.truths}
    summary = summarise(res, truths, order=list(smk.params.scenarios))
    write_tsv(res, smk.output.replicates)
    write_tsv(summary, smk.output.summary, float_format="%.6g")
    Path(smk.output.table).write_text(markdown_table(summary) + "\n", encoding="utf-8")
    simulation_figure(summary, list(smk.output.figure))


run_step(snakemake, main)  # noqa: F821

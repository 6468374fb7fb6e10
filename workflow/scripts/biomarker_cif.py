"""Snakemake entry point: cumulative incidence of progression by level of the top markers (rule biomarker_cif)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import logging  # noqa: E402

import pandas as pd  # noqa: E402

from icistop.biomarkers.competing import competing_risks
from icistop.biomarkers.populations import params_config  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import write_tsv  # noqa: E402


def main(smk):
    logging.captureWarnings(True)
    cfg = params_config(smk.params)
    data = pd.read_parquet(smk.input.data)
    markers = pd.read_csv(smk.input.markers, sep="\t")
    curves, summary = competing_risks(data, cfg, markers)
    write_tsv(curves, smk.output.curves)
    write_tsv(summary, smk.output.summary)


run_step(snakemake, main)  # noqa: F821

"""Snakemake entry point: recurrence by a fixed horizon vs each marker, Fisher exact (rule biomarker_horizon)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import logging  # noqa: E402

import pandas as pd  # noqa: E402

from icistop.biomarkers.horizon import horizon_fisher
from icistop.biomarkers.populations import params_config  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import write_tsv  # noqa: E402


def main(smk):
    logging.captureWarnings(True)
    cfg = params_config(smk.params)
    data = pd.read_parquet(smk.input.data)
    write_tsv(horizon_fisher(data, cfg), smk.output.table)


run_step(snakemake, main)  # noqa: F821

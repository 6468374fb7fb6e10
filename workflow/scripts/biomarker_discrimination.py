"""Snakemake entry point: C-index, time-dependent AUC (bootstrap optimism) and calibration (rule biomarker_discrimination)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import logging  # noqa: E402

import pandas as pd  # noqa: E402

from icistop.biomarkers.discrimination import discrimination_analysis
from icistop.biomarkers.populations import params_config  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import write_tsv  # noqa: E402


def main(smk):
    logging.captureWarnings(True)
    cfg = params_config(smk.params)
    data = pd.read_parquet(smk.input.data)
    metrics, calibration = discrimination_analysis(data, cfg)
    write_tsv(metrics, smk.output.metrics)
    write_tsv(calibration, smk.output.calibration)


run_step(snakemake, main)  # noqa: F821

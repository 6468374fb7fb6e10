"""Snakemake entry point: univariable and multivariable Cox models, splines and cut-points (rule biomarker_cox)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import logging  # noqa: E402

import pandas as pd  # noqa: E402

from icistop.biomarkers.cox import cox_tables  # noqa: E402
from icistop.biomarkers.populations import params_config  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import write_tables  # noqa: E402


def main(smk):
    logging.captureWarnings(True)
    cfg = params_config(smk.params)
    data = pd.read_parquet(smk.input.data)
    write_tables(smk.output, cox_tables(data, cfg))


run_step(snakemake, main)  # noqa: F821

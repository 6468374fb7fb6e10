"""Snakemake entry point: response and PFS of re-challenge after progression off ICI (rule biomarker_rechallenge)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import logging  # noqa: E402

import pandas as pd  # noqa: E402

from icistop.biomarkers.populations import params_config
from icistop.biomarkers.rechallenge import rechallenge_analysis  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import write_tsv  # noqa: E402


def main(smk):
    logging.captureWarnings(True)
    cfg = params_config(smk.params)
    endpoints = pd.read_parquet(smk.input.endpoints)
    response, pfs, km = rechallenge_analysis(endpoints, cfg)
    write_tsv(response, smk.output.response)
    write_tsv(pfs, smk.output.pfs)
    write_tsv(km, smk.output.km)


run_step(snakemake, main)  # noqa: F821

"""Snakemake entry point: stop-cohort analysis data with cleaned marker columns (rule biomarker_prepare)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import logging  # noqa: E402

import pandas as pd  # noqa: E402

from icistop.biomarkers.markers import prepare_analysis_data  # noqa: E402
from icistop.biomarkers.populations import params_config  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import write_tsv  # noqa: E402


def main(smk):
    logging.captureWarnings(True)
    cfg = params_config(smk.params)
    endpoints = pd.read_parquet(smk.input.endpoints)
    ctdna_paths = list(smk.input.get("ctdna", []) or [])
    ctdna = pd.read_parquet(ctdna_paths[0]) if ctdna_paths else None
    data, inventory = prepare_analysis_data(endpoints, ctdna, cfg)
    logging.info("stop cohort: %d patients, %d events", len(data), int(data["event"].sum()))
    data.to_parquet(smk.output.data, index=False)
    write_tsv(inventory, smk.output.inventory)


run_step(snakemake, main)  # noqa: F821

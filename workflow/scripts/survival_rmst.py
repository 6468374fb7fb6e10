"""Snakemake entry point: restricted mean survival time (rule survival_rmst)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import pandas as pd  # noqa: E402

from icistop.runner import run_step  # noqa: E402
from icistop.survival.analysis import notes_frame, rmst_analyses  # noqa: E402
from icistop.data.tableio import write_tables  # noqa: E402


def main(smk):
    p = smk.params
    endpoints = pd.read_parquet(smk.input.endpoints)
    tables, notes = rmst_analyses(endpoints, p.tau, p.groupings_after_stop, p.groupings_from_start,
                                  dict(p.reference_levels), conf_level=p.conf_level)
    write_tables(smk.output, {**tables, "notes": notes_frame(notes)})


run_step(snakemake, main)  # noqa: F821

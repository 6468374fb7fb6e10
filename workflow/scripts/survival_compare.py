"""Snakemake entry point: log-rank, Cox and PH checks by group (rule survival_compare)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import pandas as pd  # noqa: E402

from icistop.runner import run_step  # noqa: E402
from icistop.survival.analysis import compare_groups, notes_frame  # noqa: E402
from icistop.data.tableio import write_tables  # noqa: E402


def main(smk):
    p = smk.params
    endpoints = pd.read_parquet(smk.input.endpoints)
    tables, notes = compare_groups(endpoints, p.groupings_after_stop, p.groupings_from_start, dict(p.reference_levels),
                                   list(p.strata), p.ph_alpha, p.timesplit_cuts, conf_level=p.conf_level)
    write_tables(smk.output, {**tables, "notes": notes_frame(notes)})


run_step(snakemake, main)  # noqa: F821

"""Snakemake entry point: pooled horizon tables, Fisher and site-stratified Mantel-Haenszel (rule pool_horizon)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

from icistop.data.tableio import write_tables  # noqa: E402
from icistop.multicentre.pool import pooled_horizon, read_packages  # noqa: E402
from icistop.runner import run_step  # noqa: E402


def main(smk):
    write_tables(smk.output, {"horizon": pooled_horizon(read_packages(smk.input.packages), smk.params.conf_level)})


run_step(snakemake, main)  # noqa: F821

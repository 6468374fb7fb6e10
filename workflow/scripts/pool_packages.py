"""Snakemake entry point: read and check the site packages to pool (rule pool_packages)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

from icistop.data.tableio import write_tables  # noqa: E402
from icistop.multicentre.pool import packages_table, read_packages  # noqa: E402
from icistop.runner import run_step  # noqa: E402


def main(smk):
    write_tables(smk.output, {"packages": packages_table(read_packages(smk.input.packages))})


run_step(snakemake, main)  # noqa: F821

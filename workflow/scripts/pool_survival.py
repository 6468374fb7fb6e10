"""Snakemake entry point: pooled Kaplan-Meier, log-rank, Cox and site heterogeneity (rule pool_survival)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

from icistop.data.tableio import write_tables  # noqa: E402
from icistop.multicentre.pool import pooled_survival, read_packages  # noqa: E402
from icistop.runner import run_step  # noqa: E402


def main(smk):
    write_tables(smk.output, pooled_survival(read_packages(smk.input.packages)))


run_step(snakemake, main)  # noqa: F821

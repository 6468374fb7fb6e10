"""Snakemake entry point: meta-analysis of the sites' continuation estimates (rule pool_meta)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

from icistop.data.tableio import write_tables  # noqa: E402
from icistop.multicentre.pool import continuation_meta, read_packages  # noqa: E402
from icistop.runner import run_step  # noqa: E402


def main(smk):
    p = smk.params
    meta, sites = continuation_meta(read_packages(smk.input.packages), p.method, p.hartung_knapp)
    write_tables(smk.output, {"meta": meta, "sites": sites})


run_step(snakemake, main)  # noqa: F821

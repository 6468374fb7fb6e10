"""Snakemake entry point: analysis cohorts and attrition (rule define_cohort)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

from icistop.cohort.cohorts import cohort_flow, resolve_cutoff  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import read_validated, write_json, write_tsv  # noqa: E402


def main(smk):
    tables = read_validated(smk.input.tables)
    cutoff = resolve_cutoff(tables, smk.params.data_cutoff)
    cohorts, attrition, reasons = cohort_flow(tables, dict(smk.params.criteria), cutoff)
    cohorts.to_parquet(smk.output.cohorts, index=False)
    write_tsv(attrition, smk.output.attrition)
    write_tsv(reasons, smk.output.reasons)
    write_json(
        {"data_cutoff": cutoff.strftime("%Y-%m-%d"), "configured": smk.params.data_cutoff is not None},
        smk.output.cutoff,
    )


run_step(snakemake, main)  # noqa: F821

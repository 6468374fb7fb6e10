"""Snakemake entry point: per-patient endpoints (rule derive_endpoints)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import pandas as pd  # noqa: E402

from icistop.cohort.endpoints import derive_endpoints  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import read_json, read_validated, write_tsv  # noqa: E402


def main(smk):
    tables = read_validated(smk.input.tables)
    cohorts = pd.read_parquet(smk.input.cohorts)
    cutoff = pd.Timestamp(read_json(smk.input.cutoff)["data_cutoff"])
    result = derive_endpoints(
        tables,
        cohorts,
        cutoff,
        pfs_censor_at=smk.params.pfs_censor_at,
        time_on_ici_breaks=smk.params.time_on_ici_breaks,
        extra_columns=list(smk.params.extra_columns),
        derived=list(smk.params.derived),
    )
    result["endpoints"].to_parquet(smk.output.endpoints, index=False)
    result["assessments"].to_parquet(smk.output.assessments, index=False)
    ctdna = result.get("ctdna", pd.DataFrame(columns=["patient_id", "time", "result"]))
    ctdna.to_parquet(smk.output.ctdna, index=False)
    write_tsv(result["derived"], smk.output.derived)


run_step(snakemake, main)  # noqa: F821

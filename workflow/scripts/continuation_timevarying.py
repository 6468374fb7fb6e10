"""Snakemake entry point: time-varying Cox model on/off ICI (rule continuation_timevarying)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

from icistop.continuation.pipeline import outcome_inputs, with_reason  # noqa: E402
from icistop.continuation.timevarying import timevarying_cox  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import write_tsv  # noqa: E402


def main(smk):
    outcome, panel, unavailable, p = outcome_inputs(smk)
    tab, _ = timevarying_cox(panel, p, entry=float(smk.params.entry))
    tab.insert(0, "outcome", outcome)
    write_tsv(with_reason(tab, unavailable, rows=tab["term"] == "on_ici"), smk.output.table)


run_step(snakemake, main)  # noqa: F821

"""Snakemake entry point: naive (immortal-time-biased) comparisons (rule continuation_naive)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import pandas as pd  # noqa: E402

from icistop import DAYS_PER_MONTH  # noqa: E402
from icistop.continuation.naive import fixed_duration_groups, naive_ever_stopped  # noqa: E402
from icistop.continuation.pipeline import outcome_inputs, scalars, with_reason  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import write_tsv  # noqa: E402


def main(smk):
    outcome, panel, unavailable, p = outcome_inputs(smk)
    naive = smk.params.naive
    threshold = float(naive["stop_threshold_days"]) / DAYS_PER_MONTH
    res = scalars(naive_ever_stopped(panel, p, threshold, naive.get("comparator", "all_others")))
    res["threshold_months"] = threshold
    res["outcome"] = outcome
    write_tsv(with_reason(pd.DataFrame([res]), unavailable), smk.output.ever_stopped)
    groups = fixed_duration_groups(panel, p, naive.get("duration_breaks", [12, 24]))
    write_tsv(with_reason(groups, unavailable), smk.output.duration_groups)


run_step(snakemake, main)  # noqa: F821

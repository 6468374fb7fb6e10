"""Snakemake entry point: naive (immortal-time-biased) comparisons (rule continuation_naive)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import pandas as pd  # noqa: E402

from icistop import DAYS_PER_MONTH  # noqa: E402
from icistop.continuation.naive import fixed_duration_groups, naive_ever_stopped  # noqa: E402
from icistop.continuation.pipeline import load_panel, protocol_for, scalars  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.tableio import write_tsv  # noqa: E402


def main(smk):
    outcome = smk.wildcards.outcome
    panel = load_panel(smk.input.endpoints, smk.input.assessments, outcome)
    p = protocol_for(smk.params.cfg, outcome)
    naive = smk.params.naive
    threshold = float(naive["stop_threshold_days"]) / DAYS_PER_MONTH
    res = scalars(naive_ever_stopped(panel, p, threshold, naive.get("comparator", "all_others")))
    res["threshold_months"] = threshold
    res["outcome"] = outcome
    write_tsv(pd.DataFrame([res]), smk.output.ever_stopped)
    write_tsv(fixed_duration_groups(panel, p, naive.get("duration_breaks", [12, 24])), smk.output.duration_groups)


run_step(snakemake, main)  # noqa: F821

"""Snakemake entry point: gather bootstrap shards into CIs, interaction and comparison tables
(rule continuation_gather)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import pandas as pd  # noqa: E402

from icistop.continuation.tables import comparison_table, estimates_table, interaction_table  # noqa: E402
from icistop.continuation.bootstrap import gather  # noqa: E402
from icistop.continuation.estimability import rules_from_config  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.stats.intervals import arm_se_for  # noqa: E402
from icistop.data.tableio import read_json, write_tsv  # noqa: E402


def main(smk):
    boot = gather([pd.read_csv(f, sep="\t") for f in smk.input.shards])
    write_tsv(boot, smk.output.replicates, float_format="%.17g")
    point_file = read_json(smk.input.point)
    point = point_file["estimates"]
    rules = rules_from_config(smk.params.estimability)
    ci_method = smk.params.bootstrap.get("ci_method", "transformed_wald")
    est = estimates_table(point, boot, ci_method, rules, tau=float(point_file["protocol"]["tau"]),
                          arm_se=arm_se_for(smk.params.bootstrap.get("arm_se"), smk.wildcards.outcome))
    write_tsv(est, smk.output.estimates)
    write_tsv(interaction_table(point, boot, smk.params.marker, rules), smk.output.interaction)
    naive = pd.read_csv(smk.input.naive, sep="\t")
    landmark = pd.read_csv(smk.input.landmark, sep="\t")
    tv = pd.read_csv(smk.input.timevarying, sep="\t")
    write_tsv(comparison_table(est, naive, landmark, tv, smk.params.horizons, smk.wildcards.outcome, rules),
              smk.output.comparison)


run_step(snakemake, main)  # noqa: F821

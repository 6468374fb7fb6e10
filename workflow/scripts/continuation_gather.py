"""Snakemake entry point: gather bootstrap shards into CIs, interaction and comparison tables
(rule continuation_gather)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import pandas as pd  # noqa: E402

from icistop.continuation.tables import comparison_table, estimates_table, interaction_table  # noqa: E402
from icistop.continuation.bootstrap import analytic_variance, gather  # noqa: E402
from icistop.continuation.estimability import rules_from_config  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.stats.intervals import analytic_arm_se_for, arm_se_for  # noqa: E402
from icistop.data.tableio import read_json, write_tsv  # noqa: E402


def main(smk):
    boot = gather([pd.read_csv(f, sep="\t") for f in smk.input.shards])
    write_tsv(boot, smk.output.replicates, float_format="%.17g")
    point_file = read_json(smk.input.point)
    point = point_file["estimates"]
    rules = rules_from_config(smk.params.estimability)
    b, outcome = smk.params.bootstrap, smk.wildcards.outcome
    analytic = analytic_variance(point.get("n_eligible"), b.get("analytic_above_n"))
    est = estimates_table(point, boot, b.get("ci_method", "transformed_wald"), rules,
                          tau=float(point_file["protocol"]["tau"]), arm_se=arm_se_for(b.get("arm_se"), outcome),
                          analytic_arm_se=analytic_arm_se_for(b.get("analytic_arm_se"), outcome) if analytic else None)
    write_tsv(est, smk.output.estimates)
    write_tsv(interaction_table(point, boot, smk.params.marker, rules, analytic=analytic), smk.output.interaction)
    naive = pd.read_csv(smk.input.naive, sep="\t")
    landmark = pd.read_csv(smk.input.landmark, sep="\t")
    tv = pd.read_csv(smk.input.timevarying, sep="\t")
    write_tsv(comparison_table(est, naive, landmark, tv, smk.params.horizons, smk.wildcards.outcome, rules),
              smk.output.comparison)


run_step(snakemake, main)  # noqa: F821

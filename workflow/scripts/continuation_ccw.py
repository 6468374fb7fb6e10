"""Snakemake entry point: clone-censor-weight point estimates, KM, weight diagnostics (rule continuation_ccw)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import logging  # noqa: E402

from icistop.continuation.bootstrap import ccw_point  # noqa: E402
from icistop.continuation.ccw import km_table, run_ccw, weight_diagnostics  # noqa: E402
from icistop.continuation.pipeline import outcome_inputs, scalars  # noqa: E402
from icistop.continuation.plots import km_figure, weight_figure  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.stats.intervals import arm_se_for  # noqa: E402
from icistop.data.tableio import write_json, write_tsv  # noqa: E402


def main(smk):
    outcome, panel, unavailable, p = outcome_inputs(smk)
    res = run_ccw(panel, p, se=True)
    point = ccw_point(panel, p, marker=smk.params.marker, se=True, prepared=res)
    point["unavailable"] = unavailable
    logging.getLogger("ccw").info("eligible %d, loghr %.4f", res["n_eligible"], res["loghr"])
    write_json({"outcome": outcome, "protocol": p.as_dict(), "estimates": scalars(point),
                "se_note": "se_* are influence-function / robust sandwich SEs treating the weights as known; "
                           "the reported CIs are bootstrap (ccw_estimates.tsv)"}, smk.output.point)
    km = km_table(res, p, arm_se=arm_se_for(smk.params.arm_se, outcome))
    write_tsv(km, smk.output.km)
    write_tsv(weight_diagnostics(res["_clones"], p), smk.output.weights)
    write_tsv(res["_clones"]["censored"], smk.output.censoring)
    km_figure(km, list(smk.output.km_figure), f"Clone-censor-weight emulation: weighted {outcome.upper()} per strategy",
              ylabel=outcome.upper(), band_note=f"pointwise 95% CI ({km['se_method'].iloc[0] if len(km) else ''}; log-log)",
              empty_note=unavailable or "nobody eligible at time zero")
    weight_figure(res["_clones"]["rows"], list(smk.output.weight_figure))


run_step(snakemake, main)  # noqa: F821

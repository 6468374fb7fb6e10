"""Snakemake entry point: landmark analyses on vs off ICI (rule continuation_landmark)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import pandas as pd  # noqa: E402

from icistop.continuation.landmark import landmark_interaction, landmark_km, landmark_table  # noqa: E402
from icistop.continuation.pipeline import outcome_inputs, with_reason  # noqa: E402
from icistop.continuation.plots import km_figure  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import write_tsv  # noqa: E402


def main(smk):
    outcome, panel, unavailable, p = outcome_inputs(smk)
    landmarks = [float(x) for x in smk.params.landmarks]
    write_tsv(with_reason(landmark_table(panel, landmarks, p), unavailable), smk.output.table)
    marker = smk.params.marker
    inter = [landmark_interaction(panel, L, p, marker) for L in landmarks] if marker else []
    write_tsv(pd.concat(inter, ignore_index=True) if inter else pd.DataFrame(), smk.output.interaction)
    curves = [landmark_km(panel, L, p) for L in landmarks]
    allc = pd.concat(curves, ignore_index=True)
    write_tsv(allc, smk.output.km)
    figs = list(smk.output.figures)
    for L, c in zip(landmarks, curves):
        mine = [f for f in figs if f"landmark{L:g}_" in f]
        km_figure(c, mine, f"Landmark {L:g} months: {outcome.upper()} by ICI status at the landmark",
                  group_col="group", xlabel="Months since landmark", ylabel=outcome.upper(),
                  band_note="pointwise 95% CI (log-log)", empty_note=unavailable or "nobody in the landmark population")


run_step(snakemake, main)  # noqa: F821

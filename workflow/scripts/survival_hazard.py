"""Snakemake entry point: piecewise-constant hazard after stopping (rule survival_hazard)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from icistop.plots.common import message_figure  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.survival.analysis import OVERALL, hazard_by_interval, notes_frame  # noqa: E402
from icistop.plots.survival import plot_piecewise_hazard, save_figure  # noqa: E402
from icistop.data.tableio import write_tsv  # noqa: E402


def main(smk):
    p = smk.params
    figure_dir = Path(smk.output.figures[0]).parent
    endpoints = pd.read_parquet(smk.input.endpoints)
    table, notes = hazard_by_interval(endpoints, p.breaks, list(p.groupings), conf_level=p.conf_level)
    write_tsv(table, smk.output.hazard)
    write_tsv(notes_frame(notes), smk.output.notes)
    if table.empty:
        fig = message_figure("Hazard after stopping: no patients in the cohort")
    else:
        overall = table[table["grouping"] == OVERALL].drop(columns=["endpoint", "grouping"])
        fig = plot_piecewise_hazard(overall, xlabel="Months since stopping ICI",
                                    title="Hazard of progression or death after stopping ICI")
    save_figure(fig, f"{figure_dir}/hazard_after_stop")


run_step(snakemake, main)  # noqa: F821

"""Snakemake entry point: competing risks after stopping (rule survival_competing)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from icistop.plots.common import message_figure  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.survival.analysis import ENDPOINTS, competing_risks, endpoint_data, notes_frame  # noqa: E402
from icistop.plots.survival import plot_cif, save_figure  # noqa: E402
from icistop.data.tableio import write_tables  # noqa: E402


def main(smk):
    p = smk.params
    figure_dir = Path(smk.output.figures[0]).parent
    endpoints = pd.read_parquet(smk.input.endpoints)
    tables, notes = competing_risks(endpoints, p.landmarks, p.groupings_after_stop, dict(p.reference_levels),
                                    conf_level=p.conf_level)
    write_tables(smk.output, {**tables, "notes": notes_frame(notes)})
    data = endpoint_data(endpoints, ENDPOINTS["pfs_after_stop"])
    if data.empty:
        fig = message_figure("Competing risks after stopping: no patients in the cohort")
    else:
        fig = plot_cif(data, "time", "cause", causes=[1, 2],
                       cause_labels={1: "Progression", 2: "Death without progression"},
                       xlabel="Months since stopping ICI", title="Cumulative incidence after stopping ICI")
    save_figure(fig, f"{figure_dir}/cif_after_stop")


run_step(snakemake, main)  # noqa: F821

"""Snakemake entry point: Kaplan-Meier tables and figures (rule survival_km)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from icistop.plots.common import message_figure  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.survival.analysis import ENDPOINTS, endpoint_data, finite_or_nan, km_analyses, notes_frame, unavailable_reason, usable_groups  # noqa: E402
from icistop.plots.survival import plot_km, save_figure  # noqa: E402
from icistop.data.tableio import write_tables  # noqa: E402

FIGURES = {  # figure name -> (endpoint, grouping)
    "pfs_after_stop": ("pfs_after_stop", None),
    "os_after_stop": ("os_after_stop", None),
    "pfs_after_stop_by_stop_reason": ("pfs_after_stop", "stop_reason"),
    "pfs_from_start": ("pfs_from_start", None),
    "os_from_start": ("os_from_start", None),
}


def main(smk):
    p = smk.params
    figure_dir = Path(smk.output.figures[0]).parent
    endpoints = pd.read_parquet(smk.input.endpoints)
    tables, notes = km_analyses(endpoints, p.landmarks, p.risk_table_times, p.groupings_after_stop,
                                p.groupings_from_start, conf_level=p.conf_level)
    write_tables(smk.output, {**{k: finite_or_nan(v) for k, v in tables.items()}, "notes": notes_frame(notes)})
    for name, (endpoint_name, grouping) in FIGURES.items():
        endpoint = ENDPOINTS[endpoint_name]
        data = endpoint_data(endpoints, endpoint)
        if grouping and not data.empty:
            data = usable_groups(data, grouping)
        if data.empty:
            fig = message_figure(f"{endpoint.label}: {unavailable_reason(endpoints, endpoint) or 'no data'}")
        else:
            fig = plot_km(data, "time", "event", group=grouping, risk_times=p.risk_table_times,
                          min_at_risk_frac=p.min_at_risk_frac, title=endpoint.label, xmax=max(p.risk_table_times),
                          ylabel="Progression-free survival" if "pfs" in endpoint_name else "Overall survival",
                          xlabel="Months since stopping ICI" if endpoint.origin == "stop" else "Months since ICI start")
        save_figure(fig, f"{figure_dir}/km_{name}")


run_step(snakemake, main)  # noqa: F821

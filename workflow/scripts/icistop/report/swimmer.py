"""Swimmer plot: each stop-cohort patient's course, in months from the start of the first ICI course.

Per patient (one anonymous row number, no identifier): a bar for the time on ICI coloured by stop
reason, a thin line from the stop to the end of follow-up (death or last contact), markers for
tumour assessments (CR, PR, SD), the first progression, death, a re-challenge start, and an arrow
for patients alive at the end of follow-up. Rows are sorted by time on ICI, then follow-up.
Sources: ``endpoints.parquet`` (time_on_ici, stop_reason, progression_time, death_time, os_time,
os_event, rechallenge_start_time) and ``assessments.parquet`` (time, response).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from icistop.report.figures import PALETTE
from icistop.report.format import label

RESPONSE_MARKERS = {"CR": ("o", "#1a9850"), "PR": ("o", "#91cf60"), "SD": ("o", "#bdbdbd")}


def swimmer_data(endpoints: pd.DataFrame, assessments: pd.DataFrame,
                 cohort_column: str = "in_stop_cohort") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of the plot (row, time_on_ici, stop_reason, end, alive, progression, death, rechallenge)
    and the assessment markers (row, time, response); patient_id is dropped after the join."""
    ep = endpoints[endpoints[cohort_column].astype(bool)] if cohort_column in endpoints else endpoints
    ep = ep.copy()
    ep["end"] = ep["os_time"].astype(float)
    ep = ep.sort_values(["time_on_ici", "end"], ascending=[False, False], kind="mergesort").reset_index(drop=True)
    ep["row"] = np.arange(1, len(ep) + 1)
    rows = pd.DataFrame({
        "row": ep["row"],
        "time_on_ici": ep["time_on_ici"].astype(float),
        "stop_reason": ep["stop_reason"].astype(str),
        "end": ep["end"],
        "alive": ep["os_event"].astype(float) == 0,
        "progression": ep["progression_time"].astype(float),
        "death": ep["death_time"].astype(float),
        "rechallenge": ep["rechallenge_start_time"].astype(float) if "rechallenge_start_time" in ep else np.nan,
    })
    rowmap = dict(zip(ep["patient_id"], ep["row"]))
    a = assessments[assessments["patient_id"].isin(rowmap)]
    marks = pd.DataFrame({"row": a["patient_id"].map(rowmap).astype(int), "time": a["time"].astype(float),
                          "response": a["response"].astype(str)})
    return rows, marks.sort_values(["row", "time"]).reset_index(drop=True)


def sample_rows(rows: pd.DataFrame, marks: pd.DataFrame, max_patients: int, seed: int):
    """At most ``max_patients`` rows, a seeded random sample kept in plot order and renumbered 1..N
    (a plot of tens of thousands of lanes is unreadable and makes the page huge)."""
    if max_patients <= 0 or len(rows) <= max_patients:
        return rows, marks
    keep = np.sort(np.random.default_rng(seed).choice(len(rows), size=max_patients, replace=False))
    sub = rows.iloc[keep].reset_index(drop=True)
    renumber = dict(zip(sub["row"], range(1, len(sub) + 1)))
    sub["row"] = np.arange(1, len(sub) + 1)
    m = marks[marks["row"].isin(renumber)].copy()
    m["row"] = m["row"].map(renumber).astype(int)
    return sub, m.reset_index(drop=True)


def swimmer_figure(rows: pd.DataFrame, marks: pd.DataFrame, title: str | None = None):
    n = len(rows)
    row_h = min(0.24, 11.0 / max(n, 1))  # dense overview for large cohorts (at most ~11 inches of rows)
    fig_h = max(2.6, n * row_h + 1.6)
    fig, ax = plt.subplots(figsize=(7.2, fig_h))
    reasons = list(dict.fromkeys(rows["stop_reason"]))
    colours = {r: PALETTE[i % len(PALETTE)] for i, r in enumerate(reasons)}
    y = rows["row"].to_numpy()
    ax.barh(y, rows["time_on_ici"], height=0.75, color=[colours[r] for r in rows["stop_reason"]], lw=0)
    ax.hlines(y, rows["time_on_ici"], rows["end"], color="#9a9a9a", lw=min(0.7, row_h * 72 * 0.15))
    ms = max(1.2, min(4.5, row_h * 72 * 0.55))
    edge = 0.3 if n <= 120 else 0.0  # dense plots: borderless dots
    for resp, (marker, colour) in RESPONSE_MARKERS.items():
        m = marks[marks["response"] == resp]
        ax.plot(m["time"], m["row"], ls="none", marker=marker, ms=ms * 0.8, mfc=colour, mec="#444", mew=edge)
    ax.plot(rows["progression"], y, ls="none", marker="D", ms=ms, mfc="#d73027", mec="#7f0000", mew=0.4)
    ax.plot(rows["death"], y, ls="none", marker="X", ms=ms * 1.2, color="#000")
    ax.plot(rows["rechallenge"], y, ls="none", marker=">", ms=ms, mfc="#ffffff", mec="#333", mew=0.8)
    alive = rows[rows["alive"]]
    ax.plot(alive["end"], alive["row"], ls="none", marker=r"$\rightarrow$", ms=ms * 1.4, color="#555")
    ax.set_ylim(n + 0.7, 0.3)
    ax.set_xlim(0, max(float(np.nanmax(rows["end"])) if n else 1.0, 1.0) * 1.04)
    ax.set_xlabel("Months since start of ICI")
    ax.set_ylabel("Patient (row number)")
    if n <= 40:
        ax.set_yticks(y)
    else:
        ax.set_yticks([t for t in ax.get_yticks() if 1 <= t <= n])
    ax.tick_params(axis="y", labelsize=7)
    handles = [Patch(color=colours[r], label=f"On ICI, stopped: {label(r)}") for r in reasons]
    handles += [Line2D([], [], ls="none", marker="o", mfc=c, mec="#444", mew=0.3, label=r) for r, (_, c) in RESPONSE_MARKERS.items()]
    handles += [Line2D([], [], ls="none", marker="D", mfc="#d73027", mec="#7f0000", label="Progression"),
                Line2D([], [], ls="none", marker="X", color="#000", label="Death"),
                Line2D([], [], ls="none", marker=">", mfc="#fff", mec="#333", label="Re-challenge"),
                Line2D([], [], ls="none", marker=r"$\rightarrow$", color="#555", label="Alive at last contact"),
                Line2D([], [], color="#9a9a9a", lw=0.8, label="Off ICI, follow-up")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.55 / (fig_h * 0.77)),
              ncol=3, frameon=False, fontsize=7)
    if title:
        ax.set_title(title, loc="left", fontsize=10)
    return fig

"""CONSORT-style flow diagram of the cohort selection, drawn from ``results/cohort/attrition.tsv``
(columns step, criterion, n_remaining, n_excluded, cohort) and ``results/cohort/exclusion_reasons.tsv``
(step, order, reason, n_excluded; see :func:`icistop.cohort.cohort_flow`).

One box per step in the main column ("criterion, n = remaining"); a side box per step that excludes
patients, with the number excluded and the reasons with their counts in the step's order (reasons no
patient met are left out). The last box of each cohort is outlined in bold and labelled ("Treated
cohort", "Stopped without progression"). Counts obey small-cell suppression.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import FancyBboxPatch

from icistop.report.privacy import suppress_count
from icistop.report.figures import wrap

COHORT_LABELS = {"treated": "Treated cohort", "stop_cohort": "Stopped without progression (stop cohort)"}
NBSP = "\u00a0"  # textwrap does not break here
REASONS_ORDER_NOTE = ("Within a step, each excluded patient is counted once, under the first listed reason that "
                      "applies.")


def step_reasons(reasons: pd.DataFrame | None, step: int) -> list[tuple[str, int]]:
    """(reason, count) of one step in the step's order, reasons with a count of 0 left out."""
    if reasons is None or reasons.empty:
        return []
    rows = reasons[(reasons["step"].astype(int) == int(step)) & (reasons["n_excluded"].astype(float) > 0)]
    rows = rows.sort_values("order")
    return [(str(r), int(n)) for r, n in zip(rows["reason"], rows["n_excluded"])]


def reasons_text(items: list[tuple[str, int]], k: int = 0) -> str:
    """'reason (n = 75); other reason (n = 6)', counts suppressed below ``k``."""
    return "; ".join(f"{reason} (n = {suppress_count(n, k)})" for reason, n in items)


def excluded_text(n_excluded, items: list[tuple[str, int]], k: int = 0) -> str:
    """The text of an exclusion box on one line: 'Excluded (n = 81): reason (n = 75); ...'."""
    head = f"Excluded (n = {suppress_count(n_excluded, k)})"
    return f"{head}: {reasons_text(items, k)}" if items else head


def _side_lines(n_excluded, items, k: int, width: int) -> list[str]:
    """Lines of an exclusion box; a reason wraps at spaces only and keeps '(n = x)' on one line."""
    lines = [f"Excluded (n = {suppress_count(n_excluded, k)})" + (":" if items else "")]
    for reason, n in items:
        count = f"(n = {suppress_count(n, k)})".replace(" ", NBSP)
        lines += [line.replace(NBSP, " ") for line in textwrap.wrap(f"{reason} {count}", width, break_on_hyphens=False)]
    return lines


def consort_figure(attrition, k: int = 0, reasons: pd.DataFrame | None = None):
    steps = attrition.sort_values("step").reset_index(drop=True)
    main_x, main_w = 0.2, 5.0
    side_x, side_w = 5.8, 4.0
    line_h, min_gap = 0.22, 0.55
    last_of_cohort = set()
    if "cohort" in steps:
        for cohort, group in steps.groupby("cohort", sort=False):
            last_of_cohort.add(int(group.index.max()))
    main, side = [], {}
    for i, row in steps.iterrows():
        text = f"{wrap(row['criterion'], 42)}\nn = {suppress_count(row['n_remaining'], k)}"
        if i in last_of_cohort:
            text = f"{COHORT_LABELS.get(str(row.get('cohort')), str(row.get('cohort')))}\n" + text
        main.append((text, max(0.9, (text.count("\n") + 1) * line_h + 0.3)))
        excluded = row["n_excluded"]
        if i > 0 and pd.notna(excluded) and int(excluded) > 0:
            lines = _side_lines(excluded, step_reasons(reasons, int(row["step"])), k, 46)
            side[i] = (lines, max(0.5, len(lines) * 0.24 + 0.25))
    gaps = [0.0] + [max(min_gap, side[i][1] + 0.2) if i in side else min_gap for i in range(1, len(steps))]
    tops, y = [], 0.0
    for i in range(len(steps)):
        y -= gaps[i] + (main[i - 1][1] if i else 0.0)
        tops.append(y)
    height = -tops[-1] + main[-1][1] + 0.4 if len(steps) else 1.0
    fig, ax = plt.subplots(figsize=(7.6, max(2.5, height * 0.62)))
    ax.set_xlim(0, 10)
    ax.set_ylim(-height + 0.2, 0.6)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.99, bottom=0.01)
    ax.axis("off")
    for i, row in steps.iterrows():
        y = tops[i]
        bold = i in last_of_cohort
        text, box_h = main[i]
        ax.add_patch(FancyBboxPatch((main_x, y - box_h), main_w, box_h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                    fc="#eef4fa" if bold else "white", ec="#1f3b57", lw=1.8 if bold else 0.9))
        ax.text(main_x + main_w / 2, y - box_h / 2, text, ha="center", va="center", fontsize=8,
                fontweight="bold" if bold else "normal")
        if i > 0:
            ax.annotate("", xy=(main_x + main_w / 2, y), xytext=(main_x + main_w / 2, y + gaps[i]),
                        arrowprops=dict(arrowstyle="-|>", color="#1f3b57", lw=0.9))
        if i in side:
            lines, h = side[i]
            ymid = y + gaps[i] / 2
            ax.annotate("", xy=(side_x, ymid), xytext=(main_x + main_w / 2, ymid),
                        arrowprops=dict(arrowstyle="-|>", color="#8a8a8a", lw=0.8))
            ax.add_patch(FancyBboxPatch((side_x, ymid - h / 2), side_w, h, boxstyle="round,pad=0.02,rounding_size=0.06",
                                        fc="#f7f7f7", ec="#8a8a8a", lw=0.8))
            ax.text(side_x + 0.12, ymid, "\n".join(lines), ha="left", va="center", fontsize=7.5, linespacing=1.25)
    return fig

"""CONSORT-style flow diagram of the cohort selection, drawn from ``results/cohort/attrition.tsv``
(columns step, criterion, n_remaining, n_excluded, cohort).

One box per step in the main column ("criterion, n = remaining"); a side box with the number
excluded at each step after the first. The last box of each cohort is outlined in bold and labelled
("Treated cohort", "Stopped without progression"). Counts obey small-cell suppression.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

from .privacy import suppress_count
from .report_figures import wrap

COHORT_LABELS = {"treated": "Treated cohort", "stop_cohort": "Stopped without progression (stop cohort)"}


def consort_figure(attrition, k: int = 0):
    steps = attrition.sort_values("step").reset_index(drop=True)
    n = len(steps)
    box_h, gap = 0.9, 0.55
    height = n * (box_h + gap) + 0.4
    fig, ax = plt.subplots(figsize=(7.2, max(2.5, height * 0.62)))
    ax.set_xlim(0, 10)
    ax.set_ylim(-height + 0.2, 0.6)
    ax.axis("off")
    main_x, main_w = 0.2, 5.4
    side_x, side_w = 6.4, 3.4
    last_of_cohort = set()
    if "cohort" in steps:
        for cohort, group in steps.groupby("cohort", sort=False):
            last_of_cohort.add(int(group.index.max()))
    for i, row in steps.iterrows():
        y = -i * (box_h + gap)
        bold = i in last_of_cohort
        text = f"{wrap(row['criterion'], 52)}\nn = {suppress_count(row['n_remaining'], k)}"
        if bold:
            text = f"{COHORT_LABELS.get(str(row.get('cohort')), str(row.get('cohort')))}\n" + text
        ax.add_patch(FancyBboxPatch((main_x, y - box_h), main_w, box_h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                    fc="#eef4fa" if bold else "white", ec="#1f3b57", lw=1.8 if bold else 0.9))
        ax.text(main_x + main_w / 2, y - box_h / 2, text, ha="center", va="center", fontsize=8,
                fontweight="bold" if bold else "normal")
        if i > 0:
            ax.annotate("", xy=(main_x + main_w / 2, y), xytext=(main_x + main_w / 2, y + gap),
                        arrowprops=dict(arrowstyle="-|>", color="#1f3b57", lw=0.9))
            excluded = row["n_excluded"]
            if excluded and int(excluded) > 0:
                ymid = y + gap / 2
                ax.annotate("", xy=(side_x, ymid), xytext=(main_x + main_w / 2, ymid),
                            arrowprops=dict(arrowstyle="-|>", color="#8a8a8a", lw=0.8))
                ax.add_patch(FancyBboxPatch((side_x, ymid - 0.3), side_w, 0.6, boxstyle="round,pad=0.02,rounding_size=0.06",
                                            fc="#f7f7f7", ec="#8a8a8a", lw=0.8))
                ax.text(side_x + side_w / 2, ymid, f"Excluded: n = {suppress_count(excluded, k)}", ha="center",
                        va="center", fontsize=8)
    return fig

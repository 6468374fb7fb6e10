"""Figures of the continuation analysis (matplotlib, Agg backend; deterministic SVG metadata)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from icistop.plots.common import save_figure  # noqa: E402

COLORS = {"A (stop)": "#d95f02", "B (continue)": "#1b9e77",
          "off ICI at landmark": "#d95f02", "on ICI at landmark": "#1b9e77"}


def km_figure(curves: pd.DataFrame, paths, title: str, group_col: str = "arm", xlabel: str = "Months since time zero",
              ylabel: str = "Progression-free survival", band_note: str | None = None,
              empty_note: str = "no estimate") -> None:
    """Step curves with pointwise 95% CI bands (columns time, surv, lower, upper, group_col); a figure
    saying ``empty_note`` when no curve has a value."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    if not len(curves) or curves["surv"].isna().all():
        ax.axis("off")
        ax.text(0.5, 0.5, f"Not estimable: {empty_note}", ha="center", va="center", wrap=True, fontsize=9)
        ax.set_title(title, fontsize=10)
        save_figure(fig, paths)
        return
    for name, g in curves.groupby(group_col, sort=True):
        c = COLORS.get(name)
        ax.step(g["time"], g["surv"], where="post", color=c, label=name, lw=1.8)
        ax.fill_between(g["time"], g["lower"], g["upper"], step="post", color=c, alpha=0.18, lw=0)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, curves["time"].max())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, loc="lower left")
    if band_note:
        ax.text(0.99, 0.02, band_note, transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color="0.35")
    save_figure(fig, paths)


def weight_figure(rows: pd.DataFrame, paths) -> None:
    """Distribution of the clone-interval weights per arm (log10 scale histogram)."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.4), sharey=False)
    for ax, (arm, label) in zip(axes, ((0, "A (stop)"), (1, "B (continue)"))):
        w = rows.loc[rows["arm"] == arm, "weight"].to_numpy(float)
        w = w[w > 0]
        if len(w):
            lw = np.log10(w)
            bins = np.linspace(lw.min() - 1e-9, lw.max() + 1e-9, 40) if lw.max() > lw.min() else 10
            ax.hist(lw, bins=bins, color=COLORS[label], alpha=0.85)
            ax.set_title(f"{label}: max {w.max():.3g}, mean {w.mean():.3g}", fontsize=9)
        ax.set_xlabel("log10(weight) per clone-interval row")
        ax.set_ylabel("rows")
        ax.grid(alpha=0.3)
    save_figure(fig, paths)


def simulation_figure(summary: pd.DataFrame, paths) -> None:
    """Simulation study (columns: scenarios; rows: per outcome): coverage of the CCW 95% CIs per estimand
    and interval method (band 92-98 %, bars +/- 1.96 MC SE), and the standardised bias (bias / empirical
    SE, bars +/- 1.96 MC SE) of the CCW and landmark estimators (the naive one is off the scale)."""
    from icistop.continuation.simsummary import estimand_label

    ccw = summary[summary["estimator"] == "ccw"]
    scen = list(dict.fromkeys(summary["scenario"]))
    outcomes = [o for o in ("pfs", "os") if o in set(summary["outcome"])]
    methods = [m for m in ("transformed_wald", "percentile", "known_weights") if m in set(ccw["method"])]
    fig, axes = plt.subplots(2 * len(outcomes), len(scen), figsize=(3.3 * len(scen), 2.7 * 2 * len(outcomes)),
                             squeeze=False, sharey="row")
    for i, outcome in enumerate(outcomes):
        for j, sc in enumerate(scen):
            s = ccw[(ccw["scenario"] == sc) & (ccw["outcome"] == outcome)]
            estimands = list(dict.fromkeys(s["estimand"]))
            x0 = np.arange(len(estimands))
            ax = axes[2 * i, j]
            ax.axhspan(0.92, 0.98, color="0.9")
            ax.axhline(0.95, color="k", lw=0.8)
            for k, m in enumerate(methods):
                g = s[s["method"] == m].set_index("estimand").reindex(estimands)
                ax.errorbar(x0 + (k - 1) * 0.22, g["coverage"], yerr=1.96 * g["mc_se_coverage"], fmt="o", ms=3,
                            label=m)
            ax.set_title(f"{sc}: {outcome.upper()}", fontsize=8)
            ax = axes[2 * i + 1, j]
            ax.axhline(0, color="k", lw=0.8)
            for k, (est, sub) in enumerate((("ccw", s[s["method"] == "transformed_wald"]),
                                            ("landmark", summary[(summary["estimator"] == "landmark")
                                                                 & (summary["scenario"] == sc)
                                                                 & (summary["outcome"] == outcome)]))):
                g = sub.set_index("estimand").reindex(estimands)
                ax.errorbar(x0 + (k - 0.5) * 0.25, g["bias"] / g["empirical_se"],
                            yerr=1.96 * g["mc_se_bias"] / g["empirical_se"], fmt="o", ms=3, label=est)
            for ax in axes[2 * i: 2 * i + 2, j]:
                ax.set_xticks(x0)
                ax.set_xticklabels([estimand_label(e) for e in estimands], rotation=60, fontsize=6)
                ax.grid(alpha=0.3)
        axes[2 * i, 0].set_ylabel(f"{outcome.upper()}: 95% CI coverage", fontsize=8)
        axes[2 * i + 1, 0].set_ylabel(f"{outcome.upper()}: bias / empirical SE", fontsize=8)
    axes[0, 0].legend(fontsize=6, frameon=False, loc="lower left")
    axes[1, 0].legend(fontsize=6, frameon=False)
    fig.tight_layout()
    save_figure(fig, paths)

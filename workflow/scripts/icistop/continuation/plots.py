"""Figures of the continuation analysis (matplotlib, Agg backend; deterministic SVG metadata)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

COLORS = {"A (stop)": "#d95f02", "B (continue)": "#1b9e77",
          "off ICI at landmark": "#d95f02", "on ICI at landmark": "#1b9e77"}


def _save(fig, paths) -> None:
    for path in paths:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        meta = {"Date": None} if str(path).endswith(".svg") else {}
        fig.savefig(path, dpi=150, bbox_inches="tight", metadata=meta)
    plt.close(fig)


def km_figure(curves: pd.DataFrame, paths, title: str, group_col: str = "arm", xlabel: str = "Months since time zero",
              ylabel: str = "Progression-free survival", band_note: str | None = None) -> None:
    """Step curves with pointwise 95% CI bands (columns time, surv, lower, upper, group_col)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
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
    _save(fig, paths)


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
    _save(fig, paths)


def simulation_figure(summary: pd.DataFrame, paths) -> None:
    """Bias (+/- 1.96 MC SE) and coverage per scenario and estimator."""
    est = [e for e in ("naive", "landmark", "ccw") if e in set(summary["estimator"])]
    estimands = list(dict.fromkeys(summary["estimand"]))
    fig, axes = plt.subplots(len(estimands), 2, figsize=(9, 2.8 * len(estimands)), squeeze=False)
    for r, estimand in enumerate(estimands):
        s = summary[(summary["estimand"] == estimand) & summary["estimator"].isin(est)]
        scen = list(dict.fromkeys(s["scenario"]))
        for j, e in enumerate(est):
            g = s[s["estimator"] == e].set_index("scenario").reindex(scen)
            x = np.arange(len(scen)) + (j - 1) * 0.25
            axes[r, 0].errorbar(x, g["bias"], yerr=1.96 * g["mc_se_bias"], fmt="o", label=e)
            axes[r, 1].errorbar(x, g["coverage"], yerr=1.96 * g["mc_se_coverage"], fmt="o", label=e)
        for ax in axes[r]:
            ax.set_xticks(np.arange(len(scen)))
            ax.set_xticklabels(scen, rotation=20, fontsize=7)
            ax.grid(alpha=0.3)
        axes[r, 0].axhline(0, color="k", lw=0.8)
        axes[r, 0].set_ylabel(f"bias ({estimand})")
        axes[r, 1].axhspan(0.92, 0.98, color="0.9")
        axes[r, 1].axhline(0.95, color="k", lw=0.8)
        axes[r, 1].set_ylabel("95% CI coverage")
    axes[0, 0].legend(fontsize=7, frameon=False)
    _save(fig, paths)

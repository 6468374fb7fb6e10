"""Survival figures (matplotlib, object-oriented API on the Agg canvas; functions return a Figure).

- :func:`plot_km`: Kaplan-Meier curves by group with pointwise CI bands, censoring ticks and a
  KMunicate-style table (number at risk, cumulative events, cumulative censored) under the axis;
  each curve stops where fewer than ``min_at_risk_frac`` of its group remain at risk.
- :func:`plot_cif`: Aalen-Johansen cumulative incidence curves.
- :func:`plot_piecewise_hazard`: interval hazard rates (points + exact Poisson CI).
Deterministic output through :func:`icistop.plots.common.save_figure`.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from icistop.stats.cif import cif_table  # noqa: E402
from icistop.stats.km import km_table, kmunicate_table  # noqa: E402
from icistop.labels import label  # noqa: E402
from icistop.plots import common  # noqa: E402

COLORS = ["#0173B2", "#DE8F05", "#029E73", "#D55E00", "#CC78BC", "#CA9161", "#FBAFE4", "#949494",
          "#ECE133", "#56B4E9"]  # seaborn "colorblind"


def save_figure(fig: Figure, stem: str | Path, dpi: int = 200) -> list[str]:
    """Write ``stem``.png and ``stem``.svg (:func:`icistop.plots.common.save_figure`); returns the paths."""
    return common.save_figure(fig, common.figure_paths(stem, ("png", "svg")), dpi)


def _default_ticks(xmax: float) -> np.ndarray:
    step = 6.0 if xmax <= 48 else 12.0 if xmax <= 120 else float(np.ceil(xmax / 10))
    return np.arange(0.0, xmax + 1e-9, step)


def curtail_time(group_table: pd.DataFrame, min_at_risk_frac: float) -> float:
    """Last curve time at which at least ``min_at_risk_frac`` of the group's maximum number at risk
    is still at risk (the curve is drawn up to this time)."""
    y = group_table["n_risk"].to_numpy()
    t = group_table["time"].to_numpy()
    ok = np.flatnonzero(y >= min_at_risk_frac * y.max())
    return float(t[ok[-1]]) if ok.size else float(t[0])


def _step_xy(times, values, first, t_end):
    keep = times <= t_end
    x = np.concatenate([[0.0], times[keep], [t_end]])
    last = values[keep][-1] if keep.any() else first
    y = np.concatenate([[first], values[keep], [last]])
    return x, y


def plot_km(df: pd.DataFrame, time: str, event: str, group: str | None = None, *, entry: str | None = None,
            weights: str | None = None, table: pd.DataFrame | None = None, risk_times=None,
            min_at_risk_frac: float = 0.1, ci: bool = True, censor_ticks: bool = True,
            xlabel: str = "Months", ylabel: str = "Survival probability", title: str | None = None,
            group_labels: dict | None = None, xmax: float | None = None,
            figsize=(7.0, 5.5)) -> Figure:
    """Kaplan-Meier curves with CI bands, censor ticks and a KMunicate table under the axis."""
    tab = table if table is not None else km_table(df, time, event, group=group, entry=entry, weights=weights)
    groups = list(pd.unique(tab["group"]))
    labels = {g: (group_labels or {}).get(g, label(g)) for g in groups}
    if xmax is None:
        xmax = max(curtail_time(tab[tab["group"] == g], min_at_risk_frac) for g in groups)
    ticks = _default_ticks(xmax) if risk_times is None else np.asarray(risk_times, dtype=float)
    risk = kmunicate_table(tab, ticks)
    multi = len(groups) > 1
    n_lines = len(groups) * (4 if multi else 3)
    fig = Figure(figsize=(figsize[0], figsize[1] + 0.2 * n_lines))
    FigureCanvasAgg(fig)
    gs = fig.add_gridspec(2, 1, height_ratios=[figsize[1], 0.2 * n_lines + 0.2], hspace=0.2)
    fig.subplots_adjust(left=0.2, right=0.96, top=0.95, bottom=0.02)
    ax = fig.add_subplot(gs[0])
    axt = fig.add_subplot(gs[1], sharex=ax)
    for i, g in enumerate(groups):
        color = COLORS[i % len(COLORS)]
        sub = tab[tab["group"] == g]
        t_end = curtail_time(sub, min_at_risk_frac)
        tt = sub["time"].to_numpy()
        s = sub["surv"].to_numpy()
        x, y = _step_xy(tt, s, 1.0, t_end)
        ax.step(x, y, where="post", color=color, lw=1.8, label=labels[g])
        if ci:
            lo = np.where(np.isnan(sub["lower"]), np.where(s >= 1, 1.0, 0.0), sub["lower"])
            hi = np.where(np.isnan(sub["upper"]), np.where(s >= 1, 1.0, 0.0), sub["upper"])
            xl, yl = _step_xy(tt, lo, 1.0, t_end)
            _, yh = _step_xy(tt, hi, 1.0, t_end)
            ax.fill_between(xl, yl, yh, step="post", color=color, alpha=0.15, lw=0)
        if censor_ticks:
            m = (sub["n_censor"].to_numpy() > 0) & (tt <= t_end)
            ax.plot(tt[m], s[m], ls="none", marker="|", ms=7, mew=1.2, color=color)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(0, xmax * 1.02 if xmax > 0 else 1)
    ax.set_ylabel(ylabel)
    ax.set_xticks(ticks)
    ax.tick_params(labelbottom=True)
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3, lw=0.5)
    if len(groups) > 1:
        ax.legend(frameon=False, loc="lower left")
    if title:
        ax.set_title(title)
    # KMunicate table
    axt.set_ylim(n_lines + 0.5, -0.5)
    axt.axis("off")
    row = 0
    ylab = axt.get_yaxis_transform()
    for i, g in enumerate(groups):
        color = COLORS[i % len(COLORS)]
        r = risk[risk["group"] == g]
        if multi:
            axt.text(-0.03, row, labels[g], transform=ylab, ha="right", va="center", fontsize=8.5,
                     color=color, fontweight="bold")
            row += 1
        for name, col in (("At risk", "n_risk"), ("Events", "cum_events"), ("Censored", "cum_censored")):
            axt.text(-0.03, row, name, transform=ylab, ha="right", va="center", fontsize=8, color=color)
            for tv, v in zip(r["time"], r[col]):
                txt = f"{v:.0f}" if abs(v - round(v)) < 1e-9 else f"{v:.1f}"
                axt.text(tv, row, txt, ha="center", va="center", fontsize=8, color=color)
            row += 1
    return fig


def plot_cif(df: pd.DataFrame, time: str, status: str, group: str | None = None, *, causes=None,
             table: pd.DataFrame | None = None, cause_labels: dict | None = None, ci: bool = True,
             xlabel: str = "Months", ylabel: str = "Cumulative incidence", title: str | None = None,
             xmax: float | None = None, figsize=(7.0, 5.0)) -> Figure:
    """Aalen-Johansen cumulative incidence curves (one line per group and cause; solid cause 1,
    dashed cause 2, ...), with log-type CI bands."""
    tab = table if table is not None else cif_table(df, time, status, group=group, causes=causes)
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    styles = ["-", "--", ":", "-."]
    groups = list(pd.unique(tab["group"]))
    all_causes = list(pd.unique(tab["cause"]))
    for i, g in enumerate(groups):
        for j, k in enumerate(all_causes):
            sub = tab[(tab["group"] == g) & (tab["cause"] == k)]
            tt = sub["time"].to_numpy()
            x, y = _step_xy(tt, sub["cif"].to_numpy(), 0.0, tt.max())
            name = (cause_labels or {}).get(k, f"cause {k}")
            text = name if len(groups) == 1 else f"{label(g)}: {name}"
            color = COLORS[i % len(COLORS)] if len(groups) > 1 else COLORS[j % len(COLORS)]
            ax.step(x, y, where="post", color=color, ls=styles[j % len(styles)], lw=1.8, label=text)
            if ci:
                lo = np.nan_to_num(sub["lower"].to_numpy(), nan=0.0)
                hi = np.nan_to_num(sub["upper"].to_numpy(), nan=0.0)
                xl, yl = _step_xy(tt, lo, 0.0, tt.max())
                _, yh = _step_xy(tt, hi, 0.0, tt.max())
                ax.fill_between(xl, yl, yh, step="post", color=color, alpha=0.12, lw=0)
    ax.set_ylim(-0.02, 1.02)
    if xmax is not None:
        ax.set_xlim(0, xmax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, lw=0.5)
    ax.legend(frameon=False, loc="upper left")
    if title:
        ax.set_title(title)
    return fig


def plot_piecewise_hazard(table: pd.DataFrame, *, scale: str = "per_100py", xlabel: str = "Months",
                          title: str | None = None, figsize=(6.5, 4.0)) -> Figure:
    """Interval hazard rates from :func:`icistop.piecewise.piecewise_hazard`: points at interval
    midpoints with exact Poisson CI bars; ``scale`` "per_100py" or "per_person_month"."""
    col = {"per_100py": ("rate_per_100py", "lower_per_100py", "upper_per_100py", "Events per 100 person-years"),
           "per_person_month": ("rate_per_person_month", "lower_per_person_month", "upper_per_person_month",
                                "Events per person-month")}[scale]
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    groups = list(pd.unique(table["group"]))
    width = np.nanmin((table["end"] - table["start"]).replace(np.inf, np.nan).to_numpy())
    for i, g in enumerate(groups):
        sub = table[table["group"] == g]
        end = np.where(np.isfinite(sub["end"]), sub["end"], sub["start"] + width)
        mid = (sub["start"].to_numpy() + end) / 2 + (i - (len(groups) - 1) / 2) * width * 0.08
        rate, lo, hi = (sub[c].to_numpy() for c in col[:3])
        ax.errorbar(mid, rate, yerr=[rate - lo, hi - rate], fmt="o", color=COLORS[i % len(COLORS)], capsize=3,
                    label=label(g))
    edges = np.unique(np.concatenate([table["start"].to_numpy(), table["end"].to_numpy()]))
    edges = edges[np.isfinite(edges)]
    ax.set_xticks(edges)
    for xv in edges:
        ax.axvline(xv, color="0.85", lw=0.6, zorder=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(col[3])
    ax.set_ylim(bottom=0)
    if len(groups) > 1:
        ax.legend(frameon=False)
    if title:
        ax.set_title(title)
    return fig

"""Figures of the report (matplotlib, Agg backend), saved reproducibly as PNG and SVG.

Every function returns a matplotlib Figure; :func:`icistop.plots.common.save_figure` writes it without
time stamps or random ids, so identical data give identical files.
"""

from __future__ import annotations

import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from icistop.labels import label as display  # noqa: E402
from icistop.plots.common import message_figure  # noqa: E402,F401 - re-exported for the section builders
from icistop.report.privacy import suppress_count  # noqa: E402

# Okabe-Ito colour-blind safe palette
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "path.simplify": True,
}
plt.rcParams.update(STYLE)


def curve_figure(curves: pd.DataFrame, risk: pd.DataFrame | None = None, *, group: str = "group",
                 ylabel: str = "Probability", xlabel: str = "Months", title: str | None = None,
                 k: int = 0, xmax: float | None = None, risk_times=None, ylim=(0.0, 1.02),
                 cumulative: bool = False, percent: bool = True, group_label: str | None = None):
    """Step curves (Kaplan-Meier survival or cumulative incidence) with pointwise CI bands and an
    optional numbers-at-risk table below.

    ``curves``: columns ``group``, time, estimate column ``surv`` (or ``cif`` when ``cumulative``),
    optional lower/upper, optional n_censor (censoring ticks). ``risk``: columns ``group``, time,
    n_risk and optionally cum_events / cum_censored (shown for a single curve, KMunicate style);
    counts below ``k`` are shown as "<k".
    """
    est_col = "cif" if cumulative else "surv"
    groups = list(dict.fromkeys(curves[group].astype(str))) if group in curves else ["all"]
    n_groups = len(groups)
    has_risk = risk is not None and len(risk) > 0
    risk_rows = []  # (label, group, column)
    if has_risk:
        if n_groups == 1:
            risk_rows = [("At risk", groups[0], "n_risk")]
            risk_rows += [(lab, groups[0], col) for lab, col in (("Events", "cum_events"), ("Censored", "cum_censored"))
                          if col in risk]
        else:
            risk_rows = [(display(g), g, "n_risk") for g in groups]
    n_rows = len(risk_rows)
    risk_h = 0.22 * n_rows + 0.45
    fig = plt.figure(figsize=(7.0, 3.6 + (risk_h if has_risk else 0)))
    if has_risk:
        grid = fig.add_gridspec(2, 1, height_ratios=[3.6, risk_h], hspace=0.38)
        ax = fig.add_subplot(grid[0])
        ax_risk = fig.add_subplot(grid[1], sharex=ax)
    else:
        ax = fig.add_subplot(111)
        ax_risk = None
    tmax = 0.0
    colours = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(groups)}
    for g in groups:
        color = colours[g]
        d = curves[curves[group].astype(str) == g] if group in curves else curves
        d = d.sort_values("time")
        time = d["time"].to_numpy(float)
        est = d[est_col].to_numpy(float)
        lower = d["lower"].to_numpy(float) if "lower" in d else None
        upper = d["upper"].to_numpy(float) if "upper" in d else None
        start = 0.0 if cumulative else 1.0
        if not len(time) or time[0] > 0:
            time = np.concatenate([[0.0], time])
            est = np.concatenate([[start], est])
            lower = None if lower is None else np.concatenate([[start], lower])
            upper = None if upper is None else np.concatenate([[start], upper])
        if lower is not None:  # undefined bands where S is 1 or 0 (log-log): draw as the estimate
            lower = np.where(np.isfinite(lower), lower, est)
            upper = np.where(np.isfinite(upper), upper, est)
        tmax = max(tmax, float(np.nanmax(time)) if len(time) else 0.0)
        ax.step(time, est, where="post", color=color, lw=1.6, label=display(g))
        if lower is not None and upper is not None:
            ax.fill_between(time, lower, upper, step="post", color=color, alpha=0.15, lw=0)
        if "n_censor" in d:
            cens = d[d["n_censor"].fillna(0) > 0]
            ct = cens["time"].to_numpy(float)
            idx = np.searchsorted(time, ct, side="right") - 1
            ax.plot(ct, est[np.clip(idx, 0, len(est) - 1)], ls="none", marker="|", ms=5, mew=0.8, color=color)
    xmax = xmax or (tmax * 1.02 if tmax > 0 else 1.0)
    ax.set_xlim(0, xmax)
    ax.set_ylim(*ylim)
    ax.set_ylabel(ylabel)
    if percent:
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(xmax=1.0, decimals=0))
    ax.grid(axis="y", color="#ddd", lw=0.6)
    if n_groups > 1:
        ax.legend(frameon=False, loc="lower left" if not cumulative else "upper left", title=group_label,
                  fontsize=8, title_fontsize=8)
    if title:
        ax.set_title(title, loc="left", fontsize=10)
    ticks = np.asarray(risk_times if risk_times is not None else _nice_ticks(xmax), float)
    ticks = ticks[ticks <= xmax + 1e-9]
    ax.set_xticks(ticks)
    ax.set_xlabel(xlabel)
    if ax_risk is not None:
        ax_risk.set_ylim(-0.5, n_rows - 0.5)
        ax_risk.invert_yaxis()
        ax_risk.axis("off")
        ax_risk.set_title("Number at risk" + (" (cumulative events, censored)" if n_groups == 1 and n_rows > 1 else ""),
                          loc="left", fontsize=8.5)
        for i, (row_label, g, col) in enumerate(risk_rows):
            r = risk[risk[group].astype(str) == g] if group in risk else risk
            colour = colours.get(g, "#333") if n_groups > 1 else "#333"
            for t, n in zip(r["time"].to_numpy(float), r[col].to_numpy(float)):
                if t <= xmax + 1e-9:
                    ax_risk.text(t, i, suppress_count(n, k), ha="center", va="center", fontsize=8, color=colour)
            ax_risk.text(-0.07, i, row_label, ha="right", va="center", fontsize=8, color=colour,
                         transform=ax_risk.get_yaxis_transform())
    return fig


def _nice_ticks(xmax: float) -> np.ndarray:
    for step in (1, 2, 3, 6, 12, 24, 48):
        if xmax / step <= 10:
            return np.arange(0, xmax + 1e-9, step)
    return np.linspace(0, xmax, 6)


def forest_figure(rows: pd.DataFrame, *, label: str = "label", est: str = "hr", lower: str = "lower",
                  upper: str = "upper", note: str | None = None, xlabel: str = "Hazard ratio (95% CI)",
                  title: str | None = None, log: bool = True):
    """Forest plot, one row per estimate, the text column ``note`` on the right: ratios on a log scale
    (reference line at 1), or with ``log=False`` differences on a linear scale (reference line at 0)."""
    d = rows.reset_index(drop=True)
    n = len(d)
    fig, ax = plt.subplots(figsize=(7.0, 0.32 * n + 1.2))
    y = np.arange(n)
    e = pd.to_numeric(d[est], errors="coerce").to_numpy(float)
    lo = pd.to_numeric(d[lower], errors="coerce").to_numpy(float)
    hi = pd.to_numeric(d[upper], errors="coerce").to_numpy(float)
    ok = np.isfinite(e) & ((e > 0) if log else True)
    ok_ci = ok & np.isfinite(lo) & np.isfinite(hi) & ((lo > 0) if log else True)
    ax.hlines(y[ok_ci], lo[ok_ci], hi[ok_ci], color="#333", lw=1.2)
    ax.plot(e[ok], y[ok], "s", color=PALETTE[0], ms=5)
    ref = 1.0 if log else 0.0
    ax.axvline(ref, color="#888", lw=0.8, ls="--")
    if log:
        ax.set_xscale("log")
    finite = np.concatenate([lo[ok_ci], hi[ok_ci], e[ok]])
    if finite.size and not log:
        span = max(finite.max(), 0.0) - min(finite.min(), 0.0) or 1.0
        ax.set_xlim(min(finite.min(), 0.0) - 0.05 * span, max(finite.max(), 0.0) + 0.05 * span)
    elif finite.size:
        lo_lim = max(min(finite.min(), 0.5) / 1.3, 1e-3)
        hi_lim = min(max(finite.max(), 2.0) * 1.3, 1e3)
        ax.set_xlim(lo_lim, hi_lim)
        for i in np.where(ok_ci)[0]:
            if hi[i] > hi_lim:
                ax.annotate("", xy=(hi_lim, y[i]), xytext=(max(e[i], lo_lim), y[i]),
                            arrowprops=dict(arrowstyle="->", lw=1.0, color="#333"))
        _log_ticks(ax.xaxis, lo_lim, hi_lim)
    ax.set_yticks(y)
    ax.set_yticklabels([display(s) for s in d[label]])
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlabel(xlabel)
    for i in np.where(~ok)[0]:
        ax.text(ref, y[i], "not estimable", ha="center", va="center", fontsize=8, color="#777")
    if note and note in d:
        for i, text in enumerate(d[note].astype(str)):
            ax.text(1.02, y[i], text, transform=ax.get_yaxis_transform(), ha="left", va="center", fontsize=8)
    if title:
        ax.set_title(title, loc="left", fontsize=10)
    return fig


def _log_ticks(axis, lo: float, hi: float) -> None:
    """Plain labels (0.1, 0.2, 0.5, 1, 2, 5, ...) on a log axis, no minor labels."""
    cands = [c * 10.0 ** e for e in range(-3, 4) for c in (1, 2, 5)]
    ticks = [v for v in cands if lo <= v <= hi]
    if len(ticks) > 9:
        ticks = [v for v in ticks if f"{v:g}".lstrip("0.").startswith("1")] or ticks
    axis.set_major_locator(matplotlib.ticker.FixedLocator(ticks or [1.0]))
    axis.set_major_formatter(matplotlib.ticker.FixedFormatter([f"{v:g}" for v in ticks] or ["1"]))
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def weights_figure(diag: pd.DataFrame, *, group: str = "arm", x: str = "interval_start",
                   title: str | None = None):
    """Weight diagnostics over time: mean, 99th percentile and maximum of the weights per arm (log scale)."""
    fig, ax = plt.subplots(figsize=(7.0, 3.2))
    groups = list(dict.fromkeys(diag[group].astype(str))) if group in diag else ["all"]
    for i, g in enumerate(groups):
        d = diag[diag[group].astype(str) == g] if group in diag else diag
        d = d.sort_values(x)
        color = PALETTE[i % len(PALETTE)]
        for col, ls, lab in (("mean", "-", "mean"), ("p99", "--", "99th pct"), ("max", ":", "max")):
            if col in d:
                ax.plot(d[x], d[col], ls=ls, color=color, lw=1.3, label=f"{display(g)}: {lab}")
    ax.set_yscale("log")
    ax.axhline(1.0, color="#999", lw=0.6)
    ax.set_xlabel("Months since time zero")
    ax.set_ylabel("Weight")
    ax.legend(frameon=False, fontsize=7, ncol=2)
    if title:
        ax.set_title(title, loc="left", fontsize=10)
    return fig


def bar_figure(frame: pd.DataFrame, *, x: str, y: str, lower: str | None = None, upper: str | None = None,
               ylabel: str = "", xlabel: str = "", title: str | None = None):
    """Bars with optional error bars (e.g. event rates by year since stopping)."""
    fig, ax = plt.subplots(figsize=(7.0, 3.0))
    xs = np.arange(len(frame))
    vals = pd.to_numeric(frame[y], errors="coerce").to_numpy(float)
    ax.bar(xs, np.nan_to_num(vals), color=PALETTE[0], alpha=0.8, width=0.6)
    if lower and upper and lower in frame and upper in frame:
        lo = pd.to_numeric(frame[lower], errors="coerce").to_numpy(float)
        hi = pd.to_numeric(frame[upper], errors="coerce").to_numpy(float)
        ok = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(vals)
        ax.errorbar(xs[ok], vals[ok], yerr=[vals[ok] - lo[ok], hi[ok] - vals[ok]], fmt="none", ecolor="#333", lw=1)
    ax.set_xticks(xs)
    ax.set_xticklabels([str(v) for v in frame[x]])
    ax.set_ylabel(ylabel)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title, loc="left", fontsize=10)
    return fig


def wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)

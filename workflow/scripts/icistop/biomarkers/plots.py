"""Figures of the biomarker analysis (matplotlib, Agg backend, deterministic PNG + SVG).

Each function draws from the tidy tables written by the analysis (or the prepared analysis data
for Kaplan-Meier panels) and returns the list of files written.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from icistop.stats import discrimination as disc  # noqa: E402
from icistop.plots import common  # noqa: E402
from icistop.labels import label  # noqa: E402

plt.rcParams.update({"font.size": 9, "axes.spines.top": False,
                     "axes.spines.right": False})
PALETTE = ["#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#6a4c93", "#00798c", "#8d6a9f", "#3d405b"]


def save_figure(fig, stem, formats=("png", "svg"), dpi: int = 150) -> list[str]:
    """Save ``fig`` as stem.<fmt> for each format (:func:`icistop.plots.common.save_figure`)."""
    return common.save_figure(fig, common.figure_paths(stem, formats), dpi)


def _empty(stem, message: str, formats, dpi) -> list[str]:
    return save_figure(common.message_figure(message, 5, 1.5), stem, formats, dpi)


def _plain_log_ticks(axis, lo: float, hi: float, fine: bool = True) -> None:
    """Readable ticks (0.5, 1, 2, ...) on a log axis."""
    cands = ([0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 8, 16, 32] if fine
             else [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32])
    ticks = [v for v in cands if lo <= v <= hi] or [1]
    axis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
    axis.set_major_formatter(matplotlib.ticker.FixedFormatter([f"{v:g}" for v in ticks]))
    axis.set_minor_locator(matplotlib.ticker.NullLocator())


def _fmt_p(p) -> str:
    if p is None or not np.isfinite(p):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def forest_plot(levels: pd.DataFrame, stem, formats=("png", "svg"), dpi: int = 150,
                title: str = "Univariable Cox models, PFS after stopping ICI") -> list[str]:
    """HR with CI per non-reference level (continuous: per unit), events/n, and the marker's q-value."""
    ok = levels[(levels["status"] == "ok")].copy()
    if ok.empty:
        return _empty(stem, "No marker could be analysed", formats, dpi)
    rows = []
    for marker, grp in ok.groupby("marker", sort=False):
        ref = grp[grp["is_reference"] == True]  # noqa: E712
        q = grp["q_marker"].iloc[0]
        rows.append({"label": label(marker), "header": True, "q": q})
        if not ref.empty:
            r = ref.iloc[0]
            rows.append({"label": f"   {label(r['level'])} (ref)", "header": False, "hr": np.nan,
                         "en": f"{int(r['events_level'])}/{int(r['n_level'])}"})
        for _, r in grp[grp["is_reference"] != True].iterrows():  # noqa: E712
            rows.append({"label": f"   {label(r['level'])}", "header": False, "hr": r["hr"], "lo": r["hr_ci_low"],
                         "hi": r["hr_ci_high"], "en": f"{int(r['events_level'])}/{int(r['n_level'])}"})
    n = len(rows)
    fig, ax = plt.subplots(figsize=(8.5, 0.26 * n + 1.2))
    finite = ok[np.isfinite(ok["hr_ci_low"].astype(float)) & np.isfinite(ok["hr_ci_high"].astype(float))]
    xmin = max(0.05, float(np.nanmin(finite["hr_ci_low"])) * 0.8) if not finite.empty else 0.1
    xmax = min(50.0, float(np.nanmax(finite["hr_ci_high"])) * 1.25) if not finite.empty else 10
    xmin, xmax = min(xmin, 0.5), max(xmax, 2.0)
    for i, r in enumerate(rows):
        y = n - 1 - i
        if r["header"]:
            ax.text(-0.02, y, r["label"], transform=ax.get_yaxis_transform(), ha="right", va="center",
                    fontweight="bold")
            ax.text(1.20, y, _fmt_p(r["q"]), transform=ax.get_yaxis_transform(), ha="right", va="center")
            continue
        ax.text(-0.02, y, r["label"], transform=ax.get_yaxis_transform(), ha="right", va="center")
        ax.text(1.05, y, r["en"], transform=ax.get_yaxis_transform(), ha="right", va="center")
        hr = r.get("hr", np.nan)
        if np.isfinite(hr):
            lo, hi = r["lo"], r["hi"]
            ax.plot([max(lo, xmin), min(hi, xmax)], [y, y], color="#333333", lw=1.2)
            ax.plot(hr, y, "s", color=PALETTE[0], ms=5)
            ax.text(1.35, y, f"{hr:.2f} ({lo:.2f}-{hi:.2f})", transform=ax.get_yaxis_transform(), ha="right",
                    va="center")
        elif "(ref)" not in r["label"]:
            ax.text(1.35, y, "not estimable", transform=ax.get_yaxis_transform(), ha="right", va="center")
    ax.axvline(1.0, color="grey", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlim(xmin, xmax)
    _plain_log_ticks(ax.xaxis, xmin, xmax, fine=False)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_xlabel("Hazard ratio (95% CI), log scale")
    top = n - 0.3
    for x, txt in [(1.05, "events/n"), (1.20, "q (BH)"), (1.35, "HR (95% CI)")]:
        ax.text(x, top + 0.2, txt, transform=ax.get_yaxis_transform(), ha="right", va="bottom", fontweight="bold")
    ax.set_title(title, loc="left")
    return save_figure(fig, stem, formats, dpi)


def _ordered_levels(values: pd.Series, order: list | None) -> list[str]:
    present = sorted(values.dropna().astype(str).unique())
    if not order:
        return present
    order = [str(v) for v in order]
    return [v for v in order if v in present] + [v for v in present if v not in order]


def km_panels(data: pd.DataFrame, markers: list[str], stem, formats=("png", "svg"), dpi: int = 150,
              pvalues: dict | None = None, xmax: float | None = None, level_order: dict | None = None,
              xlabel: str = "Months since stopping ICI", ylabel: str = "Progression-free survival"
              ) -> list[str]:
    """Kaplan-Meier curves of the population's endpoint by level of each marker (one panel per marker;
    levels in ``level_order[marker]`` order, reference first, when given)."""
    if not markers:
        return _empty(stem, "No categorical marker to show", formats, dpi)
    k = len(markers)
    ncol = min(2, k)
    nrow = math.ceil(k / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 3.6 * nrow), squeeze=False)
    for ax, name in zip(axes.ravel(), markers):
        vals = data[name]
        for j, lv in enumerate(_ordered_levels(vals, (level_order or {}).get(name))):
            sel = vals.notna() & (vals.astype(str) == lv)
            curve = disc.km_curve(data.loc[sel, "time"], data.loc[sel, "event"])
            t = np.concatenate([[0.0], curve["time"].to_numpy()])
            s = np.concatenate([[1.0], curve["surv"].to_numpy()])
            tend = float(data.loc[sel, "time"].max())
            t = np.append(t, tend)
            s = np.append(s, s[-1])
            ax.step(t, s, where="post", color=PALETTE[j % len(PALETTE)],
                    label=f"{label(lv)} (n={int(sel.sum())}, events={int(data.loc[sel, 'event'].sum())})")
            cens = data.loc[sel & (data["event"] == 0), "time"].to_numpy()
            if cens.size:
                idx = np.searchsorted(curve["time"].to_numpy(), cens, side="right")
                sv = np.concatenate([[1.0], curve["surv"].to_numpy()])[idx]
                ax.plot(cens, sv, "|", color=PALETTE[j % len(PALETTE)], ms=5)
        p = (pvalues or {}).get(name)
        ax.set_title(f"{label(name)}" + (f"  (log-rank p {_fmt_p(p)})" if p is not None and np.isfinite(p) else ""),
                     loc="left")
        ax.set_ylim(0, 1.02)
        if xmax:
            ax.set_xlim(0, xmax)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(frameon=False, fontsize=7, loc="lower left")
    for ax in axes.ravel()[k:]:
        ax.axis("off")
    fig.tight_layout()
    return save_figure(fig, stem, formats, dpi)


def _marker_panels(curves: pd.DataFrame, width: float) -> tuple:
    """A figure with one panel per marker of ``curves`` side by side (markers in order of appearance):
    (figure, [(axis, marker, the marker's rows)])."""
    names = list(dict.fromkeys(curves["marker"]))
    fig, axes = plt.subplots(1, len(names), figsize=(width * len(names), 3.6), squeeze=False)
    return fig, [(ax, name, curves[curves["marker"] == name]) for ax, name in zip(axes.ravel(), names)]


def spline_plot(curves: pd.DataFrame, tests: pd.DataFrame, stem, formats=("png", "svg"), dpi: int = 150
                ) -> list[str]:
    """HR vs marker value (restricted cubic spline) relative to the reference value, with pointwise CI."""
    if curves is None or curves.empty:
        return _empty(stem, "No continuous marker with a spline fit", formats, dpi)
    fig, panels = _marker_panels(curves, 4.6)
    for ax, name, c in panels:
        c = c.sort_values("value")
        ax.fill_between(c["value"], c["hr_ci_low"], c["hr_ci_high"], color=PALETTE[0], alpha=0.2, lw=0)
        ax.plot(c["value"], c["hr"], color=PALETTE[0])
        ax.axhline(1.0, color="grey", ls="--", lw=0.8)
        ref = float(c["reference_value"].iloc[0])
        ax.axvline(ref, color="grey", ls=":", lw=0.8)
        ax.set_yscale("log")
        _plain_log_ticks(ax.yaxis, *ax.get_ylim())
        t = tests[tests["marker"] == name] if tests is not None and not tests.empty else pd.DataFrame()
        sub = ""
        if not t.empty and "p_nonlinear" in t:
            sub = f"overall p {_fmt_p(t['p_overall'].iloc[0])}, nonlinearity p {_fmt_p(t['p_nonlinear'].iloc[0])}"
        ax.set_title(f"{label(name)}\n{sub}", loc="left", fontsize=8)
        ax.set_xlabel(f"{label(name)} (reference {ref:.3g})")
        ax.set_ylabel("Hazard ratio (log scale)")
    fig.tight_layout()
    return save_figure(fig, stem, formats, dpi)


def calibration_plot(cal: pd.DataFrame, stem, formats=("png", "svg"), dpi: int = 150,
                     event: str = "progression or death") -> list[str]:
    """Mean predicted vs observed (1 - KM) risk at the horizon by risk group, with the identity line."""
    if cal is None or cal.empty:
        return _empty(stem, "Calibration not available", formats, dpi)
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    t = float(cal["horizon_months"].iloc[0])
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=0.8)
    yerr = np.vstack([cal["observed"] - cal["observed_lower"], cal["observed_upper"] - cal["observed"]])
    ax.errorbar(cal["predicted_mean"], cal["observed"], yerr=np.nan_to_num(yerr), fmt="o", color=PALETTE[0],
                capsize=3)
    for _, r in cal.iterrows():
        ax.annotate(f"G{int(r['group'])} (n={int(r['n'])})", (r["predicted_mean"], r["observed"]),
                    textcoords="offset points", xytext=(5, -10), fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"Predicted risk of {event} by {t:g} months")
    ax.set_ylabel(f"Observed (1 - Kaplan-Meier) by {t:g} months")
    ax.set_title("Calibration by risk group", loc="left")
    return save_figure(fig, stem, formats, dpi)


def cif_plot(curves: pd.DataFrame, stem, formats=("png", "svg"), dpi: int = 150, level_order: dict | None = None,
             xlabel: str = "Months since stopping ICI") -> list[str]:
    """Cumulative incidence of progression (solid) and death without progression (dashed) by level."""
    if curves is None or curves.empty:
        return _empty(stem, "No marker for the competing-risk view", formats, dpi)
    fig, panels = _marker_panels(curves, 4.8)
    for ax, name, c in panels:
        for j, lv in enumerate(_ordered_levels(c["level"], (level_order or {}).get(name))):
            cl = c[c["level"].astype(str) == lv].sort_values("time")
            t = np.concatenate([[0.0], cl["time"].to_numpy()])
            col = PALETTE[j % len(PALETTE)]
            ax.step(t, np.concatenate([[0.0], cl["cif_progression"].to_numpy()]), where="post", color=col,
                    label=f"{label(lv)}: progression")
            ax.step(t, np.concatenate([[0.0], cl["cif_death"].to_numpy()]), where="post", color=col, ls="--",
                    label=f"{label(lv)}: death")
        ax.set_ylim(0, 1)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Cumulative incidence")
        ax.set_title(label(name), loc="left")
        ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return save_figure(fig, stem, formats, dpi)

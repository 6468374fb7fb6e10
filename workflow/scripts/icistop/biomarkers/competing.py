"""Competing risks for the top markers: cumulative incidence of progression with death without
progression as a competing event (Aalen-Johansen, :mod:`icistop.stats.cif`).
"""

from __future__ import annotations


import pandas as pd



def top_markers(markers: pd.DataFrame, k: int, categorical_only: bool = True) -> list[str]:
    """The k markers with the smallest q (then p) among analysed markers."""
    m = markers[markers["status"] == "ok"]
    if categorical_only:
        m = m[m["type"] != "continuous"]
    m = m.sort_values(["q_marker", "p_marker", "marker"], kind="stable")
    return list(m["marker"].head(k))


def competing_risks(data: pd.DataFrame, cfg: dict, markers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Aalen-Johansen cumulative incidence of progression (cause 1) and death without progression
    (cause 2) by level of the top-k categorical markers (``icistop.stats.cif``: exact ties, infinitesimal-
    jackknife SE and log CI as R ``survfit``). Returns (step curves, values at the configured times);
    both empty for an OS endpoint, which has no competing event."""
    from icistop.stats.cif import cif_at, cif_table

    ccfg = cfg.get("competing_risks", {})
    k = int(ccfg.get("top_k", 3))
    times = [float(v) for v in ccfg.get("times", [12, 24])]
    conf = float(cfg.get("conf_level", 0.95))
    curves, summary = [], []
    shown = [] if cfg.get("population_endpoint") == "os" else top_markers(markers, k)
    for rank, name in enumerate(shown, start=1):
        sub = data.loc[data[name].notna(), ["time", "cause", name]].copy()
        sub["level"] = sub[name].astype(str)
        sub["cause"] = sub["cause"].astype(int)
        tab = cif_table(sub, "time", "cause", group="level", causes=[1, 2], conf_level=conf)
        for lv, g in tab.groupby("group", sort=True):
            prog = g[g["cause"] == 1].reset_index(drop=True)
            death = g[g["cause"] == 2].reset_index(drop=True)
            curves.append(pd.DataFrame({
                "marker": name, "rank": rank, "level": lv, "time": prog["time"], "n_risk": prog["n_risk"],
                "cif_progression": prog["cif"], "cif_progression_low": prog["lower"],
                "cif_progression_high": prog["upper"], "cif_death": death["cif"],
                "cif_death_low": death["lower"], "cif_death_high": death["upper"]}))
        at = cif_at(tab, times)
        for lv in sorted(sub["level"].unique()):
            sel = sub["level"] == lv
            a1 = at[(at["group"] == lv) & (at["cause"] == 1)].set_index("time")
            a2 = at[(at["group"] == lv) & (at["cause"] == 2)].set_index("time")
            for t in times:
                summary.append({"marker": name, "rank": rank, "level": lv, "n": int(sel.sum()),
                                "progressions": int((sub.loc[sel, "cause"] == 1).sum()),
                                "deaths": int((sub.loc[sel, "cause"] == 2).sum()), "time": t,
                                "cif_progression": a1.loc[t, "cif"], "cif_progression_low": a1.loc[t, "lower"],
                                "cif_progression_high": a1.loc[t, "upper"], "cif_death": a2.loc[t, "cif"],
                                "cif_death_low": a2.loc[t, "lower"], "cif_death_high": a2.loc[t, "upper"],
                                "beyond_followup": bool(a1.loc[t, "beyond_followup"]),
                                "method": "Aalen-Johansen; infinitesimal-jackknife SE, log CI"})
    curve_cols = ["marker", "rank", "level", "time", "n_risk", "cif_progression", "cif_progression_low",
                  "cif_progression_high", "cif_death", "cif_death_low", "cif_death_high"]
    curves_df = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=curve_cols)
    return curves_df, pd.DataFrame(summary)

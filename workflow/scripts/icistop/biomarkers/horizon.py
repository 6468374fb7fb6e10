"""Simmons-style analysis: recurrence by ``horizon.months`` after the stop against each marker by
Fisher's exact test (R ``fisher.test`` conventions) with the conditional MLE odds ratio.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
from scipy import stats

from icistop.stats.fisher import RxcTooLarge, fisher_test
from icistop.biomarkers.markers import level_order, marker_specs
from icistop.biomarkers.models import add_q


def horizon_outcome(data: pd.DataFrame, months: float, event: str = "progression") -> pd.Series:
    """Event by ``months`` after the time origin: 1 = event by the horizon, 0 = followed at least to the
    horizon without it, NaN = not evaluable (censored - or, for ``event = progression``, died without
    progression - before the horizon). ``event``: progression (cause 1), pfs (progression or death) or
    death (an OS endpoint)."""
    t, e, c = data["time"], data["event"], data["cause"]
    hit = (c == 1) if event == "progression" else (e == 1)
    rec = hit & (t <= months)
    out = pd.Series(np.nan, index=data.index)
    out[rec] = 1.0
    out[~rec & (t >= months)] = 0.0
    return out


def horizon_fisher(data: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Recurrence by the horizon vs each marker: Fisher exact (levels > 2 and an exact enumeration
    beyond ``horizon.exact_rxc_max_work`` steps: Pearson chi-square, no continuity correction, as R
    ``chisq.test(correct = FALSE)``); per-level odds ratios vs the reference always from the exact
    2 x 2 test; Wilcoxon rank-sum for continuous markers."""
    specs = marker_specs(cfg)
    hcfg = cfg.get("horizon", {})
    months = float(hcfg.get("months", 24))
    # an OS population has one event, death
    ev = "death" if cfg.get("population_endpoint") == "os" else hcfg.get("event", "progression")
    max_work = int(hcfg.get("exact_rxc_max_work", 1_000_000))
    conf = float(cfg.get("conf_level", 0.95))
    y = horizon_outcome(data, months, ev)
    evaluable = y.notna()
    n_not_eval = int((~evaluable).sum())
    rows = []
    for spec in specs:
        base = {"marker": spec.name, "type": spec.type, "horizon_months": months, "horizon_event": ev,
                "n_cohort": len(data), "n_not_evaluable": n_not_eval}
        vals = data[spec.name]
        known = evaluable & vals.notna()
        n_unknown = int((evaluable & vals.isna()).sum())
        base.update(n_evaluable=int(known.sum()), n_unknown_excluded=n_unknown)
        if spec.type == "continuous":
            x = vals[known].astype(float)
            yy = y[known]
            if known.sum() == 0 or yy.nunique() < 2 or x.nunique() < 2:
                rows.append({**base, "level": "(continuous)", "status": "skipped",
                             "note": ("no patients in the population" if len(data) == 0 else
                                      "no evaluable patients with both outcomes" if known.sum() else "all values unknown")})
                continue
            a, b = x[yy == 1], x[yy == 0]
            res = stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic", use_continuity=True)
            rows.append({**base, "level": "(continuous)", "n_level": int(known.sum()), "recurred_level": int(yy.sum()),
                         "median_recurred": float(a.median()), "median_not_recurred": float(b.median()),
                         "test": "Wilcoxon rank-sum (normal approximation, continuity correction)",
                         "p_marker": float(res.pvalue), "status": "ok", "note": ""})
            continue
        v = vals[known].astype(str)
        yy = y[known]
        counts = v.value_counts()
        if counts.size < 2:
            rows.append({**base, "level": "", "status": "skipped",
                         "note": ("no patients in the population" if len(data) == 0 else "all values unknown"
                                  if counts.empty else f"a single known level ({counts.index[0]})")})
            continue
        levels = level_order(spec, counts)
        ref = levels[0]
        table = np.array([[int(((v == lv) & (yy == 1)).sum()), int(((v == lv) & (yy == 0)).sum())] for lv in levels])
        note = "" if yy.nunique() == 2 else "no variation in the outcome"
        try:
            p_marker = fisher_test(table, max_work=max_work).p_value
            test = "Fisher exact 2x2" if len(levels) == 2 else f"Fisher exact {len(levels)}x2"
        except RxcTooLarge:
            # the exact r x c enumeration grows steeply with n and levels: Pearson's test instead
            p_marker = float(stats.chi2_contingency(table, correction=False).pvalue)
            test = f"Pearson chi-square {len(levels)}x2 (exact test over the work limit)"
        for i, lv in enumerate(levels):
            row = {**base, "level": lv, "reference": ref, "is_reference": i == 0,
                   "n_level": int(table[i].sum()), "recurred_level": int(table[i, 0]),
                   "pct_recurred_level": 100 * table[i, 0] / table[i].sum(),
                   "test": test, "p_marker": p_marker, "status": "ok", "note": note}
            if i > 0:
                sub = np.array([table[i], table[0]])
                fr = fisher_test(sub, conf_level=conf)
                row.update(odds_ratio=fr.odds_ratio, or_ci_low=fr.ci_low, or_ci_high=fr.ci_high, p_level=fr.p_value)
            rows.append(row)
    out = pd.DataFrame(rows)
    out = add_q(out, cfg.get("fdr_method", "BH"))
    cols = ["marker", "type", "level", "reference", "is_reference", "n_level", "recurred_level",
            "pct_recurred_level", "odds_ratio", "or_ci_low", "or_ci_high", "p_level", "median_recurred",
            "median_not_recurred", "test", "p_marker", "q_marker", "n_evaluable", "n_unknown_excluded",
            "n_not_evaluable", "n_cohort", "horizon_months", "horizon_event", "status", "note"]
    return out.reindex(columns=cols)

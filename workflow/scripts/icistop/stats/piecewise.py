"""Piecewise-constant hazard by follow-up interval.

Estimand: the event rate lambda_k in interval (a_k, b_k] (default (0,12], (12,24], (24,36] months),
estimated as events / person-time (the MLE of a piecewise-exponential model). Person-time of a subject
in (a, b] = max(0, min(exit, b) - max(entry, a)); events count exits with event in (a, b].
95% CI: exact Poisson (Garwood) limits for the event count divided by person-time,
chi2_{alpha/2}(2d) / 2 and chi2_{1-alpha/2}(2d + 2) / 2 (lower 0 when d = 0).
Units: time in months -> rates per person-month and per 100 person-years (x 1200).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import chi2

from icistop.stats.km import split_groups

DEFAULT_BREAKS = (0.0, 12.0, 24.0, 36.0)
PER_100PY = 1200.0  # per person-month -> per 100 person-years (12 months x 100)


def poisson_exact_ci(events, conf_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Garwood exact CI for a Poisson count (limits for the expected count)."""
    d = np.asarray(events, dtype=float)
    a = 1 - conf_level
    lo = np.where(d > 0, chi2.ppf(a / 2, 2 * d) / 2, 0.0)
    hi = chi2.ppf(1 - a / 2, 2 * d + 2) / 2
    return lo, hi


def piecewise_hazard(df: pd.DataFrame, time: str, event: str, breaks=DEFAULT_BREAKS, group: str | None = None,
                     entry: str | None = None, weights: str | None = None,
                     conf_level: float = 0.95) -> pd.DataFrame:
    """Events, person-time and rate with exact Poisson CI per group and interval (a, b].

    ``breaks`` may end with ``np.inf`` for an open last interval. Weights (optional) weight events
    and person-time; the Poisson CI then uses the weighted count (approximate).
    Columns: group, interval, start, end, n_at_risk_start (rows at risk just after ``start``),
    events, person_months, person_years, rate_per_person_month, lower_per_person_month,
    upper_per_person_month, rate_per_100py, lower_per_100py, upper_per_100py, ci_method.
    """
    b = np.asarray(breaks, dtype=float)
    if np.any(np.diff(b) <= 0):
        raise ValueError("breaks must be strictly increasing")
    rows = []
    for label, sub in split_groups(df, group):
        x = sub[time].to_numpy(float)
        d = sub[event].to_numpy(float)
        e = np.zeros_like(x) if entry is None else sub[entry].to_numpy(float)
        w = np.ones_like(x) if weights is None else sub[weights].to_numpy(float)
        for lo, hi in zip(b[:-1], b[1:]):
            pt = np.clip(np.minimum(x, hi) - np.maximum(e, lo), 0.0, None)
            ev = (d == 1) & (x > lo) & (x <= hi) & (x > e)
            n_ev = float(np.sum(w * ev))
            ptime = float(np.sum(w * pt))
            at_risk = int(np.sum((e <= lo) & (x > lo)))
            clo, chi = poisson_exact_ci(n_ev, conf_level)
            with np.errstate(divide="ignore", invalid="ignore"):
                rate = n_ev / ptime if ptime > 0 else np.nan
                l_rate = float(clo) / ptime if ptime > 0 else np.nan
                u_rate = float(chi) / ptime if ptime > 0 else np.nan
            end_label = f"{hi:g}" if np.isfinite(hi) else "inf"
            rows.append(dict(group=label, interval=f"({lo:g},{end_label}]", start=lo, end=hi,
                             n_at_risk_start=at_risk, events=n_ev, person_months=ptime,
                             person_years=ptime / 12.0, rate_per_person_month=rate,
                             lower_per_person_month=l_rate, upper_per_person_month=u_rate,
                             rate_per_100py=rate * PER_100PY, lower_per_100py=l_rate * PER_100PY,
                             upper_per_100py=u_rate * PER_100PY,
                             ci_method="exact Poisson (Garwood)"))
    return pd.DataFrame(rows)

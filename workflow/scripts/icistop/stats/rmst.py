"""Restricted mean survival time (RMST) to tau, reproducing R ``print(survfit(...), rmean=tau)``.

Estimand: RMST(tau) = E[min(T, tau)] = integral_0^tau S(u) du under the Kaplan-Meier curve (S held at
its last value when tau is after the last follow-up time, as R does; flagged). SE as R ``survmean``:
Var = sum_{event times t_j <= tau} A_j^2 d_j / (Y_j (Y_j - d_j)), A_j = integral_{t_j}^tau S(u) du
(Greenwood-type variance of the area; weighted counts when weights are given). This is the variance
of the *estimator*; lifelines' RMST variance option returns
Var[min(T, tau)] instead and is not used.
Difference between groups: RMST_g - RMST_ref, SE = sqrt(se_g^2 + se_ref^2) (independent groups),
normal CI and two-sided Wald p.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from icistop.stats.km import km_table


def rmst_from_table(table: pd.DataFrame, tau: float, conf_level: float = 0.95) -> pd.DataFrame:
    """RMST per group from a :func:`icistop.km.km_table` result.

    Columns: group, tau, rmst, se, lower, upper, events_before_tau, last_time, tau_beyond_last_time.
    """
    z = norm.ppf(1 - (1 - conf_level) / 2)
    rows = []
    for label in pd.unique(table["group"]):
        g = table[table["group"] == label]
        t = g["time"].to_numpy()
        keep = t <= tau
        if not keep.any():
            mean, var = float(tau), 0.0
        else:
            y = g["n_risk"].to_numpy()[keep]
            d = g["n_event"].to_numpy()[keep]
            s = g["surv"].to_numpy()[keep]
            with np.errstate(divide="ignore", invalid="ignore"):
                hh = np.where(y - d == 0, 0.0, d / (y * (y - d)))
            grid = np.concatenate([[0.0], t[keep], [tau]])
            rect = np.diff(grid) * np.concatenate([[1.0], s])
            mean = float(rect.sum())
            after = np.cumsum(rect[::-1])[::-1][1:]  # area from t_j to tau, j = keep rows
            var = float(np.sum(after**2 * hh))
        se = np.sqrt(var)
        rows.append(dict(group=label, tau=float(tau), rmst=mean, se=se, lower=mean - z * se, upper=mean + z * se,
                         events_before_tau=float(g.loc[g["time"] <= tau, "n_event"].sum()),
                         last_time=float(t.max()), tau_beyond_last_time=bool(tau > t.max())))
    return pd.DataFrame(rows)


def rmst(df: pd.DataFrame, time: str, event: str, tau: float, group: str | None = None,
         weights: str | None = None, conf_level: float = 0.95) -> pd.DataFrame:
    """RMST to ``tau`` per group with SE and normal CI (R ``summary(fit, rmean=tau)$table``)."""
    table = km_table(df, time, event, group=group, weights=weights, conf_level=conf_level)
    return rmst_from_table(table, tau, conf_level)


def rmst_diff(df: pd.DataFrame, time: str, event: str, group: str, tau: float,
              reference=None, weights: str | None = None, conf_level: float = 0.95) -> pd.DataFrame:
    """RMST difference of each group vs ``reference`` (default: first group level).

    Columns: group, reference, tau, rmst, rmst_reference, diff, se, lower, upper, z, p.
    """
    per = rmst(df, time, event, tau, group=group, weights=weights, conf_level=conf_level)
    return rmst_diff_from_rmst(per, tau, reference, conf_level)


def rmst_diff_from_rmst(per: pd.DataFrame, tau: float, reference=None, conf_level: float = 0.95) -> pd.DataFrame:
    """:func:`rmst_diff` from the per-group RMST table of :func:`rmst` / :func:`rmst_from_table`."""
    per = per.set_index("group")
    if reference is None:
        reference = per.index[0]
    z = norm.ppf(1 - (1 - conf_level) / 2)
    rows = []
    for label in per.index:
        if label == reference:
            continue
        diff = per.loc[label, "rmst"] - per.loc[reference, "rmst"]
        se = float(np.hypot(per.loc[label, "se"], per.loc[reference, "se"]))
        zz = diff / se if se > 0 else np.nan
        rows.append(dict(group=label, reference=reference, tau=float(tau), rmst=per.loc[label, "rmst"],
                         rmst_reference=per.loc[reference, "rmst"], diff=diff, se=se, lower=diff - z * se,
                         upper=diff + z * se, z=zz, p=float(2 * norm.sf(abs(zz))) if se > 0 else np.nan))
    return pd.DataFrame(rows)

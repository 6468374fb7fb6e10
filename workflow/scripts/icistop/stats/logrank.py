"""Log-rank test for k groups, plain or stratified, reproducing R ``survdiff``.

Test of H0: equal hazards in all groups (within each stratum). At each distinct event time (per
stratum) with Y at risk and d events, group g contributes O_g = d_g, E_g = d Y_g / Y and the
hypergeometric covariance V_gh = d (Y - d) / (Y - 1) * Y_g / Y (1{g=h} - Y_h / Y). O, E and V are
summed over times and strata; chi-square = (O - E)' V^- (O - E) on the groups with E > 0, dropping
the first (R), df = (#groups with E > 0) - 1. ``rho`` > 0 gives the Fleming-Harrington G-rho test with
weight S(t-)^rho (pooled Kaplan-Meier within the stratum), as R ``survdiff(rho=)``.
Right-censored, unweighted data only (as R).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import chi2

from icistop.stats.km import group_levels, strata_codes


@dataclass
class LogrankResult:
    chisq: float
    df: int
    p: float
    groups: pd.DataFrame    # group, n, observed, expected, o_minus_e, var (diagonal of V)
    var: np.ndarray         # k x k covariance matrix of O - E
    stratified: bool
    rho: float

    def summary(self) -> pd.DataFrame:
        """One-row tidy summary: test, chisq, df, p."""
        name = "stratified log-rank" if self.stratified else "log-rank"
        if self.rho:
            name += f" (Fleming-Harrington rho={self.rho:g})"
        return pd.DataFrame([dict(test=name, chisq=self.chisq, df=self.df, p=self.p)])


def _stratum(time, status, gidx, k, rho, freq):
    t, ti = np.unique(time, return_inverse=True)
    nt = len(t)
    cell = ti * k + gidx  # (time, group) cell of each row; bincount adds in row order as np.add.at
    d_tg = np.bincount(cell, weights=status * freq, minlength=nt * k).reshape(nt, k)
    n_tg = np.bincount(cell, weights=freq, minlength=nt * k).reshape(nt, k)
    y_tg = np.cumsum(n_tg[::-1], axis=0)[::-1]  # at risk: time >= t
    d = d_tg.sum(1)
    y = y_tg.sum(1)
    keep = d > 0
    d, y, d_tg, y_tg = d[keep], y[keep], d_tg[keep], y_tg[keep]
    if rho:
        km = np.cumprod((y - d) / y)
        wt = np.concatenate([[1.0], km[:-1]]) ** rho
    else:
        wt = np.ones_like(d)
    e_tg = y_tg * (d / y)[:, None]
    obs = (wt[:, None] * d_tg).sum(0)
    exp = (wt[:, None] * e_tg).sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(y > 1, wt**2 * d * (y - d) / (y - 1), 0.0)
    frac = y_tg / y[:, None]
    var = np.einsum("t,tg->g", factor, frac)
    var = np.diag(var) - np.einsum("t,tg,th->gh", factor, frac, frac)
    return obs, exp, var


def logrank(df: pd.DataFrame, time: str, event: str, group: str, strata: str | list[str] | None = None,
            rho: float = 0.0, freq: str | None = None) -> LogrankResult:
    """Log-rank (``strata`` given: stratified log-rank, sum of per-stratum O - E and V).

    Matches R ``survdiff(Surv(time, event) ~ group [+ strata(s)], rho=rho)``: chisq, df, p and the
    per-group observed / expected (``groups`` table; n = patients per group). ``freq``: a column of
    row multiplicities (aggregated data), equal to the expanded rows.
    """
    data = df.dropna(subset=[time, event, group] + ([] if strata is None else
                                                   [strata] if isinstance(strata, str) else list(strata))
                     + ([] if freq is None else [freq]))
    f = np.ones(len(data)) if freq is None else data[freq].to_numpy(float)
    levels = group_levels(data[group])
    k = len(levels)
    if k < 2:
        raise ValueError("log-rank needs at least two groups")
    gidx = pd.Categorical(data[group], categories=levels).codes
    x = data[time].to_numpy(float)
    s = data[event].to_numpy(float)
    skey = np.zeros(len(data), dtype=int) if strata is None else strata_codes(data, strata, sort=False)
    obs = np.zeros(k)
    exp = np.zeros(k)
    var = np.zeros((k, k))
    order = np.argsort(skey, kind="stable")  # rows of each stratum, in their original order
    bounds = np.flatnonzero(np.diff(skey[order])) + 1
    for m in np.split(order, bounds) if len(order) else []:
        o, e, v = _stratum(x[m], s[m], gidx[m], k, rho, f[m])
        obs += o
        exp += e
        var += v
    use = exp > 0
    if use.sum() < 2:
        chisq = 0.0
    else:
        diff = (obs - exp)[use][1:]
        vv = var[np.ix_(use, use)][1:, 1:]
        chisq = float(diff @ np.linalg.solve(vv, diff))
    dof = int(use.sum()) - 1
    table = pd.DataFrame(dict(group=levels, n=np.bincount(gidx, weights=f, minlength=k).astype(int), observed=obs, expected=exp,
                              o_minus_e=obs - exp, var=np.diag(var)))
    return LogrankResult(chisq=chisq, df=dof, p=float(chi2.sf(chisq, dof)) if dof > 0 else np.nan,
                         groups=table, var=var, stratified=strata is not None, rho=rho)

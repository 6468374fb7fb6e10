"""Competing risks: Aalen-Johansen cumulative incidence, reproducing R ``survfit(Surv(time, factor(status)) ~ g)``.

Estimand: CIF_k(t) = P(T <= t, cause = k). Exact Aalen-Johansen estimate with ties kept as ties:
CIF_k(t) = sum_{t_j <= t} S(t_j-) d_kj / Y_j, S = all-cause Kaplan-Meier (the "(s0)" state of R's
multi-state fit), d_kj the (weighted) cause-k events at t_j, Y_j the (weighted) number at risk
(entry < t_j <= exit when ``entry`` is given). Status coding: 0 = censored, 1, 2, ... = causes.
lifelines' Aalen-Johansen fitter is not used (it jitters tied times).

Standard error: infinitesimal jackknife, Var = sum_c (sum_{i in c} w_i dCIF_k(t)/dw_i)^2, each row its
own cluster unless ``cluster`` is given - R's multi-state ``std.err``. The derivative is evaluated in
closed form per (row, time) in blocks. Pointwise CI: ``conf_type="log"`` (R's default for multi-state
curves) exp(log F -+ z se / F), upper capped at 1; or "plain".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import norm

from icistop.stats.km import _carry_forward, split_groups

CIF_COLUMNS = ["group", "time", "cause", "n_risk", "n_event", "n_censor", "cif", "se", "lower", "upper",
               "event_free"]


def _cum_at(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """values[idx] with 0 for idx < 0 (cumulative quantity before the first time)."""
    return np.where(idx >= 0, values[np.maximum(idx, 0)], 0.0)


def _aj_core(e, x, c, w, causes, cluster=None, block: float = 2e7) -> dict:
    t, xi = np.unique(x, return_inverse=True)
    nt = len(t)
    dk = {k: np.bincount(xi, weights=w * (c == k), minlength=nt) for k in causes}
    d_all = np.bincount(xi, weights=w * (c > 0), minlength=nt)
    n_censor = np.bincount(xi, weights=w * (c == 0), minlength=nt)
    exit_ge = np.cumsum(np.bincount(xi, weights=w, minlength=nt)[::-1])[::-1]
    ke = np.searchsorted(t, e, side="right")
    entry_ge = np.cumsum(np.bincount(ke, weights=w, minlength=nt + 1)[::-1])[::-1][1:]
    y = exit_ge - entry_ge
    y = np.where(np.abs(y) < 1e-12 * max(1.0, w.sum()), 0.0, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(d_all > 0, d_all / y, 0.0)
        inv = np.where(y - d_all > 1e-12 * max(1.0, y.max(initial=0)), 1.0 / (y - d_all), 0.0)
        yinv = np.where(y > 0, 1.0 / y, 0.0)
    surv = np.cumprod(1.0 - h)
    surv[np.isclose(h, 1.0, rtol=0, atol=1e-14).cumsum() > 0] = 0.0
    s_minus = np.concatenate([[1.0], surv[:-1]])
    c_cum = np.cumsum(h * inv)
    c_minus = np.concatenate([[0.0], c_cum[:-1]])

    je = np.searchsorted(t, e, side="right") - 1  # last t_j <= e_i
    jx = xi
    ce = _cum_at(c_cum, je)
    k_row = c_cum[jx] - ce - (c > 0) * inv[jx]
    agg = None
    if cluster is not None:
        codes = pd.factorize(pd.Series(cluster), sort=True)[0]
        agg = sparse.csr_matrix((w, (codes, np.arange(len(w)))), shape=(codes.max() + 1, len(w)))
        rows, mult = np.arange(len(w)), w
    else:
        # each row its own cluster: Var = sum_i w_i^2 u_i(t)^2 and u_i depends on the row only through
        # (entry bin, exit time, status), so rows sharing these are summed first (exact; turns the
        # rows x times loop into distinct-rows x times)
        code = (ke.astype(np.int64) * (nt + 1) + jx) * (int(c.max(initial=0)) + 1) + c.astype(np.int64)
        _, rows, inv = np.unique(code, return_index=True, return_inverse=True)
        mult = np.sqrt(np.bincount(inv.ravel(), weights=w**2))
    ke, je, jx, c, ce, k_row = ke[rows], je[rows], jx[rows], c[rows], ce[rows], k_row[rows]
    out = dict(time=t, n_risk=y, n_censor=n_censor, event_free=surv, n_event={}, cif={}, se={})
    step = max(1, int(block // max(len(rows), 1)))
    for k in causes:
        a = dk[k] * yinv
        f_cum = np.cumsum(s_minus * a)
        d_cum = np.cumsum(s_minus * a * yinv)
        h_cum = np.cumsum(s_minus * a * c_minus)
        fe, de, he = _cum_at(f_cum, je), _cum_at(d_cum, je), _cum_at(h_cum, je)
        fx = f_cum[jx]
        jump = (c == k) * s_minus[jx] * yinv[jx]
        var = np.empty(nt)
        for j0 in range(0, nt, step):
            js = np.arange(j0, min(nt, j0 + step))
            started = ke[:, None] <= js[None, :]          # e_i < t_j
            before = jx[:, None] > js[None, :]           # t_j < x_i
            mi = np.where(before, js[None, :], jx[:, None])
            u = (h_cum[mi] - he[:, None]) - ce[:, None] * (f_cum[mi] - fe[:, None]) - (d_cum[mi] - de[:, None])
            u += np.where(before, 0.0, k_row[:, None] * (f_cum[js][None, :] - fx[:, None]) + jump[:, None])
            u = np.where(started, u, 0.0)
            agg_u = mult[:, None] * u if agg is None else agg @ u
            var[js] = np.sum(agg_u**2, axis=0)
        out["n_event"][k] = dk[k]
        out["cif"][k] = f_cum
        out["se"][k] = np.sqrt(np.maximum(_carry_forward(var, d_all > 0), 0.0))
    return out


def _limits(p, se, conf_type, conf_level):
    z = norm.ppf(1 - (1 - conf_level) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            sel = np.where(se == 0, 0.0, se / xx)
            return np.exp(np.log(xx) - z * sel), np.minimum(np.exp(np.log(xx) + z * sel), 1.0)
        if conf_type == "plain":
            return np.maximum(p - z * se, 0.0), np.minimum(p + z * se, 1.0)
    raise ValueError("conf_type: log or plain")


def cif_table(df: pd.DataFrame, time: str, status: str, group: str | None = None, entry: str | None = None,
              weights: str | None = None, cluster: str | None = None, causes=None, conf_level: float = 0.95,
              conf_type: str = "log") -> pd.DataFrame:
    """Aalen-Johansen CIF per group, cause and distinct exit time (long format).

    Columns: group, time, cause, n_risk, n_event (cause-specific, weighted), n_censor, cif, se
    (IJ, as R), lower, upper, event_free (all-cause Kaplan-Meier S(t), R's "(s0)" state).
    ``causes`` fixes the causes reported (default: all positive status values present).
    """
    st = df[status].to_numpy(dtype=float)
    if np.any(np.isnan(st)) or np.any(st < 0) or np.any(st != np.floor(st)):
        raise ValueError("status must be 0 (censored) or a positive integer cause")
    if causes is None:
        causes = sorted(int(v) for v in np.unique(st) if v > 0)
    frames = []
    for label, sub in split_groups(df, group):
        x = sub[time].to_numpy(dtype=float)
        c = sub[status].to_numpy(dtype=float)
        e = np.full_like(x, -np.inf) if entry is None else sub[entry].to_numpy(dtype=float)
        w = np.ones_like(x) if weights is None else sub[weights].to_numpy(dtype=float)
        if entry is not None and not np.all(e < x):
            raise ValueError("entry must be < exit time for every row")
        cl = None if cluster is None else sub[cluster].to_numpy()
        core = _aj_core(e, x, c, w, causes, cl)
        for k in causes:
            lo, hi = _limits(core["cif"][k], core["se"][k], conf_type, conf_level)
            frames.append(pd.DataFrame(dict(group=label, time=core["time"], cause=k, n_risk=core["n_risk"],
                                            n_event=core["n_event"][k], n_censor=core["n_censor"],
                                            cif=core["cif"][k], se=core["se"][k], lower=lo, upper=hi,
                                            event_free=core["event_free"])))
    return pd.concat(frames, ignore_index=True)[CIF_COLUMNS]


def cif_at(table: pd.DataFrame, times, extend: bool = False) -> pd.DataFrame:
    """CIF at given times per group and cause (R ``summary(fit, times=)``: value at the last time <= t;
    0 before the first time; NaN after the group's last follow-up unless ``extend`` - except when every
    patient of the group has had an event (event-free survival 0): the CIFs are then known and final).

    Columns: group, cause, time, cif, se, lower, upper, n_risk (at the first time >= t), beyond_followup.
    """
    req = np.sort(np.asarray(times, dtype=float))
    rows = []
    for (label, k), g in table.groupby(["group", "cause"], sort=False):
        t = g["time"].to_numpy()
        i1 = np.searchsorted(t, req, side="right") - 1
        i2 = np.searchsorted(t, req, side="left")
        beyond = req > t[-1]
        if "event_free" in g and len(g) and g["event_free"].to_numpy()[-1] <= 0:
            beyond = np.zeros(len(req), bool)

        def val(col):
            v = _cum_at(g[col].to_numpy(), i1)
            return v if extend else np.where(beyond, np.nan, v)

        rows.append(pd.DataFrame(dict(group=label, cause=k, time=req, cif=val("cif"), se=val("se"),
                                      lower=val("lower"), upper=val("upper"),
                                      n_risk=np.concatenate([g["n_risk"].to_numpy(), [0.0]])[i2],
                                      beyond_followup=beyond)))
    return pd.concat(rows, ignore_index=True)


def cause_specific_cox(df: pd.DataFrame, time: str, status: str, cause: int, covariates: list[str], **kwargs):
    """Cause-specific Cox model for ``cause``: other causes treated as censoring at their time.

    Keyword arguments go to :func:`icistop.coxph.cox_fit`; returns its CoxResult.
    """
    from icistop.stats.cox import cox_fit
    data = df.assign(_cs_event=(df[status] == cause).astype(float))
    return cox_fit(data, time, "_cs_event", covariates, **kwargs)

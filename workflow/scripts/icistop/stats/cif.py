"""Competing risks: Aalen-Johansen cumulative incidence, reproducing R ``survfit(Surv(time, factor(status)) ~ g)``.

Estimand: CIF_k(t) = P(T <= t, cause = k). Exact Aalen-Johansen estimate with ties kept as ties:
CIF_k(t) = sum_{t_j <= t} S(t_j-) d_kj / Y_j, S = all-cause Kaplan-Meier (the "(s0)" state of R's
multi-state fit), d_kj the (weighted) cause-k events at t_j, Y_j the (weighted) number at risk
(entry < t_j <= exit when ``entry`` is given). Status coding: 0 = censored, 1, 2, ... = causes.
lifelines' Aalen-Johansen fitter is not used (it jitters tied times).

Standard error: infinitesimal jackknife, Var = sum_c (sum_{i in c} w_i dCIF_k(t)/dw_i)^2, each row its
own cluster unless ``cluster`` is given - R's multi-state ``std.err``. The derivative is affine in two
cumulative curves with coefficients fixed per row between entry and exit, so with one row per cluster
the sum of squares at every time is a quadratic form of cumulative sums (O(rows + times)); with
``cluster`` it is evaluated per (row, time) in blocks. Pointwise CI: ``conf_type="log"`` (R's default for multi-state
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
    out = dict(time=t, n_risk=y, n_censor=n_censor, event_free=surv, n_event={}, cif={}, se={})
    for k in causes:
        a = dk[k] * yinv
        f_cum = np.cumsum(s_minus * a)
        d_cum = np.cumsum(s_minus * a * yinv)
        h_cum = np.cumsum(s_minus * a * c_minus)
        fe, de, he = _cum_at(f_cum, je), _cum_at(d_cum, je), _cum_at(h_cum, je)
        jump = (c == k) * s_minus[jx] * yinv[jx]
        parts = (ke, je, jx, ce, k_row, fe, de, he, jump, f_cum, d_cum, h_cum)
        if cluster is None:
            var = _ij_variance_rows(w, *parts)
        else:
            var = _ij_variance_clusters(w, cluster, *parts, block=block)
        out["n_event"][k] = dk[k]
        out["cif"][k] = f_cum
        out["se"][k] = np.sqrt(np.maximum(_carry_forward(var, d_all > 0), 0.0))
    return out


def _influence(j, ke, je, jx, ce, k_row, fe, de, he, jump, f_cum, d_cum, h_cum):
    """dCIF(t_j)/dw_i for rows i (arrays) and times j (broadcast): 0 before entry; while at risk
    (e_i < t_j < x_i) the at-risk terms; from the exit on, the exit value plus k_row (F(t_j) - F(x_i))."""
    before = jx > j
    mi = np.where(before, j, jx)
    u = (h_cum[mi] - he) - ce * (f_cum[mi] - fe) - (d_cum[mi] - de)
    u = u + np.where(before, 0.0, k_row * (f_cum[j] - f_cum[jx]) + jump)
    return np.where(ke <= j, u, 0.0)


def _ij_variance_rows(w, ke, je, jx, ce, k_row, fe, de, he, jump, f_cum, d_cum, h_cum) -> np.ndarray:
    """sum_i w_i^2 u_i(t_j)^2 for every t_j in O(rows + times), each row its own cluster.

    u_i(t_j) is affine in (G_j, F_j) = (H_j - D_j, F_j) with row coefficients that only change when the row
    exits: at risk (ke_i <= j < jx_i) u = G_j + b_i - g_i F_j; exited (jx_i <= j) u = alpha_i + k_i F_j.
    So the sum of squares is a quadratic form in (1, G_j, F_j) whose coefficients are sums of w^2-weighted
    products over the rows at risk / exited, i.e. cumulative sums over the entry and exit bins."""
    nt = len(f_cum)
    w2 = w * w
    F, G = f_cum, h_cum - d_cum
    b = de - he + ce * fe
    g = ce
    u_exit = _influence(jx, ke, je, jx, ce, k_row, fe, de, he, jump, f_cum, d_cum, h_cum)
    alpha = u_exit - k_row * f_cum[jx]

    def by_exit(v):
        return np.cumsum(np.bincount(jx, weights=w2 * v, minlength=nt))

    def at_risk(v):
        entered = np.cumsum(np.bincount(ke, weights=w2 * v, minlength=nt + 1))[:nt]
        return entered - by_exit(v)

    ones = np.ones_like(w2)
    var = by_exit(alpha * alpha) + 2 * F * by_exit(alpha * k_row) + F * F * by_exit(k_row * k_row)
    var += (G * G * at_risk(ones) + at_risk(b * b) + F * F * at_risk(g * g)
            + 2 * G * at_risk(b) - 2 * G * F * at_risk(g) - 2 * F * at_risk(b * g))
    return var


def _ij_variance_clusters(w, cluster, ke, je, jx, ce, k_row, fe, de, he, jump, f_cum, d_cum, h_cum,
                          block: float = 2e7) -> np.ndarray:
    """sum_c (sum_{i in c} w_i u_i(t_j))^2 per t_j, evaluated per (row, time) in blocks of times."""
    nt = len(f_cum)
    codes = pd.factorize(pd.Series(cluster), sort=True)[0]
    agg = sparse.csr_matrix((w, (codes, np.arange(len(w)))), shape=(codes.max() + 1, len(w)))
    cols = [v[:, None] for v in (ke, je, jx, ce, k_row, fe, de, he, jump)]
    var = np.empty(nt)
    step = max(1, int(block // max(len(w), 1)))
    for j0 in range(0, nt, step):
        js = np.arange(j0, min(nt, j0 + step))
        u = _influence(js[None, :], *cols, f_cum, d_cum, h_cum)
        var[js] = np.sum((agg @ u) ** 2, axis=0)
    return var


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

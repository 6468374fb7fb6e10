"""Kaplan-Meier estimation reproducing R ``survival`` (3.x) ``survfit``/``summary``/``quantile``.

Estimand: S(t) = P(T > t), product-limit estimate prod_{s <= t} (1 - dN_w(s) / Y_w(s)), with
dN_w the (weighted) number of events at s and Y_w(s) the (weighted) number of rows at risk,
start < s <= stop (counting-process / left-truncated input; plain right-censored data have no start).
One output row per distinct exit time (event or censoring), as R ``survfit`` keeps them.

The one Kaplan-Meier engine of the package: :class:`KMIndex` (the weight-free structure of (entry, exit]
rows) and :class:`KMFit` (the curve under given weights: ``at``, ``rmst``, per-row influence functions of
S(t) and of the RMST, for clustered / bootstrap-free SEs) serve the survival, biomarker and continuation
stages; :func:`km_table` adds R's variances and confidence limits.

Variance (``variance="auto"`` follows R's default):
- ``"greenwood"``: Var(log S) = sum dN_w / (Y_w (Y_w - dN_w)) (R when all weights are integers and no
  cluster is given; Inf once S reaches 0);
- ``"ij"``: infinitesimal-jackknife (robust) variance Var(S) = sum_c (sum_{i in c} w_i dS/dw_i)^2, each
  row its own cluster unless ``cluster`` is given (R when any weight is non-integer, i.e.
  ``robust = TRUE``). For unit weights on right-censored data it equals Greenwood.
Confidence intervals: ``conf_type="log-log"`` (default here) exp(-exp(log(-log S) -+ z se/log S)),
undefined (NaN) where S is 0 or 1, exactly as R ``survfit_confint``; also "log" and "plain".

Summaries: :func:`km_median` (R ``print.survfit`` / ``summary()$table`` rule), :func:`km_quantiles`
(R ``quantile.survfit`` rule), :func:`km_at` (R ``summary(fit, times=)``), :func:`kmunicate_table`,
:func:`followup_reverse_km`. R's ``timefix`` merging of times equal up to ~1e-8 is not replicated:
pass exact times (e.g. days / 30.4375 computed the same way).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import norm

TOL = np.sqrt(np.finfo(float).eps)  # R: sqrt(.Machine$double.eps)
ALL = "all"

KM_COLUMNS = ["group", "time", "n_risk", "n_event", "n_censor", "surv", "se_surv", "se_log_surv",
              "lower", "upper", "variance", "conf_type", "conf_level"]


# ----------------------------------------------------------------------------------------------
# input helpers shared by the survival modules
# ----------------------------------------------------------------------------------------------
def group_levels(values: pd.Series) -> list:
    """Group order: categorical categories (present ones), else sorted unique values (R factor order)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = set(values.dropna().unique())
        return [c for c in values.cat.categories if c in present]
    return sorted(values.dropna().unique().tolist())


def strata_codes(df: pd.DataFrame, strata, sort: bool = True) -> np.ndarray | None:
    """One integer code per row for the combination of the ``strata`` columns' values as text (None: no
    strata). ``sort``: codes in the order of the sorted combinations (tuples of the values' text), else in
    order of first appearance. Column-wise factorize combined in mixed radix (no per-row string join)."""
    if strata is None:
        return None
    cols = [strata] if isinstance(strata, str) else list(strata)
    code = np.zeros(len(df), np.int64)
    for c in cols:
        raw, uniques = pd.factorize(df[c], use_na_sentinel=False)
        text_codes, texts = pd.factorize(pd.Index(uniques).astype(str), sort=sort)  # values equal as text share a code
        code = code * len(texts) + text_codes[raw]
        code = pd.factorize(code, sort=sort)[0]  # keep the codes small
    return code


def split_groups(df: pd.DataFrame, group: str | None):
    """Yield (label, sub-frame) per group in R factor order; one group ``"all"`` when group is None."""
    if group is None:
        yield ALL, df
        return
    for level in group_levels(df[group]):
        yield level, df[df[group] == level]


def survival_arrays(df: pd.DataFrame, time: str, event: str, entry: str | None = None,
                    weights: str | None = None):
    """(entry, exit, status, weight) float arrays; entry = -inf without left truncation."""
    x = df[time].to_numpy(dtype=float)
    d = df[event].to_numpy(dtype=float)
    e = np.full_like(x, -np.inf) if entry is None else df[entry].to_numpy(dtype=float)
    w = np.ones_like(x) if weights is None else df[weights].to_numpy(dtype=float)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(d))):
        raise ValueError("time and event must be finite (drop missing rows first)")
    if entry is not None and not np.all(e < x):
        raise ValueError("entry must be < exit time for every row (R: stop time must be > start time)")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative")
    if not np.all(np.isin(d, (0.0, 1.0))):
        raise ValueError("event must be 0/1")
    return e, x, d, w


def _is_integer(w: np.ndarray) -> bool:
    return bool(np.all(w == np.floor(w)))


def conf_limits(p: np.ndarray, se_log: np.ndarray, conf_type: str = "log-log",
                conf_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise CI from S and the SE of log S, as R ``survfit_confint`` (logse = TRUE)."""
    z = norm.ppf(1 - (1 - conf_level) / 2)
    p = np.asarray(p, dtype=float)
    se = np.asarray(se_log, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "log-log":
            xx = np.where((p == 0) | (p == 1), np.nan, p)
            se2 = z * se / np.log(xx)
            lo = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
            hi = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
        elif conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            lo = np.exp(np.log(xx) - z * se)
            hi = np.minimum(np.exp(np.log(xx) + z * se), 1.0)
        elif conf_type == "plain":
            se2 = se * p * z
            lo, hi = np.maximum(p - se2, 0.0), np.minimum(p + se2, 1.0)
        else:
            raise ValueError(f"conf_type {conf_type!r} not supported (log-log, log, plain)")
    return lo, hi


# ----------------------------------------------------------------------------------------------
# core estimator for one group
# ----------------------------------------------------------------------------------------------
class KMFit:
    """A fitted (weighted, counting-process) Kaplan-Meier curve at every distinct exit time, with the
    rows it was fitted to (for influence functions). Built by :meth:`KMIndex.fit`."""

    def __init__(self, index: "KMIndex", w: np.ndarray, n_risk, n_event, n_censor, surv):
        self.index, self.w = index, w
        self.time, self.n_risk, self.n_event, self.n_censor, self.surv = index.t, n_risk, n_event, n_censor, surv
        self.start, self.stop, self.event = index.e, index.x, index.d

    @property
    def last_time(self) -> float:
        """End of follow-up: the latest exit time of a row with positive weight (-inf when none)."""
        positive = self.w > 0
        return float(self.stop[positive].max()) if positive.any() else -np.inf

    def at(self, t) -> np.ndarray:
        """S(t) (right-continuous step function). After the end of follow-up S is known only when it
        has reached 0 (R ``summary(survfit, extend = TRUE)``); otherwise NaN (unknown)."""
        t = np.atleast_1d(np.asarray(t, float))
        idx = np.searchsorted(self.time, t, side="right") - 1
        out = np.where(idx >= 0, self.surv[np.maximum(idx, 0)] if len(self.surv) else 1.0, 1.0)
        return np.where((t > self.last_time) & (out > 0), np.nan, out)

    def rmst(self, tau: float) -> float:
        """Area under S up to tau; NaN when follow-up ends before tau with S > 0 (S unknown there)."""
        if tau > self.last_time and self.at(self.last_time)[0] > 0:
            return np.nan
        inside = self.time < tau
        grid = np.concatenate([[0.0], self.time[inside], [tau]])
        s = np.concatenate([[1.0], self.surv[inside]])
        return float(np.sum(s * np.diff(grid)))

    def _row_influence(self, g_time: np.ndarray) -> np.ndarray:
        """Per-row sum over event times s of g(s) w (dN_r(s) - Y_r(s) dN(s) / Y(s)) / (Y(s) - dN(s)).

        The divisor Y - dN (not Y) is the 1 / (1 - dLambda) factor of the product-limit map; it makes
        the unit-weight variance the Greenwood variance R reports."""
        y_minus = self.n_risk - self.n_event
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = np.where(y_minus > 0, 1.0 / y_minus, 0.0)
            haz_den = np.where(self.n_event > 0, self.n_event / self.n_risk, 0.0) * inv
        term2 = np.concatenate([[0.0], np.cumsum(g_time * haz_den)])
        ix = self.index
        out = -self.w * (term2[ix.xi + 1] - term2[ix.ke])
        ev = ix.ev
        out[ev] += self.w[ev] * g_time[ix.xi[ev]] * inv[ix.xi[ev]]
        return out

    def influence_surv(self, t: float) -> np.ndarray:
        """Per-row influence of S(t): -S(t) sum_{s <= t} dM_r(s) / (Y(s) - dN(s)) (sum rows by cluster
        for a clustered SE: R ``survfit(..., id =, robust = TRUE)``)."""
        g = (self.time <= t).astype(float)
        return -self.at(t)[0] * self._row_influence(g)

    def influence_rmst(self, tau: float) -> np.ndarray:
        """Per-row influence of RMST(tau) = -sum_s dM_r(s) / (Y(s) - dN(s)) int_s^tau S(u) du."""
        inside = self.time <= tau
        grid = np.concatenate([self.time[inside], [tau]])
        area_after = np.cumsum((self.surv[inside] * np.diff(grid))[::-1])[::-1]
        g = np.zeros(len(self.time))
        g[inside] = area_after
        return -self._row_influence(g)


class KMIndex:
    """The weight-free part of the Kaplan-Meier estimator of (entry, exit] rows: the distinct exit times
    and, per row, its exit and entry positions, so that fits under new weights (bootstrap frequencies
    times inverse-probability weights) cost two weighted counts and cumulative sums."""

    def __init__(self, start, stop, event):
        self.x = np.asarray(stop, float)
        self.e = np.full(len(self.x), -np.inf) if start is None else np.asarray(start, float)
        self.d = np.asarray(event, float)
        self.ev = self.d > 0
        self.t, self.xi = np.unique(self.x, return_inverse=True)
        self.xi = self.xi.ravel()
        self.ke = np.searchsorted(self.t, self.e, side="right")  # rows with entry >= t_j are not at risk at j

    def fit(self, weights=None) -> KMFit:
        """Product-limit estimate S(t) = prod (1 - dN_w / Y_w) with weighted counts at each exit time."""
        w = np.ones(len(self.x)) if weights is None else np.asarray(weights, float)
        nt = len(self.t)
        n_event = np.bincount(self.xi, weights=w * self.d, minlength=nt)
        n_censor = np.bincount(self.xi, weights=w * (1 - self.d), minlength=nt)
        # at risk at t_j: exit >= t_j minus entry >= t_j (entry < exit, so those exit later)
        exit_ge = np.cumsum(np.bincount(self.xi, weights=w, minlength=nt)[::-1])[::-1]
        entry_ge = np.cumsum(np.bincount(self.ke, weights=w, minlength=nt + 1)[::-1])[::-1][1:]
        n_risk = exit_ge - entry_ge
        n_risk = np.where(np.abs(n_risk) < 1e-12 * max(1.0, w.sum()), 0.0, n_risk)
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.where(n_event > 0, n_event / n_risk, 0.0)
        surv = np.cumprod(1.0 - h)
        surv[np.isclose(h, 1.0, rtol=0, atol=1e-14).cumsum() > 0] = 0.0
        return KMFit(self, w, n_risk, n_event, n_censor, surv)


def km_fit(start, stop, event, weights=None) -> KMFit:
    """Weighted Kaplan-Meier of (start, stop] rows (``start=None``: right-censored, no entry times)."""
    return KMIndex(start, stop, event).fit(weights)


def cluster_sum(values: np.ndarray, cluster) -> np.ndarray:
    """Sum per cluster (e.g. the influence of the clones of one patient)."""
    codes = np.unique(np.asarray(cluster), return_inverse=True)[1].ravel()
    return np.bincount(codes, weights=values)


def _km_core(e, x, d, w, variance: str, cluster=None) -> dict:
    fit = KMIndex(e, x, d).fit(w)
    t, xi = fit.time, fit.index.xi
    n_risk, n_event, surv = fit.n_risk, fit.n_event, fit.surv
    out = dict(time=t, n_risk=n_risk, n_event=n_event, n_censor=fit.n_censor, surv=surv)
    if variance == "greenwood":
        y_minus = n_risk - n_event
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(n_event > 0, n_event / (n_risk * y_minus), 0.0)
        se_log = np.sqrt(np.cumsum(term))
        with np.errstate(invalid="ignore"):
            se_surv = se_log * surv
        out.update(se_log_surv=se_log, se_surv=se_surv)
    elif variance == "ij":
        var = _carry_forward(_km_ij_var(t, xi, e, x, d, w, n_risk, n_event, surv, cluster), n_event > 0)
        se_surv = np.sqrt(np.maximum(var, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            se_log = np.where(se_surv == 0, 0.0, se_surv / surv)
        out.update(se_log_surv=se_log, se_surv=se_surv)
    else:
        raise ValueError(f"variance {variance!r}: use auto, greenwood or ij")
    return out


def _carry_forward(values: np.ndarray, changes: np.ndarray, start: float = 0.0) -> np.ndarray:
    """Hold ``values`` constant between the positions where ``changes`` is True (the variance moves only
    at event times; recomputing it at censoring times would add rounding noise that R does not have)."""
    idx = np.where(changes, np.arange(len(values)), -1)
    idx = np.maximum.accumulate(idx) if len(idx) else idx
    return np.where(idx >= 0, values[np.maximum(idx, 0)], start)


def _km_ij_var(t, xi, e, x, d, w, n_risk, n_event, surv, cluster) -> np.ndarray:
    """Infinitesimal-jackknife Var(S(t_j)).

    dS(t)/dw_i = S(t) G_i(t), G_i(t) = 1{e_i<t} [C(min(t, x_i)) - C(e_i)] - d_i 1{x_i<=t} / (Y - dN)(x_i),
    C(t) = sum_{t_j<=t} h_j / (Y_j - dN_j) (terms with Y = dN set to 0: S is 0 from there on).
    Without clusters Var/S^2 = sum_{x_i<=t} w_i^2 K_i^2 + sum_{e_i<t<x_i} w_i^2 (C(t) - C(e_i))^2 with
    K_i = G_i(x_i), evaluated with cumulative sums (O(n log n)).
    """
    nt = len(t)
    y_minus = n_risk - n_event
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(y_minus > 1e-12 * max(1.0, n_risk.max(initial=0)), 1.0 / y_minus, 0.0)
        h = np.where(n_event > 0, n_event / n_risk, 0.0)
    c_cum = np.cumsum(h * inv)
    je = np.searchsorted(t, e, side="right") - 1  # last t_j <= e_i
    c_e = np.where(je >= 0, c_cum[np.maximum(je, 0)], 0.0)
    c_x = c_cum[xi]
    k_row = c_x - c_e - d * inv[xi]
    if cluster is None:
        w2 = w * w
        a = np.cumsum(np.bincount(xi, weights=w2 * k_row**2, minlength=nt))
        ke = np.searchsorted(t, e, side="right")  # rows with e_i < t_j are those with ke <= j
        sums = []
        for q in (w2, w2 * c_e, w2 * c_e**2):
            entered = np.cumsum(np.bincount(ke, weights=q, minlength=nt + 1)[:nt])
            exited = np.cumsum(np.bincount(xi, weights=q, minlength=nt))
            sums.append(entered - exited)
        b = c_cum**2 * sums[0] - 2 * c_cum * sums[1] + sums[2]
        return surv**2 * (a + np.maximum(b, 0.0))
    codes, _ = pd.factorize(pd.Series(cluster), sort=True)
    agg = sparse.csr_matrix((w, (codes, np.arange(len(w)))), shape=(codes.max() + 1, len(w)))
    var = np.empty(nt)
    step = max(1, int(2e7 // max(len(w), 1)))
    for j0 in range(0, nt, step):
        tj = t[j0:j0 + step]
        cj = c_cum[j0:j0 + step]
        started = e[:, None] < tj[None, :]
        x_le = x[:, None] <= tj[None, :]
        g = np.where(started, np.where(x_le, c_x[:, None], cj[None, :]) - c_e[:, None], 0.0)
        g -= (d * inv[xi])[:, None] * x_le
        u = agg @ g
        var[j0:j0 + step] = surv[j0:j0 + step] ** 2 * np.sum(u**2, axis=0)
    return var


def km_table(df: pd.DataFrame, time: str, event: str, group: str | None = None,
             entry: str | None = None, weights: str | None = None, cluster: str | None = None,
             conf_level: float = 0.95, conf_type: str = "log-log", variance: str = "auto") -> pd.DataFrame:
    """Kaplan-Meier curve(s): one row per group and distinct exit time (R ``survfit`` rows).

    Columns: group, time, n_risk, n_event, n_censor (weighted), surv, se_surv (SE of S, R
    ``summary()$std.err``), se_log_surv (SE of log S), lower, upper, variance, conf_type, conf_level.
    ``entry`` gives (entry, time] counting-process rows (R ``Surv(start, stop, event)``).
    """
    frames = []
    method = variance
    if variance == "auto":  # decided on all rows, as R (any non-integer weight -> robust)
        all_w = np.ones(1) if weights is None else df[weights].to_numpy(dtype=float)
        method = "greenwood" if (cluster is None and _is_integer(all_w)) else "ij"
    for label, sub in split_groups(df, group):
        e, x, d, w = survival_arrays(sub, time, event, entry, weights)
        cl = None if cluster is None else sub[cluster].to_numpy()
        core = _km_core(e, x, d, w, method, cl)
        lo, hi = conf_limits(core["surv"], core["se_log_surv"], conf_type, conf_level)
        frame = pd.DataFrame(core)
        frame.insert(0, "group", label)
        frame["lower"], frame["upper"] = lo, hi
        frame["variance"], frame["conf_type"], frame["conf_level"] = method, conf_type, conf_level
        frames.append(frame[KM_COLUMNS])
    if not frames:
        return pd.DataFrame(columns=KM_COLUMNS)
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------------------------
# summaries
# ----------------------------------------------------------------------------------------------
def _groups(table: pd.DataFrame):
    for label in pd.unique(table["group"]):
        yield label, table[table["group"] == label]


def _minmin(y: np.ndarray, x: np.ndarray) -> float:
    """R survmean's median rule: first time y <= 0.5; midpoint to the next drop if y == 0.5 there."""
    keep = ~np.isnan(y) & (y < 0.5 + TOL)
    if not keep.any():
        return np.nan
    x, y = x[keep], y[keep]
    below = np.flatnonzero(y < y[0])
    if abs(y[0] - 0.5) < TOL and below.size:
        return (x[0] + x[below[0]]) / 2
    return float(x[0])


def km_median(table: pd.DataFrame) -> pd.DataFrame:
    """Median survival with CI per group, as R ``print(survfit)`` / ``summary(fit)$table``.

    median = first time S(t) <= 0.5; when S(t) == 0.5 (within sqrt(eps)) on an interval, the midpoint
    of that interval's start and the next time S drops. Limits: the same rule on the lower/upper CI
    curves. Not reached -> NaN with ``*_not_reached`` True (never inf).
    Columns: group, n_max (largest number at risk), events, median, lower, upper,
    median_not_reached, lower_not_reached, upper_not_reached.
    """
    rows = []
    for label, g in _groups(table):
        x = g["time"].to_numpy()
        med = _minmin(g["surv"].to_numpy(), x)
        lo = _minmin(g["lower"].to_numpy(), x)
        hi = _minmin(g["upper"].to_numpy(), x)
        rows.append(dict(group=label, n_max=g["n_risk"].max(), events=g["n_event"].sum(), median=med,
                         lower=lo, upper=hi, median_not_reached=bool(np.isnan(med)),
                         lower_not_reached=bool(np.isnan(lo)), upper_not_reached=bool(np.isnan(hi))))
    return pd.DataFrame(rows)


def _approx_const_right(xs: np.ndarray, ys: np.ndarray, xout: np.ndarray) -> np.ndarray:
    """R ``approx(xs, ys, xout, method="constant", f=1)`` (rule 1: NA outside the range)."""
    ok = ~np.isnan(xs)
    xs, ys = xs[ok], ys[ok]
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    res = np.full(len(xout), np.nan)
    if len(xs) == 0:
        return res
    for k, v in enumerate(xout):
        if v < xs[0] or v > xs[-1] or np.isnan(v):
            continue
        j = np.searchsorted(xs, v, side="left")  # xs[j] >= v
        res[k] = ys[j]
    return res


def _findq(x: np.ndarray, y: np.ndarray, p: np.ndarray, tol: float = TOL) -> np.ndarray:
    """R survival:::findq: quantile of the distribution function y = 1 - S at knots x."""
    if np.all(np.isnan(y)) or np.nanmax(y) < p.min():
        return np.full(len(p), np.nan)
    xmax = x[-1]
    keep = ~pd.Series(y).duplicated().to_numpy()
    x, y = x[keep], y[keep]
    n = len(y)
    idx = np.arange(n, dtype=float)
    i1 = _approx_const_right(y + tol, idx, p)
    i2 = _approx_const_right(y - tol, idx, p)

    def pick(i):
        out = np.full(len(i), np.nan)
        ok = ~np.isnan(i)
        out[ok] = x[i[ok].astype(int)]
        return out

    x1, x2 = pick(i1), pick(i2)
    quant = (x1 + x2) / 2
    quant[p == 0] = x[0]
    if not np.isnan(y[-1]):
        last = np.abs(p - y[-1]) < tol
        quant[last] = (x1[last] + xmax) / 2
    return quant


def km_quantiles(table: pd.DataFrame, probs=(0.25, 0.5, 0.75), start_time: float = 0.0) -> pd.DataFrame:
    """Quantiles of the event-time distribution with CI per group, as R ``quantile.survfit``.

    Differs from :func:`km_median` only when S stays exactly at 1 - p until the last follow-up time:
    R's quantile then reports the midpoint of that plateau and the last time.
    Columns: group, prob, quantile, lower, upper, quantile_not_reached.
    """
    p = np.asarray(probs, dtype=float)
    rows = []
    for label, g in _groups(table):
        x = np.concatenate([[start_time], g["time"].to_numpy()])
        q = _findq(x, np.concatenate([[0.0], 1 - g["surv"].to_numpy()]), p)
        lo = _findq(x, np.concatenate([[0.0], 1 - g["lower"].to_numpy()]), p)
        hi = _findq(x, np.concatenate([[0.0], 1 - g["upper"].to_numpy()]), p)
        for k in range(len(p)):
            rows.append(dict(group=label, prob=p[k], quantile=q[k], lower=lo[k], upper=hi[k],
                             quantile_not_reached=bool(np.isnan(q[k]))))
    return pd.DataFrame(rows)


def km_at(table: pd.DataFrame, times, extend: bool = False) -> pd.DataFrame:
    """Survival at given times per group, as R ``summary(fit, times=)``.

    S, se_surv and CI are the curve values at the last time <= t (before the first row: S = 1 and
    CI (1, 1), R's survfit0 row; on a stretch with S == 1 the log-log CI is NaN, as in R).
    n_risk = number at risk at the first curve time >= t (0 beyond); cum_events / cum_censored count
    exits in [0, t]; n_event / n_censor count exits since the previous requested time (R). Times after
    the group's last follow-up time give NaN estimates (``beyond_followup`` True; R drops the row)
    unless ``extend`` - except when the curve has reached 0 (the last time is an event that ends the
    group): S = 0 is then known at every later time (R ``summary(fit, times, extend = TRUE)``), and
    ``beyond_followup`` is False. Columns: group, time, n_risk, n_event, n_censor, cum_events, cum_censored,
    surv, se_surv, lower, upper, beyond_followup.
    """
    req = np.sort(np.asarray(times, dtype=float))
    rows = []
    for label, g in _groups(table):
        t = g["time"].to_numpy()
        i1 = np.searchsorted(t, req, side="right") - 1  # last t_j <= time
        i2 = np.searchsorted(t, req, side="left")  # first t_j >= time
        cum_ev = np.concatenate([[0.0], np.cumsum(g["n_event"].to_numpy())])[i1 + 1]
        cum_ce = np.concatenate([[0.0], np.cumsum(g["n_censor"].to_numpy())])[i1 + 1]
        n_risk = np.concatenate([g["n_risk"].to_numpy(), [0.0]])[i2]
        beyond = (req > t[-1]) & (g["surv"].to_numpy()[-1] > 0)

        def val(col, first):
            v = g[col].to_numpy()
            out = np.where(i1 >= 0, v[np.maximum(i1, 0)], first)
            if not extend:
                out = np.where(beyond, np.nan, out)
            return out

        frame = pd.DataFrame(dict(group=label, time=req, n_risk=n_risk,
                                  n_event=np.diff(np.concatenate([[0.0], cum_ev])),
                                  n_censor=np.diff(np.concatenate([[0.0], cum_ce])),
                                  cum_events=cum_ev, cum_censored=cum_ce,
                                  surv=val("surv", 1.0), se_surv=val("se_surv", 0.0),
                                  lower=val("lower", 1.0), upper=val("upper", 1.0),
                                  beyond_followup=beyond))
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)


def kmunicate_table(table: pd.DataFrame, times) -> pd.DataFrame:
    """KMunicate risk table: number at risk, cumulative events and cumulative censored at ``times``.

    Columns: group, time, n_risk, cum_events, cum_censored.
    """
    at = km_at(table, times, extend=True)
    return at[["group", "time", "n_risk", "cum_events", "cum_censored"]]


def followup_reverse_km(df: pd.DataFrame, time: str, event: str, group: str | None = None,
                        conf_level: float = 0.95) -> pd.DataFrame:
    """Median follow-up by reverse Kaplan-Meier (censoring as the event): R
    ``quantile(survfit(Surv(time, 1 - status) ~ g, conf.type = "log-log"), c(.25, .5, .75))``.

    Columns: group, n, n_censored, median, median_lower, median_upper, q1, q3, min_time, max_time
    (range of all observed times), min_censored, max_censored (range of censored times).
    """
    rev = df.assign(_rev=1 - df[event].astype(float))
    table = km_table(rev, time, "_rev", group=group, conf_level=conf_level)
    q = km_quantiles(table, (0.25, 0.5, 0.75))
    rows = []
    for label, sub in split_groups(df, group):
        qq = q[q["group"] == label].set_index("prob")
        cens = sub.loc[sub[event].astype(float) == 0, time]
        rows.append(dict(group=label, n=len(sub), n_censored=len(cens), median=qq.loc[0.5, "quantile"],
                         median_lower=qq.loc[0.5, "lower"], median_upper=qq.loc[0.5, "upper"],
                         q1=qq.loc[0.25, "quantile"], q3=qq.loc[0.75, "quantile"],
                         min_time=sub[time].min(), max_time=sub[time].max(),
                         min_censored=cens.min() if len(cens) else np.nan,
                         max_censored=cens.max() if len(cens) else np.nan))
    return pd.DataFrame(rows)

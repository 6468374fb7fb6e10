"""Inverse-variance meta-analysis of k studies' estimates of one quantity, as R ``metafor::rma.uni`` (3.8).

Each study i gives an estimate y_i (log hazard ratio, difference of survival probabilities, RMST difference, ...)
with standard error s_i; v_i = s_i^2.

- Fixed effect (common effect, metafor ``method="FE"``/``"EE"``): weights w_i = 1 / v_i, estimate
  sum(w y) / sum(w), SE 1 / sqrt(sum w), Wald z test and CI.
- Random effects: weights 1 / (v_i + tau^2), tau^2 the between-study variance by
  ``"DL"`` DerSimonian-Laird, (Q - (k - 1)) / (sum w - sum w^2 / sum w);
  ``"REML"`` restricted maximum likelihood by Fisher scoring from the Hedges estimate (metafor's algorithm,
  iterated to full precision, with metafor's check that the restricted likelihood at tau^2 = 0 is not higher);
  ``"PM"`` Paule-Mandel, the root of the generalised Q(tau^2) = k - 1 (Brent's method, full precision).
  All are truncated at 0. Inference is a z test, or with ``hartung_knapp=True`` metafor's ``test="knha"``:
  SE^2 = s2w / sum(w*), s2w = sum w* (y - mu)^2 / (k - 1) NOT truncated at 1 (so the Hartung-Knapp CI can be
  narrower than the z CI when the estimates agree more than their SEs imply), t test with k - 1 df.
- Heterogeneity: Cochran's Q (fixed-effect weights, k - 1 df); I^2 = 100 tau^2 / (tau^2 + s^2) and
  H^2 = tau^2 / s^2 + 1 with s^2 = (k - 1) sum w / ((sum w)^2 - sum w^2) the "typical" within-study variance
  (metafor's definition for the estimated tau^2); for the fixed-effect model I^2 = max(0, 100 (Q - (k - 1)) / Q),
  H^2 = Q / (k - 1).
- Prediction interval (metafor ``predict``) for the true effect in a new study: mu +/- crit sqrt(SE^2 + tau^2), crit
  the CI's z or t(k - 1) quantile; NaN for the fixed-effect model (as metafor) and for k = 1.
- Study weights in percent under both models.

k = 1: heterogeneity is not estimable: tau^2, tau, Q, its p, I^2, H^2 and the prediction interval are NaN, the
random-effects result is the fixed-effect one (metafor reports tau^2 = 0, Q = 0, I^2 = 0); with Hartung-Knapp
(0 df) the random-effects SE, CI and p are NaN (metafor: NA). The ``note`` field says so.

metafor's default stopping rules (REML: change in tau^2 < 1e-5; PM: ``uniroot`` tol = 1.2e-4) leave errors of
~1e-6 in tau^2; here both are solved to machine precision, which agrees with ``rma(..., control=list(threshold=1e-14,
tol=1e-14, maxiter=10000))`` to ~1e-12 (tests/test_meta.py).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

METHODS = ("FE", "EE", "DL", "REML", "PM")
_EPS = np.finfo(float).eps


@dataclass(frozen=True)
class MetaResult:
    k: int
    method: str
    hartung_knapp: bool
    conf_level: float
    fixed: float            # fixed-effect (inverse-variance) estimate
    fixed_se: float
    fixed_lower: float
    fixed_upper: float
    fixed_z: float
    fixed_p: float
    random: float           # random-effects estimate (= fixed for method FE/EE, k = 1 or tau^2 = 0)
    random_se: float
    random_lower: float
    random_upper: float
    random_stat: float      # z, or t under Hartung-Knapp
    random_df: float        # NaN (z), k - 1 (t)
    random_p: float
    pi_lower: float         # prediction interval for a new study's true effect
    pi_upper: float
    tau2: float
    tau: float
    q: float
    q_df: int
    q_p: float
    i2: float               # percent
    h2: float
    labels: tuple
    weights_fixed: tuple    # percent
    weights_random: tuple   # percent
    note: str

    def summary(self) -> dict:
        """The scalar results (no per-study fields)."""
        return {k: v for k, v in asdict(self).items() if k not in ("labels", "weights_fixed", "weights_random")}


def _inputs(estimates, ses, labels) -> tuple[np.ndarray, np.ndarray, tuple]:
    y = np.asarray(estimates, dtype=float).ravel()
    s = np.asarray(ses, dtype=float).ravel()
    if len(y) != len(s):
        raise ValueError(f"meta-analysis: {len(y)} estimates but {len(s)} standard errors")
    if len(y) == 0:
        raise ValueError("meta-analysis: no studies")
    labels = tuple(f"study {i + 1}" for i in range(len(y))) if labels is None else tuple(str(x) for x in labels)
    if len(labels) != len(y):
        raise ValueError(f"meta-analysis: {len(labels)} labels for {len(y)} studies")
    for lab, yi, si in zip(labels, y, s):
        if not np.isfinite(yi):
            raise ValueError(f"meta-analysis: study {lab!r} has a non-finite estimate ({yi})")
        if not (np.isfinite(si) and si > 0):
            raise ValueError(f"meta-analysis: study {lab!r} has standard error {si}; it must be finite and > 0")
    return y, s * s, labels


def _wmean(y: np.ndarray, w: np.ndarray) -> float:
    return float(w @ y / w.sum())


def cochran_q(y, v) -> float:
    """Cochran's Q: sum w (y - fixed-effect estimate)^2, w = 1 / v (truncated at 0 against rounding)."""
    y, v = np.asarray(y, float), np.asarray(v, float)
    w = 1.0 / v
    return max(0.0, float(w @ (y - _wmean(y, w)) ** 2))


def tau2_dl(y, v) -> float:
    """DerSimonian-Laird: max(0, (Q - (k - 1)) / (sum w - sum w^2 / sum w)), w = 1 / v."""
    y, v = np.asarray(y, float), np.asarray(v, float)
    w = 1.0 / v
    return max(0.0, float((cochran_q(y, v) - (len(y) - 1)) / (w.sum() - (w @ w) / w.sum())))


def _q_generalised(tau2: float, y: np.ndarray, v: np.ndarray) -> float:
    w = 1.0 / (v + tau2)
    return float(w @ (y - _wmean(y, w)) ** 2)


def tau2_pm(y, v) -> float:
    """Paule-Mandel: the tau^2 >= 0 at which the generalised Q, sum (y - mu)^2 / (v + tau^2), equals k - 1.

    Q decreases in tau^2; 0 when Q(0) <= k - 1. The root lies below the sample variance of y, where
    Q < k - 1 (Q(t) <= sum (y - mean)^2 / (t + min v)), so Brent's method on that bracket always converges."""
    y, v = np.asarray(y, float), np.asarray(v, float)
    target = len(y) - 1
    if _q_generalised(0.0, y, v) <= target:
        return 0.0
    hi = float(np.sum((y - y.mean()) ** 2)) / target
    while _q_generalised(hi, y, v) > target:  # guards rounding only
        hi *= 2
    return optimize.brentq(lambda t: _q_generalised(t, y, v) - target, 0.0, hi, xtol=1e-300, rtol=4 * _EPS,
                           maxiter=1000)


def _reml_loglik(tau2: float, y: np.ndarray, v: np.ndarray) -> float:
    w = 1.0 / (v + tau2)
    return -0.5 * float(np.sum(np.log(v + tau2)) + math.log(w.sum()) + w @ (y - _wmean(y, w)) ** 2)


def tau2_reml(y, v, maxiter: int = 1000) -> float:
    """REML tau^2 by Fisher scoring (metafor's algorithm): start at max(0, Hedges estimate), step
    (y'PPy - tr P) / tr(PP) halved while it would go below 0, until the change is below 1e-13 of
    (tau^2 + mean v); then 0 if the restricted likelihood is higher at 0. RuntimeError when not converged."""
    y, v = np.asarray(y, float), np.asarray(v, float)
    k = len(y)
    if k < 2:
        raise ValueError("REML needs at least 2 studies")
    tau2 = max(0.0, (float(np.sum((y - y.mean()) ** 2)) - (k - 1) / k * float(v.sum())) / (k - 1))
    scale = float(v.mean())
    for _ in range(maxiter):
        w = 1.0 / (v + tau2)
        sw, sw2 = w.sum(), w @ w
        r = y - _wmean(y, w)
        tr_p = sw - sw2 / sw
        tr_pp = sw2 - 2 * float(np.sum(w ** 3)) / sw + (sw2 / sw) ** 2
        adj = (float((w * w) @ (r * r)) - tr_p) / tr_pp
        if tau2 == 0.0 and adj <= 0.0:
            break
        while tau2 + adj < 0.0:
            adj /= 2
        tau2 += adj
        if abs(adj) <= 1e-13 * (tau2 + scale):
            break
    else:
        raise RuntimeError(f"REML Fisher scoring did not converge in {maxiter} iterations")
    if tau2 > 0 and _reml_loglik(0.0, y, v) > _reml_loglik(tau2, y, v):
        tau2 = 0.0
    return tau2


def meta_analysis(estimates, ses, method: str = "REML", hartung_knapp: bool = False, conf_level: float = 0.95,
                  labels=None) -> MetaResult:
    """Fixed- and random-effects inverse-variance meta-analysis of k >= 1 estimates with standard errors
    (see the module docstring; equals metafor ``rma(yi, sei=, method=, test="z"/"knha", level=)`` and
    ``predict``). ``method`` is the tau^2 estimator ("DL", "REML", "PM") or "FE"/"EE" for the fixed-effect
    model only (tau^2 = 0). ValueError naming the study for a non-finite estimate or a SE that is not > 0."""
    if method not in METHODS:
        raise ValueError(f"meta-analysis: method {method!r} not in {METHODS}")
    if not 0 < conf_level < 1:
        raise ValueError(f"meta-analysis: conf_level {conf_level} must be in (0, 1)")
    fe_only = method in ("FE", "EE")
    if fe_only and hartung_knapp:
        raise ValueError("meta-analysis: Hartung-Knapp applies to random-effects models, not method FE/EE")
    y, v, labels = _inputs(estimates, ses, labels)
    k = len(y)
    alpha = 1 - conf_level
    z_crit = float(stats.norm.isf(alpha / 2))
    notes = []

    w = 1.0 / v
    fixed = _wmean(y, w)
    fixed_se = 1.0 / math.sqrt(w.sum())
    fixed_z = fixed / fixed_se
    fixed_p = 2 * float(stats.norm.sf(abs(fixed_z)))

    nan = math.nan
    if k == 1:
        tau2 = q = q_p = i2 = h2 = nan
        notes.append("k = 1: heterogeneity not estimable (tau^2, Q, I^2, H^2, prediction interval NaN); "
                     "random effects = fixed effect")
    else:
        q = cochran_q(y, v)
        q_p = float(stats.chi2.sf(q, k - 1))
        tau2 = 0.0 if fe_only else {"DL": tau2_dl, "REML": tau2_reml, "PM": tau2_pm}[method](y, v)
        if fe_only:
            i2 = max(0.0, 100 * (q - (k - 1)) / q) if q > 0 else 0.0
            h2 = q / (k - 1)
        else:
            vt = float((k - 1) * w.sum() / (w.sum() ** 2 - w @ w))
            i2 = 100 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1
            if tau2 == 0.0:
                notes.append(f"tau^2 estimate ({method}) truncated at 0: random-effects weights = fixed-effect weights")

    wr = 1.0 / (v + (0.0 if k == 1 else tau2))
    random = _wmean(y, wr)
    random_se = 1.0 / math.sqrt(wr.sum())
    df = nan
    crit = z_crit
    if hartung_knapp:
        if k == 1:
            random_se = nan
            notes.append("Hartung-Knapp undefined for k = 1 (0 df): random-effects SE, CI and p NaN")
        else:
            rss = float(wr @ (y - random) ** 2)
            s2w = 0.0 if rss <= _EPS else rss / (k - 1)
            if s2w == 0.0:
                notes.append("Hartung-Knapp scale factor 0 (all estimates equal): random-effects SE 0")
            random_se = math.sqrt(s2w) * random_se
            df = float(k - 1)
            crit = float(stats.t.isf(alpha / 2, df))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = float(np.divide(random, random_se))
    if hartung_knapp:
        random_p = nan if k == 1 else 2 * float(stats.t.sf(abs(stat), df))
    else:
        random_p = 2 * float(stats.norm.sf(abs(stat)))
    pi_half = crit * math.sqrt(random_se ** 2 + tau2) if k > 1 and not fe_only else nan
    return MetaResult(
        k=k, method=method, hartung_knapp=bool(hartung_knapp), conf_level=float(conf_level),
        fixed=fixed, fixed_se=fixed_se, fixed_lower=fixed - z_crit * fixed_se, fixed_upper=fixed + z_crit * fixed_se,
        fixed_z=fixed_z, fixed_p=fixed_p,
        random=random, random_se=random_se, random_lower=random - crit * random_se,
        random_upper=random + crit * random_se, random_stat=stat, random_df=df, random_p=random_p,
        pi_lower=random - pi_half, pi_upper=random + pi_half,
        tau2=tau2, tau=math.sqrt(tau2), q=q, q_df=k - 1, q_p=q_p, i2=i2, h2=h2,
        labels=labels, weights_fixed=tuple((100 * w / w.sum()).tolist()),
        weights_random=tuple((100 * wr / wr.sum()).tolist()),
        note="; ".join(notes))


def _groups(df: pd.DataFrame, by):
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    if not by:
        yield {}, df
        return
    for key, g in df.groupby(by, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        yield dict(zip(by, key)), g


def _fit_group(key: dict, g: pd.DataFrame, estimate: str, se: str, label: str, **kwargs) -> MetaResult:
    labels = g[label].tolist() if label in g.columns else None
    try:
        return meta_analysis(g[estimate].to_numpy(float), g[se].to_numpy(float), labels=labels, **kwargs)
    except ValueError as exc:
        where = ", ".join(f"{k}={v}" for k, v in key.items())
        raise ValueError(f"{where}: {exc}" if where else str(exc)) from None


def meta_table(df: pd.DataFrame, estimate: str = "estimate", se: str = "se", by=None, label: str = "site",
               method: str = "REML", hartung_knapp: bool = False, conf_level: float = 0.95) -> pd.DataFrame:
    """One row per ``by`` group (e.g. estimand) with the :func:`meta_analysis` results of its rows
    (fixed/random estimate, SE, CI, test, prediction interval, tau^2, Q, I^2, H^2, note); groups in order
    of appearance. ValueError naming the group and study (``label`` column) for an unusable row."""
    by_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    rows = []
    for key, g in _groups(df, by):
        res = _fit_group(key, g, estimate, se, label, method=method, hartung_knapp=hartung_knapp,
                         conf_level=conf_level)
        rows.append({**key, **res.summary()})
    cols = by_cols + [f for f in MetaResult.__dataclass_fields__ if f not in ("labels", "weights_fixed",
                                                                               "weights_random")]
    return pd.DataFrame(rows, columns=cols)


def meta_study_table(df: pd.DataFrame, estimate: str = "estimate", se: str = "se", by=None, label: str = "site",
                     method: str = "REML", hartung_knapp: bool = False, conf_level: float = 0.95) -> pd.DataFrame:
    """One row per study (for a forest plot): ``by`` columns, label, estimate, SE, its z CI at ``conf_level``
    and the study's weight (percent) in the fixed- and random-effects analyses of its group."""
    by_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    z = float(stats.norm.isf((1 - conf_level) / 2))
    out = []
    for key, g in _groups(df, by):
        res = _fit_group(key, g, estimate, se, label, method=method, hartung_knapp=hartung_knapp,
                         conf_level=conf_level)
        est, s = g[estimate].to_numpy(float), g[se].to_numpy(float)
        lab = g[label].tolist() if label in g.columns else list(res.labels)  # original values (for merges)
        out.append(pd.DataFrame({**{c: [key[c]] * res.k for c in by_cols}, "label": lab,
                                 "estimate": est, "se": s, "lower": est - z * s, "upper": est + z * s,
                                 "weight_fixed": list(res.weights_fixed), "weight_random": list(res.weights_random)}))
    cols = by_cols + ["label", "estimate", "se", "lower", "upper", "weight_fixed", "weight_random"]
    return pd.concat(out, ignore_index=True)[cols] if out else pd.DataFrame(columns=cols)

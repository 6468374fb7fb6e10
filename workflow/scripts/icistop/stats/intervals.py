"""Confidence intervals that stay inside the range of the estimand.

A Wald interval estimate +/- z SE on the natural scale can leave the parameter space (a survival
probability of 98.9% with limits 97.7%-100.2%). Every interval here is computed on a scale on which
the estimand is unbounded and mapped back:

- ``cloglog``: a probability S in (0, 1), g(S) = log(-log S) (R ``survfit`` conf.type "log-log");
- ``atanh``: a difference of two probabilities d in (-1, 1), g(d) = atanh(d) (Fisher z);
- ``log``: a ratio or hazard ratio r > 0;
- ``logit_tau``: a restricted mean R in (0, tau), g(R) = logit(R / tau) (the per-arm RMST; near tau an
  interval symmetric on the natural scale undercovers: 0.86-0.92 vs 0.90-0.96 in the simulation study);
- ``identity``: unbounded quantities (the RMST difference, log hazard ratios).

Interval methods from bootstrap replicates (:data:`CI_METHODS`; the text of each is the one source for
result tables and the methods section):

- ``transformed_wald`` (default): estimate +/- z SE on the transformed scale. For ``log`` the SE is the
  standard deviation of the log replicates; for ``cloglog`` and ``atanh`` the natural-scale bootstrap SD
  mapped by the delta method, se_g = SD * |g'(estimate)| (replicates of exactly 0 or 1 would make the
  transformed replicates infinite);
- ``percentile``: the 2.5th and 97.5th percentiles of the replicates (in range by construction).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

SCALES = ("cloglog", "atanh", "log", "logit_tau", "identity")

CI_METHODS = {
    "transformed_wald": "Wald interval with the bootstrap SE on a transformed scale (complementary log-log for "
                        "survival probabilities, Fisher z for their differences, log for ratios and hazard ratios, "
                        "logit(RMST / tau) for restricted means per strategy; delta method)",
    "percentile": "bootstrap percentile interval",
}
CI_METHOD_LABELS = {
    "transformed_wald": "bootstrap SE, transformed-scale Wald",
    "percentile": "bootstrap percentile",
}

# SE of the per-strategy probabilities and restricted means under ``transformed_wald`` (config
# ``continuation.bootstrap.arm_se``, per outcome) and the label the result tables print for it
ARM_SE_METHODS = {"working_cox": "working-Cox information SE, transformed-scale Wald",
                  "bootstrap": CI_METHOD_LABELS["transformed_wald"]}
DEFAULT_ARM_SE = {"pfs": "bootstrap", "os": "working_cox"}

# Without the bootstrap (more patients eligible than ``continuation.bootstrap.analytic_above_n``): the
# comparisons take the influence-function SE that treats the weights as known, the per-arm rows the SE of
# ``continuation.bootstrap.analytic_arm_se`` (per outcome; known_weights has no per-arm RMST SE, which then
# takes the working-Cox SE). Labels as the result tables print them.
ANALYTIC_LABEL = "known-weights influence-function SE, transformed-scale Wald"
ANALYTIC_ARM_SE_METHODS = {"known_weights": ANALYTIC_LABEL, "working_cox": ARM_SE_METHODS["working_cox"]}
DEFAULT_ANALYTIC_ARM_SE = {"pfs": "known_weights", "os": "working_cox"}


def arm_se_for(setting, outcome: str) -> str:
    """The per-arm SE of ``outcome`` from the config value ``continuation.bootstrap.arm_se``: one method for
    every outcome, or a mapping outcome -> method (missing outcomes and None: :data:`DEFAULT_ARM_SE`)."""
    if isinstance(setting, str):
        method = setting
    else:
        method = (setting or {}).get(outcome, DEFAULT_ARM_SE.get(outcome, "bootstrap"))
    if method not in ARM_SE_METHODS:
        raise ValueError(f"arm_se must be one of {sorted(ARM_SE_METHODS)}, got {method!r}")
    return method


def analytic_arm_se_for(setting, outcome: str) -> str:
    """The per-arm SE of ``outcome`` without the bootstrap (``continuation.bootstrap.analytic_arm_se``: one
    method, or outcome -> method; missing: :data:`DEFAULT_ANALYTIC_ARM_SE`)."""
    method = setting if isinstance(setting, str) else (setting or {}).get(outcome, DEFAULT_ANALYTIC_ARM_SE.get(outcome))
    if method not in ANALYTIC_ARM_SE_METHODS:
        raise ValueError(f"analytic_arm_se must be one of {sorted(ANALYTIC_ARM_SE_METHODS)}, got {method!r}")
    return method


def z_value(conf_level: float = 0.95) -> float:
    return float(norm.ppf(1 - (1 - conf_level) / 2))


def scale_of(estimand: str) -> str:
    """Scale of a named estimand: surv_* probabilities, diff_* differences, ratio_* / hr ratios, per-arm
    rmst_A / rmst_B restricted means (bounded by tau), anything else (rmst_diff, loghr*) unbounded."""
    name = str(estimand)
    if name.startswith("surv_"):
        return "cloglog"
    if name in ("rmst_A", "rmst_B"):
        return "logit_tau"
    if name.startswith("diff_"):
        return "atanh"
    if name.startswith("ratio_") or name == "hr" or name.startswith("hr_"):
        return "log"
    return "identity"


def _finite(x) -> bool:
    return x is not None and np.isfinite(float(x))


def wald_interval(est, se, scale: str = "identity", conf_level: float = 0.95, tau: float | None = None
                  ) -> tuple[float, float]:
    """Wald limits of ``est`` with natural-scale standard error ``se`` on ``scale`` (delta method; ``tau``:
    the upper bound of a ``logit_tau`` estimand).

    NaN limits when the estimate sits on the boundary of the scale (S = 0 or 1, |d| = 1, r = 0, R = 0 or
    tau): no Wald interval exists there."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}")
    if not (_finite(est) and _finite(se)) or se < 0:
        return np.nan, np.nan
    z, est, se = z_value(conf_level), float(est), float(se)
    if scale == "identity":
        return est - z * se, est + z * se
    if scale == "log":
        if est <= 0:
            return np.nan, np.nan
        return log_interval(np.log(est), se / est, conf_level)
    if scale == "cloglog":
        if not 0 < est < 1:
            return np.nan, np.nan
        return cloglog_interval(est, se / (est * abs(np.log(est))), conf_level)
    if scale == "logit_tau":
        if tau is None or not 0 < est < tau:
            return np.nan, np.nan
        g, se_g = np.log(est / (tau - est)), se * tau / (est * (tau - est))
        return float(tau / (1 + np.exp(-(g - z * se_g)))), float(tau / (1 + np.exp(-(g + z * se_g))))
    if not -1 < est < 1:
        return np.nan, np.nan
    g, se_g = np.arctanh(est), se / (1 - est ** 2)
    return float(np.tanh(g - z * se_g)), float(np.tanh(g + z * se_g))


def known_weights_interval(estimand: str, est: float, se: float, conf_level: float = 0.95,
                           tau: float | None = None) -> tuple[float, float]:
    """Wald interval of a CCW estimand with its known-weights SE on the estimand's scale (``se`` on the log
    scale for ratios and the HR, as :func:`icistop.continuation.bootstrap.ccw_point` reports it)."""
    scale = scale_of(estimand)
    if scale == "log":
        return log_interval(np.log(est) if _finite(est) and est > 0 else np.nan, se, conf_level)
    return wald_interval(est, se, scale, conf_level, tau)


def log_interval(log_est, se_log, conf_level: float = 0.95) -> tuple[float, float]:
    """exp(log_est -/+ z se_log): ratio limits from a log-scale estimate and SE."""
    if not (_finite(log_est) and _finite(se_log)):
        return np.nan, np.nan
    z = z_value(conf_level)
    return float(np.exp(log_est - z * se_log)), float(np.exp(log_est + z * se_log))


def cloglog_interval(surv, se_cloglog, conf_level: float = 0.95) -> tuple[float, float]:
    """S^exp(z se) .. S^exp(-z se): limits of a probability from the SE of log(-log S)."""
    if not (_finite(surv) and _finite(se_cloglog)) or not 0 < surv < 1:
        return np.nan, np.nan
    z = z_value(conf_level)
    return float(surv ** np.exp(z * se_cloglog)), float(surv ** np.exp(-z * se_cloglog))


def bootstrap_se(replicates, scale: str) -> float:
    """Bootstrap SE: SD of the log replicates for ``log``, of the natural-scale replicates otherwise
    (non-finite replicates dropped; NaN with fewer than two)."""
    b = np.asarray(replicates, float)
    if scale == "log":
        b = np.log(b[b > 0])
    b = b[np.isfinite(b)]
    return float(np.std(b, ddof=1)) if len(b) > 1 else np.nan


def bootstrap_interval(est, replicates, scale: str, method: str = "transformed_wald",
                       conf_level: float = 0.95, tau: float | None = None) -> tuple[float, float, float]:
    """(lower, upper, se) of ``est`` from its bootstrap ``replicates`` (natural scale) by ``method``
    (``tau``: the bound of a ``logit_tau`` estimand)."""
    if method not in CI_METHODS:
        raise ValueError(f"ci_method must be one of {sorted(CI_METHODS)}")
    b = np.asarray(replicates, float)
    b = b[np.isfinite(b)]
    se = bootstrap_se(b, scale)
    if method == "percentile":
        if len(b) < 2 or not _finite(est):
            return np.nan, np.nan, se
        a = (1 - conf_level) / 2
        lo, hi = np.quantile(b, [a, 1 - a])
        return float(lo), float(hi), se
    if scale == "log":
        if not _finite(est) or est <= 0:
            return np.nan, np.nan, se
        lo, hi = log_interval(np.log(est), se, conf_level)
        return lo, hi, se
    lo, hi = wald_interval(est, se, scale, conf_level, tau)
    return lo, hi, se

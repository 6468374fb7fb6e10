"""Cox fits, log-rank p-values and q-values shared by the biomarker analyses (the package's one Cox
engine, :mod:`icistop.stats.cox_engine`; log-rank :mod:`icistop.stats.logrank`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from icistop.stats.multiplicity import p_adjust


@dataclass
class CoxFit:
    names: list
    coef: np.ndarray
    se: np.ndarray
    cov: np.ndarray
    loglik: float
    loglik_null: float
    n: int
    events: int
    warnings: list

    def lr_test(self) -> tuple[float, int, float]:
        stat = max(0.0, 2 * (self.loglik - self.loglik_null))
        df = len(self.coef)
        return stat, df, float(stats.chi2.sf(stat, df))

    def wald_test(self, idx=None) -> tuple[float, int, float]:
        idx = list(range(len(self.coef))) if idx is None else list(idx)
        b = self.coef[idx]
        v = self.cov[np.ix_(idx, idx)]
        try:
            stat = float(b @ np.linalg.solve(v, b))
        except np.linalg.LinAlgError:
            return math.nan, len(idx), math.nan
        return stat, len(idx), float(stats.chi2.sf(stat, len(idx)))


def fit_cox(X: pd.DataFrame, time, event) -> CoxFit:
    """Cox proportional hazards fit of ``event`` on the columns of ``X``: Efron ties, Newton-Raphson
    with step halving to |step| < 1e-12 (the package's Cox engine, ``icistop.stats.cox_engine.cox_arrays``,
    checked against R coxph)."""
    from icistop.stats.cox_engine import cox_arrays

    Xv = X.astype(float).to_numpy()
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    if Xv.shape[1] == 0:
        raise ValueError("no covariates")
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        fit = cox_arrays(None, t, e, Xv)
    msgs = sorted({str(w.message).split(".")[0] for w in caught})
    if not fit.converged:
        msgs.append("Newton-Raphson did not converge")
    cov = np.asarray(fit.var, dtype=float)
    return CoxFit(
        names=list(X.columns),
        coef=np.asarray(fit.coef, dtype=float),
        se=np.sqrt(np.maximum(np.diag(cov), 0)),
        cov=cov,
        loglik=float(fit.loglik),
        loglik_null=float(fit.loglik0),
        n=int(len(t)),
        events=int(e.sum()),
        warnings=msgs,
    )


def logrank_pvalue(time, event, group) -> tuple[float, int, float]:
    """k-sample log-rank test as R ``survdiff`` (chi-square, df, p; ``icistop.stats.logrank``)."""
    from icistop.stats.logrank import logrank

    df = pd.DataFrame({"time": np.asarray(time, float), "event": np.asarray(event, float),
                       "group": np.asarray(group).astype(str)})
    res = logrank(df, "time", "event", "group")
    return float(res.chisq), int(res.df), float(res.p)


MAX_ESTIMABLE_SE = 20.0  # larger SEs of a log-HR signal a (quasi-)monotone likelihood


def hr_summary(b: float, se: float, z: float) -> dict:
    """coef, se, HR, CI and Wald p of one log hazard ratio; NaN HR/CI/p when not estimable
    (infinite or huge SE: monotone likelihood, e.g. a level without events)."""
    if not (np.isfinite(b) and np.isfinite(se)) or se > MAX_ESTIMABLE_SE or se <= 0:
        return {"coef": b, "se": se, "hr": math.nan, "hr_ci_low": math.nan, "hr_ci_high": math.nan,
                "p_level": math.nan}
    with np.errstate(over="ignore"):
        return {"coef": b, "se": se, "hr": float(np.exp(b)), "hr_ci_low": float(np.exp(b - z * se)),
                "hr_ci_high": float(np.exp(b + z * se)), "p_level": float(2 * stats.norm.sf(abs(b / se)))}


def add_q(frame: pd.DataFrame, method: str) -> pd.DataFrame:
    """q-values across markers (one p per marker, first row of each marker)."""
    if frame.empty or "p_marker" not in frame:
        frame["q_marker"] = np.nan
        return frame
    per = frame.groupby("marker", sort=False)["p_marker"].first()
    q = pd.Series(p_adjust(per.to_numpy(dtype=float), method), index=per.index)
    frame["q_marker"] = frame["marker"].map(q)
    return frame

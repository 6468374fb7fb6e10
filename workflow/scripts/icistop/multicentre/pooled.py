"""Kaplan-Meier, log-rank and Cox models from shared counts (no patient-level rows).

A count table (:func:`icistop.multicentre.aggregates.survival_counts`, summed over sites with
:func:`~icistop.multicentre.aggregates.add_counts`) is turned into at most two rows per bin and
combination, an event row and a censoring row, each with its count as a row multiplicity. The package's
own estimators take multiplicities (``weights`` of whole numbers in :func:`icistop.stats.km.km_table`,
``freq`` in :func:`icistop.stats.logrank.logrank` and :func:`icistop.stats.cox.cox_fit`) and then give
exactly what the expanded patient rows give: the Kaplan-Meier estimate and its Greenwood variance, the
(stratified) log-rank statistic and the Cox partial likelihood of categorical covariates (Efron or
Breslow ties) depend on the data only through the numbers at risk and the events per distinct time
and covariate pattern.
"""

from __future__ import annotations

import pandas as pd

from icistop.stats.cox import CoxResult, cox_fit
from icistop.stats.km import km_table
from icistop.stats.logrank import LogrankResult, logrank

COUNT = "_count"
EVENT = "_event"


def count_rows(counts: pd.DataFrame) -> pd.DataFrame:
    """One row per (combination, bin, status) with a positive count: the other columns, ``time``,
    ``_event`` (0/1) and ``_count``."""
    keys = [c for c in counts.columns if c not in ("n_event", "n_censor")]
    ev = counts[keys].assign(**{EVENT: 1, COUNT: counts["n_event"].to_numpy()})
    ce = counts[keys].assign(**{EVENT: 0, COUNT: counts["n_censor"].to_numpy()})
    rows = pd.concat([ev, ce], ignore_index=True)
    return rows[rows[COUNT] > 0].reset_index(drop=True)


def km_from_counts(counts: pd.DataFrame, group: str | None = None, conf_level: float = 0.95,
                   conf_type: str = "log-log") -> pd.DataFrame:
    """Kaplan-Meier curve(s) with Greenwood SE and ``conf_type`` limits (the columns of
    :func:`icistop.stats.km.km_table`)."""
    return km_table(count_rows(counts), "time", EVENT, group=group, weights=COUNT, conf_level=conf_level,
                    conf_type=conf_type, variance="greenwood")


def logrank_from_counts(counts: pd.DataFrame, group: str, strata: str | list[str] | None = None,
                        rho: float = 0.0) -> LogrankResult:
    """Log-rank test of ``group`` (stratified by ``strata``, e.g. the site), as R ``survdiff``."""
    return logrank(count_rows(counts), "time", EVENT, group, strata=strata, rho=rho, freq=COUNT)


def cox_from_counts(counts: pd.DataFrame, covariates: list[str], categorical: dict | None = None,
                    strata: str | list[str] | None = None, ties: str = "efron", conf_level: float = 0.95
                    ) -> CoxResult:
    """Cox model (Efron or Breslow ``ties``, model-based variance) of the pattern columns ``covariates`` of the count
    table (``categorical``: column -> reference level or None, as :func:`icistop.stats.cox.cox_fit`),
    optionally stratified (e.g. by site)."""
    return cox_fit(count_rows(counts), "time", EVENT, covariates, categorical=categorical, strata=strata,
                   robust=False, conf_level=conf_level, freq=COUNT, ties=ties)

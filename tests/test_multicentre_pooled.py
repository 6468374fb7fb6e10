"""Pooled analyses from per-site count tables equal the patient-level analyses of the concatenated,
time-binned data (issue 13): Kaplan-Meier with Greenwood SE and log-log limits, plain and site-stratified
log-rank, Cox models of categorical covariates with and without site strata (Efron and Breslow ties).
The example is split by its ``site`` column; each site's counts are computed separately and summed."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from icistop.cohort.cohorts import define_cohorts, resolve_cutoff
from icistop.cohort.endpoints import derive_endpoints
from icistop.data.validation import validate_directory
from icistop.multicentre.aggregates import add_counts, at_risk, bin_times, survival_counts
from icistop.multicentre.pooled import cox_from_counts, km_from_counts, logrank_from_counts
from icistop.stats.cox import cox_fit
from icistop.stats.km import km_table
from icistop.stats.logrank import logrank

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "config/config.yaml").read_text())
WIDTH = 1.0  # months
OUTCOMES = (("stop_pfs_time", "stop_pfs_event"), ("stop_os_time", "stop_os_event"), ("pfs_time", "pfs_event"))


@pytest.fixture(scope="module")
def endpoints():
    tables, _, summary = validate_directory(ROOT / CONFIG["data_dir"])
    cutoff = resolve_cutoff(tables, CONFIG["data_cutoff"])
    cohorts, _ = define_cohorts(tables, CONFIG["cohort"], cutoff)
    ep = derive_endpoints(tables, cohorts, cutoff, **CONFIG["endpoints"])["endpoints"]
    assert ep["site"].nunique() >= 3
    return ep


def binned(df, time, event):
    d = df.dropna(subset=[time, event]).copy()
    d[time] = bin_times(d[time], WIDTH)
    d[event] = d[event].astype(int)
    return d


def site_counts(df, time, event, by):
    """Each site computes its own table; the coordinator sums them."""
    return add_counts([survival_counts(g, time, event, WIDTH, by) for _, g in df.groupby("site")], by)


def test_bin_times_edges_and_float_error():
    assert list(bin_times([0, 0.2, 1.0, 1.0000001, 0.1 * 3, 2.999999999999], 1.0)) == [0, 1, 1, 2, 1, 3]
    assert list(bin_times([0.3, 0.30000000000000004], 0.1)) == pytest.approx([0.3, 0.3])
    with pytest.raises(ValueError):
        bin_times([1.0], 0)


def test_counts_hold_no_patient_rows(endpoints):
    counts = site_counts(endpoints, "pfs_time", "pfs_event", ["site"])
    assert set(counts.columns) == {"site", "time", "n_event", "n_censor"}
    assert np.allclose(counts["time"] / WIDTH, np.round(counts["time"] / WIDTH))
    assert counts[["n_event", "n_censor"]].to_numpy().sum() == endpoints["pfs_time"].notna().sum()
    first = at_risk(counts, "site").groupby(counts["site"]).max()
    assert (first == endpoints.dropna(subset=["pfs_time"]).groupby("site").size()).all()


@pytest.mark.parametrize("time,event", OUTCOMES)
@pytest.mark.parametrize("group", [None, "stop_reason"])
def test_pooled_km_equals_patient_level(endpoints, time, event, group):
    cohort = endpoints[endpoints["in_stop_cohort"]] if time.startswith("stop_") else endpoints
    by = [group] if group else []
    pooled = km_from_counts(site_counts(cohort, time, event, by), group)
    whole = km_table(binned(cohort.dropna(subset=by), time, event), time, event, group)
    assert len(pooled) == len(whole) > 0
    for c in ("time", "n_risk", "n_event", "n_censor", "surv", "se_surv", "lower", "upper"):
        np.testing.assert_allclose(pooled[c].to_numpy(float), whole[c].to_numpy(float), rtol=0, atol=1e-12,
                                   equal_nan=True, err_msg=c)
    assert list(pooled["group"]) == list(whole["group"])


@pytest.mark.parametrize("strata", [None, "site"])
@pytest.mark.parametrize("group", ["stop_reason", "best_response"])
def test_pooled_logrank_equals_patient_level(endpoints, group, strata):
    cohort = endpoints[endpoints["in_stop_cohort"]]
    by = [group, "site"]
    pooled = logrank_from_counts(site_counts(cohort, "stop_pfs_time", "stop_pfs_event", by), group, strata)
    whole = logrank(binned(cohort.dropna(subset=[group]), "stop_pfs_time", "stop_pfs_event"), "stop_pfs_time",
                    "stop_pfs_event", group, strata)
    assert pooled.df == whole.df > 0
    assert pooled.chisq == pytest.approx(whole.chisq, rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(pooled.var, whole.var, rtol=1e-10, atol=1e-12)
    pd.testing.assert_frame_equal(pooled.groups, whole.groups, check_exact=False, rtol=1e-10)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("strata", [None, "site"])
def test_pooled_cox_equals_patient_level(endpoints, ties, strata):
    """A Cox model of categorical covariates from shared pattern counts: identical coefficients,
    model variance and log-likelihoods (1e-10) to the patient-level fit on the binned times."""
    covs = ["regimen", "ras_status", "time_on_ici_group"]
    cat = {c: None for c in covs}
    cohort = endpoints.dropna(subset=covs)
    pooled = cox_from_counts(site_counts(cohort, "pfs_time", "pfs_event", [*covs, "site"]), covs, cat, strata, ties)
    whole = cox_fit(binned(cohort, "pfs_time", "pfs_event"), "pfs_time", "pfs_event", covs, categorical=cat,
                    strata=strata, robust=False, ties=ties)
    assert pooled.design_columns == whole.design_columns and len(whole.design_columns) >= 3
    np.testing.assert_allclose(pooled.table["coef"], whole.table["coef"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(pooled.vcov_model, whole.vcov_model, rtol=1e-9, atol=1e-13)
    assert pooled.loglik == pytest.approx(whole.loglik, rel=1e-12)
    assert pooled.loglik_null == pytest.approx(whole.loglik_null, rel=1e-12)
    assert pooled.score_chisq == pytest.approx(whole.score_chisq, rel=1e-10)
    assert (pooled.n, pooled.n_events) == (whole.n, whole.n_events)
    pd.testing.assert_frame_equal(pooled.counts, whole.counts)


def test_efron_tie_counts_follow_multiplicity(endpoints):
    """Without multiplicities the aggregated rows would be one tied death per pattern (a different
    Efron likelihood): the test above would catch that."""
    covs = ["regimen"]
    cohort = endpoints.dropna(subset=covs)
    counts = site_counts(cohort, "pfs_time", "pfs_event", covs)
    rows = counts.assign(_w=counts["n_event"] + counts["n_censor"])
    assert (counts["n_event"] > 1).any()
    pooled = cox_from_counts(counts, covs, {"regimen": None})
    weighted = cox_fit(pd.concat([counts.assign(_e=1, _w=counts["n_event"]), counts.assign(_e=0, _w=counts["n_censor"])])
                       .query("_w > 0"), "time", "_e", covs, categorical={"regimen": None}, weights="_w", robust=False)
    assert len(rows)
    assert abs(pooled.table["coef"].iloc[0] - weighted.table["coef"].iloc[0]) > 1e-6

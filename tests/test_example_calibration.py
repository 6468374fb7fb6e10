"""The committed example, run through the workflow's own validation, cohort and endpoint code,
matches its calibration targets (resources/example/README.md)."""

from pathlib import Path

import pytest
import yaml

from icistop.cohort.cohorts import define_cohorts, resolve_cutoff
from icistop.cohort.endpoints import derive_endpoints
from icistop.stats.km import followup_reverse_km, km_at, km_table
from icistop.data.validation import validate_directory

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "config/config.yaml").read_text())


def derive(criteria):
    tables, issues, summary = validate_directory(ROOT / CONFIG["data_dir"])
    assert summary["status"] == "passed" and summary["n_warnings"] == 0, issues.head()
    cutoff = resolve_cutoff(tables, CONFIG["data_cutoff"])
    cohorts, _ = define_cohorts(tables, criteria, cutoff)
    return derive_endpoints(tables, cohorts, cutoff, **CONFIG["endpoints"])["endpoints"]


@pytest.fixture(scope="module")
def endpoints():
    """The configured analysis cohorts (MSI-H/dMMR)."""
    return derive(CONFIG["cohort"])


@pytest.fixture(scope="module")
def everyone():
    """All treated patients (the generator calibrates the on-treatment targets on everyone)."""
    return derive(dict(CONFIG["cohort"], require_msi_h_or_dmmr=False))


def test_post_stop_pfs_matches_simmons(endpoints):
    stop = endpoints[endpoints.in_stop_cohort]
    at = km_at(km_table(stop, "stop_pfs_time", "stop_pfs_event"), [12, 24, 36])
    for got, target in zip(at["surv"], [0.98, 0.91, 0.84]):
        assert abs(got - target) <= 0.04, at


def test_median_followup_after_stop(endpoints):
    stop = endpoints[endpoints.in_stop_cohort]
    fu = followup_reverse_km(stop, "stop_os_time", "stop_os_event")
    assert 16 <= fu["median"].iloc[0] <= 28


def test_pfs_from_start_and_response_mix(everyone):
    # KEYNOTE-177 pembrolizumab arm: PFS 55% at 12 and 48% at 24 months (the median, 16.5 months,
    # sits on a flat stretch of the curve near 50% and moves by months between samples)
    at = km_at(km_table(everyone, "pfs_time", "pfs_event"), [12, 24])
    for got, target in zip(at["surv"], [0.55, 0.48]):
        assert abs(got - target) <= 0.06, at
    mix = everyone["best_response"].value_counts(normalize=True)
    for level, target in {"CR": 0.11, "PR": 0.33, "SD": 0.21, "PD": 0.29}.items():
        assert abs(mix.get(level, 0) - target) <= 0.05, mix


def test_regimen_share(everyone):
    share = (everyone["regimen"] == "anti-PD-1+anti-CTLA-4").mean()
    assert 0.20 <= share <= 0.27


def test_oracle_fixture_is_the_current_example(endpoints):
    """tests/fixtures/oracle/example_stop.csv (the R oracle's example case) is this example's stop cohort."""
    import numpy as np
    import pandas as pd

    fixture = pd.read_csv(ROOT / "tests/fixtures/oracle/example_stop.csv", float_precision="round_trip")
    stop = endpoints[endpoints.in_stop_cohort].reset_index(drop=True)
    assert len(fixture) == len(stop)
    np.testing.assert_array_equal(fixture["stop_pfs_time"].to_numpy(), stop["stop_pfs_time"].to_numpy(float))
    np.testing.assert_array_equal(fixture["stop_pfs_cause"].to_numpy(), stop["stop_pfs_cause"].to_numpy(int))

"""Key findings never state a conclusion the CI does not support, and print no number for an estimate
that is not estimable."""

from __future__ import annotations

import itertools

import pytest

from findings_check import conclusion_errors
from icistop.report.findings import continuation_sentences


def _values(ccw, diffs=None, naive=None, tv=None, failed=0):
    return {"primary": "os", "by_outcome": {"os": {"ccw_hr": ccw, "ccw_diff": diffs or {}, "naive_hr": naive,
                                                   "time_varying_hr": tv, "n_boot": 500, "n_boot_failed": failed}}}


def hr(e, lo, hi, ok=True, reason=""):
    return {"estimate": e, "lower": lo, "upper": hi, "estimable": ok, "reason": reason}


INTERVALS = [(lo, hi) for lo, hi in itertools.product([0.3, 0.996, 0.999, 1.0, 1.004, 1.2], [0.8, 0.996, 1.004, 1.5])
             if lo <= hi]


@pytest.mark.parametrize("lo,hi", INTERVALS)
def test_conclusion_follows_the_printed_interval(lo, hi):
    est = (lo + hi) / 2
    sentences = continuation_sentences(_values(hr(est, lo, hi)))
    assert all(conclusion_errors(s) == [] for s in sentences), sentences


def test_limit_rounding_to_one_is_shown_with_three_decimals():
    (s, *_) = continuation_sentences(_values(hr(1.5, 1.004, 2.2)))
    assert "1.004" in s and "excludes 1, favouring stopping" in s
    (s, *_) = continuation_sentences(_values(hr(1.5, 0.996, 2.2)))
    assert "0.996" in s and "includes 1" in s


def test_not_estimable_estimates_print_the_reason_and_no_number():
    reason = "5 events in arm A (stop), 11 in arm B (continue); fewer than 10 in a group"
    sentences = continuation_sentences(_values(
        hr(2.68, 0.01, 601.6, ok=False, reason=reason),
        diffs={"24": hr(None, None, None, ok=False, reason=reason)},
        naive=hr(None, None, None, ok=False, reason="no patient stopped within 13 months (positivity)"),
        tv=hr(None, None, None, ok=False, reason="no follow-up time off ICI (positivity)"), failed=8))
    text = " ".join(sentences)
    assert "2.68" not in text and "601" not in text
    assert f"was not estimable ({reason})" in text
    assert "not estimable at 24 months" in text
    assert "The naive comparison (biased by immortal time) was not estimable (no patient stopped" in text
    assert "time-varying Cox model (on vs off ICI) was not estimable (no follow-up time off ICI" in text
    assert "8 of 500 bootstrap replicates failed or diverged" in text
    assert all(conclusion_errors(s) == [] for s in sentences)


def test_the_checker_catches_contradictions():
    assert conclusion_errors("HR was 1.20 (95% CI 0.90\u20131.50); the confidence interval excludes 1, favouring x.")
    assert conclusion_errors("HR was 0.50 (95% CI 0.30\u20130.80); the confidence interval includes 1.")
    assert conclusion_errors("HR was 2.00 (95% CI 0.30\u20130.80).")
    assert not conclusion_errors("HR was 0.50 (95% CI 0.30\u20130.80); the confidence interval excludes 1, "
                                 "favouring continuing.")


def test_unavailable_primary_outcome_is_said_once_and_the_next_outcome_reported():
    values = {"primary": "pfs", "outcomes": ["pfs", "os"], "unavailable": {"pfs": "no tumour assessments"},
              "by_outcome": {"pfs": {}, "os": {"ccw_hr": hr(0.8, 0.5, 1.3), "n_boot": 500, "n_boot_failed": 0}}}
    first, second, *_ = continuation_sentences(values)
    assert first == "The continuation analyses of PFS were not estimable (no tumour assessments)."
    assert "hazard ratio of OS" in second and "0.80 (95% CI 0.50\u20131.30)" in second

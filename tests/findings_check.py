"""Checks that a key-findings sentence never states a conclusion its confidence interval does not
support (used by tests/test_findings.py on generated sentences and by the slow report test on the
example report)."""

from __future__ import annotations

import re

RATIO_CI = re.compile(r"(?P<est>\d+\.\d+) \(95% CI (?P<lo>\d+\.\d+)(?:\u2013| to )(?P<hi>\d+\.\d+)\)"
                      r"(?P<rest>[^.]*(?:\.\d[^.]*)*)")


def conclusion_errors(sentence: str) -> list[str]:
    """Contradictions between a sentence's claim about 1 and its printed 95% CI."""
    errors = []
    for m in RATIO_CI.finditer(sentence):
        lo, hi, est = float(m["lo"]), float(m["hi"]), float(m["est"])
        rest = m["rest"][:120]
        if not lo <= est <= hi:
            errors.append(f"estimate {est} outside its CI {lo}-{hi}: {sentence}")
        if "excludes 1" in rest and lo <= 1 <= hi:
            errors.append(f"claims the CI excludes 1 but prints {lo}-{hi}: {sentence}")
        if "includes 1" in rest and not lo <= 1 <= hi:
            errors.append(f"claims the CI includes 1 but prints {lo}-{hi}: {sentence}")
        if "favouring continuing" in rest and not hi < 1:
            errors.append(f"favours continuing without an upper limit below 1: {sentence}")
        if "favouring stopping" in rest and not lo > 1:
            errors.append(f"favours stopping without a lower limit above 1: {sentence}")
    if "not estimable" in sentence and re.search(r"not estimable[^.(]*\d+\.\d+ \(95% CI", sentence):
        errors.append(f"prints a number for an estimate it calls not estimable: {sentence}")
    return errors

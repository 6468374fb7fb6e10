"""Cochran-Mantel-Haenszel test and common odds ratio (icistop.stats.mantelhaen) against R
``mantelhaen.test``: asymptotic (with and without continuity correction) and exact, each alternative,
90 % CIs, on the tables of tests/fixtures/oracle/mantelhaen_cases.json (2-8 strata, sparse, zero cells).
The committed R output (``Rscript tests/oracle/mantelhaen_oracle.R``) is compared always, live R when
installed (required when CI=true). Tolerance 1e-9 relative (observed ~1e-15)."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

from icistop.stats.fisher import fisher_2x2
from icistop.stats.mantelhaen import mantelhaen
from rscript import require_rscript

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "oracle"
CASES = json.loads((FIXTURES / "mantelhaen_cases.json").read_text())["cases"]
ALT = {"two.sided": "two-sided", "less": "less", "greater": "greater"}


def _close(a, b) -> bool:
    if b is None or (isinstance(b, str) and b in ("Inf", "-Inf", "NaN", "NA")):
        b = {"Inf": math.inf, "-Inf": -math.inf}.get(b, math.nan) if isinstance(b, str) else math.nan
    if math.isinf(b) or math.isinf(a):
        return a == b
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


def compare(r_out: dict) -> int:
    checked = 0
    for name, rows in r_out.items():
        t = np.array(CASES[name])
        for r in rows:
            py = mantelhaen(t, exact=r["exact"], correct=r["correct"], alternative=ALT[r["alternative"]],
                            conf_level=0.9)
            for ours, theirs, what in ((py.statistic, r["statistic"], "statistic"), (py.p_value, r["p"], "p"),
                                       (py.odds_ratio, r["estimate"], "estimate"), (py.ci_low, r["ci"][0], "lower"),
                                       (py.ci_high, r["ci"][1], "upper")):
                assert _close(ours, theirs), (name, r["exact"], r["alternative"], r["correct"], what, ours, theirs)
                checked += 1
    return checked


def test_against_committed_r_output():
    assert compare(json.loads((FIXTURES / "mantelhaen_oracle.json").read_text())) >= 6 * 9 * 5


def test_against_live_r(tmp_path):
    rscript = require_rscript("mantelhaen.test")
    out = tmp_path / "mh.json"
    subprocess.run([rscript, str(ROOT / "tests/oracle/mantelhaen_oracle.R"), str(FIXTURES / "mantelhaen_cases.json"),
                    str(out)], check=True, cwd=ROOT)
    assert compare(json.loads(out.read_text())) >= 6 * 9 * 5


def test_one_stratum_exact_is_fisher():
    t = [[7, 13], [2, 18]]
    a, b = mantelhaen([t], exact=True), fisher_2x2(t)
    assert (a.p_value, a.odds_ratio, a.ci_low, a.ci_high) == pytest.approx((b.p_value, b.odds_ratio, b.ci_low, b.ci_high),
                                                                           rel=1e-12)


def test_bad_input():
    with pytest.raises(ValueError):
        mantelhaen(np.ones((2, 3, 2)))
    with pytest.raises(ValueError, match="> 1"):
        mantelhaen([[[1, 0], [0, 0]], [[3, 4], [5, 6]]])

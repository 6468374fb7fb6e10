"""Number formatting for the report (one place, so the page, the TSV tables and the tests agree).

Conventions: survival probabilities as percentages with one decimal, hazard/odds ratios with two
decimals, months with one decimal, p- and q-values with three decimals ("<0.001" below). A missing
or non-finite value is "NE" (not estimable) in tables and spelled out in sentences.
"""

from __future__ import annotations

import math

from icistop.labels import LABELS, label  # noqa: F401 - the one display-label mapping, re-exported

NE = "NE"


def missing(x) -> bool:
    if x is None:
        return True
    try:
        return not math.isfinite(float(x))
    except (TypeError, ValueError):
        return True


def num(x, digits: int = 1) -> str:
    return NE if missing(x) else f"{float(x):.{digits}f}"


def pct(p, digits: int = 1) -> str:
    """A probability as a percentage: 0.8123 -> '81.2%'."""
    return NE if missing(p) else f"{100.0 * float(p):.{digits}f}%"


def ratio(x, digits: int = 2) -> str:
    return NE if missing(x) else f"{float(x):.{digits}f}"


def pvalue(p) -> str:
    if missing(p):
        return NE
    p = float(p)
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}"


def p_equals(p) -> str:
    """'= 0.004' or '< 0.001' (for 'p = ...' in sentences)."""
    text = pvalue(p)
    return text.replace("<", "< ") if text.startswith("<") else f"= {text}"


def interval(lower, upper, fmt=num, **kw) -> str:
    """'lower-upper' with an en dash, 'lower to upper' when a bound is negative; 'NE' when either
    bound is missing."""
    if missing(lower) or missing(upper):
        return NE
    sep = " to " if float(lower) < 0 or float(upper) < 0 else "\u2013"
    return f"{fmt(lower, **kw)}{sep}{fmt(upper, **kw)}"


def estimate_ci(est, lower, upper, kind: str = "num", digits: int | None = None) -> str:
    """'est (lower-upper)' for kind 'pct' (probabilities), 'ratio' (HR/OR) or 'num' (months, differences)."""
    fmt = {"pct": pct, "ratio": ratio, "num": num, "pp": percentage_points}[kind]
    kw = {} if digits is None else {"digits": digits}
    if missing(est):
        return NE
    text = fmt(est, **kw)
    if kind == "pp":  # bounds as signed numbers without the unit: +5.2 pp (-1.0 to +11.4)
        d = 1 if digits is None else digits
        ci = NE if missing(lower) or missing(upper) else \
            f"{100 * float(lower):+.{d}f} to {100 * float(upper):+.{d}f}"
    else:
        ci = interval(lower, upper, fmt=fmt, **kw)
    return text if ci == NE else f"{text} ({ci})"


def percentage_points(d, digits: int = 1) -> str:
    """A difference of probabilities in percentage points: 0.052 -> '+5.2 pp'."""
    return NE if missing(d) else f"{100.0 * float(d):+.{digits}f} pp"


def months_list(values) -> str:
    """'12, 24 and 36 months' / '1 month'."""
    vals = [f"{float(v):g}" for v in values]
    unit = "month" if vals == ["1"] else "months"
    return list_words(vals) + f" {unit}"


def months(x, digits: int = 1) -> str:
    return NE if missing(x) else f"{float(x):.{digits}f} mo"


def plural(n, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


def list_words(items, conjunction: str = "and") -> str:
    items = [str(i) for i in items]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]



"""Output privacy: small-cell suppression, masking of data values in messages, site pseudonyms.

Policy of the report (``report:`` config): by default no patient identifier, no date and no free text
from the data reach the report. ``show_identifiers: true`` lifts this (internal use only).
``small_cell_k > 0`` shows every count below k as "<k" and drops the percentage next to it.
"""

from __future__ import annotations

import math
import re

import pandas as pd

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
QUOTED = re.compile(r"'[^']*'")
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
MASK_DATE = "[date]"
MASK_VALUE = "[value]"


def _missing(n) -> bool:
    if n is None:
        return True
    try:
        return bool(pd.isna(n))
    except (TypeError, ValueError):
        return False


def is_suppressed(n, k: int) -> bool:
    """True when the count ``n`` is hidden by small-cell suppression (0 < n < k)."""
    if _missing(n) or not k:
        return False
    return 0 < float(n) < k


def suppress_count(n, k: int) -> str:
    """A count as text; below ``k`` (k > 0) it is shown as '<k' (small-cell suppression).

    Non-integer counts (weighted numbers at risk) keep one decimal."""
    if _missing(n):
        return "NA"
    if is_suppressed(n, k):
        return f"<{k}"
    value = float(n)
    if value.is_integer():
        return str(int(value))
    return f"{value:.1f}"


def count_pct(n, denominator, k: int, digits: int = 1) -> str:
    """'n (p%)'; the percentage is left out when the count or the denominator is suppressed."""
    text = suppress_count(n, k)
    if _missing(n) or _missing(denominator) or not denominator:
        return text
    if is_suppressed(n, k) or is_suppressed(denominator, k):
        return text
    return f"{text} ({100.0 * float(n) / float(denominator):.{digits}f}%)"


def mask_message(message, value=None) -> str:
    """A validation message without data values: the issue's value, ISO dates and quoted values
    are replaced by placeholders, and free numbers (ages, ids) by [value]. Numbers that are part
    of the workflow's own wording (e.g. '60 days') are masked too: masking errs on the safe side."""
    if _missing(message):
        return ""
    text = str(message)
    if not _missing(value) and str(value).strip():
        text = text.replace(str(value), MASK_VALUE)
    text = ISO_DATE.sub(MASK_DATE, text)
    text = QUOTED.sub(f"'{MASK_VALUE}'", text)
    text = NUMBER.sub(lambda m: m.group(0) if _small_constant(m.group(0)) else MASK_VALUE, text)
    return text


def _small_constant(token: str) -> bool:
    """Numbers kept in masked messages: small integers (row counts, day windows) are not data values."""
    try:
        value = float(token)
    except ValueError:
        return False
    return value.is_integer() and 0 <= value <= 366 and not math.isnan(value)


def site_labels(sites, show_identifiers: bool) -> dict:
    """Display label per site value: the real name with ``show_identifiers``, else 'Site 1', 'Site 2',
    ... numbered by decreasing number of patients (ties by name, so the numbering is stable)."""
    series = pd.Series(sites).dropna().astype(str)
    counts = series.value_counts()
    order = sorted(counts.index, key=lambda s: (-counts[s], s))
    if show_identifiers:
        return {s: s for s in order}
    return {s: f"Site {i}" for i, s in enumerate(order, start=1)}


def find_leaks(text: str, identifiers=(), dates=()) -> list[str]:
    """Identifiers (as whole tokens) and dates found in ``text``: for tests and checks of a report."""
    found = []
    for ident in sorted({str(i) for i in identifiers if not _missing(i) and str(i)}):
        if re.search(rf"(?<![\w-]){re.escape(ident)}(?![\w-])", text):
            found.append(ident)
    for date in sorted({str(d) for d in dates if not _missing(d) and str(d)}):
        if date in text:
            found.append(date)
    return found

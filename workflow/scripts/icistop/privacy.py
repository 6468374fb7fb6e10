"""Small-cell suppression and other output privacy helpers."""

from __future__ import annotations


def suppress_count(n, k: int) -> str:
    """A count as text; below ``k`` (k > 0) it is shown as '<k' (small-cell suppression)."""
    if n is None:
        return "NA"
    n = int(n)
    if k and 0 < n < k:
        return f"<{k}"
    return str(n)

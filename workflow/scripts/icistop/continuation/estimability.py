"""When an estimate of the continuation stage may be printed.

An estimate is *not estimable* (the report prints the reason instead of a number) when

1. its endpoint cannot be measured (PFS without any tumour assessment), nobody is eligible, or a
   strategy / exposure group was followed by no patient (positivity): no number exists, the TSV
   holds NaN and the reason;
2. an arm or group of a comparison has no event (an infinite or zero hazard ratio): as 1;
3. it rests on too few events (fewer than ``min_events_per_arm`` in an arm or group), its ratio-scale
   CI spans more than ``max_ci_ratio`` (upper / lower limit), or more than ``max_failed_share`` of the
   bootstrap replicates failed or diverged: the TSV keeps the raw numbers with ``estimable`` False and
   the reason.

The thresholds come from the ``continuation.estimability`` config block (:class:`Rules`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# groups are named by the phrase that follows "N events": "5 events in arm A (stop)", "13 events on ICI"
ARM_NAMES = {"A": "in arm A (stop)", "B": "in arm B (continue)"}


@dataclass(frozen=True)
class Rules:
    min_events_per_arm: int = 10
    max_ci_ratio: float = 100.0
    max_failed_share: float = 0.05


def rules_from_config(cfg: dict | None) -> Rules:
    """:class:`Rules` from the ``continuation`` config block (its ``estimability`` entry)."""
    block = dict((cfg or {}).get("estimability", cfg or {}) or {})
    keys = ("min_events_per_arm", "max_ci_ratio", "max_failed_share")
    return Rules(**{k: type(getattr(Rules, k))(block[k]) for k in keys if block.get(k) is not None})


def events_text(events: dict) -> str:
    """'5 events in arm A (stop), 11 in arm B (continue)' from {phrase: count}; phrases follow
    "N events" ("in arm A (stop)", "on ICI", "in the stopped-early group")."""
    parts = [f"{int(n)} {'event' if int(n) == 1 and i == 0 else 'events' if i == 0 else ''} {name}".replace("  ", " ")
             for i, (name, n) in enumerate(events.items())]
    return ", ".join(parts)


def events_reason(events: dict, rules: Rules) -> str | None:
    """Reason when a comparison of the groups in ``events`` ({name: events}) rests on too few events."""
    counts = [int(v) for v in events.values() if v is not None and np.isfinite(v)]
    if len(counts) < len(events):
        return None
    if min(counts) == 0:
        return f"no events {' or '.join(k for k, v in events.items() if int(v) == 0)} ({events_text(events)})"
    if min(counts) < rules.min_events_per_arm:
        return f"{events_text(events)}; fewer than {rules.min_events_per_arm} in a group"
    return None


def ci_ratio_reason(lower, upper, rules: Rules) -> str | None:
    """Reason when a ratio-scale CI is too wide (upper / lower > max_ci_ratio)."""
    if lower is None or upper is None or not (np.isfinite(lower) and np.isfinite(upper)) or lower <= 0:
        return None
    if upper / lower > rules.max_ci_ratio:
        return f"unstable: 95% CI limits differ by a factor of {upper / lower:.3g} (more than {rules.max_ci_ratio:g})"
    return None


def failed_reason(n_failed: int, n_total: int, rules: Rules) -> str | None:
    """Reason when too many bootstrap replicates failed or diverged."""
    if not n_total:
        return None
    if n_failed / n_total > rules.max_failed_share:
        return (f"unstable: {n_failed} of {n_total} bootstrap replicates failed or diverged "
                f"(more than {100 * rules.max_failed_share:g}%)")
    return None


def first_reason(*reasons) -> str | None:
    for r in reasons:
        if r:
            return r
    return None

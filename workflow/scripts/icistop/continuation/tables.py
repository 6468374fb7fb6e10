"""Result tables: CCW estimates with bootstrap CIs, the interaction, and the side-by-side comparison.

Every row carries ``estimable`` and ``reason`` (see :mod:`.estimability`): a structurally missing
estimate (positivity, endpoint, no events) has NaN numbers; an estimate resting on too few events, with
an unstable CI or too many failed bootstrap replicates keeps its raw numbers with ``estimable`` False.
Intervals respect the range of the estimand (:mod:`icistop.stats.intervals`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from icistop.stats.intervals import (ANALYTIC_ARM_SE_METHODS, ANALYTIC_LABEL, ARM_SE_METHODS, CI_METHOD_LABELS,
                                     bootstrap_interval, known_weights_interval, log_interval, scale_of, wald_interval)
from icistop.continuation.estimability import (ARM_NAMES, Rules, ci_ratio_reason, events_reason, events_text, failed_reason,
                           first_reason)

ESTIMATE_COLUMNS = ["estimand", "estimate", "se", "boot_se", "lower", "upper", "ci_method", "percentile_lower",
                    "percentile_upper", "n_boot", "n_boot_failed", "known_weights_se", "events_A", "events_B",
                    "n_followed_A", "n_followed_B", "estimable", "reason"]
COMPARISON_COLUMNS = ["method", "label", "population", "time_origin", "estimand", "estimate", "lower", "upper",
                      "ci_method", "events", "estimable", "reason"]


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return np.nan


def _arms_of(key: str) -> tuple[list[str], str]:
    """Arms an estimand rests on and the suffix of its event counts ('' = up to tau, '_h' = up to h)."""
    m = re.match(r"(surv_A|surv_B|diff|ratio)_([\d.]+)$", key)
    if m:
        arms = {"surv_A": ["A"], "surv_B": ["B"]}.get(m.group(1), ["A", "B"])
        return arms, f"_{m.group(2)}"
    if key in ("rmst_A", "rmst_B"):
        return [key[-1]], ""
    return ["A", "B"], ""


def _true(values) -> np.ndarray:
    return np.array([str(v).strip().lower() in ("true", "1", "1.0") for v in values], bool)


def replicate_usable(boot: pd.DataFrame, key: str, converged: str | None = None) -> tuple[np.ndarray, int]:
    """(usable replicate values of ``key``, number failed or diverged): failed = error or non-finite;
    diverged = the resample's Cox fit did not converge (column ``converged``; an arm without events
    is recorded as not converged)."""
    if boot is None or not len(boot):
        return np.array([]), 0
    values = pd.to_numeric(boot[key], errors="coerce").to_numpy(float) if key in boot else np.full(len(boot), np.nan)
    ok = np.isfinite(values)
    if converged and converged in boot:
        ok &= _true(boot[converged])
    return values[ok], int((~ok).sum())


def _structural_reason(key: str, point: dict, arms: list[str], horizon: str) -> str | None:
    """Why no number exists for ``key`` (None when an estimate exists)."""
    if point.get("unavailable"):
        return str(point["unavailable"])
    if not point.get("n_eligible"):
        return "no patient eligible at time zero"
    for arm in arms:
        if point.get(f"n_followed_{arm}") == 0:
            what = ("stopped ICI within the grace period" if arm == "A" else "continued ICI to planned completion")
            return f"no eligible patient {what}: strategy {arm} was never followed (positivity)"
    if len(arms) == 2:
        r = events_reason({ARM_NAMES[a]: point.get(f"events_{a}{horizon}") for a in arms}, Rules(min_events_per_arm=1))
        if r:
            return r
    if not np.isfinite(_num(point.get(key))):
        if horizon:
            return f"follow-up ends before {horizon[1:]} months after time zero in an arm"
        return "follow-up ends before tau in an arm" if key.startswith("rmst") else "the model did not converge"
    return None


def estimates_table(point: dict, boot: pd.DataFrame, ci_method: str = "transformed_wald", rules: Rules | None = None,
                    conf_level: float = 0.95, tau: float | None = None, arm_se: str = "working_cox",
                    analytic_arm_se: str | None = None) -> pd.DataFrame:
    """CCW estimands: point estimate, the SE behind the CI (``se``), the bootstrap SE, the CI by ``ci_method``
    (range-respecting, see :mod:`icistop.stats.intervals`), the percentile CI alongside, replicates used /
    failed, the known-weights SE, events per arm, and whether the estimate may be printed (``estimable``,
    ``reason``). With ``transformed_wald`` the per-arm probabilities and RMST take their SE from ``arm_se``:
    ``working_cox`` (the point's ``se_model_*``, :mod:`icistop.continuation.arm_variance`) or ``bootstrap``.

    ``analytic_arm_se`` (``known_weights`` or ``working_cox``) switches to the analytic intervals used without the
    bootstrap (very large n, :func:`icistop.continuation.bootstrap.analytic_variance`): comparisons and, with
    ``known_weights``, the per-arm probabilities take the known-weights SE (``se_*``); the per-arm rows with
    ``working_cox``, and the per-arm RMST always (no known-weights SE exists for it), the working-Cox SE. Wald
    intervals on the same transformed scales; ``boot`` is ignored."""
    if analytic_arm_se is not None:
        return _analytic_estimates(point, analytic_arm_se, rules or Rules(), conf_level, tau)
    if arm_se not in ARM_SE_METHODS:
        raise ValueError(f"arm_se must be one of {sorted(ARM_SE_METHODS)}")
    rules = rules or Rules()
    rows = []
    for key in _estimand_keys(point):
        row, arms, events, reason = _row_start(point, key)
        row["ci_method"] = CI_METHOD_LABELS[ci_method]
        values, n_failed = replicate_usable(boot, key, "cox_converged" if key in ("hr", "loghr") else None)
        row.update(n_boot=len(values), n_boot_failed=n_failed)
        if reason:
            row.update(estimate=np.nan, se=np.nan, boot_se=np.nan, lower=np.nan, upper=np.nan, percentile_lower=np.nan,
                       percentile_upper=np.nan, estimable=False, reason=reason)
            rows.append(row)
            continue
        scale = scale_of(key)
        lo, hi, bse = bootstrap_interval(row["estimate"], values, scale, ci_method, conf_level, tau)
        plo, phi, _ = bootstrap_interval(row["estimate"], values, scale, "percentile", conf_level, tau)
        se = bse
        if arm_se == "working_cox" and ci_method == "transformed_wald" and arms != ["A", "B"] \
                and f"se_model_{key}" in point:
            se = _num(point[f"se_model_{key}"])
            lo, hi = wald_interval(row["estimate"], se, scale, conf_level, tau)
            row["ci_method"] = ARM_SE_METHODS[arm_se]
        row.update(se=se, boot_se=bse, lower=lo, upper=hi, percentile_lower=plo, percentile_upper=phi)
        reason = first_reason(_printable_reason(events, scale, lo, hi, rules),
                              failed_reason(n_failed, n_failed + len(values), rules))
        row.update(estimable=reason is None, reason=reason or "")
        rows.append(row)
    return pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)


def _estimand_keys(point: dict) -> list[str]:
    return [k for k in point if re.match(r"(surv_[AB]|diff|ratio)_[\d.]+$", k) or k in ("rmst_A", "rmst_B", "rmst_diff",
                                                                                       "loghr", "hr")]


def _known_weights_key(key: str) -> str:
    """Name of the known-weights SE of ``key`` in the point estimates (log scale for ratios and the HR)."""
    return "se_" + ("log" + key if key.startswith("ratio_") else "loghr" if key == "hr" else key)


def _row_start(point: dict, key: str) -> tuple[dict, list[str], dict, str | None]:
    """(row with the estimand's point estimate, known-weights SE, events and followed counts; the arms it rests
    on; its events per arm; why no number exists, or None): what both interval modes share."""
    arms, suffix = _arms_of(key)
    events = {a: point.get(f"events_{a}{suffix}") for a in arms}
    row = {"estimand": key, "estimate": _num(point.get(key)),
           "known_weights_se": _num(point.get(_known_weights_key(key))),
           "events_A": _num(events.get("A")), "events_B": _num(events.get("B")),
           "n_followed_A": _num(point.get("n_followed_A")), "n_followed_B": _num(point.get("n_followed_B"))}
    return row, arms, events, _structural_reason(key, point, arms, suffix)


def _printable_reason(events: dict, scale: str, lo: float, hi: float, rules: Rules) -> str | None:
    """Why an estimate with a number is not printed: too few events in a compared arm, or a ratio's CI too wide."""
    return first_reason(
        events_reason({ARM_NAMES[a]: v for a, v in events.items()}, rules) if len(events) == 2 else None,
        ci_ratio_reason(lo, hi, rules) if scale == "log" else None)


def _analytic_estimates(point: dict, arm_method: str, rules: Rules, conf_level: float, tau: float | None
                        ) -> pd.DataFrame:
    """Rows of :func:`estimates_table` with analytic SEs only (see there)."""
    if arm_method not in ANALYTIC_ARM_SE_METHODS:
        raise ValueError(f"analytic_arm_se must be one of {sorted(ANALYTIC_ARM_SE_METHODS)}")
    rows = []
    for key in _estimand_keys(point):
        row, arms, events, reason = _row_start(point, key)
        row.update(boot_se=np.nan, percentile_lower=np.nan, percentile_upper=np.nan, n_boot=0, n_boot_failed=0)
        per_arm = arms != ["A", "B"]
        if per_arm and (arm_method == "working_cox" or key in ("rmst_A", "rmst_B")) and f"se_model_{key}" in point:
            se, label = _num(point[f"se_model_{key}"]), ANALYTIC_ARM_SE_METHODS["working_cox"]
        else:
            se, label = row["known_weights_se"], ANALYTIC_LABEL
        row["ci_method"] = label
        if reason:
            row.update(estimate=np.nan, se=np.nan, lower=np.nan, upper=np.nan, estimable=False, reason=reason)
            rows.append(row)
            continue
        scale = scale_of(key)
        lo, hi = known_weights_interval(key, row["estimate"], se, conf_level, tau)
        reason = _printable_reason(events, scale, lo, hi, rules)
        row.update(se=se, lower=lo, upper=hi, estimable=reason is None, reason=reason or "")
        rows.append(row)
    return pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)


def interaction_table(point: dict, boot: pd.DataFrame, marker: str | None, rules: Rules | None = None,
                      conf_level: float = 0.95, analytic: bool = False) -> pd.DataFrame:
    """HR continue vs stop within marker strata and their ratio (interaction HR): Wald CI with the SD of
    the log replicates, percentile and robust (known-weights) CIs alongside; events per arm x marker cell.
    ``analytic`` (no bootstrap): the robust CI is the reported one."""
    cols = ["marker", "quantity", "hr", "lower", "upper", "ci_method", "n_boot", "n_boot_failed", "percentile_lower",
            "percentile_upper", "robust_lower", "robust_upper", "events", "estimable", "reason"]
    if not marker or "loghr_interaction" not in point:
        return pd.DataFrame(columns=cols)
    rules = rules or Rules()
    cells = {f"in arm {'B (continue)' if a else 'A (stop)'} with {marker} = {k}": point.get(f"events_arm{a}_marker{k}")
             for a in (0, 1) for k in (0, 1)}
    out = []
    for key, label, used in (("loghr_marker0", f"HR continue vs stop, {marker} = 0", (0,)),
                             ("loghr_marker1", f"HR continue vs stop, {marker} = 1", (1,)),
                             ("loghr_interaction", f"interaction HR (ratio of HRs, {marker} 1 vs 0)", (0, 1))):
        b = _num(point.get(key))
        ev = {name: n for name, n in cells.items() if int(name[-1]) in used}
        values, n_failed = replicate_usable(boot, key, "cox_interaction_converged")
        se = float(np.std(values, ddof=1)) if len(values) > 1 else np.nan
        lo, hi = log_interval(b, se, conf_level)
        a = (1 - conf_level) / 2
        plo, phi = (np.exp(np.quantile(values, [a, 1 - a])) if len(values) > 1 else (np.nan, np.nan))
        rlo, rhi = log_interval(b, _num(point.get("se_" + key)), conf_level)
        if analytic:
            lo, hi = rlo, rhi
        if not np.isfinite(b):
            reason = events_reason(ev, Rules(min_events_per_arm=1)) or "not estimable"
        else:
            reason = first_reason(events_reason(ev, rules), ci_ratio_reason(lo, hi, rules),
                                  failed_reason(n_failed, n_failed + len(values), rules))
        out.append({"marker": marker, "quantity": label, "hr": np.exp(b) if np.isfinite(b) else np.nan,
                    "lower": lo, "upper": hi, "n_boot": len(values),
                    "ci_method": ("robust (known-weights) SE, log-scale Wald" if analytic
                                  else "bootstrap SE, log-scale Wald"),
                    "n_boot_failed": n_failed, "percentile_lower": float(plo), "percentile_upper": float(phi),
                    "robust_lower": rlo, "robust_upper": rhi,
                    "events": _events_label(ev),
                    "estimable": reason is None, "reason": reason or ""})
    return pd.DataFrame(out, columns=cols)


def _events_label(events: dict) -> str:
    return events_text({k: v for k, v in events.items() if v is not None and np.isfinite(_num(v))})


def comparison_table(ccw: pd.DataFrame, naive: pd.DataFrame, landmark: pd.DataFrame, tv: pd.DataFrame,
                     horizons, outcome: str = "pfs", rules: Rules | None = None, conf_level: float = 0.95
                     ) -> pd.DataFrame:
    """Naive, landmark, time-varying Cox and CCW side by side (HR, differences in ``outcome`` at the
    horizons, RMST difference), each with its events per group and estimability. Model-based Wald CIs
    (log scale for HRs, Fisher z for differences of probabilities)."""
    rules = rules or Rules()
    name = outcome.upper()
    rows = []

    def add(method, label, population, origin, estimand, est, lo, hi, ci, events, structural=None, log_scale=False):
        events = {k: v for k, v in events.items() if v is not None}
        reason = structural or (None if np.isfinite(_num(est)) else "not estimable")
        if reason:
            est = lo = hi = np.nan
        else:
            reason = first_reason(events_reason(events, rules) if events else None,
                                  ci_ratio_reason(lo, hi, rules) if log_scale else None)
        rows.append({"method": method, "label": label, "population": population, "time_origin": origin,
                     "estimand": estimand, "estimate": _num(est), "lower": _num(lo), "upper": _num(hi), "ci_method": ci,
                     "events": _events_label(events), "estimable": reason is None, "reason": reason or ""})

    def hr_from(r, b="loghr", s="se_loghr"):
        est, se = _num(r.get(b)), _num(r.get(s))
        lo, hi = log_interval(est, se, conf_level)
        return (np.exp(est) if np.isfinite(est) else np.nan), lo, hi

    def diff_from(r, k):
        est, se = _num(r.get(k)), _num(r.get("se_" + k))
        lo, hi = wald_interval(est, se, "atanh", conf_level)
        return est, lo, hi

    if len(naive):
        r = naive.iloc[0]
        thr = _num(r.get("threshold_months"))
        lab = "BIASED: immortal time (stopped group progression-free until its stop)"
        method = "naive ever-stopped-early vs continued"
        structural = str(r.get("reason")) if pd.notna(r.get("reason")) and str(r.get("reason")) else None
        ev = {"in the stopped-early group": r.get("events_stopped"), "in the continued group": r.get("events_continued")}
        add(method, lab, f"treated; stop < {thr:.3g} mo without progression vs rest", "ICI start",
            "HR continued vs stopped", *hr_from(r), "Wald (model-based), log scale", ev, structural, log_scale=True)
        for h in horizons:
            k = f"diff_{float(h):g}"
            evh = {"in the stopped-early group": r.get(f"events_stopped_{float(h):g}"),
                   "in the continued group": r.get(f"events_continued_{float(h):g}")}
            add(method, lab, "as above", "ICI start",
                f"{name} difference at ICI start + landmark + {float(h):g} mo (continued - stopped)", *diff_from(r, k),
                "Wald (Greenwood-type), Fisher z scale", evh, structural)
    for _, r in landmark.iterrows():
        L = r["landmark"]
        lab = "landmark: no immortal time, adjusted, but groups fixed by a past confounded decision (not per-protocol)"
        method = f"landmark {L:g} mo, on vs off ICI"
        structural = str(r.get("reason")) if pd.notna(r.get("reason")) and str(r.get("reason")) else None
        hr_reason = r.get("hr_reason")
        hr_reason = str(hr_reason) if pd.notna(hr_reason) and str(hr_reason) else None
        ev = {"on ICI": r.get("events_on"), "off ICI": r.get("events_off")}
        add(method, lab, f"alive and progression-free at {L:g} mo", f"{L:g} mo", "HR on vs off (adjusted)",
            *hr_from(r), "Wald (model-based), log scale", ev, structural or hr_reason, log_scale=True)
        for h in horizons:
            k = f"diff_{float(h):g}"
            evh = {"on ICI": r.get(f"events_on_{float(h):g}"), "off ICI": r.get(f"events_off_{float(h):g}")}
            add(method, lab, "as above", f"{L:g} mo",
                f"{name} difference at {float(h):g} mo after landmark (on - off, unadjusted KM)", *diff_from(r, k),
                "Wald (Greenwood-type), Fisher z scale", evh, structural)
    on = tv[tv["term"] == "on_ici"] if "term" in tv else tv.iloc[0:0]
    if len(on):
        r = on.iloc[0]
        structural = str(r.get("reason")) if pd.notna(r.get("reason")) and str(r.get("reason")) else None
        add("time-varying Cox", "on/off ICI as time-varying exposure, adjusted for best response so far and baseline",
            "treated", "ICI start", "HR on vs off ICI (conditional)", _num(r.get("hr")), _num(r.get("hr_lower")),
            _num(r.get("hr_upper")), "Wald (model-based), log scale",
            {"on ICI": r.get("events_on"), "off ICI": r.get("events_off")}, structural, log_scale=True)
    est = ccw.set_index("estimand")
    lab = "target-trial emulation (clone-censor-weight): per-protocol effect, continue vs stop"

    def add_ccw(key, estimand):
        if key not in est.index:
            return
        r = est.loc[key]
        ev = {ARM_NAMES["A"]: r.get("events_A"), ARM_NAMES["B"]: r.get("events_B")}
        ev = {k: v for k, v in ev.items() if np.isfinite(_num(v))}
        estimable = str(r.get("estimable")).strip().lower() in ("true", "1", "1.0")
        rows.append({"method": "CCW", "label": lab, "population": "eligible at time zero",
                     "time_origin": "time zero (landmark)", "estimand": estimand, "estimate": _num(r["estimate"]),
                     "lower": _num(r["lower"]), "upper": _num(r["upper"]), "ci_method": r["ci_method"],
                     "events": _events_label(ev), "estimable": estimable,
                     "reason": "" if estimable else str(r.get("reason", ""))})

    add_ccw("hr", "HR continue vs stop")
    for h in horizons:
        add_ccw(f"diff_{float(h):g}", f"{name} difference at {float(h):g} mo after time zero (continue - stop)")
    add_ccw("rmst_diff", f"{name} RMST difference (months, continue - stop)")
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)

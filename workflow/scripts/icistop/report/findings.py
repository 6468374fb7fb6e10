"""Key findings as plain sentences generated from the results (nothing hard-coded).

Each function takes the ``values`` of a section (see the section builders) and returns sentences
whose wording follows the numbers: estimable or not, confidence interval including the null or
not, small numbers at risk, markers passing the q-value threshold or none.
"""

from __future__ import annotations

import math

from icistop.report.privacy import is_suppressed, suppress_count
from icistop.report.format import label, list_words, missing, p_equals, pct, percentage_points, ratio

FEW_AT_RISK = 10  # below this many patients at risk a milestone estimate is flagged as imprecise


def _ci_text(est, lo, hi, fmt) -> str:
    if missing(est):
        return "not estimable"
    text = fmt(est)
    if missing(lo) or missing(hi):
        return f"{text} (CI not estimable)"
    if fmt is percentage_points:
        return f"{text} (95% CI {100 * float(lo):+.1f} to {100 * float(hi):+.1f})"
    sep = " to " if float(lo) < 0 or float(hi) < 0 else "\u2013"
    if fmt is ratio and any(f"{float(b):.2f}" == "1.00" and float(b) != 1 for b in (lo, hi)):
        # a limit that rounds to 1.00 decides whether the CI excludes 1: show it with 3 decimals
        return f"{ratio(est, 3)} (95% CI {ratio(lo, 3)}{sep}{ratio(hi, 3)})"
    return f"{text} (95% CI {fmt(lo)}{sep}{fmt(hi)})"


def _pct_ci(v: dict) -> str:
    if missing(v.get("surv")):
        return "not estimable"
    if missing(v.get("lower")) or missing(v.get("upper")):
        if float(v["surv"]) >= 1 - 1e-12:
            return f"{pct(v['surv'])} (no event yet; CI not estimable)"
        return f"{pct(v['surv'])} (CI not estimable)"
    return f"{pct(v['surv'])} (95% CI {pct(v['lower'])[:-1]}\u2013{pct(v['upper'])})"


def survival_sentences(values: dict, k: int = 0, n_stop: int | None = None) -> list[str]:
    """Landmark survival after stopping (overall), with the number at risk; follow-up."""
    ms = values.get("milestones") or {}
    out = []
    by_endpoint: dict = {}
    for v in ms.values():
        if v.get("grouping", "overall") != "overall" or not str(v.get("endpoint", "")).endswith("after_stop"):
            continue
        by_endpoint.setdefault(v["endpoint"], []).append(v)
    names = {"pfs_after_stop": "progression-free survival (PFS)", "os_after_stop": "overall survival (OS)"}
    order = [e for e in ("pfs_after_stop", "os_after_stop") if e in by_endpoint] + \
        sorted(e for e in by_endpoint if e not in names)
    for i, endpoint in enumerate(order):
        rows = sorted(by_endpoint[endpoint], key=lambda v: v["time"])
        n = rows[0].get("n") or n_stop
        parts, missing_times, imprecise = [], [], []
        for v in rows:
            if v.get("beyond") or missing(v.get("surv")):
                missing_times.append(f"{v['time']:g}")
                continue
            at_risk = v.get("n_risk")
            parts.append(f"{_pct_ci(v)} at {v['time']:g} months ({suppress_count(at_risk, k)} at risk)")
            if at_risk is not None and at_risk < FEW_AT_RISK:
                imprecise.append(f"{v['time']:g}")
        what = names.get(endpoint, label(endpoint))
        who = (f"Among the {suppress_count(n, k)} patients who stopped ICI without progression, "
               if n is not None and i == 0 else "")
        subject = f"{what} after stopping was " if who else f"{what[0].upper() + what[1:]} after stopping was "
        if parts:
            sentence = who + subject + list_words(parts) + "."
        else:
            sentence = who + subject + "not estimable at " + list_words(missing_times) + " months (no patient followed that long)."
            missing_times = []
        if missing_times:
            sentence += f" At {list_words(missing_times)} months it was not estimable (no patient followed that long)."
        if imprecise:
            sentence += (f" Fewer than {FEW_AT_RISK} patients were at risk at {list_words(imprecise)} months: "
                         "those estimates are imprecise.")
        out.append(sentence)
    fu = (values.get("followup") or {}).get("os_after_stop")
    if fu is not None:
        out.append(f"Median follow-up after stopping was {fu:.1f} months (reverse Kaplan-Meier for overall survival).")
    return out


def _direction(est, lo, hi, favour_low: str, favour_high: str) -> str:
    if missing(est) or missing(lo) or missing(hi):
        return "its confidence interval could not be estimated"
    if hi < 1:
        return f"the confidence interval excludes 1, favouring {favour_low}"
    if lo > 1:
        return f"the confidence interval excludes 1, favouring {favour_high}"
    return "the confidence interval includes 1 (no clear difference)"


def _usable(v: dict | None) -> bool:
    """An estimate the findings may state: present, flagged estimable and with a number."""
    return bool(v) and v.get("estimable", True) is not False and not missing(v.get("estimate"))


def _why(v: dict | None) -> str:
    reason = (v or {}).get("reason")
    return f" ({reason})" if reason else ""


def continuation_sentences(values: dict) -> list[str]:
    """Findings of the primary outcome; when it cannot be analysed at all (e.g. PFS without tumour
    assessments), one sentence saying why and the findings of the next outcome that can."""
    primary = values.get("primary")
    if not primary:
        return []
    unavailable = values.get("unavailable") or {}
    if primary not in unavailable:
        return outcome_sentences((values.get("by_outcome") or {}).get(primary) or {}, primary)
    out = [f"The continuation analyses of {primary.upper()} were not estimable ({unavailable[primary]})."]
    for other in values.get("outcomes") or []:
        if other != primary and other not in unavailable:
            return out + outcome_sentences((values.get("by_outcome") or {}).get(other) or {}, other)
    return out


def outcome_sentences(v: dict, outcome_name: str) -> list[str]:
    """Sentences for one outcome's comparison values (CCW HR and differences, naive, time-varying)."""
    out = []
    outcome = outcome_name.upper()
    ccw = v.get("ccw_hr")
    if _usable(ccw):
        hr_text = _ci_text(ccw["estimate"], ccw.get("lower"), ccw.get("upper"), ratio)
        out.append(f"In the target-trial emulation (clone-censor-weight), the hazard ratio of {outcome} for continuing "
                   f"versus stopping ICI was {hr_text}; "
                   + _direction(ccw["estimate"], ccw.get("lower"), ccw.get("upper"), "continuing", "stopping") + ".")
    else:
        out.append(f"The target-trial emulation hazard ratio of {outcome} (continuing vs stopping) was not "
                   f"estimable{_why(ccw)}.")
    diffs = v.get("ccw_diff") or {}
    diff_parts, reasons = [], []
    for h, d in sorted(diffs.items(), key=lambda kv: float(kv[0])):
        if not _usable(d):
            diff_parts.append(f"not estimable at {float(h):g} months")
            if d.get("reason") and d["reason"] not in reasons:
                reasons.append(d["reason"])
        else:
            diff_parts.append(f"{_ci_text(d['estimate'], d.get('lower'), d.get('upper'), percentage_points)} "
                              f"at {float(h):g} months")
    if diff_parts:
        out.append(f"The difference in {outcome} (continuing minus stopping) after time zero was " + list_words(diff_parts)
                   + (f" ({'; '.join(reasons)})" if reasons else "") + ".")
    failed, total = v.get("n_boot_failed") or 0, v.get("n_boot")
    if failed and total and failed < total:  # all failing = no estimate at all, said above
        out.append(f"{failed} of {total} bootstrap replicates failed or diverged and were left out of the intervals.")
    naive = v.get("naive_hr")
    if naive and not _usable(naive):
        out.append(f"The naive comparison (biased by immortal time) was not estimable{_why(naive)}.")
    elif naive:
        text = (f"The naive comparison, biased by immortal time, gave a hazard ratio of "
                f"{_ci_text(naive['estimate'], naive.get('lower'), naive.get('upper'), ratio)}")
        if _usable(ccw) and naive["estimate"] > 0 and ccw["estimate"] > 0:
            a, b = abs(math.log(naive["estimate"])), abs(math.log(ccw["estimate"]))
            if abs(a - b) < 0.05:
                text += ", close to the emulated estimate"
            elif a > b:
                text += ", further from 1 than the emulated estimate"
            else:
                text += ", closer to 1 than the emulated estimate"
        out.append(text + ".")
    tv = v.get("time_varying_hr")
    if _usable(tv):
        out.append(f"The time-varying Cox model (on vs off ICI) gave a hazard ratio of "
                   f"{_ci_text(tv['estimate'], tv.get('lower'), tv.get('upper'), ratio)}.")
    elif tv:
        out.append(f"The time-varying Cox model (on vs off ICI) was not estimable{_why(tv)}.")
    return out


def biomarker_sentences(values: dict) -> list[str]:
    """One statement per population, each naming its population and endpoint."""
    populations = values.get("populations")
    if populations is None:  # a single population's values
        return _population_sentences(values, "")
    out = []
    for population, v in populations.items():
        if population == "post_stop" and not v.get("n_cohort") and len(populations) > 1:
            out.append("After stopping: the stop cohort is empty; biomarkers were analysed from the ICI start only.")
            continue
        where = "After stopping" if population == "post_stop" else "From the ICI start (all treated patients)"
        out += _population_sentences(v, where)
    return out or ["No biomarker could be analysed."]


def _population_sentences(values: dict, where: str) -> list[str]:
    top = values.get("top") or []
    thr = values.get("q_threshold", 0.1)
    n_markers = values.get("n_markers", 0)
    n_sig = values.get("n_significant", 0)
    what = f"{values.get('endpoint', 'PFS')} {values.get('origin', 'after stopping')}"
    lead = f"{where}: " if where else ""
    if not n_markers:
        return [f"{lead}No biomarker could be analysed."]

    def describe(t):
        if t.get("type") == "continuous":
            what = f"{label(t['marker'])} ({t.get('level')})"
        elif t.get("n_levels", 1) > 1:
            what = f"{label(t['marker'])}"
        else:
            what = f"{label(t['marker'])} ({label(t.get('level'))} vs {label(t.get('reference'))})"
        hr = "" if t.get("n_levels", 1) > 1 and t.get("type") != "continuous" else \
            f"HR {_ci_text(t.get('hr'), t.get('lower'), t.get('upper'), ratio)}, "
        return f"{what}: {hr}q {p_equals(t.get('q'))}"

    sig = [t for t in top if not missing(t.get("q")) and t["q"] < thr]
    if n_sig:
        listed = list_words([describe(t) for t in sig])
        more = f" (the {len(sig)} strongest are listed)" if n_sig > len(sig) else ""
        return [f"{lead}{n_sig} of {n_markers} markers were associated with {what} at q < {thr:g}{more}: {listed}."]
    if top:
        return [f"{lead}None of the {n_markers} markers was associated with {what} at q < {thr:g}; the smallest "
                f"q-values were {list_words([describe(t) for t in top])}."]
    return [f"{lead}None of the {n_markers} markers had an estimable association with {what}."]


def key_findings(sections: dict, k: int = 0) -> list[dict]:
    """Findings per question; a question whose section is absent or not run says so."""
    out = []
    cohort = sections.get("cohort", {}).get("values", {})
    n_stop = cohort.get("n_stop_cohort")
    spec = [("survival", "1. Outcome after stopping without progression", lambda v: survival_sentences(v, k, n_stop)),
            ("continuation", "2. Continuing versus stopping", continuation_sentences),
            ("biomarkers", "3. Biomarkers of outcome after stopping and from the ICI start", biomarker_sentences)]
    for name, heading, fn in spec:
        sec = sections.get(name)
        if not sec or sec.get("status") != "ok":
            reason = (sec or {}).get("reason") or "this analysis is not part of this run"
            out.append({"heading": heading, "sentences": [f"Not run: {reason}"], "status": "not run"})
            continue
        sentences = fn(sec.get("values", {})) or ["No estimate available."]
        out.append({"heading": heading, "sentences": sentences, "status": "ok"})
    if n_stop is not None and is_suppressed(n_stop, k):
        out.insert(0, {"heading": "Small cohort", "sentences": [f"The stop cohort has fewer than {k} patients."],
                       "status": "ok"})
    return out

"""Methods text generated from the run's configuration (no hard-coded settings).

:func:`methods_sections` turns the config blocks passed to the report rule into paragraphs. Every
leaf value of a block is either used in a sentence or listed under "Other settings" of its section,
so a changed option always changes the text. Stage blocks (survival, continuation, biomarkers) are
described when present; key names follow the stage's config snippet, unknown keys are listed.
"""

from __future__ import annotations

from icistop.biomarkers.populations import POPULATIONS, population_endpoint, population_markers, population_text
from icistop.cohort.covariates import describe_derived
from icistop.stats.intervals import (ANALYTIC_LABEL, ARM_SE_METHODS, CI_METHOD_LABELS, CI_METHODS,
                                     analytic_arm_se_for, arm_se_for)
from icistop.report.format import label, list_words, months_list

DAYS_PER_MONTH_TEXT = "days / 30.4375"


class Tracked:
    """A read-only view of a nested config dict that records which leaf keys were read."""

    def __init__(self, data, path: str = "", seen: set | None = None):
        self._data = data if isinstance(data, dict) else {}
        self._path = path
        self._seen = seen if seen is not None else set()

    def __contains__(self, key):
        return key in self._data

    def get(self, key, default=None):
        full = f"{self._path}.{key}" if self._path else key
        if key not in self._data:
            return default
        value = self._data[key]
        if isinstance(value, dict):
            return Tracked(value, full, self._seen)
        self._seen.add(full)
        return value

    def raw(self, key, default=None):
        """The value (a dict stays a dict); all its leaves count as read."""
        full = f"{self._path}.{key}" if self._path else key
        if key not in self._data:
            return default
        value = self._data[key]
        for leaf, _ in _leaves(value, full):
            self._seen.add(leaf)
        return value

    def leftovers(self) -> list[tuple[str, object]]:
        return [(p, v) for p, v in _leaves(self._data, self._path) if p not in self._seen]

    def __bool__(self):
        return bool(self._data)


def _leaves(value, path):
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}" if path else str(k))
    else:
        yield path, value


def _fmt(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "none"
        if all(isinstance(v, dict) for v in value):
            return "; ".join(", ".join(f"{k}={_fmt(x)}" for k, x in v.items()) for v in value)
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_fmt(v)}" for k, v in value.items())
    return str(value)


def _months(values) -> str:
    return months_list(values)


def _with_other(out: list[str], tracked: Tracked) -> list[str]:
    """The paragraphs ``out``, plus an "Other settings" paragraph listing every leaf of ``tracked`` that no
    sentence read (key paths relative to the block), so that a changed option always changes the text."""
    rest = tracked.leftovers()
    if not rest:
        return out
    prefix = tracked._path + "."
    items = [f"{p[len(prefix):] if p.startswith(prefix) else p} = {_fmt(v)}" for p, v in rest]
    return out + ["Other settings: " + "; ".join(items) + "."]


# ----------------------------------------------------------------------------------------- sections
def data_paragraphs(config: dict, cutoff: dict | None, summary: dict | None, show_identifiers: bool) -> list[str]:
    out = []
    text = ("Input tables of data contract v1 (patients, treatments, tumour assessments and, when present, ctDNA) "
            "were validated against the contract schemas before analysis")
    if summary:
        text += f" ({summary.get('n_errors', 0)} errors, {summary.get('n_warnings', 0)} warnings)"
    out.append(text + "; a run with any error stops before analysis.")
    configured = config.get("data_cutoff")
    if configured:
        out.append(f"The administrative data cut-off was set to {configured}; events after it were ignored and "
                   "follow-up was censored at it.")
    else:
        when = ""
        if cutoff and cutoff.get("data_cutoff"):
            when = f" ({cutoff['data_cutoff']})" if show_identifiers else f" ({cutoff['data_cutoff'][:7]})"
        out.append(f"No data cut-off was configured: the latest date found in the data{when} was used as the "
                   "administrative cut-off, at which all follow-up was censored.")
    return out


def cohort_paragraphs(cohort: dict) -> list[str]:
    c = Tracked(cohort, "cohort")
    crit = ["a first ICI course started on or before the data cut-off"]
    if c.get("require_msi_h_or_dmmr", True):
        crit.append("an MSI-H or dMMR tumour (either test sufficed)")
    sites = c.get("sites", [])
    if sites:
        crit.append(f"treatment at {list_words(sites)}")
    if c.get("min_age") is not None:
        crit.append(f"age at ICI start of at least {_fmt(c.get('min_age'))} years")
    lines = c.get("lines", [])
    if lines:
        crit.append(f"the first ICI course given in line {list_words([str(x) for x in lines])}")
    out = ["The treated cohort comprised patients with metastatic colorectal cancer and " + list_words(crit) + "."]
    stop = c.get("stop_cohort") or Tracked({}, "cohort.stop_cohort", c._seen)
    reasons = stop.get("exclude_stop_reasons", ["progression", "death"])
    text = ("The stop cohort (stopped without progression) comprised treated patients whose first ICI course was "
            "stopped on or before the data cut-off")
    if reasons:
        text += f" for a reason other than {list_words([label(r) for r in reasons], 'or')}"
    if stop.get("exclude_pd_before_stop", True):
        text += ", without a progression (PD) assessment between ICI start and the stop date"
    out.append(text + ".")
    return _with_other(out, c)


def endpoint_paragraphs(endpoints: dict) -> list[str]:
    e = Tracked(endpoints, "endpoints")
    censor = e.get("pfs_censor_at", "last_assessment")
    censor_text = {"last_assessment": "the last tumour assessment", "last_contact": "the last contact"}.get(censor, censor)
    breaks = e.get("time_on_ici_breaks", [12, 24])
    out = [
        f"Times are in months ({DAYS_PER_MONTH_TEXT}). Progression-free survival (PFS) was the time to the first "
        "progression (PD assessment) or death, whichever came first; patients without either were censored at "
        f"{censor_text}. Overall survival (OS) was the time to death from any cause, censored at the last contact. "
        "Both were measured from the start of the first ICI course and, in the stop cohort, from the stop date "
        "(PFS and OS after stopping); all follow-up was censored at the data cut-off.",
        "Time on ICI was grouped at " + _months(breaks) + ".",
    ]
    return _with_other(out, e)


def _ci_name(conf_type) -> str:
    names = {"log-log": "log-log transformation", "loglog": "log-log transformation", "log": "log transformation",
             "plain": "plain (linear) scale", "logit": "logit transformation", "arcsin": "arcsine-square-root transformation"}
    return names.get(str(conf_type), f"{conf_type} transformation")


def survival_paragraphs(survival: dict | None, results: dict | None = None) -> list[str] | None:
    """``results``: values of the survival section (conf_type, ties, ph_test_name, hazard_ci) read from
    the result tables, so the text names what was actually computed."""
    if survival is None:
        return None
    s = Tracked(survival, "survival")
    r = results or {}
    out = []
    conf = float(s.get("conf_level", 0.95))
    conf_type = r.get("conf_type")
    text = (f"Survival was estimated by the Kaplan-Meier method with {100 * conf:g}% pointwise confidence intervals"
            + (f" ({_ci_name(conf_type)})" if conf_type else "") + ", after stopping in the stop cohort (time 0 = stop "
            "date) and from ICI start in the treated cohort. ")
    landmarks = s.get("landmarks")
    if landmarks:
        text += f"Survival probabilities are reported at {_months(landmarks)}"
    rt = s.get("risk_table_times")
    if rt:
        text += f"; numbers at risk, cumulative events and censored at {_months(rt)} (KMunicate)"
    frac = s.get("min_at_risk_frac")
    if frac:
        text += f"; curves are drawn while at least {100 * float(frac):g}% of a group remain at risk"
    out.append(text + ". Median follow-up was estimated by the reverse Kaplan-Meier method.")
    after = s.get("groupings_after_stop") or []
    start = s.get("groupings_from_start") or []
    refs = s.raw("reference_levels", {}) or {}
    strata = s.get("strata") or []
    ties = r.get("ties")
    text = ""
    if after:
        text += (f"After stopping, groups defined by {list_words([label(g) for g in after])} (all known at the stop "
                 "date) were compared")
    if start:
        text += (("; from ICI start, " if text else "From ICI start, ") +
                 f"only baseline groupings ({list_words([label(g) for g in start])}) were compared, to avoid immortal-time bias")
    if text:
        text += (", by the log-rank test and Cox models" + (f" ({label(ties).capitalize()} ties)" if ties else "")
                 + " with hazard ratios against a reference level")
        if refs:
            text += " (" + "; ".join(f"{label(g)}: {label(v)}" for g, v in refs.items()) + ")"
        if strata:
            text += f", also stratified by {list_words([label(x) for x in strata])}"
        out.append(text + ".")
    alpha = s.get("ph_alpha")
    cuts = s.get("timesplit_cuts")
    ph_name = r.get("ph_test_name")
    if alpha is not None:
        out.append("Proportional hazards were tested" + (f" with the {ph_name}" if ph_name else "")
                   + f" at level {_fmt(alpha)}" + (f"; where rejected, hazard ratios are given per interval split at "
                                                   f"{_months(cuts)}" if cuts else "") + ".")
    taus = s.get("rmst_tau")
    if taus:
        out.append(f"Restricted mean survival time was estimated up to {_months(taus)}.")
    breaks = s.get("hazard_breaks")
    if breaks:
        ci = r.get("hazard_ci")
        out.append(f"The rate of progression or death after stopping was estimated per interval (limits "
                   f"{_months(breaks)}) as events per person-time" + (f" with {ci} confidence intervals" if ci else "")
                   + ". Competing risks (progression; death without progression) were described by Aalen-Johansen "
                   "cumulative incidence functions.")
    return _with_other(out, s)


def ci_method_of(results: dict | None, configured: str | None) -> str:
    """The bootstrap interval method the continuation tables used: read from their ``ci_method``
    column (``results``: values of the continuation section), else the configured one."""
    labels = {**{v: k for k, v in CI_METHOD_LABELS.items()}, ANALYTIC_LABEL: "analytic"}
    for v in ((results or {}).get("by_outcome") or {}).values():
        if (v or {}).get("ci_method") in labels:
            return labels[v["ci_method"]]
    return configured or "transformed_wald"


def arm_se_of(results: dict | None, configured, outcome: str) -> str:
    """The SE behind the per-arm intervals of ``outcome`` (``continuation.bootstrap.arm_se``): read from the
    per-arm rows' ``ci_method`` (``arm_ci_method`` of the continuation section), else the configured one."""
    labels = {v: k for k, v in ARM_SE_METHODS.items()}
    label = (((results or {}).get("by_outcome") or {}).get(outcome) or {}).get("arm_ci_method")
    return labels[label] if label in labels else arm_se_for(configured, outcome)


def _per_outcome(setting):
    """A per-outcome config value (one string for every outcome, or outcome -> value) as a plain str / dict."""
    if setting is None or isinstance(setting, str):
        return setting
    return {o: setting.get(o) for o in ("pfs", "os") if setting.get(o)}


def continuation_paragraphs(continuation: dict | None, results: dict | None = None) -> list[str] | None:
    """``results``: values of the continuation section (the CI method and estimability as the tables
    have them), so that the text describes what was computed."""
    if continuation is None:
        return None
    c = Tracked(continuation, "continuation")
    out = []
    try:
        from icistop.continuation.protocol import protocol_from_config

        p = protocol_from_config(continuation)
    except Exception:  # noqa: BLE001 - the module may be absent in a reduced workflow
        p = None
    proto = c.get("protocol") or Tracked({}, "continuation.protocol", c._seen)
    ccw = c.get("ccw") or Tracked({}, "continuation.ccw", c._seen)
    if p is not None:  # every key the Protocol reads is described through it
        for key in ("landmark", "grace", "grace_end", "completion", "completion_tolerance", "tau", "outcome",
                    "require_msi_h_or_dmmr", "allowed_continue_stop_reasons", "horizons"):
            proto.get(key)
        for key in ("interval", "time_varying", "stabilise", "ties", "truncate", "grace_timing"):
            ccw.get(key)
        c.get("confounders")
        outcomes = c.get("outcomes") or [p.outcome]
        out.append(
            "The benefit of continuing versus stopping ICI was estimated by emulating a target trial "
            f"(time zero {p.landmark:g} months after ICI start, among patients alive, progression-free and on ICI "
            f"then). Strategy A stopped ICI within the grace period {p.landmark:g}\u2013{p.grace_end:g} months"
            + (f" (stop time {label(p.grace_timing)} over the grace period)" if getattr(p, "grace_timing", None) else "")
            + f"; strategy B continued to planned completion at {p.completion:g} months (tolerance "
            f"{_months([p.completion_tolerance])}), stops for {list_words([label(r) for r in p.allowed_continue_stop_reasons])} "
            f"being allowed. Outcomes: {list_words([str(o).upper() for o in outcomes])} from time zero (the first is "
            f"primary), followed up to {p.tau:g} months.")
        weights = (f"Clones were censored at deviation from their strategy and weighted by the inverse probability of "
                   f"remaining uncensored, from pooled logistic models in {p.interval:g}-month intervals with the "
                   f"baseline confounders {list_words([label(x) for x in p.confounders])}")
        if p.time_varying:
            weights += " and the best response so far"
        weights += (" (stabilised" if p.stabilise else " (unstabilised") + (
            f", truncated at the {p.truncate[0]:g}th/{p.truncate[1]:g}th percentiles)" if p.truncate else ", untruncated)")
        out.append(weights + ". Per-strategy survival was estimated by weighted Kaplan-Meier; the hazard ratio "
                   f"(continue vs stop) by a weighted Cox model ({label(p.ties).capitalize()} ties, robust variance "
                   f"clustered by patient); differences at {_months(p.horizons)} after time zero and the restricted "
                   f"mean survival time difference up to {p.tau:g} months are reported.")
    boot = c.get("bootstrap")
    if boot:
        n_boot = boot.get("n_boot")
        seed = boot.get("seed")
        shards = boot.get("n_shards")
        method = ci_method_of(results, boot.get("ci_method"))
        setting = _per_outcome(boot.get("arm_se"))
        outcomes = [str(o) for o in (c.get("outcomes") or ["pfs"])]
        model = [o.upper() for o in outcomes if method == "transformed_wald"
                 and arm_se_of(results, setting, o) == "working_cox"]
        curves = {o.upper(): arm_se_for(setting, o) for o in outcomes}
        arm_text = ""
        if model:
            arm_text = (f" Intervals of the per-strategy {' and '.join(model)} survival probabilities and restricted "
                        "means use, on the same transformed scales, a working-Cox information SE instead: the "
                        "variance of the weighted "
                        "Kaplan-Meier estimate when each clone's hazard is proportional to exp(beta'X), beta from an "
                        "unweighted Cox model of the outcome on the clones of both strategies (one baseline hazard "
                        "each) with the baseline confounders, the best response so far and, for overall survival, "
                        "progression so far and progression while on ICI (Greenwood's variance when all weights are "
                        "1); in the simulation study the bootstrap SE undercovered these estimates where a few "
                        "heavily weighted patients carry a strategy.")
        threshold = boot.get("analytic_above_n", 200000)
        analytic_setting = _per_outcome(boot.get("analytic_arm_se"))
        if method == "analytic":
            per_arm = {o.upper(): analytic_arm_se_for(analytic_setting, o) for o in outcomes}
            arm_words = "; ".join((f"{o}: " if len(set(per_arm.values())) > 1 else "") + (
                "the working-Cox information SE" if m == "working_cox" else
                "the same influence-function SE for survival probabilities and the working-Cox information SE for "
                "restricted means") for o, m in per_arm.items())
            ci_text = ("Confidence intervals of the emulation: more patients were eligible at time zero than "
                       f"{_fmt(threshold)} (continuation.bootstrap.analytic_above_n), so the bootstrap was not run. "
                       "Intervals are Wald intervals on the same transformed scales (complementary log-log for survival "
                       "probabilities, Fisher z for their differences, log for ratios and hazard ratios, logit(RMST / "
                       "tau) for restricted means per strategy) with the influence-function / robust sandwich SE that "
                       "treats the weights as known for the differences, ratios, RMST difference and hazard ratios; "
                       f"per strategy ({arm_words}). Coverage of these intervals in the workflow's simulation study: "
                       "benchmarks/simulation_study.md.")
        else:
            ci_text = (f"Confidence intervals of the emulation: {CI_METHODS[method]}, from {n_boot} "
                       f"resamples of patients refitting the weights (seed {seed}; replicates computed in {shards} "
                       "shards, each replicate seeded by its index); replicates whose Cox fit did not converge are left "
                       "out and counted." + arm_text
                       + ("" if threshold is None else
                          f" (Above {_fmt(threshold)} patients eligible at time zero the workflow replaces the "
                          "bootstrap by analytic SEs; continuation.bootstrap.analytic_above_n.)"))
        out.append(ci_text + " Curves of the weighted Kaplan-Meier estimates show pointwise log-log intervals from "
                   + list_words(dict.fromkeys([("the working-Cox information SE" if m == "working_cox" else
                                  "the influence-function SE (weights treated as known)")
                                 + (f" ({o})" if len(set(curves.values())) > 1 else "") for o, m in curves.items()]))
                   + ". Model-based intervals of the naive, landmark "
                   "and time-varying analyses are Wald intervals on the log scale (hazard ratios) and the Fisher z "
                   "scale (differences of probabilities).")
    est = c.get("estimability") or Tracked({}, "continuation.estimability", c._seen)
    rules = {k: est.get(k, d) for k, d in (("min_events_per_arm", 10), ("max_ci_ratio", 100), ("max_failed_share", 0.05))}
    out.append("An estimate is reported as not estimable, with the reason, when its endpoint cannot be measured (PFS "
               "without tumour assessments), when a strategy or exposure group was followed by no eligible patient "
               "(positivity), when a compared group has no events, when it rests on fewer than "
               f"{_fmt(rules['min_events_per_arm'])} events in a compared group, when the upper limit of a ratio's "
               f"confidence interval exceeds {_fmt(rules['max_ci_ratio'])} times its lower limit, or when more than "
               f"{_fmt(100 * float(rules['max_failed_share']))}% of the bootstrap replicates failed; the result files "
               "keep the numbers with a flag.")
    unavailable = (results or {}).get("unavailable") or {}
    for outcome, reason in unavailable.items():
        out.append(f"{str(outcome).upper()} was not analysed in this stage: {reason}.")
    naive = c.get("naive")
    if naive:
        thr = naive.get("stop_threshold_days")
        comp = naive.get("comparator")
        breaks = naive.get("duration_breaks")
        text = "For contrast, a naive comparison (biased by immortal time) of patients who stopped early"
        if thr is not None:
            text += f" (within {_fmt(thr)} days, without progression)"
        if comp:
            text += f" versus {label(comp)}"
        text += " is shown"
        if breaks:
            text += f", with fixed treatment-duration groups cut at {_months(breaks)}"
        out.append(text + ".")
    lm = c.get("landmark")
    landmarks = lm.get("landmarks") if lm else None
    tv = c.get("timevarying")
    entry = tv.get("entry") if tv else None
    if landmarks:
        out.append(f"Landmark analyses compared patients on versus off ICI at {_months(landmarks)} after ICI start "
                   "(Cox models adjusted for the confounders and the response so far).")
    if entry is not None:
        out.append(f"A time-varying Cox model treated ICI status as a time-dependent exposure from {_fmt(entry)} months "
                   "after ICI start, adjusted for the best response so far and the baseline confounders.")
    inter = c.get("interaction")
    if inter:
        marker = inter.get("marker")
        out.append(f"Effect modification by {label(marker)} at time zero was estimated as a ratio of hazard ratios."
                   if marker else "No effect modifier was analysed.")
    plots = c.get("plots")
    if plots:
        plots.get("formats")
    return _with_other(out, c)


# the further analyses of the biomarker stage: config sub-block -> its sentence, written when the block is present
BIOMARKER_ANALYSES = {
    "splines": lambda sp: (
        f"Continuous markers were also modelled with restricted cubic splines ({_fmt(sp.get('knots'))} knots, "
        f"reference {_fmt(sp.get('reference'))}, {_fmt(sp.get('grid_points'))} grid points)."),
    "cutpoint": lambda cp: (
        f"Data-driven cut-points (sensitivity analysis only) used the maximally selected log-rank statistic "
        f"between the {_fmt(cp.get('minprop'))} and {_fmt(cp.get('maxprop'))} quantiles with the "
        "Lausen-Sauerbrei-Schumacher corrected p-value."),
    "competing_risks": lambda cr: (
        f"Cumulative incidence of progression with death as a competing event (Aalen-Johansen) is tabulated "
        f"at {_months(cr.get('times') or [])} for the top {_fmt(cr.get('top_k'))} markers."),
    "discrimination": lambda dis: (
        f"Discrimination of the multivariable model (Harrell's C and the IPCW AUC at "
        f"{_fmt(dis.get('horizon_months'))} months) was corrected for optimism with {_fmt(dis.get('n_boot'))} "
        f"bootstrap resamples (seed {_fmt(dis.get('seed'))})"
        + (f"; above {_fmt(dis.get('optimism_max_n'))} patients the resamples were drawn from a random "
           f"subsample of that size and its optimism scaled by sqrt(subsample size / n), an upper bound (optimism "
           f"shrinks at least as fast as 1/sqrt(n)), "
           f"the apparent values using all patients" if dis.get("optimism_max_n") else "")
        + f"; calibration used {_fmt(dis.get('calibration_groups'))} groups of predicted risk."),
}


def biomarker_paragraphs(biomarkers: dict | None) -> list[str] | None:
    if biomarkers is None:
        return None
    b = Tracked(biomarkers, "biomarkers")
    out = []
    markers = b.raw("markers", []) or []
    names = [m.get("name", "?") if isinstance(m, dict) else str(m) for m in markers]
    conf = b.get("conf_level", 0.95)
    fdr = b.get("fdr_method", "BH")
    fdr_text = {"BH": "Benjamini-Hochberg q-values", "BY": "Benjamini-Yekutieli adjusted p-values",
                "holm": "Holm adjusted p-values", "bonferroni": "Bonferroni adjusted p-values"}.get(fdr, f"{fdr} adjustment")
    unknown = b.get("unknown_values")
    populations = list(b.get("populations") or POPULATIONS)
    endpoint = b.raw("endpoint", {})
    where = {"post_stop": "in the stop cohort with {e} from the stop date",
             "from_start": "in all treated patients of the cohort with {e} from the first ICI dose"}
    for population in populations:
        chosen_names = [m.get("name", "?") for m in population_markers(markers, population)]
        e = population_text(population, population_endpoint({"endpoint": endpoint}, population))["endpoint"]
        out.append(f"Candidate markers ({len(chosen_names)}: {list_words([label(n) for n in chosen_names])}) were "
                   f"analysed {where[population].format(e=e)}.")
    if "from_start" in populations and len(names) > len(population_markers(markers, "from_start")):
        out.append("Markers measured after the ICI start (marker populations: post_stop) were not analysed from the "
                   "start, where they would carry immortal-time bias.")
    out.append(f"Univariable Cox models (Efron ties) gave "
               f"hazard ratios with {100 * float(conf):g}% Wald intervals and one likelihood-ratio test per marker, "
               f"adjusted for multiplicity across markers by {fdr_text} within each population." + (
                   f" Unknown values ({list_words([repr(u) for u in unknown])}) were excluded marker by marker, never imputed."
                   if unknown else ""))
    horizon = b.get("horizon")
    if horizon:
        months = horizon.get("months")
        event = horizon.get("event")
        out.append(f"As in Simmons et al. (2023), {label(event or 'progression')} (death for an OS endpoint) within "
                   f"{_fmt(months)} months after the time origin was compared between marker groups by Fisher's exact "
                   "test (conditional maximum-likelihood odds ratio with exact interval), among patients evaluable at "
                   "that horizon.")
    mv = b.get("multivariable")
    if mv:
        cov = mv.get("covariates")
        if cov:
            out.append(f"A multivariable Cox model included {list_words([label(x) for x in cov])} (complete cases; in "
                       "each population the covariates analysed there).")
    out += [sentence(block) for key, sentence in BIOMARKER_ANALYSES.items() if (block := b.get(key))]
    return _with_other(out, b)


def covariate_paragraphs(covariates: dict | None) -> list[str] | None:
    """Declared extra columns and derived covariates (config ``covariates``)."""
    if not covariates or not (covariates.get("extra") or covariates.get("derived")):
        return None
    c = Tracked(covariates, "covariates")
    out = []
    extra = c.raw("extra", []) or []
    if extra:
        items = []
        for col in extra:
            if col.get("type") == "numeric":
                rng = [f"\u2265 {_fmt(col['minimum'])}" if col.get("minimum") is not None else "",
                       f"\u2264 {_fmt(col['maximum'])}" if col.get("maximum") is not None else ""]
                rng = ", ".join(r for r in rng if r)
                item = f"{col['name']} (numeric{', ' + rng if rng else ''})"
            else:
                item = f"{col['name']} (categorical: {', '.join(map(str, col.get('values', [])))})"
            items.append(item + (f", {col['description']}" if col.get("description") else ""))
        out.append("Columns of the patients table beyond the data contract were declared and validated like contract "
                   f"columns: {list_words(items)}.")
    derived = c.raw("derived", []) or []
    if derived:
        out.append("Derived covariates, computed once per treated patient before any analysis: "
                   + "; ".join(describe_derived(d) for d in derived) + ".")
    return _with_other(out, c)


def report_paragraphs(report: dict) -> list[str]:
    r = Tracked(report, "report")
    r.get("title")
    show = r.get("show_identifiers", False)
    k = r.get("small_cell_k", 0)
    out = []
    if show:
        out.append("This report shows patient identifiers, dates and free text from the data "
                   "(report.show_identifiers is on): for internal use only.")
    else:
        out.append("No patient identifier, date or free text from the data is shown: sites are numbered, validation "
                   "messages are masked and patients in figures are anonymous row numbers.")
    if k:
        out.append(f"Small-cell suppression: counts between 1 and {k - 1} are shown as \"<{k}\", without percentages.")
    else:
        out.append("Small-cell suppression is off (report.small_cell_k = 0).")
    return _with_other(out, r)


def methods_sections(config: dict, cutoff: dict | None = None, summary: dict | None = None,
                     results: dict | None = None, stages=None) -> list[dict]:
    """The methods as a list of {"heading", "paragraphs"}. ``results``: section values by section name
    (details read from the result tables, e.g. the PH test); ``stages``: the stage sections in this
    run (default: every configured stage)."""
    results = results or {}
    report = config.get("report", {})
    show = bool(report.get("show_identifiers", False))
    sections = [
        {"heading": "Data", "paragraphs": data_paragraphs(config, cutoff, summary, show)},
        {"heading": "Cohorts", "paragraphs": cohort_paragraphs(config.get("cohort", {}))},
        {"heading": "Endpoints", "paragraphs": endpoint_paragraphs(config.get("endpoints", {}))},
    ]
    covariates = covariate_paragraphs(config.get("covariates"))
    if covariates:
        sections.append({"heading": "Covariates", "paragraphs": covariates})
    for heading, key, fn in (("Survival after stopping", "survival",
                              lambda cfg: survival_paragraphs(cfg, results.get("survival"))),
                             ("Continuing versus stopping", "continuation",
                              lambda cfg: continuation_paragraphs(cfg, results.get("continuation"))),
                             ("Biomarkers", "biomarkers", biomarker_paragraphs)):
        if stages is not None and key not in stages:
            continue
        paras = fn(config.get(key))
        if paras:
            sections.append({"heading": heading, "paragraphs": paras})
    sections.append({"heading": "Reporting", "paragraphs": report_paragraphs(report)})
    return sections

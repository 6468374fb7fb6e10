"""The generator's truths: model parameters, uncensored PFS after the stop, and the counterfactual
continue-vs-stop truth of the target trial (PFS and OS; :func:`counterfactual_truth`).
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd

from icistop import DAYS_PER_MONTH
from icistop.data.synth.model import draw_categorical, exp_with_median, lognormal, msi_h_or_dmmr, progression_time, simulate_core
from icistop.data.synth.params import COMBO, GeneratorParams



def rounded(x, k=4):
    return None if x is None or not np.isfinite(x) else round(float(x), k)


def model_truth(p: GeneratorParams) -> dict:
    """The generative truth of ``p`` (parameters and their meaning), without simulation."""
    knobs = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(p).items()}
    return {
        "generator": "icistop.data.synth",
        "seed": p.seed,
        "n_patients": p.n_patients,
        "data_cutoff": p.data_cutoff,
        "accrual": [p.accrual_start, p.accrual_end],
        "time_unit": f"months = days / {DAYS_PER_MONTH}",
        "causal_effect_of_continuation": {
            "continuation_hr": p.continuation_hr,
            "definition": "hazard ratio of first progression while on ICI versus off ICI, at the same time since "
                          "ICI start, for the same patient (off-ICI hazard = on-ICI hazard / continuation_hr); "
                          "death without progression is unaffected; 1.0 = stopping has no effect",
        },
        "confounding": {
            "enabled": p.confounding,
            "stop_decision": "monthly visits k=1..23: P(stop) = expit(stop_logit_time[band(k)] + "
                             "stop_logit_resp[best response so far at k from assessments dated <= k] + "
                             "stop_logit_age10 * (age - 62) / 10); the stop falls uniformly in (k+0.05, k+0.95)"
                             if p.confounding else
                             "monthly visits: P(stop) = expit(stop_logit_time[band(k)] + stop_logit_unconfounded), "
                             "independent of response and covariates",
            "measured_confounders": ["best response so far (assessments)", "age_at_ici_start", "time on ICI"]
            if p.confounding else [],
            "toxicity": "continuous-time hazard depending on time on ICI and (first 6 months only) regimen; "
                        "no effect on outcomes",
        },
        "progression_hazard_ratios": {
            "met_lung_yes": p.hr_lung,
            "response_class_CR_vs_PR": p.hr_cr,
            "true_MSS": p.hr_mss,
            "ecog_2_or_more": p.hr_ecog2,
            "note": "conditional, constant over time, on and off ICI (CR/PR/SD classes); the class is revealed by "
                    "assessments (CR at stop ~ CR class)",
        },
        "null_markers": {
            "ras_status": 1.0, "braf_v600e": 1.0, "sidedness": 1.0, "regimen": 1.0, "lynch_syndrome": 1.0,
            "metastasis_timing": 1.0, "site": 1.0, "sex": 1.0, "tmb": 1.0,
            "note": "no direct effect on any hazard (after stop or otherwise); the combination regimen shifts the "
                    "response class (fewer PD, more CR/PR), so regimen's marginal association with post-stop "
                    "PFS runs only through response depth",
        },
        "calibration_targets": {
            "best_response_share": {"CR": 0.11, "PR": 0.33, "SD": 0.21, "PD": 0.29, "NE": 0.06},
            "median_pfs_from_ici_start": 16.5,
            "combination_share": [0.22, 0.25],
            "combination_pfs_24": 0.72,
            "msi_h_or_dmmr_share": 0.90,
            "post_stop_pfs": {12: 0.98, 24: 0.91, 36: 0.84},
            "median_time_on_ici_stopped_without_progression": 17.6,
            "toxicity_share_of_stops_without_progression": 0.25,
            "median_follow_up_after_stop": 22.6,
            "sources": ["KEYNOTE-177: Andre et al. N Engl J Med 2020;383:2207-18",
                        "CheckMate 8HW: Andre et al. N Engl J Med 2024;391:2014-26; Lancet 2025;405:383-95",
                        "Simmons et al. Cancer Res Commun 2023 (stopping without progression, n=64)"],
        },
        "params": knobs,
    }


def death_time(p: GeneratorParams, d: dict, seed: int, t_prog, stop) -> np.ndarray:
    """Death time (months since ICI start) of the patients of ``d = simulate_core(p, n, seed)`` when
    their first progression is at ``t_prog`` and first-course ICI stops at ``stop``.

    Replays the post-progression draws of :func:`simulate` (stream ``SeedSequence([seed, 1])``, same
    order) and applies its rule: no progression before ``t_death0`` -> death at ``t_death0``; a
    progression on ICI (``t_prog <= stop``) -> death ``pps_on`` later; a progression off ICI -> a
    re-challenge with probability ``p_rechallenge`` (second-course progression + ``pps_second``, or
    background death) or death ``pps_off`` later. ``death_time(p, d, seed, d["t_prog"], d["S_nat"])``
    equals ``simulate(p, n, seed)["death"]`` exactly (tested), so counterfactual stop times give
    counterfactual deaths with common random numbers."""
    n = d["n"]
    r = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, 1]).spawn(5)][0]
    u_rech = r.random(n)
    delay = r.uniform(0.5, 2.5, n)
    cls2 = draw_categorical(r, n, p.class_probs_rechallenge)
    lognormal(r, n, p.t_pr_median, p.t_pr_sdlog)  # second-course PR / CR delays: drawn, not needed here
    lognormal(r, n, 5.0, 0.6)
    e_prog2 = r.exponential(1.0, n)
    e_bg2 = r.exponential(1.0, n)
    pps_on = exp_with_median(r, n, p.pps_median_on)
    pps_off = exp_with_median(r, n, p.pps_median_off)
    pps_2 = exp_with_median(r, n, p.pps_median_second)
    tp, td0 = np.asarray(t_prog, float), d["t_death0"]
    prog = tp < td0
    on_prog = prog & (tp <= np.asarray(stop, float))
    rech = prog & ~on_prog & (u_rech < p.p_rechallenge)
    R2 = np.where(rech, tp + delay, np.inf)
    med = np.asarray(p.rechallenge_pfs_median)[cls2]
    tp2 = R2 + np.where(cls2 == 3, 0.7, 0.0) + e_prog2 * med / np.log(2)
    bg2 = R2 + e_bg2 / p.death_rate
    tp2 = np.where(tp2 < bg2, tp2, np.inf)
    return np.where(~prog, td0, np.where(on_prog, tp + pps_on, np.where(rech, np.where(
        np.isfinite(tp2), tp2 + pps_2, bg2), tp + pps_off)))


def follow_up_end(p: GeneratorParams, n: int, seed: int) -> np.ndarray:
    """End of follow-up other than death (months since ICI start): the earlier of loss to follow-up and
    the last contact before the data cut-off, replaying the calendar draws of :func:`simulate` (stream
    ``SeedSequence([seed, 1])``); ``min(death, follow_up_end)`` equals ``simulate(p, n, seed)["L"]``."""
    r = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, 1]).spawn(5)][1]
    a0 = np.datetime64(p.accrual_start, "D").astype(np.int64)
    a1 = np.datetime64(p.accrual_end, "D").astype(np.int64)
    u = r.random(n)
    frac = np.where(r.random(n) < p.accrual_ramp, np.sqrt(u), u)
    start_day = a0 + np.floor(frac * (a1 - a0 + 1)).astype(np.int64)
    cut = np.datetime64(p.data_cutoff, "D").astype(np.int64)
    t_cc = (cut - start_day) / DAYS_PER_MONTH - r.uniform(0, 1.0, n)
    t_ltfu = r.exponential(1 / p.ltfu_rate, n)
    return np.minimum(t_ltfu, t_cc)


def _arm_contrasts(y: dict, horizons: tuple, tau: float, cox: bool, censor: np.ndarray | None = None) -> dict:
    """Survival per arm at ``horizons``, B - A difference (Monte-Carlo SE) and B / A ratio, RMST to
    ``tau`` and the Cox HR B vs A of uncensored outcome times ``y = {"A": ..., "B": ...}``; with
    ``censor`` (per patient, both arms) also the Cox HR when follow-up ends there (``hr_B_vs_A_followup``)."""
    m = len(y["A"])
    out = {key: {} for key in ("surv_A", "surv_B", "difference_B_minus_A", "ratio_B_over_A", "mc_se_difference")}
    for h in horizons:
        sa, sb = (y["A"] > h), (y["B"] > h)
        out["surv_A"][h], out["surv_B"][h] = rounded(sa.mean()), rounded(sb.mean())
        out["difference_B_minus_A"][h] = rounded(sb.mean() - sa.mean())
        out["ratio_B_over_A"][h] = rounded(sb.mean() / sa.mean())
        out["mc_se_difference"][h] = rounded(np.std(sb.astype(float) - sa) / np.sqrt(m), 5)
    ra, rb = np.minimum(y["A"], tau).mean(), np.minimum(y["B"], tau).mean()
    out["rmst_A"], out["rmst_B"], out["rmst_difference_B_minus_A"] = rounded(ra), rounded(rb), rounded(rb - ra)
    if cox:
        out["hr_B_vs_A"] = rounded(_cox_hr(np.concatenate([y["A"], y["B"]]), np.repeat([0.0, 1.0], m), tau))
        out["hr_method"] = "Cox (lifelines CoxPHFitter, Efron ties) on both counterfactual arms, truncated at tau"
        if censor is not None:
            c = np.concatenate([censor, censor])
            out["hr_B_vs_A_followup"] = rounded(_cox_hr(np.concatenate([y["A"], y["B"]]), np.repeat([0.0, 1.0], m),
                                                   tau, censor=c))
    return out


def counterfactual_truth(params: GeneratorParams | None = None, landmark: float = 12.0,
                         grace: tuple = (12.0, 15.0), completion: float = 24.0, horizons: tuple = (24, 36),
                         tau: float = 36.0, n: int = 200_000, seed: int = 1, cox: bool = True,
                         os: bool = False, followup: bool = False) -> dict:
    """True effect of continuing (B) versus stopping (A) ICI at ``landmark`` (target trial).

    Eligible: measured MSI-H/dMMR, first course on ICI, progression-free and alive at ``landmark``
    (months after ICI start) under the natural stopping process of ``params``. Time zero = landmark.
    A: stop at U(grace) (or at an earlier toxicity stop). B: stop at ``completion`` +
    U(0, completion_jitter) unless progression or a toxicity stop comes first. Both arms share every
    latent draw (common random numbers), there is no censoring; PFS = progression or death.
    Returns PFS survival per arm at ``horizons`` (months since time zero), B - A difference (with
    Monte-Carlo SE) and B / A ratio, RMST to ``tau`` and the Cox hazard ratio B vs A on
    follow-up truncated at ``tau`` (lifelines, Efron ties; ``cox=False`` skips it).

    ``os=True`` adds the same quantities for overall survival under key ``"os"``. Death after a
    progression depends in the generator on whether ICI was still running at the progression
    (:func:`death_time`: ``pps_median_on`` 12 months on ICI versus ``pps_median_off`` 30 months and
    re-challenge off ICI), so the arm's stop time decides it: under B a progression before completion
    happens on ICI, under A after the stop it happens off ICI. Each arm's death is computed from its
    own progression and stop time with the same post-progression draws; continuing therefore shortens
    OS even when ``continuation_hr`` = 1 (no effect on PFS). This is the generator's structural model
    (a progression on ICI is refractory disease without the re-challenge option), not an artefact.

    ``followup=True`` adds ``hr_B_vs_A_followup``: the Cox HR when each patient's follow-up also ends
    at the generator's loss to follow-up / last contact before the cut-off (:func:`follow_up_end`, the
    same in both arms). When the effect is not proportional over time (a stop changes the hazard only
    between the grace period and completion; post-progression survival differs on vs off ICI) the
    Cox HR depends on the censoring pattern, and this is the value a Cox model fitted to data
    with that follow-up estimates; survival probabilities and RMST do not depend on it.
    """
    p = params or GeneratorParams()
    d = simulate_core(p, n, seed)
    elig = msi_h_or_dmmr(d) & (d["S_nat"] > landmark) & (d["t_prog"] > landmark) & (d["t_death0"] > landmark)
    u = np.random.default_rng([seed, 2]).uniform(grace[0], grace[1], n)
    s_a = np.minimum(u, d["t_tox"])
    s_b = np.minimum(d["t_tox"], d["C"] - p.completion + completion)
    y, y_os = {}, {}
    for arm, stop in (("A", s_a), ("B", s_b)):
        tp = progression_time(p, d, stop)
        y[arm] = (np.minimum(tp, d["t_death0"]) - landmark)[elig]
        if os:
            y_os[arm] = (death_time(p, d, seed, tp, stop) - landmark)[elig]
    m = int(elig.sum())
    out = {"landmark": landmark, "grace": list(grace), "completion": completion, "tau": tau,
           "continuation_hr": p.continuation_hr, "confounding": p.confounding,
           "n_simulated": n, "n_eligible": m, "seed": seed,
           "strategy_A": "stop at a time uniform in the grace window (earlier if a toxicity stop comes first)",
           "strategy_B": "continue until completion + U(0, completion_jitter) unless progression or toxicity",
           "outcome": "PFS (progression or death) from time zero = landmark, no censoring"}
    censor = (follow_up_end(p, n, seed) - landmark)[elig] if followup else None
    out.update(_arm_contrasts(y, horizons, tau, cox, censor))
    if os:
        out["os"] = {"outcome": "OS (death) from time zero = landmark, no censoring; death after progression "
                                "by the arm's on/off-ICI status at progression (synth.death_time)",
                     **_arm_contrasts(y_os, horizons, tau, cox, censor)}
    return out


def _cox_hr(time, x, tau, censor=None):
    from lifelines import CoxPHFitter

    end = tau if censor is None else np.minimum(censor, tau)
    df = pd.DataFrame({"t": np.minimum(time, end), "e": (time <= end).astype(int), "x": x})
    fit = CoxPHFitter().fit(df, "t", "e")
    return float(np.exp(fit.params_["x"]))


def post_stop_truth(params: GeneratorParams | None = None, n: int = 200_000, seed: int = 2,
                    horizons: tuple = (12, 24, 36), cox_n: int = 40_000) -> dict:
    """Uncensored PFS from the stop date among first courses stopped without progression (any reason
    but progression/death), overall and for measured MSI-H/dMMR patients; plus a large-sample Cox
    model of PFS from the stop (truncated at 60 months) on true covariates and the measured
    response at stop, the population value of the associations a biomarker analysis estimates."""
    from lifelines import CoxPHFitter

    p = params or GeneratorParams()
    d = simulate_core(p, n, seed)
    S, tp, td = d["S_nat"], d["t_prog"], d["t_death0"]
    stop = (S < tp) & (S < td)
    y = np.minimum(tp, td) - S
    out = {"n_simulated": n, "seed": seed, "definition": "first-course stop before progression and death; "
           "PFS from the stop date, progression or death, no censoring"}
    for name, m in (("all", stop), ("msi_h_or_dmmr", stop & msi_h_or_dmmr(d))):
        tox = (d["S_reason"] == 2)[m]
        out[name] = {"n": int(m.sum()), "pfs": {h: rounded((y[m] > h).mean()) for h in horizons},
                     "median_time_on_ici": rounded(np.median(S[m]), 2), "toxicity_share": rounded(tox.mean(), 3)}
    idx = np.nonzero(stop & msi_h_or_dmmr(d))[0][:cox_n]
    cov = pd.DataFrame({"met_lung": d["mets"]["lung"], "cr_at_stop": d["a_cr"] <= S, "ras_mutant": d["ras"],
                        "braf_mutant": d["braf"], "left_sided": np.isin(d["primary"], (1, 2)),
                        "combination": d["regimen"] == COMBO}).iloc[idx].astype(float)
    cov["t"], cov["e"] = np.minimum(y[idx], 60.0), (y[idx] <= 60.0).astype(int)
    fit = CoxPHFitter().fit(cov, "t", "e")
    out["cox_large_sample"] = {
        "n": len(idx), "hazard_ratios": {k: rounded(np.exp(v), 3) for k, v in fit.params_.items()},
        "note": "multivariable Cox on the first cox_n MSI-H/dMMR stoppers, true covariates (met_lung, ras, braf, "
                "sidedness, regimen) and measured CR at stop (last assessment before the stop); PFS from the stop "
                "truncated at 60 months"}
    return out

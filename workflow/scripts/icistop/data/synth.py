"""Seeded synthetic cohort of ICI-treated metastatic colorectal cancer (the embedded example).

``generate_cohort(GeneratorParams(...))`` returns the four tables of data contract v1 (``patients``,
``treatments``, ``assessments``, ``ctdna``; dates as ``datetime64``, missing = NaN/NaT) and the
generative truth; ``write_example`` writes them as CSV (ISO dates, empty cells for missing) plus
``truth.yaml``. Same parameters and seed -> byte-identical files. CLI::

    PYTHONPATH=workflow/scripts python -m icistop.data.synth --out resources/example --seed 4

Generative model (time t in months since the start of the first ICI course; all steps vectorised)
-------------------------------------------------------------------------------------------------
1. Baseline: 5 fictional centres; exactly 91% truly MSI-H (measured ``msi_status``/``mmr_status``
   mostly concordant, some ``unknown``, 2% discordant); RAS/BRAF/Lynch/metastatic sites/ECOG/TMB with
   MSI-H-typical prevalences and 3-10% ``unknown`` (TMB missing 35%); regimen anti-PD-1 / anti-PD-L1 /
   anti-PD-1+anti-CTLA-4 (exactly 23.5%) / other; line 1-3; ICI starts 2017-2023 (rising uptake).
2. Latent response class R in {CR, PR, SD, PD, NE} (multinomial logit: MSS -> mostly PD; combination
   -> fewer PD, more CR/PR; later line, ECOG >= 2, liver metastases -> more PD). Responders reach PR
   at a lognormal time (median 2.3) and CR-class patients CR a lognormal delay later (median 6).
   Assessments report the latent state (SD -> PR -> CR, never regressing) without error, every
   8-12 weeks on ICI and every 12-16 weeks after stopping; a progression is recorded (PD) on the
   day it occurs. NE-class patients die before their first assessment.
3. Progression hazard h(t) = lambda_R(t) * exp(x'beta) * m(t): class-specific piecewise-constant
   baseline (CR = ``hr_cr`` x PR), multipliers for lung metastases (``hr_lung``), true MSS and
   ECOG >= 2, and m(t) = 1 on ICI, 1 / ``continuation_hr`` off ICI. So ``continuation_hr`` is the
   causal hazard ratio on- vs off-ICI at the same time since ICI start for the same patient
   (default 1 = no effect). RAS, BRAF V600E, sidedness, regimen, Lynch, metastasis timing, site,
   sex, TMB and toxicity have no direct effect on any hazard (null markers). Death without
   progression: age-dependent background hazard; death after progression: exponential.
4. Stopping without progression. (a) Toxicity: continuous-time hazard depending only on time on ICI
   (rising: 0.1-0.5%/month in year 1, 1.2%/month after) and, in the first 6 months (anti-CTLA-4
   induction), on regimen; never on prognosis. (b) Decisions at monthly visits k = 1..23 (k months
   after ICI start): stop with probability expit(a_k + b[best response so far at k] + c * (age - 62)
   / 10), the stop falling uniformly in (k + 0.05, k + 0.95); reason elective_response (mostly after
   PR/CR) / patient_choice / surgery / other. "Best response so far" uses assessments dated <= k
   only (what the clinician knows). (c) planned_completion at 24 + U(0, 0.5) months. With
   ``confounding=False`` the visit decision ignores response and age. A pooled logistic model of
   stopping on best response so far (CR / PR / other) at the interval start, age and time is thus
   correctly specified, and all confounding runs through measured data (assessments, age):
   sequential exchangeability holds. Deep responses both trigger stops and lower progression risk,
   so naive stopped-vs-continued comparisons are biased in favour of stopping.
5. After a progression off ICI, 50% get a re-challenge (course 2, own response class and PFS).
6. Follow-up: data cut-off ``data_cutoff`` (last contact of those alive 0-1 month before it), loss
   to follow-up 0.4%/month. ctDNA at two centres for 80% of patients stopping without
   progression: a test at the stop (-0.5 to +0.25 months) and every 2.5-4 months; detected with
   probability 0.8 / 0.4 / 0.04 when progression follows within 6 / 6-18 / >18 months (or never).

Calibration (targets -> achieved on 200 000 simulated patients; exact values in truth.yaml)
-------------------------------------------------------------------------------------------
- KEYNOTE-177 pembrolizumab arm (Andre et al., N Engl J Med 2020;383:2207-18; Diaz et al., Lancet
  Oncol 2022;23:659-70): best response CR 11 / PR 33 / SD 21 / PD 29 / NE 6% -> 11 / 34 / 21 / 28.5 /
  6%; median PFS 16.5 months -> about 16 (the curve is flat near 50%, KEYNOTE-177's 95% CI was
  5.4-32.4, so medians of small cohorts scatter widely).
- CheckMate 8HW (Andre et al., N Engl J Med 2024;391:2014-26; Lancet 2025;405:383-95): nivolumab +
  ipilimumab 24-month PFS about 72% -> 70%; combination share 23.5%.
- Simmons et al., "Sustained disease control in immune checkpoint blockade responders with
  microsatellite instability-high colorectal cancer after treatment termination", Cancer Res Commun
  2023 (64 patients stopping without progression): PFS from the stop 98 / 91 / 84% at 12 / 24 /
  36 months -> 96.5 / 91 / 84% (the contract's stop cohort also holds early toxicity stops, which
  keep year 1 slightly above 2% events); median ICI exposure 17.6 -> 17.8 months (16.7 among stops
  observed before the cut-off); median follow-up after the stop 22.6 -> 22.4 months; toxicity 16/64
  stops -> 13-15%; lung metastases associated with recurrence (OR about 6.1) -> true HR
  ``hr_lung`` = 3; no association with RAS, BRAF, sidedness or regimen -> null markers.
  The low first-year then higher hazard after the stop is produced, under the default of no causal
  effect of stopping, by a responder hazard that is low in months 18-36 and higher from month 36.

Counterfactual truth (:func:`counterfactual_truth`) for the target trial "stop at the landmark"
(A: stop at U(landmark, grace_end), earlier if a toxicity stop comes first) versus "continue"
(B: stop at completion + U(0, ``completion_jitter``) unless progression or toxicity first) among
patients MSI-H/dMMR (measured), on ICI, progression-free and alive at the landmark, computed with
common random numbers on a large simulated population without censoring; ``os=True`` adds OS (death
after progression by the arm's on/off-ICI status at progression, :func:`death_time`), ``followup=True``
the Cox HR under the generator's own follow-up (:func:`follow_up_end`).
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from icistop import DAYS_PER_MONTH

WEEK = 7.0 / DAYS_PER_MONTH
RESPONSES = ("CR", "PR", "SD", "PD", "NE")  # latent class codes 0..4
STOP_REASONS = ("planned_completion", "elective_response", "toxicity", "patient_choice", "surgery",
                "progression", "death", "other")
REGIMENS = ("anti-PD-1", "anti-PD-L1", "anti-PD-1+anti-CTLA-4", "other")
COMBO = 2


@dataclass(frozen=True)
class GeneratorParams:
    """All knobs of the generator (months unless stated; probabilities in [0, 1]).

    Baseline covariate prevalences (sex, age, sidedness, RAS/BRAF/Lynch, metastatic sites, ECOG, TMB)
    are fixed MSI-H-typical constants in :func:`_simulate_core`; they carry no outcome effect except
    lung metastases, ECOG and liver metastases (response class) as documented above."""

    n_patients: int = 800
    seed: int = 4
    continuation_hr: float = 1.0       # hazard ratio of progression on ICI vs off ICI (1 = no effect)
    confounding: bool = True           # visit stop decisions depend on response so far and age
    # calendar
    accrual_start: str = "2017-01-01"
    accrual_end: str = "2023-12-31"
    accrual_ramp: float = 0.7          # share of starts from a linearly rising density (rest uniform)
    data_cutoff: str = "2024-09-30"
    sites: tuple = ("Aldmoor", "Brackwell", "Corrindale", "Dunmarsh", "Essenford")
    site_weights: tuple = (0.30, 0.25, 0.20, 0.15, 0.10)
    # population
    p_msi_high: float = 0.91           # true MSI-H/dMMR (exact count, random order)
    regimen_probs: tuple = (0.72, 0.03, 0.235, 0.015)   # order of REGIMENS (exact counts)
    line_probs: tuple = (0.55, 0.30, 0.15)
    p_unknown_marker: float = 0.08     # RAS, BRAF each
    p_unknown_met: float = 0.03        # each metastatic site
    p_tmb_missing: float = 0.35
    p_ecog_missing: float = 0.05
    # latent response class: reference probabilities (MSI-H, anti-PD-1, line 1, ECOG 0-1, no liver
    # metastases) for CR, PR, SD, PD, NE, and log-odds shifts versus SD for each covariate
    class_probs_ref: tuple = (0.14, 0.34, 0.19, 0.27, 0.06)
    shift_combo: tuple = (0.7, 0.6, 0.0, -2.0, -0.5)
    shift_mss: tuple = (-3.5, -2.0, 0.0, 2.2, 0.5)
    shift_later_line: tuple = (-0.2, 0.0, 0.0, 0.3, 0.0)
    shift_ecog2: tuple = (0.0, 0.0, 0.0, 0.6, 1.2)
    shift_liver: tuple = (-0.2, 0.0, 0.0, 0.35, 0.0)
    shift_pdl1_other: tuple = (0.0, 0.0, 0.0, 0.3, 0.0)
    t_pr_median: float = 2.3
    t_pr_sdlog: float = 0.45
    t_cr_delay_median: float = 6.0
    t_cr_delay_sdlog: float = 0.6
    # progression hazards per month on ICI, piecewise constant on hazard_edges
    hazard_edges: tuple = (0, 1, 3, 6, 12, 18, 24, 30, 36, 48, 60)
    hazard_pr: tuple = (0.002, 0.004, 0.004, 0.002, 0.0035, 0.001, 0.0004, 0.001, 0.0055, 0.0055, 0.0028)
    hazard_sd: tuple = (0.02, 0.05, 0.05, 0.03, 0.035, 0.0035, 0.0008, 0.002, 0.011, 0.011, 0.0055)
    hazard_pd: tuple = (0.1, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2)
    hr_cr: float = 0.2                # CR class vs PR class
    hr_lung: float = 3.0               # lung metastases (CR/PR/SD classes)
    hr_mss: float = 2.0                # true MSS (CR/PR/SD classes)
    hr_ecog2: float = 1.5              # ECOG >= 2 (CR/PR/SD classes)
    # death
    death_rate: float = 0.0004         # background death hazard at age 62 (per month)
    death_log_hr_age10: float = 0.5    # per 10 years of age
    pps_median_on: float = 12.0        # survival after progression on ICI (median)
    pps_median_off: float = 30.0       # after progression off ICI, no re-challenge
    pps_median_second: float = 10.0    # after progression on re-challenge
    # stopping: decisions at monthly visits (logit scale)
    stop_logit_time: tuple = (-7.5, -6.2, -3.4)  # visits k < 6, 6 <= k < 12, k >= 12
    stop_logit_resp: tuple = (0.0, 0.8, 2.2)       # best response so far: other, PR, CR
    stop_logit_age10: float = 0.25
    stop_logit_unconfounded: float = 1.2           # added to stop_logit_time when confounding=False
    reason_mix_responder: tuple = (0.86, 0.06, 0.05, 0.03)  # elective, patient_choice, surgery, other
    reason_mix_other: tuple = (0.45, 0.30, 0.05, 0.20)
    reason_mix_early: tuple = (0.0, 0.6, 0.0, 0.4)          # visits k < 6
    tox_edges: tuple = (0, 3, 6, 12)
    tox_rate_mono: tuple = (0.001, 0.002, 0.005, 0.012)
    tox_rate_combo: tuple = (0.005, 0.004, 0.005, 0.012)
    completion: float = 24.0
    completion_jitter: float = 0.5
    # follow-up and assessments
    ltfu_rate: float = 0.004
    assess_on_weeks: tuple = (8.0, 12.0)
    assess_off_weeks: tuple = (12.0, 16.0)
    # re-challenge (course 2)
    p_rechallenge: float = 0.5
    class_probs_rechallenge: tuple = (0.08, 0.27, 0.35, 0.30)   # CR, PR, SD, PD
    rechallenge_pfs_median: tuple = (60.0, 30.0, 8.0, 1.5)      # per class, months
    rechallenge_tox_rate: float = 0.008                          # per month
    # ctDNA
    ctdna_sites: tuple = ("Aldmoor", "Brackwell")
    p_ctdna: float = 0.8
    ctdna_interval: tuple = (2.5, 4.0)
    ctdna_max_tests: int = 8
    ctdna_detect: tuple = (0.8, 0.4, 0.04)   # progression within 6, 6-18, >18 months / never


# ---------------------------------------------------------------------------------------------
# small vectorised helpers

def _cat(rng, n, probs, cond=None, probs_else=None):
    """Categorical draw (codes) with probs, or probs/probs_else by boolean cond."""
    cp = np.cumsum(np.asarray(probs, float))
    cp = cp / cp[-1]
    u = rng.random(n)
    if cond is None:
        return np.searchsorted(cp, u, side="right").clip(max=len(cp) - 1)
    ce = np.cumsum(np.asarray(probs_else, float))
    ce = ce / ce[-1]
    return np.where(cond, np.searchsorted(cp, u, side="right"), np.searchsorted(ce, u, side="right")).clip(
        max=len(cp) - 1)


def _alloc(rng, n, probs):
    """Codes with exact counts round(n * probs) (largest remainders), randomly permuted."""
    pr = np.asarray(probs, float) / np.sum(probs)
    counts = np.floor(n * pr).astype(int)
    extra = np.argsort(-(n * pr - counts), kind="stable")[: n - counts.sum()]
    counts[extra] += 1
    return rng.permutation(np.repeat(np.arange(len(pr)), counts))


def _lognormal(rng, n, median, sdlog):
    return median * np.exp(sdlog * rng.standard_normal(n))


def _exp_median(rng, n, median):
    return rng.exponential(median / np.log(2), n)


class _Piecewise:
    """Piecewise-constant hazard on edges (last rate extends to infinity): cumulative and inverse."""

    TMAX = 1200.0

    def __init__(self, edges, rates):
        e = np.append(np.asarray(edges, float), self.TMAX)
        r = np.asarray(rates, float)
        self.t = e
        self.H = np.concatenate([[0.0], np.cumsum(r * np.diff(e))])

    def cum(self, t):
        return np.interp(np.minimum(t, self.TMAX), self.t, self.H)

    def inv(self, y):
        out = np.interp(y, self.H, self.t)
        return np.where(y >= self.H[-1], np.inf, out)


def _invert_switch(pw: _Piecewise, y, switch, c):
    """Time T with cumulative hazard y when the hazard is divided by c after ``switch``."""
    hs = pw.cum(switch)
    after = hs + c * (y - hs)
    return np.where(y <= hs, pw.inv(y), pw.inv(after))


def _ragged(rng, t0, t_end, lo, hi, cap=None):
    """Times t0 + cumsum(U(lo, hi)) below t_end per row: (row index, times), sorted by row."""
    span = np.where(np.isfinite(t_end) & np.isfinite(t0), np.maximum(t_end - t0, 0.0), 0.0)
    m = np.ceil(span / lo).astype(np.int64)
    if cap is not None:
        m = np.minimum(m, cap)
    tot = int(m.sum())
    row = np.repeat(np.arange(len(t0)), m)
    if tot == 0:
        return row, np.zeros(0)
    cs = np.cumsum(rng.uniform(lo, hi, tot))
    first = np.cumsum(m) - m
    base = np.concatenate([[0.0], cs])[first]
    times = t0[row] + cs - np.repeat(base, m)
    keep = times < t_end[row]
    return row[keep], times[keep]


def _state(t, t_pr, t_cr):
    """Latent tumour state code at time t: 0 CR, 1 PR, 2 SD."""
    return np.where(t >= t_cr, 0, np.where(t >= t_pr, 1, 2))


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


# ---------------------------------------------------------------------------------------------
# latent simulation

def _simulate_core(p: GeneratorParams, n: int, seed: int) -> dict:
    """Baseline, response, stopping and first-progression latent times (no follow-up, no censoring)."""
    rg = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    r = rg[0]
    d: dict = {"n": n}
    msi = _alloc(r, n, (p.p_msi_high, 1 - p.p_msi_high)) == 0
    d["msi"] = msi
    d["site"] = _cat(r, n, p.site_weights)
    d["sex"] = _cat(r, n, (0.53, 0.465, 0.005), msi, (0.42, 0.575, 0.005))
    lynch = msi & (r.random(n) < 0.25)
    d["lynch"] = lynch
    age = np.where(lynch, 50 + 11 * r.standard_normal(n), np.where(msi, 65, 58) + 11 * r.standard_normal(n))
    d["age"] = np.clip(np.rint(age), 20, 90)
    d["primary"] = _cat(r, n, (0.63, 0.24, 0.10, 0.03), msi, (0.28, 0.45, 0.24, 0.03))
    d["timing"] = _cat(r, n, (0.55, 0.40, 0.05))
    braf = np.where(lynch, False, r.random(n) < np.where(msi, 0.33, 0.08))
    d["braf"] = braf
    d["ras"] = r.random(n) < np.where(braf, 0.02, np.where(msi, 0.30, 0.50))
    mets = {}
    for name, pm, pn in (("liver", 0.38, 0.60), ("lung", 0.25, 0.30), ("lymph_node", 0.55, 0.45),
                         ("peritoneum", 0.35, 0.22), ("bone", 0.05, 0.06)):
        mets[name] = r.random(n) < np.where(msi, pm, pn)
    d["mets"] = mets
    d["ecog"] = _cat(r, n, (0.50, 0.43, 0.06, 0.01))
    d["regimen"] = _alloc(r, n, p.regimen_probs)
    d["line"] = _cat(r, n, p.line_probs) + 1
    d["tmb"] = np.where(msi, _lognormal(r, n, 45.0, 0.5), _lognormal(r, n, 5.0, 0.6))
    d["msi_meas"], d["mmr_meas"] = _measured_msi(r, msi, n)

    # latent response class
    r = rg[1]
    logit = np.log(np.asarray(p.class_probs_ref) / p.class_probs_ref[2])[None, :].repeat(n, 0)
    for cond, shift in ((d["regimen"] == COMBO, p.shift_combo), (~msi, p.shift_mss),
                        (d["line"] > 1, p.shift_later_line), (d["ecog"] >= 2, p.shift_ecog2),
                        (mets["liver"], p.shift_liver), (np.isin(d["regimen"], (1, 3)), p.shift_pdl1_other)):
        logit += cond[:, None] * np.asarray(shift)[None, :]
    prob = np.exp(logit - logit.max(1, keepdims=True))
    cp = np.cumsum(prob / prob.sum(1, keepdims=True), 1)
    cls = (r.random(n)[:, None] > cp).sum(1).clip(max=4)
    d["cls"] = cls
    t_pr = _lognormal(r, n, p.t_pr_median, p.t_pr_sdlog)
    t_crd = _lognormal(r, n, p.t_cr_delay_median, p.t_cr_delay_sdlog)
    d["t_pr"] = np.where(cls <= 1, t_pr, np.inf)
    d["t_cr"] = np.where(cls == 0, t_pr + t_crd, np.inf)

    # on-ICI assessment schedule (enough columns to pass completion)
    r = rg[2]
    lo, hi = (w * WEEK for w in p.assess_on_weeks)
    K = int(np.ceil((p.completion + p.completion_jitter) / lo)) + 1
    A = np.cumsum(r.uniform(lo, hi, (n, K)), 1)
    d["A"] = A
    # first assessment showing PR-or-better / CR (what the clinician knows)
    d["a_pr"] = np.where(A >= d["t_pr"][:, None], A, np.inf).min(1)
    d["a_cr"] = np.where(A >= d["t_cr"][:, None], A, np.inf).min(1)

    # stop decisions at monthly visits
    r = rg[3]
    ks = np.arange(1, int(np.ceil(p.completion)))
    known = np.where(d["a_cr"][:, None] <= ks, 2, np.where(d["a_pr"][:, None] <= ks, 1, 0))
    tband = np.where(ks < 6, 0, np.where(ks < 12, 1, 2))
    eta = np.asarray(p.stop_logit_time)[tband][None, :]
    if p.confounding:
        eta = eta + np.asarray(p.stop_logit_resp)[known] + p.stop_logit_age10 * (d["age"][:, None] - 62) / 10
    else:
        eta = np.broadcast_to(eta + p.stop_logit_unconfounded, (n, len(ks)))
    hit = r.random((n, len(ks))) < _expit(eta)
    anyhit = hit.any(1)
    kidx = hit.argmax(1)
    t_dec = np.where(anyhit, ks[kidx] + r.uniform(0.05, 0.95, n), np.inf)
    resp_k = known[np.arange(n), kidx]
    mix = np.where((ks[kidx] < 6)[:, None], np.asarray(p.reason_mix_early)[None, :],
                   np.where((resp_k > 0)[:, None], np.asarray(p.reason_mix_responder)[None, :],
                            np.asarray(p.reason_mix_other)[None, :]))
    cpm = np.cumsum(mix / mix.sum(1, keepdims=True), 1)
    dec_reason = np.array([1, 3, 4, 7])[(r.random(n)[:, None] > cpm).sum(1).clip(max=3)]
    # toxicity (continuous time, regimen only during the first 6 months)
    r = rg[4]
    e_tox = r.exponential(1.0, n)
    t_tox = np.empty(n)
    for combo in (False, True):
        m = (d["regimen"] == COMBO) == combo
        pw = _Piecewise(p.tox_edges, p.tox_rate_combo if combo else p.tox_rate_mono)
        t_tox[m] = pw.inv(e_tox[m])
    d["t_tox"] = t_tox
    d["C"] = p.completion + r.uniform(0, p.completion_jitter, n)
    cand = np.column_stack([d["C"], t_dec, t_tox])
    j = cand.argmin(1)
    d["S_nat"] = cand[np.arange(n), j]
    d["S_reason"] = np.where(j == 0, 0, np.where(j == 1, dec_reason, 2))

    # progression (latent exponential draw and patient multiplier) and death without progression
    r = rg[5]
    mult = (np.where(mets["lung"], p.hr_lung, 1.0) * np.where(msi, 1.0, p.hr_mss)
            * np.where(d["ecog"] >= 2, p.hr_ecog2, 1.0))
    mult = np.where(cls == 0, p.hr_cr, 1.0) * np.where(cls >= 3, 1.0, mult)
    d["y_prog"] = np.where(cls == 4, np.inf, r.exponential(1.0, n) / mult)
    d["t_death0"] = r.exponential(1.0, n) / (p.death_rate * np.exp(p.death_log_hr_age10 * (d["age"] - 62) / 10))
    ne = cls == 4
    d["t_death0"] = np.where(ne, A[:, 0] * r.uniform(0.2, 0.95, n), d["t_death0"])
    d["t_prog"] = progression_time(p, d, d["S_nat"])
    return d


def _pw_by_class(p: GeneratorParams) -> dict:
    return {0: _Piecewise(p.hazard_edges, p.hazard_pr), 1: _Piecewise(p.hazard_edges, p.hazard_pr),
            2: _Piecewise(p.hazard_edges, p.hazard_sd), 3: _Piecewise(p.hazard_edges, p.hazard_pd),
            4: _Piecewise(p.hazard_edges, p.hazard_sd)}


def progression_time(p: GeneratorParams, d: dict, stop) -> np.ndarray:
    """Latent first-progression time when ICI is stopped at ``stop`` (months; inf = never)."""
    out = np.empty(len(stop))
    for k, pw in _pw_by_class(p).items():
        m = d["cls"] == k
        out[m] = _invert_switch(pw, d["y_prog"][m], stop[m], p.continuation_hr)
    return out


def _measured_msi(r, msi, n):
    """Measured msi_status / mmr_status codes (MSI-H/dMMR=0, MSS/pMMR=1, unknown=2)."""
    ms = _cat(r, n, (0.80, 0.02, 0.18), msi, (0.02, 0.85, 0.13))
    u = r.random(n)
    pos = np.where(ms == 0, np.searchsorted([0.85, 0.87], u, side="right"),
                   np.where(ms == 2, np.searchsorted([0.95, 0.96], u, side="right"),
                            np.searchsorted([0.70, 0.70], u, side="right")))
    pos = np.array([0, 1, 2])[pos.clip(max=2)]
    neg = np.array([0, 1, 2])[np.searchsorted([0.02, 0.87], u, side="right").clip(max=2)]
    mm = np.where(msi, pos, neg)
    return ms, mm


def _msi_h_or_dmmr(d: dict) -> np.ndarray:
    """Measured eligibility flag: msi_status MSI-H or mmr_status dMMR."""
    return (d["msi_meas"] == 0) | (d["mmr_meas"] == 0)


def _simulate(p: GeneratorParams, n: int, seed: int) -> dict:
    """Full latent history: core plus measured markers, death, re-challenge and follow-up."""
    d = _simulate_core(p, n, seed)
    rg = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, 1]).spawn(5)]
    S, tp, td0 = d["S_nat"], d["t_prog"], d["t_death0"]
    prog = tp < td0
    on_prog = prog & (tp <= S)
    d["S1"] = np.minimum(np.minimum(S, tp), td0)
    d["reason1"] = np.where(td0 < np.minimum(S, tp), 6, np.where(on_prog, 5, d["S_reason"]))
    # after progression: re-challenge and death
    r = rg[0]
    off_prog = prog & ~on_prog
    rech = off_prog & (r.random(n) < p.p_rechallenge)
    R2 = np.where(rech, tp + r.uniform(0.5, 2.5, n), np.inf)
    cls2 = _cat(r, n, p.class_probs_rechallenge)
    t_pr2 = R2 + np.where(cls2 <= 1, _lognormal(r, n, p.t_pr_median, p.t_pr_sdlog), np.inf)
    t_cr2 = t_pr2 + np.where(cls2 == 0, _lognormal(r, n, 5.0, 0.6), np.inf)
    med = np.asarray(p.rechallenge_pfs_median)[cls2]
    tp2 = R2 + np.where(cls2 == 3, 0.7, 0.0) + r.exponential(1.0, n) * med / np.log(2)
    bg2 = R2 + r.exponential(1.0, n) / p.death_rate
    tp2 = np.where(tp2 < bg2, tp2, np.inf)
    pps_on = _exp_median(r, n, p.pps_median_on)
    pps_off = _exp_median(r, n, p.pps_median_off)
    pps_2 = _exp_median(r, n, p.pps_median_second)
    death = np.where(~prog, td0, np.where(on_prog, tp + pps_on, np.where(rech, np.where(
        np.isfinite(tp2), tp2 + pps_2, bg2), tp + pps_off)))
    tox2 = R2 + r.exponential(1 / p.rechallenge_tox_rate, n)
    C2 = R2 + p.completion + r.uniform(0, p.completion_jitter, n)
    cand2 = np.column_stack([C2, tox2, tp2, death])
    j2 = cand2.argmin(1)
    d.update(R2=R2, cls2=cls2, t_pr2=t_pr2, t_cr2=t_cr2, tp2=tp2, death=death,
             S2=cand2[np.arange(n), j2], reason2=np.array([0, 2, 5, 6])[j2], prog=prog)
    # calendar and follow-up
    r = rg[1]
    a0 = np.datetime64(p.accrual_start, "D").astype(np.int64)
    a1 = np.datetime64(p.accrual_end, "D").astype(np.int64)
    u = r.random(n)
    frac = np.where(r.random(n) < p.accrual_ramp, np.sqrt(u), u)
    d["start_day"] = a0 + np.floor(frac * (a1 - a0 + 1)).astype(np.int64)
    cut = np.datetime64(p.data_cutoff, "D").astype(np.int64)
    t_cc = (cut - d["start_day"]) / DAYS_PER_MONTH - r.uniform(0, 1.0, n)
    t_ltfu = r.exponential(1 / p.ltfu_rate, n)
    d["L"] = np.minimum(np.minimum(death, t_ltfu), t_cc)
    d["dead"] = death <= d["L"]
    d["rg_tables"] = rg[2:]
    return d


# ---------------------------------------------------------------------------------------------
# tables

def _ids(n):
    w = max(4, len(str(n)))
    return np.array([f"SYN{i:0{w}d}" for i in range(1, n + 1)], dtype=object)


def _assessment_records(p: GeneratorParams, d: dict, rng) -> tuple:
    """(row, time, response code 0 CR 1 PR 2 SD 3 PD, course) of every recorded assessment."""
    n, A, L, S1 = d["n"], d["A"], d["L"], d["S1"]
    tp, prog = d["t_prog"], d["prog"]
    rows, times, codes, course = [], [], [], []

    def add(rw, t, c, k):
        rows.append(rw), times.append(t), codes.append(c), course.append(np.full(len(rw), k))

    on_end = np.minimum(S1, L)
    ri, ci = np.nonzero(A < on_end[:, None])
    ta = A[ri, ci]
    add(ri, ta, _state(ta, d["t_pr"][ri], d["t_cr"][ri]), 1)
    last_on = np.zeros(n)
    np.maximum.at(last_on, ri, ta)
    # after a stop without progression, until progression / last contact
    lo, hi = (w * WEEK for w in p.assess_off_weeks)
    free = (S1 < tp) & (d["reason1"] != 6)
    end = np.where(free, np.minimum(np.minimum(tp, d["death"]), L), -np.inf)
    rw, t = _ragged(rng, last_on, end, lo, hi)
    keep = t > S1[rw]
    rw, t = rw[keep], t[keep]
    add(rw, t, _state(t, d["t_pr"][rw], d["t_cr"][rw]), 1)
    seen = np.nonzero(prog & (tp <= L))[0]
    add(seen, tp[seen], np.full(len(seen), 3), 1)
    # course 2
    R2 = d["R2"]
    has2 = np.isfinite(R2) & (R2 <= L)
    lo_on, hi_on = (w * WEEK for w in p.assess_on_weeks)
    end2 = np.where(has2, np.minimum(d["S2"], L), -np.inf)
    rw, t = _ragged(rng, np.where(has2, R2, 0.0), end2, lo_on, hi_on)
    add(rw, t, _state(t, d["t_pr2"][rw], d["t_cr2"][rw]), 2)
    last2 = np.where(has2, R2, 0.0)
    np.maximum.at(last2, rw, t)
    free2 = has2 & (d["S2"] < d["tp2"]) & (d["S2"] < d["death"])
    end2b = np.where(free2, np.minimum(np.minimum(d["tp2"], d["death"]), L), -np.inf)
    rw, t = _ragged(rng, last2, end2b, lo, hi)
    keep = t > d["S2"][rw]
    rw, t = rw[keep], t[keep]
    add(rw, t, _state(t, d["t_pr2"][rw], d["t_cr2"][rw]), 2)
    seen2 = np.nonzero(has2 & (d["tp2"] <= L))[0]
    add(seen2, d["tp2"][seen2], np.full(len(seen2), 3), 2)
    return tuple(np.concatenate(x) for x in (rows, times, codes, course))


def _days(t):
    return np.rint(np.asarray(t) * DAYS_PER_MONTH).astype(np.int64)


def _dates(day_numbers, mask=None):
    out = np.asarray(day_numbers, np.int64).astype("datetime64[D]").astype("datetime64[ns]")
    if mask is not None:
        out = np.where(mask, out, np.datetime64("NaT"))
    return pd.Series(out, dtype="datetime64[ns]")


def _best_response(n, rows, codes):
    rank = np.array([3, 2, 1, 0])[codes]  # CR 3 > PR 2 > SD 1 > PD 0
    best = np.full(n, -1)
    np.maximum.at(best, rows, rank)
    return np.array(["NE", "PD", "SD", "PR", "CR"], dtype=object)[best + 1]


def build_tables(p: GeneratorParams, d: dict) -> dict:
    """The four contract tables from a latent history (see :func:`_simulate`)."""
    n = d["n"]
    r_misc, r_asm, r_ct = d["rg_tables"]
    ids = _ids(n)
    sd0 = d["start_day"]
    L_day = sd0 + _days(d["L"])
    # --- course 1
    S1_day = sd0 + _days(d["S1"])
    reason1 = d["reason1"].copy()
    stopped1 = d["S1"] <= d["L"]
    rows, times, codes, course = _assessment_records(p, d, r_asm)
    a_day = sd0[rows] + _days(times)
    # a progression recorded on (or, after rounding, before) the stop day is a stop for progression
    pd1 = (codes == 3) & (course == 1)
    pd_day = np.full(n, np.iinfo(np.int64).max)
    pd_day[rows[pd1]] = a_day[pd1]
    same = stopped1 & (pd_day <= S1_day)
    reason1 = np.where(same & (reason1 != 6), 5, reason1)
    S1_day = np.where(same, pd_day, S1_day)
    # drop assessments dated on/after the course-1 PD day within course 1 unless PD itself
    drop = (course == 1) & (codes != 3) & (a_day >= pd_day[rows])
    rows, a_day, codes, course = rows[~drop], a_day[~drop], codes[~drop], course[~drop]
    # --- assessments table (one per patient and day; PD wins)
    order = np.lexsort((codes == 3, a_day, rows))
    rows, a_day, codes, course = rows[order], a_day[order], codes[order], course[order]
    last = np.ones(len(rows), bool)
    last[:-1] = (rows[1:] != rows[:-1]) | (a_day[1:] != a_day[:-1])
    rows, a_day, codes, course = rows[last], a_day[last], codes[last], course[last]
    resp = np.array(["CR", "PR", "SD", "PD"], dtype=object)
    assessments = pd.DataFrame({"patient_id": ids[rows], "date": _dates(a_day), "response": resp[codes]})
    best1 = _best_response(n, rows[course == 1], codes[course == 1])
    best2 = _best_response(n, rows[course == 2], codes[course == 2])
    # --- treatments
    line = d["line"]
    t1 = pd.DataFrame({
        "patient_id": ids, "course": 1, "regimen": np.array(REGIMENS, dtype=object)[d["regimen"]],
        "line": line, "start_date": _dates(sd0),
        "stop_date": _dates(S1_day, stopped1),
        "stop_reason": np.where(stopped1, np.array(STOP_REASONS, dtype=object)[reason1], None),
        "best_response": best1})
    has2 = np.isfinite(d["R2"]) & (d["R2"] <= d["L"])
    i2 = np.nonzero(has2)[0]
    stop2 = d["S2"][i2] <= d["L"][i2]
    reg2 = np.where(r_misc.random(n) < 0.2, COMBO, d["regimen"])[i2]
    t2 = pd.DataFrame({
        "patient_id": ids[i2], "course": 2, "regimen": np.array(REGIMENS, dtype=object)[reg2],
        "line": line[i2] + 1, "start_date": _dates(sd0[i2] + _days(d["R2"][i2])),
        "stop_date": _dates(sd0[i2] + _days(d["S2"][i2]), stop2),
        "stop_reason": np.where(stop2, np.array(STOP_REASONS, dtype=object)[d["reason2"][i2]], None),
        "best_response": best2[i2]})
    treatments = pd.concat([t1, t2], ignore_index=True).sort_values(["patient_id", "course"], kind="stable")
    treatments = treatments.reset_index(drop=True)
    treatments["stop_reason"] = treatments["stop_reason"].astype(object)
    # --- patients
    r = r_misc
    yn = np.array(["yes", "no", "unknown"], dtype=object)

    def masked(flag, p_unknown):
        return yn[np.where(r.random(n) < p_unknown, 2, np.where(flag, 0, 1))]

    mut = np.array(["mutant", "wildtype", "unknown"], dtype=object)
    lynch_code = np.where(d["lynch"], np.where(r.random(n) < 0.25, 2, 0),
                          np.where(r.random(n) < np.where(d["msi"], 0.4, 0.3), 2, 1))
    ecog = pd.array(np.where(r.random(n) < p.p_ecog_missing, -1, d["ecog"]), dtype="Int64")
    ecog[ecog < 0] = pd.NA
    tmb = np.where(r.random(n) < p.p_tmb_missing, np.nan, np.round(d["tmb"], 1))
    patients = pd.DataFrame({
        "patient_id": ids,
        "site": np.array(p.sites, dtype=object)[d["site"]],
        "sex": np.array(["female", "male", "unknown"], dtype=object)[d["sex"]],
        "age_at_ici_start": d["age"].astype(np.int64),
        "primary_site": np.array(["right_colon", "left_colon", "rectum", "unknown"], dtype=object)[d["primary"]],
        "metastasis_timing": np.array(["synchronous", "metachronous", "unknown"], dtype=object)[d["timing"]],
        "msi_status": np.array(["MSI-H", "MSS", "unknown"], dtype=object)[d["msi_meas"]],
        "mmr_status": np.array(["dMMR", "pMMR", "unknown"], dtype=object)[d["mmr_meas"]],
        "lynch_syndrome": yn[lynch_code],
        "ras_status": mut[np.where(r.random(n) < p.p_unknown_marker, 2, np.where(d["ras"], 0, 1))],
        "braf_v600e": mut[np.where(r.random(n) < p.p_unknown_marker, 2, np.where(d["braf"], 0, 1))],
        "tmb": tmb,
        **{f"met_{k}": masked(v, p.p_unknown_met) for k, v in d["mets"].items()},
        "ecog": ecog,
        "last_contact_date": _dates(L_day),
        "death_date": _dates(L_day, d["dead"]),
    })
    # --- ctDNA: stoppers without progression at the ctDNA centres
    r = r_ct
    site_ok = np.isin(np.array(p.sites)[d["site"]], p.ctdna_sites)
    sel = stopped1 & np.isin(reason1, (0, 1, 2, 3, 4, 7)) & site_ok & (r.random(n) < p.p_ctdna)
    t0 = np.maximum(d["S1"] + r.uniform(-0.5, 0.25, n), 0.1)
    end = np.where(sel, np.minimum(np.minimum(d["t_prog"], d["death"]), d["L"]), -np.inf)
    lo, hi = p.ctdna_interval
    first = np.nonzero(sel & (t0 < end))[0]
    rw_next, t_next = _ragged(r, t0, end, lo, hi, cap=p.ctdna_max_tests - 1)
    rw, t = np.concatenate([first, rw_next]), np.concatenate([t0[first], t_next])
    gap = d["t_prog"][rw] - t
    pdet = np.where(gap <= 6, p.ctdna_detect[0], np.where(gap <= 18, p.ctdna_detect[1], p.ctdna_detect[2]))
    det = r.random(len(rw)) < pdet
    c_day = sd0[rw] + _days(t)
    order = np.lexsort((c_day, rw))
    ctdna = pd.DataFrame({"patient_id": ids[rw[order]], "date": _dates(c_day[order]),
                          "result": np.where(det[order], "detected", "not_detected").astype(object)})
    ctdna = ctdna.drop_duplicates(["patient_id", "date"]).reset_index(drop=True)
    return {"patients": patients, "treatments": treatments, "assessments": assessments.reset_index(drop=True),
            "ctdna": ctdna}


# ---------------------------------------------------------------------------------------------
# truth

def _r(x, k=4):
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
    """Death time (months since ICI start) of the patients of ``d = _simulate_core(p, n, seed)`` when
    their first progression is at ``t_prog`` and first-course ICI stops at ``stop``.

    Replays the post-progression draws of :func:`_simulate` (stream ``SeedSequence([seed, 1])``, same
    order) and applies its rule: no progression before ``t_death0`` -> death at ``t_death0``; a
    progression on ICI (``t_prog <= stop``) -> death ``pps_on`` later; a progression off ICI -> a
    re-challenge with probability ``p_rechallenge`` (second-course progression + ``pps_second``, or
    background death) or death ``pps_off`` later. ``death_time(p, d, seed, d["t_prog"], d["S_nat"])``
    equals ``_simulate(p, n, seed)["death"]`` exactly (tested), so counterfactual stop times give
    counterfactual deaths with common random numbers."""
    n = d["n"]
    r = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, 1]).spawn(5)][0]
    u_rech = r.random(n)
    delay = r.uniform(0.5, 2.5, n)
    cls2 = _cat(r, n, p.class_probs_rechallenge)
    _lognormal(r, n, p.t_pr_median, p.t_pr_sdlog)  # second-course PR / CR delays: drawn, not needed here
    _lognormal(r, n, 5.0, 0.6)
    e_prog2 = r.exponential(1.0, n)
    e_bg2 = r.exponential(1.0, n)
    pps_on = _exp_median(r, n, p.pps_median_on)
    pps_off = _exp_median(r, n, p.pps_median_off)
    pps_2 = _exp_median(r, n, p.pps_median_second)
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
    the last contact before the data cut-off, replaying the calendar draws of :func:`_simulate` (stream
    ``SeedSequence([seed, 1])``); ``min(death, follow_up_end)`` equals ``_simulate(p, n, seed)["L"]``."""
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
        out["surv_A"][h], out["surv_B"][h] = _r(sa.mean()), _r(sb.mean())
        out["difference_B_minus_A"][h] = _r(sb.mean() - sa.mean())
        out["ratio_B_over_A"][h] = _r(sb.mean() / sa.mean())
        out["mc_se_difference"][h] = _r(np.std(sb.astype(float) - sa) / np.sqrt(m), 5)
    ra, rb = np.minimum(y["A"], tau).mean(), np.minimum(y["B"], tau).mean()
    out["rmst_A"], out["rmst_B"], out["rmst_difference_B_minus_A"] = _r(ra), _r(rb), _r(rb - ra)
    if cox:
        out["hr_B_vs_A"] = _r(_cox_hr(np.concatenate([y["A"], y["B"]]), np.repeat([0.0, 1.0], m), tau))
        out["hr_method"] = "Cox (lifelines CoxPHFitter, Efron ties) on both counterfactual arms, truncated at tau"
        if censor is not None:
            c = np.concatenate([censor, censor])
            out["hr_B_vs_A_followup"] = _r(_cox_hr(np.concatenate([y["A"], y["B"]]), np.repeat([0.0, 1.0], m),
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
    d = _simulate_core(p, n, seed)
    elig = _msi_h_or_dmmr(d) & (d["S_nat"] > landmark) & (d["t_prog"] > landmark) & (d["t_death0"] > landmark)
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
    d = _simulate_core(p, n, seed)
    S, tp, td = d["S_nat"], d["t_prog"], d["t_death0"]
    stop = (S < tp) & (S < td)
    y = np.minimum(tp, td) - S
    out = {"n_simulated": n, "seed": seed, "definition": "first-course stop before progression and death; "
           "PFS from the stop date, progression or death, no censoring"}
    for name, m in (("all", stop), ("msi_h_or_dmmr", stop & _msi_h_or_dmmr(d))):
        tox = (d["S_reason"] == 2)[m]
        out[name] = {"n": int(m.sum()), "pfs": {h: _r((y[m] > h).mean()) for h in horizons},
                     "median_time_on_ici": _r(np.median(S[m]), 2), "toxicity_share": _r(tox.mean(), 3)}
    idx = np.nonzero(stop & _msi_h_or_dmmr(d))[0][:cox_n]
    cov = pd.DataFrame({"met_lung": d["mets"]["lung"], "cr_at_stop": d["a_cr"] <= S, "ras_mutant": d["ras"],
                        "braf_mutant": d["braf"], "left_sided": np.isin(d["primary"], (1, 2)),
                        "combination": d["regimen"] == COMBO}).iloc[idx].astype(float)
    cov["t"], cov["e"] = np.minimum(y[idx], 60.0), (y[idx] <= 60.0).astype(int)
    fit = CoxPHFitter().fit(cov, "t", "e")
    out["cox_large_sample"] = {
        "n": len(idx), "hazard_ratios": {k: _r(np.exp(v), 3) for k, v in fit.params_.items()},
        "note": "multivariable Cox on the first cox_n MSI-H/dMMR stoppers, true covariates (met_lung, ras, braf, "
                "sidedness, regimen) and measured CR at stop (last assessment before the stop); PFS from the stop "
                "truncated at 60 months"}
    return out


# ---------------------------------------------------------------------------------------------
# public API

def generate_cohort(params: GeneratorParams | None = None) -> tuple[dict, dict]:
    """Simulate one cohort: (tables of data contract v1, generative truth). Cheap for n = 800."""
    p = params or GeneratorParams()
    d = _simulate(p, p.n_patients, p.seed)
    return build_tables(p, d), model_truth(p)


def write_tables(tables: dict, out_dir) -> None:
    """Write contract tables as CSV (ISO dates, empty cells for missing values)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(out / f"{name}.csv", index=False, date_format="%Y-%m-%d", na_rep="", lineterminator="\n")


def _yaml_clean(x):
    if isinstance(x, dict):
        return {(_yaml_clean(k) if not isinstance(k, str) else k): _yaml_clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_yaml_clean(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (float, np.floating)):
        return round(float(x), 6)
    return x


def write_example(out_dir, params: GeneratorParams | None = None, truth_n: int = 200_000) -> dict:
    """Write the four tables and ``truth.yaml`` (model truth, calibration achieved on ``truth_n``
    simulated patients, uncensored post-stop PFS and the counterfactual continuation truth)."""
    import yaml

    p = params or GeneratorParams()
    tables, truth = generate_cohort(p)
    write_tables(tables, out_dir)
    truth["realised_example"] = summarise(tables)
    big, _ = generate_cohort(replace(p, n_patients=truth_n, seed=p.seed + 1))
    truth["calibration_achieved"] = summarise(big)
    truth["calibration_achieved"]["n_patients"] = truth_n
    truth["post_stop_truth"] = post_stop_truth(p, n=truth_n, seed=p.seed + 2)
    truth["continuation_truth"] = counterfactual_truth(p, n=truth_n, seed=p.seed + 3)
    with open(Path(out_dir) / "truth.yaml", "w", encoding="utf-8") as fh:
        yaml.safe_dump(_yaml_clean(truth), fh, sort_keys=False, default_flow_style=None, width=110,
                       allow_unicode=False)
    return truth


def stop_cohort_pfs(tables: dict) -> pd.DataFrame:
    """Per patient stopping course 1 without progression (stop_reason not progression/death, no PD on or
    before the stop): PFS from the stop date (first PD after the stop or death; censored at last contact)."""
    t, a, pt = tables["treatments"], tables["assessments"], tables["patients"].set_index("patient_id")
    c1 = t[(t["course"] == 1) & t["stop_date"].notna() & ~t["stop_reason"].isin(["progression", "death"])]
    c1 = c1.set_index("patient_id")
    pdx = a[a["response"] == "PD"].merge(c1[["stop_date"]], left_on="patient_id", right_index=True)
    early = set(pdx.loc[pdx["date"] <= pdx["stop_date"], "patient_id"])
    c1 = c1[~c1.index.isin(early)]
    first_pd = pdx[pdx["date"] > pdx["stop_date"]].groupby("patient_id")["date"].min()
    death = pt["death_date"].reindex(c1.index)
    last = pt["last_contact_date"].reindex(c1.index)
    ev_date = pd.concat([first_pd.reindex(c1.index), death], axis=1).min(axis=1)
    event = ev_date.notna()
    end = ev_date.where(event, last)
    return pd.DataFrame({"time": (end - c1["stop_date"]).dt.days / DAYS_PER_MONTH, "event": event.astype(int),
                         "time_on_ici": (c1["stop_date"] - c1["start_date"]).dt.days / DAYS_PER_MONTH,
                         "stop_reason": c1["stop_reason"], "follow_up": (last - c1["stop_date"]).dt.days
                         / DAYS_PER_MONTH})


def pfs_from_start(tables: dict) -> pd.DataFrame:
    """PFS from course-1 start: first PD or death, censored at last contact."""
    t = tables["treatments"]
    c1 = t[t["course"] == 1].set_index("patient_id")
    a, pt = tables["assessments"], tables["patients"].set_index("patient_id")
    first_pd = a[a["response"] == "PD"].groupby("patient_id")["date"].min().reindex(c1.index)
    ev_date = pd.concat([first_pd, pt["death_date"].reindex(c1.index)], axis=1).min(axis=1)
    end = ev_date.where(ev_date.notna(), pt["last_contact_date"].reindex(c1.index))
    return pd.DataFrame({"time": (end - c1["start_date"]).dt.days / DAYS_PER_MONTH,
                         "event": ev_date.notna().astype(int), "regimen": c1["regimen"]})


def summarise(tables: dict) -> dict:
    """Calibration summary of a cohort (the quantities of ``calibration_targets``)."""
    from lifelines import KaplanMeierFitter

    pt, t = tables["patients"], tables["treatments"]
    c1 = t[t["course"] == 1]
    share = c1["best_response"].value_counts(normalize=True)
    msi = ((pt["msi_status"] == "MSI-H") | (pt["mmr_status"] == "dMMR")).mean()
    pfs = pfs_from_start(tables)
    km = KaplanMeierFitter().fit(pfs["time"], pfs["event"])
    combo = pfs[pfs["regimen"] == "anti-PD-1+anti-CTLA-4"]
    kmc = KaplanMeierFitter().fit(combo["time"], combo["event"])
    sc = stop_cohort_pfs(tables)
    kms = KaplanMeierFitter().fit(sc["time"], sc["event"])
    return {
        "n_patients": int(len(pt)),
        "best_response_share": {k: _r(share.get(k, 0.0), 3) for k in RESPONSES},
        "msi_h_or_dmmr_share": _r(msi, 3),
        "combination_share": _r((c1["regimen"] == "anti-PD-1+anti-CTLA-4").mean(), 3),
        "median_pfs_from_ici_start": _r(km.median_survival_time_, 2),
        "pfs_from_ici_start": {h: _r(km.predict(h), 3) for h in (12, 24, 36)},
        "combination_pfs_24": _r(kmc.predict(24.0), 3),
        "n_stopped_without_progression": int(len(sc)),
        "post_stop_pfs_km": {h: _r(kms.predict(float(h)), 3) for h in (12, 24, 36)},
        "median_time_on_ici_stopped_without_progression": _r(sc["time_on_ici"].median(), 2),
        "toxicity_share_of_stops_without_progression": _r((sc["stop_reason"] == "toxicity").mean(), 3),
        "median_follow_up_after_stop": _r(sc["follow_up"].median(), 2),
        "n_rechallenged": int((t["course"] == 2).sum()),
        "n_ctdna_patients": int(tables["ctdna"]["patient_id"].nunique()),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m icistop.data.synth", description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--seed", type=int, default=GeneratorParams.seed)
    ap.add_argument("--n-patients", type=int, default=GeneratorParams.n_patients)
    ap.add_argument("--continuation-hr", type=float, default=GeneratorParams.continuation_hr)
    ap.add_argument("--no-confounding", action="store_true")
    ap.add_argument("--truth-n", type=int, default=200_000, help="simulated patients for truth.yaml")
    a = ap.parse_args(argv)
    p = GeneratorParams(n_patients=a.n_patients, seed=a.seed, continuation_hr=a.continuation_hr,
                        confounding=not a.no_confounding)
    write_example(a.out, p, truth_n=a.truth_n)


if __name__ == "__main__":
    main()

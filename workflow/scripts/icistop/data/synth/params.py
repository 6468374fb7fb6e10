"""Parameters of the synthetic generator: constants and :class:`GeneratorParams`.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    are fixed MSI-H-typical constants in :func:`simulate_core`; they carry no outcome effect except
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

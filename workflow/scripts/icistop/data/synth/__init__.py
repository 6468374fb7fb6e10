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

from icistop.data.synth.example import (generate_cohort, main, pfs_from_start, stop_cohort_pfs, summarise,
                                         write_example, write_tables)
from icistop.data.synth.model import progression_time
from icistop.data.synth.params import GeneratorParams
from icistop.data.synth.truth import counterfactual_truth, death_time, follow_up_end, model_truth, post_stop_truth

__all__ = ["GeneratorParams", "counterfactual_truth", "death_time", "follow_up_end", "generate_cohort", "main",
           "model_truth", "pfs_from_start", "post_stop_truth", "progression_time", "stop_cohort_pfs", "summarise",
           "write_example", "write_tables"]

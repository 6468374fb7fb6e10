"""Target-trial protocol for question 2 (continue vs stop ICI) and its TARGET-style table.

The protocol is read from the ``continuation:`` config block (see
``config/config.yaml``); every analysis module takes a :class:`Protocol`.
Times are months from the start of the first ICI course unless a name says "since time zero".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from icistop.stats.intervals import CI_METHODS, arm_se_for

DEFAULT_CONFOUNDERS = ("age_at_ici_start", "ecog", "sidedness", "braf_v600e", "n_met_sites")


@dataclass(frozen=True)
class Protocol:
    landmark: float = 12.0                 # time zero, months after ICI start
    grace_end: float = 15.0                # strategy A: stop within (landmark, grace_end]
    completion: float = 24.0               # strategy B: continue to planned completion
    completion_tolerance: float = 1.0      # a 'planned_completion' stop at >= completion - tolerance complies
    grace_timing: str = "uniform"          # A: stop time uniform over the grace period ("observed": as observed)
    allowed_continue_stop_reasons: tuple = ("progression", "death", "toxicity")
    require_msi_h_or_dmmr: bool = True
    outcome: str = "pfs"                   # "pfs" (primary) or "os"
    horizons: tuple = (24.0, 36.0)         # months since time zero
    tau: float = 36.0                      # follow-up horizon / RMST bound, months since time zero
    interval: float = 1.0                  # width of the discrete intervals of the weight models
    confounders: tuple = DEFAULT_CONFOUNDERS  # baseline columns of endpoints.parquet
    time_varying: bool = True              # best response so far in the weight models
    stabilise: bool = False
    truncate: tuple | None = None          # (low, high) percentiles of the weights, e.g. (1, 99)
    ties: str = "efron"

    def as_dict(self) -> dict:
        return asdict(self)


def protocol_from_config(cfg: dict | None, outcome: str | None = None) -> Protocol:
    """Build a :class:`Protocol` from the ``continuation`` config block (missing keys -> defaults)."""
    cfg = dict(cfg or {})
    proto = dict(cfg.get("protocol", cfg))
    ccw = dict(cfg.get("ccw", {}))
    kwargs = {}
    grace = proto.get("grace")
    if grace is not None:
        kwargs["landmark"] = float(grace[0])
        kwargs["grace_end"] = float(grace[1])
    for key in ("landmark", "grace_end", "completion", "completion_tolerance", "tau", "outcome",
                "require_msi_h_or_dmmr"):
        if key in proto:
            kwargs[key] = proto[key]
    if "landmark" in proto:
        kwargs["landmark"] = float(proto["landmark"])
    if "allowed_continue_stop_reasons" in proto:
        kwargs["allowed_continue_stop_reasons"] = tuple(proto["allowed_continue_stop_reasons"])
    if "horizons" in proto:
        kwargs["horizons"] = tuple(float(h) for h in proto["horizons"])
    if "confounders" in cfg:
        kwargs["confounders"] = tuple(cfg["confounders"])
    for key in ("interval", "time_varying", "stabilise", "ties", "grace_timing"):
        if key in ccw:
            kwargs[key] = ccw[key]
    if ccw.get("truncate"):
        kwargs["truncate"] = tuple(float(x) for x in ccw["truncate"])
    if outcome is not None:
        kwargs["outcome"] = outcome
    return Protocol(**kwargs)


def protocol_table(p: Protocol, ci_method: str = "transformed_wald", arm_se=None, outcomes=("pfs", "os")) -> pd.DataFrame:
    """The target trial and its emulation, one row per protocol item (TARGET guideline items);
    ``ci_method``: the configured bootstrap interval (``continuation.bootstrap.ci_method``), ``arm_se``: the SE
    of the per-strategy estimates under transformed_wald (``continuation.bootstrap.arm_se``, per outcome) of
    the analysed ``outcomes``."""
    model = [o for o in outcomes if arm_se_for(arm_se, o) == "working_cox"] if ci_method == "transformed_wald" else []
    reasons = ", ".join(p.allowed_continue_stop_reasons)
    msi = "MSI-H or dMMR metastatic colorectal cancer, " if p.require_msi_h_or_dmmr else "Metastatic colorectal cancer, "
    rows = [
        ("Eligibility", f"{msi}first ICI course, alive, progression-free and still on ICI {p.landmark:g} months after ICI start.",
         f"Treated cohort with pfs_time > {p.landmark:g} and time_on_ici >= {p.landmark:g} (no stop before time zero); "
         "eligibility uses only information available at time zero."),
        ("Treatment strategies",
         f"A (stop): stop ICI within the grace period {p.landmark:g}-{p.grace_end:g} months after ICI start. "
         f"B (continue): continue ICI to planned completion at {p.completion:g} months unless progression or toxicity.",
         f"A: stop date in ({p.landmark:g}, {p.grace_end:g}]. B: no stop before {p.completion - p.completion_tolerance:g} months "
         f"(completion tolerance {p.completion_tolerance:g}) except for {reasons}; after progression the strategy no longer constrains."),
        ("Assignment", "Randomised at time zero, unblinded.",
         "Cloning: every eligible patient is copied into both arms at time zero; exchangeability assumed given baseline "
         "confounders and the time-varying best response so far."),
        ("Time zero", f"{p.landmark:g} months after ICI start (eligibility met, strategies start).",
         "Same; no immortal time because eligibility, assignment (cloning) and start of follow-up coincide."),
        ("Outcome", "PFS (progression or death); OS secondary.",
         f"Primary outcome in this run: {p.outcome.upper()}, from time zero; progression = first PD assessment (endpoints.parquet)."),
        ("Follow-up / horizon", f"From time zero until outcome, loss to follow-up or {p.tau:g} months.",
         f"Administrative censoring at {p.tau:g} months after time zero and at the data cut-off."),
        ("Causal contrast", "Per-protocol effect (B vs A).",
         "Clones are censored when they deviate from their strategy (A: still on ICI at the end of grace; "
         "B: stop for another reason before completion); inverse-probability-of-censoring weights from pooled logistic "
         f"models of deviation in {p.interval:g}-month intervals" + (", stabilised" if p.stabilise else "")
         + (f", truncated at percentiles {p.truncate[0]:g}/{p.truncate[1]:g}" if p.truncate else "") + "."),
        ("Estimands", "PFS difference and ratio (B - A, B / A) at "
         + ", ".join(f"{h:g}" for h in p.horizons) + f" months after time zero; RMST difference up to {p.tau:g} months; hazard ratio (B vs A).",
         "Weighted Kaplan-Meier per arm (counting process, time-varying weights), weighted Cox for the HR."),
        ("Analysis", "Per-protocol analysis with IPCW; 95% CIs from the nonparametric bootstrap over patients refitting "
         f"the weights ({CI_METHODS[ci_method]})"
         + (f"; per-strategy {' and '.join(o.upper() for o in model)} survival and RMST with the working-Cox "
            "information SE instead of the bootstrap SE" if model else "") + ".",
         "Bootstrap replicates split into shards with deterministic seeds; naive (biased) comparisons and landmark analyses shown for contrast."),
    ]
    return pd.DataFrame(rows, columns=["item", "target_trial", "emulation"])

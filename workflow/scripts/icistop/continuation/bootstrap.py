"""Nonparametric bootstrap over patients for the clone-censor-weight estimates.

Each replicate resamples patients of the analysis panel with replacement and redoes everything
(eligibility, cloning, refitting both deviation models, weights, KM and Cox). A resample is
represented by how often each patient was drawn (frequency weights on the clones of the full
panel, :class:`ReplicateEngine`): eligibility and cloning are per patient, so the clone rows and
their sort orders are built once per shard, and each replicate refits the deviation models with
frequency weights and the KM/Cox with multiplicity-times-IPC weights (Efron ties counted with
multiplicity). This gives the same numbers as analysing the duplicated-row resample (tested to
1e-6; the only differences are optimiser tolerances) at a fraction of the cost. Replicate ``r`` draws
from ``default_rng(SeedSequence([seed, r]))``, so a replicate's result depends only on the config
seed and its index: shards (replicates ``shard, shard + n_shards, ...``) can run in any grouping,
order or number of cores and the gathered table is byte-identical. SE: standard deviation of the
replicates; reported 95% CI: estimate +/- 1.96 SE (log scale for ratios and HRs), with the
percentile CI alongside (the Wald form covered better in the simulation study, see
benchmarks/simulation_study.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icistop.continuation.arm_variance import arm_standard_errors, arm_terms
from icistop.continuation.ccw import build_clones, clone_design, clone_weights, eligible, estimate, horizon_contrasts
from icistop.continuation.protocol import Protocol
from icistop.stats.cox_engine import CoxRefit, cox_arrays
from icistop.stats.km import KMIndex


def analytic_variance(n_eligible, analytic_above_n) -> bool:
    """Whether the bootstrap is skipped for analytic SEs: more patients eligible at time zero than
    ``continuation.bootstrap.analytic_above_n`` (None: never). With hundreds of thousands of patients a replicate
    refits the deviation models on millions of person-intervals, while the known-weights and working-Cox SEs
    covered 92-98 % in the simulation study (benchmarks/simulation_study.md, sixth step)."""
    return analytic_above_n is not None and n_eligible is not None and int(n_eligible) > int(analytic_above_n)


def shard_replicates(n_boot: int, n_shards: int, shard: int) -> list[int]:
    if not 0 <= shard < n_shards:
        raise ValueError("shard must be in [0, n_shards)")
    return list(range(shard, n_boot, n_shards))


def shard_seed(seed: int, shard: int) -> int:
    """A 32-bit seed for shard bookkeeping, derived from the config seed and the shard index."""
    return int(np.random.SeedSequence([int(seed), int(shard)]).generate_state(1)[0])


def replicate_rng(seed: int, replicate: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(replicate)]))


def marker_at_time_zero(panel: pd.DataFrame, p: Protocol, marker: str = "cr_at_landmark") -> np.ndarray:
    """Binary effect modifier measured at time zero. ``cr_at_landmark``: best response so far at
    the landmark is CR (vs PR/other); any other name: a boolean/0-1 column of the panel."""
    if marker == "cr_at_landmark":
        return (panel["t_cr"].to_numpy(float) <= p.landmark).astype(float)
    return pd.to_numeric(panel[marker], errors="coerce").fillna(0).to_numpy(float)


def interaction_fit(clones: dict, marker: np.ndarray, p: Protocol, se: bool = True) -> dict:
    """Weighted Cox on the clones: arm + marker + arm x marker. Returns the log interaction HR
    (ratio of the continue-vs-stop HRs, marker=1 over marker=0), the two stratum log HRs and the
    events per arm x marker cell (``events_arm{0,1}_marker{0,1}``; NaN estimates when a cell has none)."""
    rows = clones["rows"]
    m = marker[rows["pid"].to_numpy()]
    arm = rows["arm"].to_numpy(float)
    ev = rows["event"].to_numpy() > 0
    out = {f"events_arm{a}_marker{k}": int((ev & (arm == a) & (m == k)).sum()) for a in (0, 1) for k in (0, 1)}
    if not len(m) or m.min() == m.max() or min(out.values()) == 0:  # no contrast, or an infinite log HR
        return {**out, "loghr_interaction": np.nan, "loghr_marker0": np.nan, "loghr_marker1": np.nan,
                "cox_interaction_converged": False}
    X = np.column_stack([arm, m, arm * m])
    fit = cox_arrays(rows["start"], rows["stop"], rows["event"], X, weights=rows["weight"], ties=p.ties,
                  cluster=rows["pid"] if se else None)
    b = fit.coef
    out["cox_interaction_converged"] = bool(fit.converged)
    out["loghr_marker0"] = float(b[0])
    out["loghr_marker1"] = float(b[0] + b[2])
    out["loghr_interaction"] = float(b[2])
    if se:
        V = fit.robust_var
        out["se_loghr_marker0"] = float(np.sqrt(V[0, 0]))
        out["se_loghr_marker1"] = float(np.sqrt(V[0, 0] + V[2, 2] + 2 * V[0, 2]))
        out["se_loghr_interaction"] = float(np.sqrt(V[2, 2]))
    return out


def add_logratios(out: dict, p: Protocol) -> None:
    """log(ratio_h) for each horizon (NaN when the ratio is not positive), the bootstrapped scale."""
    for h in p.horizons:
        r = out.get(f"ratio_{h:g}")
        out[f"logratio_{h:g}"] = float(np.log(r)) if r and r > 0 else np.nan


def ccw_point(panel: pd.DataFrame, p: Protocol, marker: str | None = "cr_at_landmark", se: bool = False,
              prepared: dict | None = None) -> dict:
    """Scalar CCW estimates (the quantities bootstrapped); with ``se`` also the known-weights SEs (``se_*``)
    and the per-arm working-Cox SEs (``se_model_*``, :mod:`.arm_variance`). ``prepared``: the result of
    :func:`icistop.continuation.ccw.run_ccw` on the same panel, protocol and ``se`` (reused, not refitted)."""
    if prepared is None:
        elig = panel[eligible(panel, p)].reset_index(drop=True)
        clones = build_clones(elig, p)
        res = estimate(clones, p, se=se)
    else:
        elig, clones, res = prepared["_elig"], prepared["_clones"], prepared
    out = {k: v for k, v in res.items() if not k.startswith("_")}
    add_logratios(out, p)
    if se and len(clones["rows"]):
        terms = res.get("_arm_terms") or arm_terms(elig, clones["rows"], p)
        out.update(arm_standard_errors(terms, p))
    if marker:
        out.update(interaction_fit(clones, marker_at_time_zero(elig, p, marker), p, se=se))
    return out


class ReplicateEngine:
    """The CCW estimates of :func:`ccw_point` (``se=False``) for bootstrap resamples given as
    frequencies (times each panel row was drawn), on a clone structure built once."""

    def __init__(self, panel: pd.DataFrame, p: Protocol, marker: str | None = "cr_at_landmark"):
        self.p = p
        self.elig_rows = np.flatnonzero(eligible(panel, p))
        elig = panel.iloc[self.elig_rows].reset_index(drop=True)
        self.design = clone_design(elig, p)
        _, self.start = clone_weights(self.design, p)  # full-panel fits: warm starts of the refits
        arms = self.design.arms
        self.pid = {a: arms[a]["pid"] for a in (0, 1)}
        self.seg = {a: arms[a]["seg"] for a in (0, 1)}
        self.km = {a: KMIndex(arms[a]["start"], arms[a]["stop"], arms[a]["event"]) for a in (0, 1)}
        cat = {k: np.concatenate([arms[0][k], arms[1][k]]) for k in ("start", "stop", "event", "pid")}
        arm = np.concatenate([np.zeros(len(self.pid[0])), np.ones(len(self.pid[1]))])
        self.pid_all = cat["pid"]
        self.event_rows, self.arm_rows = cat["event"] > 0, arm
        self.cox = CoxRefit(cat["start"], cat["stop"], cat["event"], arm, ties=p.ties)
        self.marker_rows = None
        if marker and len(arm):
            m = marker_at_time_zero(elig, p, marker)[self.pid_all]
            self.marker_rows = m
            self.cox_int = CoxRefit(cat["start"], cat["stop"], cat["event"], np.column_stack([arm, m, arm * m]),
                                    ties=p.ties)

    def estimate(self, freq: np.ndarray) -> dict:
        """Estimates for a resample with ``freq[i]`` copies of panel row i."""
        p = self.p
        f = np.asarray(freq, float)[self.elig_rows]
        W, _ = clone_weights(self.design, p, f, start=self.start)
        v = {a: f[self.pid[a]] * W[a][self.pid[a], self.seg[a]] for a in (0, 1)}
        fits = {a: self.km[a].fit(v[a]) for a in (0, 1)}
        out: dict = {"n_eligible": int(f.sum())}
        for h in p.horizons:
            out.update(horizon_contrasts(fits, h))
        ra, rb = fits[0].rmst(p.tau), fits[1].rmst(p.tau)
        out["rmst_A"], out["rmst_B"], out["rmst_diff"] = ra, rb, rb - ra
        for a, name in ((0, "A"), (1, "B")):
            ev = self.km[a].ev
            out[f"events_{name}"] = float(f[self.pid[a]][ev][v[a][ev] > 0].sum())
        weights = np.concatenate([v[0], v[1]])
        mult = f[self.pid_all]
        if min(out["events_A"], out["events_B"]) > 0:
            b, converged = self.cox.fit(weights, mult)
            out["loghr"], out["se_loghr"], out["hr"] = float(b[0]), np.nan, float(np.exp(b[0]))
            out["cox_converged"] = converged
        else:  # no event in an arm of the resample: the HR diverges
            out.update(loghr=np.nan, se_loghr=np.nan, hr=np.nan, cox_converged=False)
        add_logratios(out, p)
        if self.marker_rows is not None:
            ev = self.event_rows & (weights > 0)
            cells = [mult[ev & (self.arm_rows == a) & (self.marker_rows == k)].sum() for a in (0, 1) for k in (0, 1)]
            if min(cells) == 0:  # a marker x arm cell without events: the interaction HR diverges
                out.update(loghr_interaction=np.nan, loghr_marker0=np.nan, loghr_marker1=np.nan,
                           cox_interaction_converged=False)
            else:
                b, conv = self.cox_int.fit(weights, mult)
                out.update(loghr_marker0=float(b[0]), loghr_marker1=float(b[0] + b[2]),
                           loghr_interaction=float(b[2]), cox_interaction_converged=conv)
        return out


def bootstrap_replicates(panel: pd.DataFrame, p: Protocol, replicates, seed: int,
                         marker: str | None = "cr_at_landmark") -> pd.DataFrame:
    """Estimates for the given replicate indices (rows sorted by replicate)."""
    n = len(panel)
    try:
        engine, setup_error = ReplicateEngine(panel, p, marker), None
    except Exception as exc:  # e.g. nobody eligible: every replicate reports it, the shard still ends
        engine, setup_error = None, f"{type(exc).__name__}: {exc}"
    rows = []
    for r in sorted(int(x) for x in replicates):
        idx = replicate_rng(seed, r).integers(0, n, n)
        try:
            if engine is None:
                raise RuntimeError(setup_error)
            est = engine.estimate(np.bincount(idx, minlength=n))
        except Exception as exc:  # a degenerate resample (e.g. no deviations) must not kill a shard
            est = {"error": f"{type(exc).__name__}: {exc}"}
        est["replicate"] = r
        rows.append(est)
    df = pd.DataFrame(rows) if rows else pd.DataFrame({"replicate": pd.Series(dtype=int)})
    cols = ["replicate"] + [c for c in df.columns if c != "replicate"]
    return df[cols]


def run_shard(panel: pd.DataFrame, p: Protocol, n_boot: int, n_shards: int, shard: int, seed: int,
              marker: str | None = "cr_at_landmark") -> pd.DataFrame:
    return bootstrap_replicates(panel, p, shard_replicates(n_boot, n_shards, shard), seed, marker)


def gather(shards: list[pd.DataFrame]) -> pd.DataFrame:
    df = pd.concat(shards, ignore_index=True).sort_values("replicate", kind="mergesort").reset_index(drop=True)
    return df


def summarise(point: dict, boot: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Point estimate, bootstrap SE and percentile CI per estimand (generic helper)."""
    out = []
    for key, val in point.items():
        if key == "replicate" or key.startswith("se_") or key not in boot.columns:
            continue
        if not isinstance(val, (int, float, np.floating, np.integer)) or key == "n_eligible":
            continue
        b = pd.to_numeric(boot[key], errors="coerce").to_numpy(float)
        b = b[np.isfinite(b)]
        row = {"estimand": key, "estimate": float(val), "n_boot": len(b)}
        if len(b) > 1:
            row.update(boot_se=float(np.std(b, ddof=1)), lower=float(np.quantile(b, alpha / 2)),
                       upper=float(np.quantile(b, 1 - alpha / 2)))
        out.append(row)
    return pd.DataFrame(out)

"""The generative model on arrays: baseline, latent response, progression, stopping, death, follow-up
(see :mod:`icistop.data.synth` for the model).
"""

from __future__ import annotations


import numpy as np

from icistop import DAYS_PER_MONTH
from icistop.data.synth.params import COMBO, GeneratorParams, WEEK



def draw_categorical(rng, n, probs, cond=None, probs_else=None):
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


def lognormal(rng, n, median, sdlog):
    return median * np.exp(sdlog * rng.standard_normal(n))


def exp_with_median(rng, n, median):
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


def ragged_times(rng, t0, t_end, lo, hi, cap=None):
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


def response_state(t, t_pr, t_cr):
    """Latent tumour state code at time t: 0 CR, 1 PR, 2 SD."""
    return np.where(t >= t_cr, 0, np.where(t >= t_pr, 1, 2))


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))



def simulate_core(p: GeneratorParams, n: int, seed: int) -> dict:
    """Baseline, response, stopping and first-progression latent times (no follow-up, no censoring)."""
    rg = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    r = rg[0]
    d: dict = {"n": n}
    msi = _alloc(r, n, (p.p_msi_high, 1 - p.p_msi_high)) == 0
    d["msi"] = msi
    d["site"] = draw_categorical(r, n, p.site_weights)
    d["sex"] = draw_categorical(r, n, (0.53, 0.465, 0.005), msi, (0.42, 0.575, 0.005))
    lynch = msi & (r.random(n) < 0.25)
    d["lynch"] = lynch
    age = np.where(lynch, 50 + 11 * r.standard_normal(n), np.where(msi, 65, 58) + 11 * r.standard_normal(n))
    d["age"] = np.clip(np.rint(age), 20, 90)
    d["primary"] = draw_categorical(r, n, (0.63, 0.24, 0.10, 0.03), msi, (0.28, 0.45, 0.24, 0.03))
    d["timing"] = draw_categorical(r, n, (0.55, 0.40, 0.05))
    braf = np.where(lynch, False, r.random(n) < np.where(msi, 0.33, 0.08))
    d["braf"] = braf
    d["ras"] = r.random(n) < np.where(braf, 0.02, np.where(msi, 0.30, 0.50))
    mets = {}
    for name, pm, pn in (("liver", 0.38, 0.60), ("lung", 0.25, 0.30), ("lymph_node", 0.55, 0.45),
                         ("peritoneum", 0.35, 0.22), ("bone", 0.05, 0.06)):
        mets[name] = r.random(n) < np.where(msi, pm, pn)
    d["mets"] = mets
    d["ecog"] = draw_categorical(r, n, (0.50, 0.43, 0.06, 0.01))
    d["regimen"] = _alloc(r, n, p.regimen_probs)
    d["line"] = draw_categorical(r, n, p.line_probs) + 1
    d["tmb"] = np.where(msi, lognormal(r, n, 45.0, 0.5), lognormal(r, n, 5.0, 0.6))
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
    t_pr = lognormal(r, n, p.t_pr_median, p.t_pr_sdlog)
    t_crd = lognormal(r, n, p.t_cr_delay_median, p.t_cr_delay_sdlog)
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
    ms = draw_categorical(r, n, (0.80, 0.02, 0.18), msi, (0.02, 0.85, 0.13))
    u = r.random(n)
    pos = np.where(ms == 0, np.searchsorted([0.85, 0.87], u, side="right"),
                   np.where(ms == 2, np.searchsorted([0.95, 0.96], u, side="right"),
                            np.searchsorted([0.70, 0.70], u, side="right")))
    pos = np.array([0, 1, 2])[pos.clip(max=2)]
    neg = np.array([0, 1, 2])[np.searchsorted([0.02, 0.87], u, side="right").clip(max=2)]
    mm = np.where(msi, pos, neg)
    return ms, mm


def msi_h_or_dmmr(d: dict) -> np.ndarray:
    """Measured eligibility flag: msi_status MSI-H or mmr_status dMMR."""
    return (d["msi_meas"] == 0) | (d["mmr_meas"] == 0)


def simulate(p: GeneratorParams, n: int, seed: int) -> dict:
    """Full latent history: core plus measured markers, death, re-challenge and follow-up."""
    d = simulate_core(p, n, seed)
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
    cls2 = draw_categorical(r, n, p.class_probs_rechallenge)
    t_pr2 = R2 + np.where(cls2 <= 1, lognormal(r, n, p.t_pr_median, p.t_pr_sdlog), np.inf)
    t_cr2 = t_pr2 + np.where(cls2 == 0, lognormal(r, n, 5.0, 0.6), np.inf)
    med = np.asarray(p.rechallenge_pfs_median)[cls2]
    tp2 = R2 + np.where(cls2 == 3, 0.7, 0.0) + r.exponential(1.0, n) * med / np.log(2)
    bg2 = R2 + r.exponential(1.0, n) / p.death_rate
    tp2 = np.where(tp2 < bg2, tp2, np.inf)
    pps_on = exp_with_median(r, n, p.pps_median_on)
    pps_off = exp_with_median(r, n, p.pps_median_off)
    pps_2 = exp_with_median(r, n, p.pps_median_second)
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

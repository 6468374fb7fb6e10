"""From simulated arrays to the four tables of data contract v1 (patients, treatments, assessments, ctdna).
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from icistop import DAYS_PER_MONTH
from icistop.data.synth.model import ragged_times, response_state
from icistop.data.synth.params import COMBO, GeneratorParams, REGIMENS, STOP_REASONS, WEEK



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
    add(ri, ta, response_state(ta, d["t_pr"][ri], d["t_cr"][ri]), 1)
    last_on = np.zeros(n)
    np.maximum.at(last_on, ri, ta)
    # after a stop without progression, until progression / last contact
    lo, hi = (w * WEEK for w in p.assess_off_weeks)
    free = (S1 < tp) & (d["reason1"] != 6)
    end = np.where(free, np.minimum(np.minimum(tp, d["death"]), L), -np.inf)
    rw, t = ragged_times(rng, last_on, end, lo, hi)
    keep = t > S1[rw]
    rw, t = rw[keep], t[keep]
    add(rw, t, response_state(t, d["t_pr"][rw], d["t_cr"][rw]), 1)
    seen = np.nonzero(prog & (tp <= L))[0]
    add(seen, tp[seen], np.full(len(seen), 3), 1)
    # course 2
    R2 = d["R2"]
    has2 = np.isfinite(R2) & (R2 <= L)
    lo_on, hi_on = (w * WEEK for w in p.assess_on_weeks)
    end2 = np.where(has2, np.minimum(d["S2"], L), -np.inf)
    rw, t = ragged_times(rng, np.where(has2, R2, 0.0), end2, lo_on, hi_on)
    add(rw, t, response_state(t, d["t_pr2"][rw], d["t_cr2"][rw]), 2)
    last2 = np.where(has2, R2, 0.0)
    np.maximum.at(last2, rw, t)
    free2 = has2 & (d["S2"] < d["tp2"]) & (d["S2"] < d["death"])
    end2b = np.where(free2, np.minimum(np.minimum(d["tp2"], d["death"]), L), -np.inf)
    rw, t = ragged_times(rng, last2, end2b, lo, hi)
    keep = t > d["S2"][rw]
    rw, t = rw[keep], t[keep]
    add(rw, t, response_state(t, d["t_pr2"][rw], d["t_cr2"][rw]), 2)
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
    """The four contract tables from a latent history (see :func:`simulate`)."""
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
    rw_next, t_next = ragged_times(r, t0, end, lo, hi, cap=p.ctdna_max_tests - 1)
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

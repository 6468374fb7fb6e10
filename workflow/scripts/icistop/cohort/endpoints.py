"""Per-patient endpoints for the treated cohort (see docs/endpoints.md for every column).

Main entry point: :func:`derive_endpoints`. Definitions (time in months = days / 30.4375):
- Follow-up ends at ``fu_end`` = min(cut-off, latest of last_contact_date and assessment dates).
- Progression: the first PD assessment strictly after the time origin; a course stopped for
  'progression' with no PD assessment up to 60 days after its stop date contributes its stop date
  as a (clinical) progression date. Only dates on or before the cut-off count.
- PFS: time from the origin to progression or death from any cause, whichever comes first
  (``cause`` 1 = progression, 2 = death without progression). Without an event, censored at the
  last assessment on or after the origin (``pfs_censor_at: last_assessment``, the FDA convention;
  at the origin when there is none) or at ``fu_end`` (``last_contact``).
- OS: time from the origin to death; censored at ``fu_end``. Deaths after the cut-off are ignored.
- Origins: course-1 start (all treated) and course-1 stop date (stop cohort only).
- best_response: as given for course 1, else the best (CR > PR > SD > PD) assessment after the
  course start and up to its stop (or follow-up end); NE when there is none.
- response_at_stop: the last assessment after the course start and on or before the stop date.
"""

from __future__ import annotations

import pandas as pd

from icistop import DAYS_PER_MONTH
from icistop.cohort.cohorts import first_courses
from icistop.cohort.covariates import derive_covariates
from icistop.data.validation import PROGRESSION_MATCH_DAYS

RESPONSE_RANK = {"CR": 4, "PR": 3, "SD": 2, "PD": 1}
MET_COLUMNS = ["met_liver", "met_lung", "met_lymph_node", "met_peritoneum", "met_bone"]
PATIENT_COLUMNS = [
    "site", "sex", "age_at_ici_start", "primary_site", "metastasis_timing", "msi_status", "mmr_status",
    "lynch_syndrome", "ras_status", "braf_v600e", "tmb", *MET_COLUMNS, "ecog",
]


def months(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (later - earlier).dt.days / DAYS_PER_MONTH


def attach(frame: pd.DataFrame, values: pd.Series, name: str, how: str = "inner") -> pd.DataFrame:
    """``frame`` with the per-patient ``values`` (indexed by patient_id) as column ``name``: the rows of
    ``frame.merge(values, on="patient_id", how=how)`` (inner or left, rows in ``frame`` order, new RangeIndex),
    by an index lookup instead of a join."""
    if not values.index.is_unique or how not in ("inner", "left"):
        right = values.rename(name).rename_axis("patient_id").reset_index()
        return frame.merge(right, on="patient_id", how=how)
    if how == "inner":
        frame = frame[frame["patient_id"].isin(values.index)]
    out = frame.reset_index(drop=True)
    out[name] = values.reindex(out["patient_id"]).reset_index(drop=True)
    return out


def first_after(events: pd.DataFrame, origin: pd.Series, until: pd.Series | pd.Timestamp | None = None,
                inclusive_origin: bool = False) -> pd.Series:
    """Earliest event date per patient strictly after ``origin`` (and on or before ``until``)."""
    frame = attach(events, origin, "_origin")
    mask = frame["date"] >= frame["_origin"] if inclusive_origin else frame["date"] > frame["_origin"]
    if until is not None:
        if isinstance(until, pd.Series):
            frame = attach(frame, until, "_until", how="left")
            mask &= frame["date"] <= frame["_until"]
        else:
            mask &= frame["date"] <= until
    return frame[mask].groupby("patient_id")["date"].min().reindex(origin.index)


def last_between(events: pd.DataFrame, start: pd.Series, end: pd.Series | pd.Timestamp,
                 include_start: bool = True) -> pd.Series:
    """Latest event date per patient in [start, end] (or (start, end])."""
    frame = attach(events, start, "_start")
    frame = attach(frame, end, "_end", how="left") if isinstance(end, pd.Series) else frame.assign(_end=end)
    low = frame["date"] >= frame["_start"] if include_start else frame["date"] > frame["_start"]
    frame = frame[low & (frame["date"] <= frame["_end"])]
    return frame.groupby("patient_id")["date"].max().reindex(start.index)


def progression_dates(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp) -> pd.DataFrame:
    """All dates that mark progression (PD assessments and unmatched progression stops)."""
    assessments = tables["assessments"]
    pd_dates = assessments.loc[(assessments["response"] == "PD") & (assessments["date"] <= cutoff), ["patient_id", "date"]]
    treatments = tables["treatments"]
    stops = treatments.loc[treatments["stop_reason"] == "progression", ["patient_id", "course", "stop_date"]]
    merged = stops.merge(pd_dates, on="patient_id", how="left")
    limit = merged["stop_date"] + pd.Timedelta(days=PROGRESSION_MATCH_DAYS)
    matched = merged[merged["date"] <= limit].groupby(["patient_id", "course"]).size()
    key = pd.MultiIndex.from_frame(stops[["patient_id", "course"]])
    unmatched = stops[~key.isin(matched.index)]
    clinical = unmatched.rename(columns={"stop_date": "date"})[["patient_id", "date"]]
    clinical = clinical[clinical["date"] <= cutoff]
    return pd.concat([pd_dates, clinical], ignore_index=True)


def pfs_from(origin: pd.Series, progression: pd.DataFrame, death: pd.Series, fu_end: pd.Series,
             assessments: pd.DataFrame, censor_at: str) -> pd.DataFrame:
    """PFS from ``origin`` (dates indexed by patient): time, event, cause (see module doc)."""
    prog = first_after(progression, origin)
    dead = death.where(death >= origin)
    event_date = prog.where(prog.notna() & ~(dead < prog), dead)
    cause = pd.Series(0, index=origin.index)
    cause[event_date.notna() & (event_date == prog)] = 1
    cause[event_date.notna() & (event_date != prog)] = 2
    if censor_at == "last_assessment":
        last = last_between(assessments[["patient_id", "date"]], origin, fu_end)
        censor = last.fillna(origin)
    elif censor_at == "last_contact":
        censor = fu_end
    else:
        raise ValueError(f"pfs_censor_at must be 'last_assessment' or 'last_contact', not {censor_at!r}")
    end = event_date.where(event_date.notna(), censor)
    return pd.DataFrame({"time": months(end, origin), "event": (cause > 0).astype(int), "cause": cause})


def os_from(origin: pd.Series, death: pd.Series, fu_end: pd.Series) -> pd.DataFrame:
    end = death.where(death.notna(), fu_end)
    return pd.DataFrame({"time": months(end, origin), "event": death.notna().astype(int)})


def best_response(assessments: pd.DataFrame, start: pd.Series, end: pd.Series) -> pd.Series:
    frame = attach(attach(assessments, start, "_s"), end, "_e", how="left")
    frame = frame[(frame["date"] > frame["_s"]) & (frame["date"] <= frame["_e"])]
    rank = frame["response"].map(RESPONSE_RANK)
    best = rank.groupby(frame["patient_id"]).max().reindex(start.index)
    inverse = {v: k for k, v in RESPONSE_RANK.items()}
    return best.map(inverse).fillna("NE")


def response_at(assessments: pd.DataFrame, start: pd.Series, when: pd.Series) -> pd.Series:
    frame = attach(attach(assessments, start, "_s"), when, "_w", how="left")
    frame = frame[(frame["date"] > frame["_s"]) & (frame["date"] <= frame["_w"])].sort_values(["patient_id", "date"])
    return frame.groupby("patient_id")["response"].last().reindex(start.index)


def time_on_ici_group(time: pd.Series, breaks: list[float]) -> pd.Series:
    """Labels '<b1', 'b1-b2', ..., '>bk'; the middle intervals are closed [b_i, b_{i+1}]."""
    b = sorted(breaks)
    labels = pd.Series(pd.NA, index=time.index, dtype=object)
    labels[time < b[0]] = f"<{b[0]:g}"
    for low, high in zip(b[:-1], b[1:]):
        labels[(time >= low) & (time <= high)] = f"{low:g}-{high:g}"
    labels[time > b[-1]] = f">{b[-1]:g}"
    return labels


def derive_endpoints(tables: dict[str, pd.DataFrame], cohorts: pd.DataFrame, cutoff: pd.Timestamp,
                     pfs_censor_at: str = "last_assessment", time_on_ici_breaks: list[float] = (12, 24),
                     extra_columns: list[str] = (), derived: list[dict] = ()) -> dict[str, pd.DataFrame]:
    """Endpoints of the treated cohort.

    Returns ``endpoints`` (one row per treated patient: contract columns, the declared ``extra_columns``
    of patients, endpoints, then the ``derived`` covariates of :mod:`icistop.cohort.covariates`),
    ``assessments`` (long, months from course-1 start), ``derived`` (one record per derived covariate)
    and ``ctdna`` (long, when the table exists).
    """
    treated_ids = cohorts.loc[cohorts["in_treated"], "patient_id"]
    patients = tables["patients"].set_index("patient_id").loc[treated_ids]
    course1 = first_courses(tables["treatments"], cutoff).loc[treated_ids]
    assessments = tables["assessments"]
    assessments = assessments[assessments["patient_id"].isin(treated_ids) & (assessments["date"] <= cutoff)]

    start = course1["start_date"]
    last_assess = assessments.groupby("patient_id")["date"].max().reindex(start.index)
    fu_end = pd.concat([patients["last_contact_date"], last_assess], axis=1).max(axis=1).clip(upper=cutoff)
    death = patients["death_date"].where(patients["death_date"] <= cutoff)
    progression = progression_dates(tables, cutoff)
    progression = progression[progression["patient_id"].isin(treated_ids)]

    out = pd.DataFrame(index=start.index)
    for column in [*PATIENT_COLUMNS, *extra_columns]:
        out[column] = patients[column] if column in patients.columns else pd.NA
    out["sidedness"] = patients["primary_site"].map({"right_colon": "right", "left_colon": "left", "rectum": "left"}).fillna("unknown")
    out["msi_h_or_dmmr"] = (patients["msi_status"] == "MSI-H") | (patients["mmr_status"] == "dMMR")
    out["n_met_sites"] = (patients[MET_COLUMNS] == "yes").sum(axis=1)
    out["regimen"] = course1["regimen"]
    out["line"] = course1["line"]
    stopped = course1["stop_date"].notna()
    out["stop_reason"] = course1["stop_reason"].where(stopped, "ongoing")
    out["stopped"] = stopped
    stop_or_end = course1["stop_date"].where(stopped, fu_end)
    out["time_on_ici"] = months(stop_or_end, start)
    out["time_on_ici_group"] = time_on_ici_group(out["time_on_ici"], list(time_on_ici_breaks))
    derived_best = best_response(assessments, start, stop_or_end)
    given = course1["best_response"] if "best_response" in course1.columns else pd.Series(None, index=start.index)
    out["best_response"] = given.where(given.notna(), derived_best)
    out["response_at_stop"] = response_at(assessments, start, course1["stop_date"]).where(stopped)
    in_stop = cohorts.set_index("patient_id").loc[treated_ids, "in_stop_cohort"]
    out["in_stop_cohort"] = in_stop.values

    pfs = pfs_from(start, progression, death, fu_end, assessments, pfs_censor_at)
    out["pfs_time"], out["pfs_event"], out["pfs_cause"] = pfs["time"], pfs["event"], pfs["cause"]
    os_ = os_from(start, death, fu_end)
    out["os_time"], out["os_event"] = os_["time"], os_["event"]

    stop_ids = in_stop[in_stop].index
    stop_origin = course1.loc[stop_ids, "stop_date"]
    spfs = pfs_from(stop_origin, progression, death.loc[stop_ids], fu_end.loc[stop_ids], assessments, pfs_censor_at)
    sos = os_from(stop_origin, death.loc[stop_ids], fu_end.loc[stop_ids])
    out["stop_pfs_time"] = spfs["time"].reindex(out.index)
    out["stop_pfs_event"] = spfs["event"].reindex(out.index).astype("Int64")
    out["stop_pfs_cause"] = spfs["cause"].reindex(out.index).astype("Int64")
    out["stop_os_time"] = sos["time"].reindex(out.index)
    out["stop_os_event"] = sos["event"].reindex(out.index).astype("Int64")

    out["progression_time"] = months(first_after(progression, start, None), start)
    out["death_time"] = months(death, start)
    out["last_contact_time"] = months(fu_end, start)
    out["last_assessment_time"] = months(last_assess, start)

    # re-challenge: course 2
    treatments = tables["treatments"]
    course2 = treatments[(treatments["course"] == 2) & treatments["patient_id"].isin(treated_ids)
                         & (treatments["start_date"] <= cutoff)].set_index("patient_id")
    out["has_rechallenge"] = out.index.isin(course2.index)
    c2_start = course2["start_date"]
    out["rechallenge_start_time"] = months(c2_start, start.loc[c2_start.index]).reindex(out.index)
    out["rechallenge_regimen"] = course2["regimen"].reindex(out.index)
    c2_stop = course2["stop_date"].where(course2["stop_date"] <= cutoff).fillna(fu_end.loc[c2_start.index])
    c2_best = best_response(assessments, c2_start, c2_stop)
    c2_given = course2["best_response"] if "best_response" in course2.columns else pd.Series(None, index=c2_start.index)
    out["rechallenge_best_response"] = c2_given.where(c2_given.notna(), c2_best).reindex(out.index)
    rpfs = pfs_from(c2_start, progression, death.loc[c2_start.index], fu_end.loc[c2_start.index], assessments, pfs_censor_at)
    out["rechallenge_pfs_time"] = rpfs["time"].reindex(out.index)
    out["rechallenge_pfs_event"] = rpfs["event"].reindex(out.index).astype("Int64")

    out = out.reset_index().rename(columns={"index": "patient_id"})
    out, derived_records = derive_covariates(out, list(derived))
    long = assessments.join(course1[["start_date", "stop_date"]], on="patient_id")
    on_ici = (long["date"] >= long["start_date"]) & (long["stop_date"].isna() | (long["date"] <= long["stop_date"]))
    assess_long = pd.DataFrame({
        "patient_id": long["patient_id"].values,
        "time": months(long["date"], long["start_date"]).values,
        "response": long["response"].values,
        "on_ici": on_ici.values,
    }).sort_values(["patient_id", "time"], kind="mergesort").reset_index(drop=True)
    result = {"endpoints": out, "assessments": assess_long, "derived": derived_records}
    if "ctdna" in tables:
        ct = tables["ctdna"]
        ct = ct[ct["patient_id"].isin(treated_ids) & (ct["date"] <= cutoff)].join(start.rename("start"), on="patient_id")
        result["ctdna"] = pd.DataFrame({"patient_id": ct["patient_id"].values, "time": months(ct["date"], ct["start"]).values,
                                        "result": ct["result"].values}).sort_values(["patient_id", "time"], kind="mergesort").reset_index(drop=True)
    return result

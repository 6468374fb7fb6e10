"""OMOP CDM v5.4 instance -> data contract v1 tables (patients, treatments, assessments, ctdna).

Every rule is stated in docs/omop-mapping.md; concept ids come from config/omop_concepts.yaml. Each rule
adds a row to the mapping report (records read, used, dropped and why). Source records that cannot be
analysed raise DataError naming the OMOP table, the record id, the column and what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from icistop.data.issues import DataError, Issue, UserError
from icistop.data.mapping import MappingLog
from icistop.data.omop import ddl
from icistop.data.omop.concepts import TESTS, ids, value_map
from icistop.data.omop.db import Database

MET_SITES = ("liver", "lung", "lymph_node", "peritoneum", "bone")
SITE_PRIORITY = {"right_colon": 0, "left_colon": 0, "rectum": 0, "unknown": 1}


@dataclass(frozen=True)
class OmopSettings:
    """Adapter settings (config section ``omop``; docs/omop-mapping.md)."""

    patient_id: str = "person_source_value"  # or "person_id"
    course_gap_days: int = 90
    ongoing_days: int = 60
    death_stop_days: int = 30
    measurement_window_days: int = 30
    ecog_window_days: int = 60
    episode_match_days: int = 14
    best_response_days: int = 90


def _in(values) -> str:
    vals = sorted({int(v) for v in values})
    return "(" + ", ".join(str(v) for v in vals) + ")" if vals else "(NULL)"


def _dates(frame: pd.DataFrame, *cols) -> pd.DataFrame:
    for c in cols:
        frame[c] = pd.to_datetime(frame[c])
    return frame


def check_tables(db: Database) -> None:
    """Every table and column the adapter reads exists (one line naming what is missing)."""
    for table, cols in ddl.REQUIRED.items():
        if not db.has_table(table):
            raise UserError(f"OMOP database {db.label}: table {db.schema}.{table} not found (is omop.cdm_schema right?)")
        present = set(db.columns(table))
        missing = [c for c in cols if c not in present]
        if missing:
            raise UserError(f"OMOP database {db.label}: table {db.schema}.{table} has no column(s) {', '.join(missing)} "
                            "(OMOP CDM v5.4 expected)")


def descendants(db: Database, ancestors: dict[int, str]) -> dict[int, str]:
    """{concept id: label} for the given concepts and every descendant of them in concept_ancestor. A descendant
    of several of them takes the label of its closest one (fewest levels of separation; e.g. an adenocarcinoma
    of the caecum descends from "caecum" and from the not-otherwise-specified "colon": it is right colon)."""
    out = dict(ancestors)
    if not ancestors:
        return out
    rows = db.query(f"SELECT ancestor_concept_id, descendant_concept_id FROM {db.table('concept_ancestor')} "
                    f"WHERE ancestor_concept_id IN {_in(ancestors)} "
                    f"ORDER BY min_levels_of_separation, ancestor_concept_id, descendant_concept_id")
    for a, d in rows.itertuples(index=False, name=None):
        out.setdefault(int(d), ancestors[int(a)])
    return out


def _count(db: Database, table: str) -> int:
    return int(db.query(f"SELECT count(*) AS n FROM {db.table(table)}")["n"].iloc[0])


def import_omop(db: Database, concepts: dict, settings: OmopSettings = OmopSettings()) -> tuple[dict, pd.DataFrame]:
    """Contract tables and the mapping report from an OMOP instance (docs/omop-mapping.md)."""
    check_tables(db)
    log = MappingLog()
    issues: list[Issue] = []
    has_obs = db.has_table("observation")
    has_episode = db.has_table("episode")
    has_care_site = db.has_table("care_site")

    # --- cohort: colorectal cancer condition and an ICI exposure --------------------------------------
    crc_groups = {cid: group for group in ("right_colon", "left_colon", "rectum", "unknown")
                  for cid in ids(concepts["colorectal_cancer"].get(group, []))}
    crc = descendants(db, crc_groups)
    met_cond = descendants(db, {cid: site for site in MET_SITES
                                for cid in ids(concepts["metastasis"][site].get("condition", []))})
    lynch_cond = descendants(db, {cid: "yes" for cid in ids(concepts["lynch_condition"])})
    wanted = set(crc) | set(met_cond) | set(lynch_cond)
    cond = _dates(db.query(
        f"SELECT person_id, condition_concept_id, condition_start_date FROM {db.table('condition_occurrence')} "
        f"WHERE condition_concept_id IN {_in(wanted)}"), "condition_start_date")
    n_cond = _count(db, "condition_occurrence")

    ingredient_class = {int(e["concept_id"]): e["class"] for e in concepts["ici_ingredients"]}
    drug_ingredient = descendants(db, {cid: cid for cid in ingredient_class})
    expo = db.query(
        f"SELECT drug_exposure_id, person_id, drug_concept_id, drug_exposure_start_date, drug_exposure_end_date, "
        f"stop_reason FROM {db.table('drug_exposure')} WHERE drug_concept_id IN {_in(drug_ingredient)}")
    expo = _dates(expo, "drug_exposure_start_date", "drug_exposure_end_date")
    n_drug = _count(db, "drug_exposure")
    log.add("drug_exposure", "ICI exposure (descendant of an ici_ingredients concept)", n_drug, len(expo),
            "other drugs are not read")

    crc_rec = cond[cond["condition_concept_id"].isin(list(crc))].copy()
    crc_rec["group"] = crc_rec["condition_concept_id"].map(crc)
    persons = db.query(f"SELECT person_id, gender_concept_id, year_of_birth, month_of_birth, day_of_birth, "
                       f"care_site_id, person_source_value FROM {db.table('person')}")
    n_person = len(persons)
    has_crc, has_ici = set(crc_rec["person_id"]), set(expo["person_id"])
    cohort_ids = has_crc & has_ici & set(persons["person_id"])
    log.add("condition_occurrence", "colorectal cancer diagnosis (descendant of a colorectal_cancer concept)", n_cond,
            int(crc_rec["person_id"].isin(cohort_ids).sum()),
            "other conditions; colorectal cancer records of persons never given an ICI")
    log.add("person", "cohort: colorectal cancer and an ICI exposure", n_person, len(cohort_ids),
            f"{len(set(persons['person_id']) - has_crc)} without a colorectal cancer condition, "
            f"{len(has_crc & set(persons['person_id']) - has_ici)} with colorectal cancer but no ICI exposure")
    if not cohort_ids:
        raise UserError(f"OMOP database {db.label}: no person has both a colorectal cancer condition and an ICI "
                        "exposure (check the concept lists in the concept file)")
    persons = persons[persons["person_id"].isin(cohort_ids)].sort_values("person_id").reset_index(drop=True)
    cond = cond[cond["person_id"].isin(cohort_ids)]
    expo = expo[expo["person_id"].isin(cohort_ids)].copy()
    crc_rec = crc_rec[crc_rec["person_id"].isin(cohort_ids)]

    # --- identifiers, death, follow-up ---------------------------------------------------------------
    pid = persons["person_id"].astype(str)
    if settings.patient_id == "person_source_value":
        src = persons["person_source_value"].astype("string").str.strip()
        pid = src.where(src.notna() & (src != ""), pid)
    dup = pid[pid.duplicated(keep=False)]
    if len(dup):
        first = persons.loc[dup.index[0], "person_id"]
        issues.append(Issue("error", "person", None, settings.patient_id, str(dup.iloc[0]),
                            f"person_id {first}: {settings.patient_id} '{dup.iloc[0]}' is shared by {len(dup)} persons; "
                            "expected one per person (use omop.patient_id: person_id)"))
    id_of = dict(zip(persons["person_id"], pid))

    death = _dates(db.query(f"SELECT person_id, death_date FROM {db.table('death')}"), "death_date")
    death = death[death["person_id"].isin(cohort_ids)].groupby("person_id")["death_date"].min()
    log.add("death", "death date (earliest per person)", len(death), len(death))
    obs = _dates(db.query(f"SELECT person_id, observation_period_start_date, observation_period_end_date "
                          f"FROM {db.table('observation_period')}"), "observation_period_end_date")
    obs_end = obs[obs["person_id"].isin(cohort_ids)].groupby("person_id")["observation_period_end_date"].max()

    # --- exposures -> courses -------------------------------------------------------------------------
    after_death = expo["drug_exposure_start_date"] > expo["person_id"].map(death)
    expo_in = len(expo)
    expo = expo[~after_death].copy()
    bad_end = expo["drug_exposure_end_date"] < expo["drug_exposure_start_date"]
    expo.loc[bad_end, "drug_exposure_end_date"] = expo.loc[bad_end, "drug_exposure_start_date"]
    expo = expo.sort_values(["person_id", "drug_exposure_start_date", "drug_exposure_end_date", "drug_exposure_id"])
    prev_end = expo.groupby("person_id")["drug_exposure_end_date"].transform(lambda s: s.cummax().shift())
    gap = (expo["drug_exposure_start_date"] - prev_end).dt.days
    new_course = prev_end.isna() | (gap > settings.course_gap_days)
    overlapping = int((gap <= 0).sum())
    expo["course"] = new_course.astype(int).groupby(expo["person_id"]).cumsum()
    log.add("drug_exposure", "ICI exposures of the cohort, before the person's death", expo_in, len(expo),
            f"{int(after_death.sum())} dated after death; {int(bad_end.sum())} end dates before the start set to the "
            f"start; {overlapping} overlapping or duplicated exposures merged into their course")
    expo["cls"] = expo["drug_concept_id"].map(drug_ingredient).map(ingredient_class)
    expo["text"] = expo["stop_reason"].astype("string").str.strip().replace("", pd.NA)

    courses = expo.groupby(["person_id", "course"]).agg(
        start=("drug_exposure_start_date", "min"), stop=("drug_exposure_end_date", "max"),
        classes=("cls", lambda s: frozenset(s))).reset_index()
    courses["regimen"] = courses["classes"].map(regimen_of)
    last_text = (expo.dropna(subset=["text"]).sort_values(["drug_exposure_end_date", "drug_exposure_id"])
                 .groupby(["person_id", "course"])["text"].last())
    courses["text"] = pd.Series(list(zip(courses["person_id"], courses["course"]))).map(last_text).to_numpy()
    log.add("drug_exposure", "courses: exposures more than course_gap_days apart start a new course", len(expo),
            len(expo), f"{len(courses)} courses of {courses['person_id'].nunique()} persons "
            f"(gap > {settings.course_gap_days} days)")

    first_ici = courses.groupby("person_id")["start"].min()
    # last contact: latest observation period end, the latest record used, or the death date
    latest = pd.concat([obs_end, courses.groupby("person_id")["stop"].max()]).groupby(level=0).max()
    last_contact = pd.Series(latest, index=persons["person_id"])
    after_obs = courses.groupby("person_id")["stop"].max().reindex(obs_end.index) > obs_end
    last_contact = last_contact.where(~last_contact.index.isin(death.index), death.reindex(last_contact.index))
    log.add("observation_period", "last contact: latest observation period end (death date for the deceased)",
            len(obs), len(obs_end), f"{int(after_obs.sum())} persons with ICI exposures after their observation period "
            "end (last contact moved to the latest exposure)")

    # stop reasons and ongoing courses
    patterns = [(reason, re.compile(p, re.IGNORECASE)) for reason, pats in concepts["stop_reasons"].items() for p in pats]

    def reason_of(text):
        if text is None or pd.isna(text):
            return None
        return next((reason for reason, rx in patterns if rx.search(str(text))), None)

    courses["mapped"] = courses["text"].map(reason_of)
    is_last = courses["course"] == courses.groupby("person_id")["course"].transform("max")
    lc = courses["person_id"].map(last_contact)
    dd = courses["person_id"].map(death)
    ongoing = courses["text"].isna() & is_last & dd.isna() & ((lc - courses["stop"]).dt.days <= settings.ongoing_days)
    near_death = dd.notna() & ((dd - courses["stop"]).dt.days.abs() <= settings.death_stop_days)
    unmapped_text = courses["text"].notna() & courses["mapped"].isna()
    no_text = courses["text"].isna() & ~ongoing
    courses["stop_reason"] = courses["mapped"]
    courses.loc[(no_text | unmapped_text) & near_death, "stop_reason"] = "death"
    courses.loc[(no_text | unmapped_text) & ~near_death, "stop_reason"] = "other"
    courses.loc[ongoing, "stop_reason"] = None
    courses["stop_date"] = courses["stop"].where(~ongoing)
    log.add("drug_exposure", "stop reason from the stop_reason text (stop_reasons expressions)", len(courses),
            int(courses["mapped"].notna().sum()),
            f"{int(ongoing.sum())} ongoing at last contact; {int(((no_text | unmapped_text) & near_death).sum())} without a "
            f"recognised text set to death (died within {settings.death_stop_days} days); "
            f"{int(((no_text | unmapped_text) & ~near_death).sum())} without a recognised text set to other "
            f"({int(unmapped_text.sum())} texts matched no expression)")

    # line of therapy from treatment-regimen episodes (Oncology extension)
    courses["line"] = pd.NA
    if has_episode:
        reg_ids = ids(concepts["episode"]["treatment_regimen"])
        epi = _dates(db.query(f"SELECT person_id, episode_concept_id, episode_start_date, episode_number FROM "
                              f"{db.table('episode')} WHERE episode_concept_id IN {_in(reg_ids)}"), "episode_start_date")
        epi = epi[epi["person_id"].isin(cohort_ids) & epi["episode_number"].notna()]
        m = courses.reset_index().merge(epi, on="person_id")
        m["dist"] = (m["episode_start_date"] - m["start"]).dt.days.abs()
        m = m[m["dist"] <= settings.episode_match_days].sort_values(["index", "dist", "episode_start_date"])
        best = m.drop_duplicates("index").set_index("index")["episode_number"]
        courses.loc[best.index, "line"] = best.astype(int).to_numpy()
        log.add("episode", "line of therapy: treatment-regimen episode starting near the course start", len(epi),
                len(best), f"{len(courses) - len(best)} courses without a matching episode keep an empty line")

    # --- measurements ---------------------------------------------------------------------------------
    values = concepts["values"]
    present, absent = set(ids(values["present"])), set(ids(values["absent"]))
    test_concepts = {cid: name for name in TESTS for cid in ids(concepts["tests"][name]["concepts"])}
    numeric_concepts = {cid: name for name, spec in concepts["numeric"].items() for cid in ids(spec["concepts"])}
    met_meas = {cid: site for site in MET_SITES for cid in ids(concepts["metastasis"][site].get("measurement", []))}
    m_cat = {cid: k for k in ("m1", "m0") for cid in ids(concepts["m_category"].get(k, []))}
    resp = {cid: "response" for cid in ids(concepts["response"]["concepts"])}
    best_resp = {cid: "best" for cid in ids(concepts["response"].get("best_response_concepts", []))}
    ctdna_c = {cid: "ctdna" for cid in ids(concepts["ctdna"]["concepts"])}
    kinds = {**test_concepts, **numeric_concepts, **{c: "met" for c in met_meas}, **{c: "m" for c in m_cat},
             **resp, **best_resp, **ctdna_c}
    meas = db.query(f"SELECT measurement_id AS record_id, person_id, measurement_concept_id AS concept_id, "
                    f"measurement_date AS date, value_as_number, value_as_concept_id FROM {db.table('measurement')} "
                    f"WHERE measurement_concept_id IN {_in(kinds)}")
    meas["source"] = "measurement"
    if has_obs:
        obs_rows = db.query(f"SELECT observation_id AS record_id, person_id, observation_concept_id AS concept_id, "
                            f"observation_date AS date, value_as_number, value_as_concept_id FROM "
                            f"{db.table('observation')} WHERE observation_concept_id IN {_in({**resp, **best_resp})}")
        obs_rows["source"] = "observation"
        meas = pd.concat([meas, obs_rows], ignore_index=True) if len(obs_rows) else meas
    meas = _dates(meas, "date")
    meas = meas[meas["person_id"].isin(cohort_ids)].copy()
    meas["value_as_number"] = pd.to_numeric(meas["value_as_number"], errors="coerce").astype(float)
    meas["vcid"] = pd.to_numeric(meas["value_as_concept_id"], errors="coerce")
    meas = meas.sort_values(["person_id", "date", "record_id"]).reset_index(drop=True)
    window_end = meas["person_id"].map(first_ici) + pd.Timedelta(days=settings.measurement_window_days)

    patients = pd.DataFrame({"person_id": persons["person_id"]})
    for name in TESTS:
        cids = set(ids(concepts["tests"][name]["concepts"]))
        vmap = value_map(concepts["tests"][name]["values"])
        rec = meas[meas["concept_id"].isin(cids)]
        mapped = rec["vcid"].map(vmap)
        usable = rec[mapped.notna() & (rec["date"] <= window_end[rec.index])].assign(v=mapped)
        got = usable.groupby("person_id")["v"].last()
        rule = f"{name}: latest mapped result up to {settings.measurement_window_days} days after the first ICI dose"
        any_result = concepts["tests"][name].get("any_result")
        if any_result is not None:  # e.g. MMR: loss of any one stain (latest result per stain) makes the tumour dMMR
            per_test = usable.groupby(["person_id", "concept_id"])["v"].last()
            hit = (per_test == any_result).groupby(level="person_id").any()
            got = got.where(~hit.reindex(got.index, fill_value=False), any_result)
            rule += f" per test concept; {any_result} if any of them is {any_result}"
        patients[name] = patients["person_id"].map(got).astype(object)
        log.add("measurement", rule, len(rec), int(usable["person_id"].nunique()),
                f"{int(mapped.isna().sum())} values without a mapping; "
                f"{int((mapped.notna() & (rec['date'] > window_end[rec.index])).sum())} after the window; "
                "earlier results of the same person superseded")
    kras, nras = patients.pop("kras"), patients.pop("nras")
    patients["ras_status"] = np.where((kras == "mutant") | (nras == "mutant"), "mutant",
                                      np.where((kras == "wildtype") & (nras == "wildtype"), "wildtype", "unknown"))
    lynch_persons = set(cond.loc[cond["condition_concept_id"].isin(list(lynch_cond)), "person_id"])
    patients.loc[patients["person_id"].isin(lynch_persons), "lynch_syndrome"] = "yes"
    for name in ("msi_status", "mmr_status", "braf_v600e", "lynch_syndrome"):
        patients[name] = patients[name].fillna("unknown")

    # numeric: TMB (latest in window), ECOG (closest to the first dose)
    for name in concepts["numeric"]:
        cids = set(ids(concepts["numeric"][name]["concepts"]))
        rec = meas[meas["concept_id"].isin(cids) & meas["value_as_number"].notna()]
        if name == "ecog":
            rel = (rec["date"] - rec["person_id"].map(first_ici)).dt.days
            usable = rec[(rel >= -settings.ecog_window_days) & (rel <= 14)].assign(d=rel.abs(), rel=rel)
            got = usable.sort_values(["person_id", "d", "rel", "record_id"]).groupby("person_id")["value_as_number"].first()
            bad = usable[(usable["value_as_number"] < 0) | (usable["value_as_number"] > 5)]
            expect = "an ECOG score 0-4"
            detail = f"closest record from {settings.ecog_window_days} days before to 14 days after the first ICI dose"
        else:
            usable = rec[rec["date"] <= window_end[rec.index]]
            got = usable.groupby("person_id")["value_as_number"].last()
            bad = usable[usable["value_as_number"] < 0]
            expect = "a value >= 0"
            detail = f"latest record up to {settings.measurement_window_days} days after the first ICI dose"
        for r in bad.head(10).itertuples():
            issues.append(Issue("error", r.source, None, "value_as_number", f"{r.value_as_number:g}",
                                f"{r.source}_id {r.record_id} (person {r.person_id}, {name}): expected {expect}"))
        patients[name] = patients["person_id"].map(got)
        log.add("measurement", f"{name}: {detail}", len(rec), len(got), "records outside the window or superseded")
    if "ecog" in patients:
        patients["ecog"] = patients["ecog"].round().astype("Int64")

    # metastatic sites and timing
    for site in MET_SITES:
        cids = {c for c, s in met_meas.items() if s == site}
        rec = meas[meas["concept_id"].isin(cids)]
        yes = set(rec.loc[rec["vcid"].isin(present), "person_id"])
        yes |= set(cond.loc[cond["condition_concept_id"].map(met_cond) == site, "person_id"])
        no = set(rec.loc[rec["vcid"].isin(absent), "person_id"]) - yes
        col = f"met_{site}"
        patients[col] = np.where(patients["person_id"].isin(yes), "yes",
                                 np.where(patients["person_id"].isin(no), "no", "unknown"))
        n_unmapped = int((~rec["vcid"].isin(present | absent)).sum())
        log.add("measurement", f"{col}: metastasis present/absent (and secondary-neoplasm conditions)", len(rec),
                len(rec) - n_unmapped, f"{n_unmapped} values without a mapping")
    rec = meas[meas["concept_id"].isin(list(m_cat))]
    first_m = rec.groupby("person_id")["concept_id"].first().map(m_cat)
    patients["metastasis_timing"] = patients["person_id"].map(first_m).map(
        {"m1": "synchronous", "m0": "metachronous"}).fillna("unknown")
    log.add("measurement", "metastasis_timing: first clinical M category (M1 synchronous, M0 metachronous)", len(rec),
            len(first_m), "later M category records ignored")

    # primary site from the earliest colorectal cancer record (specific group over 'unknown' on ties)
    crc_rec = crc_rec.assign(prio=crc_rec["group"].map(SITE_PRIORITY)).sort_values(
        ["person_id", "condition_start_date", "prio"])
    patients["primary_site"] = patients["person_id"].map(crc_rec.groupby("person_id")["group"].first())

    # demographics
    female, male = set(ids(concepts["gender"]["female"])), set(ids(concepts["gender"]["male"]))
    patients["sex"] = np.where(persons["gender_concept_id"].isin(female), "female",
                               np.where(persons["gender_concept_id"].isin(male), "male", "unknown"))
    yob = pd.to_numeric(persons["year_of_birth"], errors="coerce")
    for r in persons[(yob < 1880) | (yob > 2100) | yob.isna()].head(10).itertuples():
        issues.append(Issue("error", "person", None, "year_of_birth", str(r.year_of_birth),
                            f"person_id {r.person_id}: expected a four-digit year of birth"))
    mob = pd.to_numeric(persons["month_of_birth"], errors="coerce").fillna(7).clip(1, 12)
    dob = pd.to_numeric(persons["day_of_birth"], errors="coerce").fillna(1).clip(1, 28 + 3)
    start = persons["person_id"].map(first_ici)
    age = start.dt.year - yob - ((start.dt.month < mob) | ((start.dt.month == mob) & (start.dt.day < dob))).astype(int)
    patients["age_at_ici_start"] = age.astype("Int64")
    if has_care_site:
        sites = db.query(f"SELECT care_site_id, care_site_name FROM {db.table('care_site')}")
        patients["site"] = persons["care_site_id"].map(dict(zip(sites["care_site_id"], sites["care_site_name"])))
    else:
        patients["site"] = pd.NA
    patients["last_contact_date"] = patients["person_id"].map(last_contact)
    patients["death_date"] = patients["person_id"].map(death)

    # --- assessments, best response, ctDNA ------------------------------------------------------------
    rmap = value_map(concepts["response"]["values"])
    rec = meas[meas["concept_id"].isin(list(resp))].assign(response=lambda d: d["vcid"].map(rmap))
    dead_after = rec["date"] > rec["person_id"].map(death)
    ok = rec["response"].isin(["CR", "PR", "SD", "PD"]) & ~dead_after
    assess = rec.loc[ok, ["person_id", "date", "response"]]
    log.add("measurement", "assessments: tumour response records (measurement and observation)", len(rec), int(ok.sum()),
            f"{int((rec['response'] == 'NE').sum())} not evaluable; {int(rec['response'].isna().sum())} values without "
            f"a mapping; {int((dead_after & rec['response'].notna()).sum())} after death")
    if has_episode:
        prog_ids = ids(concepts["episode"]["progression"])
        prog = _dates(db.query(f"SELECT person_id, episode_start_date AS date FROM {db.table('episode')} "
                               f"WHERE episode_concept_id IN {_in(prog_ids)}"), "date")
        prog = prog[prog["person_id"].isin(cohort_ids)].assign(response="PD")
        assess = pd.concat([assess, prog], ignore_index=True)
        log.add("episode", "assessments: disease-progression episodes as PD", len(prog), len(prog))
    n_before = len(assess)
    assess = assess.drop_duplicates(["person_id", "date", "response"])
    if n_before > len(assess):
        log.add("measurement", "assessments: duplicate (person, date, response) kept once", n_before, len(assess))

    bmap = value_map(concepts["response"]["values"])
    rec = meas[meas["concept_id"].isin(list(best_resp))].assign(best=lambda d: d["vcid"].map(bmap)).dropna(subset=["best"])
    courses["best_response"] = pd.NA
    if len(rec):
        m = courses.reset_index().merge(rec[["person_id", "date", "record_id", "best"]], on="person_id")
        end = m["stop_date"].fillna(m["person_id"].map(last_contact)) + pd.Timedelta(days=settings.best_response_days)
        m = m[(m["date"] >= m["start"]) & (m["date"] <= end)].sort_values(["index", "date", "record_id"])
        got = m.groupby("index")["best"].last()
        courses.loc[got.index, "best_response"] = got.to_numpy()
        log.add("measurement", "best_response: best overall response recorded during the course (to "
                f"{settings.best_response_days} days after its stop)", len(rec), len(got),
                "records outside every course window")

    rec = meas[meas["concept_id"].isin(list(ctdna_c))]
    res = np.where(rec["vcid"].isin(present), "detected", np.where(rec["vcid"].isin(absent), "not_detected", None))
    ct = rec.assign(result=res).dropna(subset=["result"])[["person_id", "date", "result"]]
    log.add("measurement", "ctdna: circulating tumour DNA detected / not detected", len(rec), len(ct),
            f"{len(rec) - len(ct)} values without a mapping")

    if any(i.severity == "error" for i in issues):
        raise DataError(issues, files={"person": f"OMOP {db.schema}.person", "measurement": f"OMOP {db.schema}.measurement",
                                       "observation": f"OMOP {db.schema}.observation"})
    tables = _contract_tables(patients, courses, assess, ct, id_of)
    return tables, log.to_frame()


def regimen_of(classes: frozenset) -> str:
    """Regimen class of a course from its ingredients' classes (docs/omop-mapping.md)."""
    classes = set(classes) - {None}
    pd1, pdl1, ctla4 = "PD-1" in classes, "PD-L1" in classes, "CTLA-4" in classes
    if classes == {"PD-1"}:
        return "anti-PD-1"
    if classes == {"PD-L1"}:
        return "anti-PD-L1"
    if ctla4 and (pd1 ^ pdl1) and classes <= {"PD-1", "PD-L1", "CTLA-4"}:
        return "anti-PD-1+anti-CTLA-4"
    return "other"


def _iso(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s).dt.strftime("%Y-%m-%d").astype("string")


def _contract_tables(patients, courses, assess, ct, id_of) -> dict[str, pd.DataFrame]:
    p = patients.copy()
    p.insert(0, "patient_id", p["person_id"].map(id_of))
    p["last_contact_date"], p["death_date"] = _iso(p["last_contact_date"]), _iso(p["death_date"])
    cols = ["patient_id", "site", "sex", "age_at_ici_start", "primary_site", "metastasis_timing", "msi_status",
            "mmr_status", "lynch_syndrome", "ras_status", "braf_v600e", "tmb", "met_liver", "met_lung", "met_lymph_node",
            "met_peritoneum", "met_bone", "ecog", "last_contact_date", "death_date"]
    p = p[cols].sort_values("patient_id").reset_index(drop=True)
    t = pd.DataFrame({"patient_id": courses["person_id"].map(id_of), "course": courses["course"].astype(int),
                      "regimen": courses["regimen"], "line": courses["line"].astype("Int64"),
                      "start_date": _iso(courses["start"]), "stop_date": _iso(courses["stop_date"]),
                      "stop_reason": courses["stop_reason"], "best_response": courses["best_response"]})
    t = t.sort_values(["patient_id", "course"]).reset_index(drop=True)
    a = pd.DataFrame({"patient_id": assess["person_id"].map(id_of), "date": _iso(assess["date"]),
                      "response": assess["response"]}).sort_values(["patient_id", "date", "response"]).reset_index(drop=True)
    c = pd.DataFrame({"patient_id": ct["person_id"].map(id_of), "date": _iso(ct["date"]),
                      "result": ct["result"]}).sort_values(["patient_id", "date"]).reset_index(drop=True)
    return {"patients": p, "treatments": t, "assessments": a, "ctdna": c}

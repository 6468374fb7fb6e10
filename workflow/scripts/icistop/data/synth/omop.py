"""Write contract tables as an OMOP CDM v5.4 instance (the synthetic OMOP example; docs/omop-mapping.md).

``write_omop(tables, db, concepts, seed)`` creates the v5.4 tables (``ddl.create_statements``) in ``db`` and fills
them so that the rules of docs/omop-mapping.md give back the contract tables cell by cell, plus the dirty records
the adapter must handle (listed in ``DIRTY``; their counts are returned). Concept ids: the FIRST concept of each
list of the concept file, so writer and adapter stay consistent when the file is edited. Structure:

- person (person_source_value = patient_id, birth date giving the whole-year age at the first ICI dose),
  care_site (name = site), observation_period (ending at last contact), death;
- condition_occurrence: the colorectal cancer diagnosis (concept of the primary_site group) 60-900 days before
  the first ICI dose, some later not-otherwise-specified records, metastases as secondary-neoplasm conditions
  for some persons, Lynch syndrome conditions for some;
- drug_exposure: one record per administration (pembrolizumab q21d or nivolumab q14d for anti-PD-1,
  nivolumab + ipilimumab q21d for 4 cycles then nivolumab q14d for the combination, atezolizumab q21d for
  anti-PD-L1, relatlimab q28d for ``other``), each a local clinical-drug concept below its RxNorm ingredient in
  concept_ancestor; an exposure ends the day before the next cycle, the last one on the stop date (with the stop
  text) or, ongoing, on the last contact date (no text); prior oxaliplatin (FOLFOX) for some later-line persons;
- measurement: tests (MSI, MMR, KRAS, NRAS, BRAF V600E, germline MMR), TMB, ECOG, metastasis (Cancer Modifier
  present/absent), M category, RECIST assessments, best overall response per course, ctDNA;
- observation: the RECIST assessments of one site (an ETL that puts them there);
- episode: a treatment-regimen episode per course (episode_number = line), a disease-progression episode per
  PD assessment (some PDs recorded only as the episode).
Same tables and seed -> identical table contents.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from icistop.data.omop import ddl

TYPE_EHR = 32817  # Type Concept "EHR"
LOCAL_DRUG_BASE = 2_000_000_001  # site-specific concepts live above 2 000 000 000 (OMOP convention)
OXALIPLATIN = 1318011  # RxNorm ingredient (not an ICI)
OTHER_CANCER = 4112853  # Malignant tumor of breast (persons on pembrolizumab for another cancer)
OBSERVATION_SITE_INDEX = 4  # the 5th site (sorted) records RECIST assessments in observation

# Realistic stop texts (drug_exposure.stop_reason is VARCHAR(20)); each is checked against the configured
# stop_reasons regexes before writing (first match must be the intended reason; `other` matches none).
STOP_TEXTS = {
    "progression": ["Disease progression", "Progressive disease", "PD on CT scan", "Radiological relapse"],
    "death": ["Patient died", "Deceased"],
    "toxicity": ["Immune colitis", "Pneumonitis G3", "irAE hepatitis", "Toxicity"],
    "elective_response": ["Complete response", "Durable response", "Elective stop in CR"],
    "planned_completion": ["2 years completed", "Completed 35 cycles", "Course complete"],
    "patient_choice": ["Patient choice", "Patient request", "Patient withdrew"],
    "surgery": ["Surgery", "Liver resection", "Metastasectomy"],
    "other": ["Moved away", "Relocated abroad", "Insurance issue"],
}
INTERVAL = {"pembrolizumab": 21, "nivolumab": 14, "atezolizumab": 21, "ipilimumab": 21, "relatlimab": 28}
DRUG_NAME = {"pembrolizumab": ("pembrolizumab 25 MG/ML Injectable Solution", "Keytruda 200 mg IV"),
             "nivolumab": ("nivolumab 10 MG/ML Injectable Solution", "Opdivo 240 mg IV"),
             "atezolizumab": ("atezolizumab 60 MG/ML Injectable Solution", "Tecentriq 1200 mg IV"),
             "ipilimumab": ("ipilimumab 5 MG/ML Injectable Solution", "Yervoy 1 mg/kg IV"),
             "relatlimab": ("relatlimab 20 MG/ML Injectable Solution", "relatlimab 160 mg IV")}
# Dirty records (kind -> how many are written; persons or records as named)
DIRTY = {"duplicated_exposures": 25, "overlapping_exposures": 25, "end_before_start_exposures": 6,
         "oxaliplatin_persons": 40, "ici_after_death_exposures": 12, "unmapped_value_records": 0,
         "other_cancer_persons": 8, "crc_without_ici_persons": 12, "observation_end_after_death": 5,
         "ne_assessments": 20, "duplicated_assessments": 10, "pd_only_as_episode": 20,
         "later_nos_conditions": 40, "older_ecog_records": 0}
UNMAPPED_SHARE = 0.3  # share of unknown test results written as a record with value_as_concept_id 0


def first(entries) -> int:
    return int(entries[0]["concept_id"])


def stop_reason_of(text: str, patterns: dict) -> str:
    """The contract stop_reason the configured regexes give a text (first match in order; none -> other)."""
    for reason, pats in patterns.items():
        if any(re.search(p, text, flags=re.IGNORECASE) for p in pats):
            return reason
    return "other"


def check_stop_texts(patterns: dict) -> None:
    for reason, texts in STOP_TEXTS.items():
        for text in texts:
            got = stop_reason_of(text, patterns)
            if len(text) > 20 or got != reason:
                raise ValueError(f"stop text '{text}' (for {reason}) maps to {got} or exceeds VARCHAR(20); "
                                 "adjust STOP_TEXTS or the stop_reasons of the concept file")


class _Rows:
    """Row collector per table with running ids."""

    def __init__(self):
        self.rows: dict[str, list[dict]] = {}
        self.next_id: dict[str, int] = {}

    def add(self, table: str, key: str | None = None, **row) -> int:
        rid = 0
        if key:
            rid = self.next_id.get(table, 1)
            self.next_id[table] = rid + 1
            row = {key: rid, **row}
        self.rows.setdefault(table, []).append(row)
        return rid

    def frame(self, table: str) -> pd.DataFrame:
        cols = [c for c, _, _ in ddl.TABLES[table]]
        f = pd.DataFrame(self.rows.get(table, []))
        for c in cols:
            if c not in f:
                f[c] = None
        f = f[cols]
        for c, typ, _ in ddl.TABLES[table]:
            if typ in ("INTEGER", "BIGINT"):
                f[c] = f[c].astype("Int64")
            elif typ == "DATE":
                f[c] = pd.to_datetime(f[c]).dt.date.astype(object).where(f[c].notna(), None)
            elif typ == "NUMERIC":
                f[c] = pd.to_numeric(f[c]).astype(float)
            else:
                f[c] = f[c].astype(object).where(f[c].notna(), None)
        return f


def _norm(tables: dict) -> dict:
    out = {}
    for name, f in tables.items():
        f = f.copy()
        for c in f.columns:
            if c.endswith("_date") or c == "date":
                f[c] = pd.to_datetime(f[c])
        out[name] = f
    return out


def _birth(start: pd.Timestamp, age: int, rng) -> tuple[int, int, int]:
    """A birth date with whole years to ``start`` equal to ``age``."""
    hi = start - pd.DateOffset(years=age)
    for k in (int(rng.integers(0, 365)), 0):
        b = hi - pd.Timedelta(days=k)
        if start.year - b.year - ((start.month, start.day) < (b.month, b.day)) == age:
            return b.year, b.month, b.day
    raise AssertionError("no birth date for the age")


def write_omop(tables: dict, db, concepts: dict, seed: int = 20240930) -> dict:
    """Write contract tables (patients, treatments, assessments, ctdna) into ``db`` as OMOP CDM v5.4.

    Returns the dirty-record counts written ({kind: n}); see DIRTY."""
    check_stop_texts(concepts["stop_reasons"])
    t = _norm(tables)
    pts, trt, ass = t["patients"], t["treatments"], t["assessments"]
    ctd = t.get("ctdna", pd.DataFrame(columns=["patient_id", "date", "result"]))
    rng = np.random.default_rng(seed)
    R = _Rows()
    counts = {k: 0 for k in DIRTY}
    cc = concepts

    # --- concepts used ---------------------------------------------------------------------------------
    ici = {e["name"]: e for e in cc["ici_ingredients"]}
    by_class = {}
    for e in cc["ici_ingredients"]:
        by_class.setdefault(e["class"], []).append(e)
    pd1 = by_class["PD-1"]
    nivo = ici.get("nivolumab", pd1[0])
    regimen_drugs = {"anti-PD-1": [pd1[0]], "anti-PD-L1": [by_class["PD-L1"][0]],
                     "anti-PD-1+anti-CTLA-4": [nivo, by_class["CTLA-4"][0]], "other": [by_class["LAG-3"][0]]}
    if len(pd1) > 1:
        regimen_drugs["anti-PD-1"].append(nivo)
    clinical = {}  # ingredient id -> local clinical drug concept id
    for i, e in enumerate(cc["ici_ingredients"] + [{"concept_id": OXALIPLATIN, "name": "oxaliplatin"}]):
        clinical[int(e["concept_id"])] = LOCAL_DRUG_BASE + i
    crc = {g: first(v) for g, v in cc["colorectal_cancer"].items() if v}
    val = cc["values"]
    tests = {k: {"concept": first(v["concepts"]), **{cat: first(e) for cat, e in v["values"].items()}}
             for k, v in cc["tests"].items()}
    resp_c, best_c = first(cc["response"]["concepts"]), first(cc["response"]["best_response_concepts"])
    resp_v = {k: first(v) for k, v in cc["response"]["values"].items()}
    present, absent = first(val["present"]), first(val["absent"])
    females, males = first(cc["gender"]["female"]), first(cc["gender"]["male"])
    regimen_ep, progression_ep = first(cc["episode"]["treatment_regimen"]), first(cc["episode"]["progression"])

    # --- persons, sites, periods ------------------------------------------------------------------------
    sites = sorted(pts["site"].dropna().unique())
    site_id = {s: i + 1 for i, s in enumerate(sites)}
    for s, i in site_id.items():
        R.add("care_site", care_site_id=i, care_site_name=s, care_site_source_value=f"CS{i:02d}")
    c1 = trt[trt["course"] == 1].set_index("patient_id")
    first_ici = trt.groupby("patient_id")["start_date"].min()
    pid_of = {}
    diag_date, diag_concept = {}, {}
    for i, p in enumerate(pts.itertuples(index=False), start=1):
        pid_of[p.patient_id] = i
        start = first_ici.get(p.patient_id, p.last_contact_date - pd.Timedelta(days=200))
        y, m, d = _birth(start, int(p.age_at_ici_start), rng)
        gender = {"female": females, "male": males}.get(p.sex, 0)
        R.add("person", person_id=i, gender_concept_id=gender, year_of_birth=y, month_of_birth=m, day_of_birth=d,
              race_concept_id=0, ethnicity_concept_id=0, care_site_id=site_id.get(p.site),
              person_source_value=p.patient_id, gender_source_value={"female": "F", "male": "M"}.get(p.sex, "U"))
        dx = start - pd.Timedelta(days=int(rng.integers(60, 900)))
        diag_date[i], diag_concept[i] = dx, crc[p.primary_site]
        end = p.death_date if pd.notna(p.death_date) else p.last_contact_date
        R.add("observation_period", "observation_period_id", person_id=i,
              observation_period_start_date=dx - pd.Timedelta(days=int(rng.integers(30, 400))),
              observation_period_end_date=end, period_type_concept_id=TYPE_EHR)
        if pd.notna(p.death_date):
            R.add("death", person_id=i, death_date=p.death_date, death_type_concept_id=TYPE_EHR)
        R.add("condition_occurrence", "condition_occurrence_id", person_id=i, condition_concept_id=crc[p.primary_site],
              condition_start_date=dx, condition_type_concept_id=TYPE_EHR,
              condition_source_value=p.primary_site.replace("_", " "))

    dead = pts[pts["death_date"].notna()]
    # observation periods ending after death (the adapter uses the death date)
    for pid in dead["patient_id"].to_numpy()[rng.permutation(len(dead))[:DIRTY["observation_end_after_death"]]]:
        row = R.rows["observation_period"][pid_of[pid] - 1]
        row["observation_period_end_date"] = row["observation_period_end_date"] + pd.Timedelta(days=45)
        counts["observation_end_after_death"] += 1
    # later not-otherwise-specified colorectal records (the earliest record decides primary_site)
    for i in sorted(rng.choice(list(pid_of.values()), DIRTY["later_nos_conditions"], replace=False)):
        R.add("condition_occurrence", "condition_occurrence_id", person_id=int(i), condition_concept_id=crc["unknown"],
              condition_start_date=diag_date[i] + pd.Timedelta(days=int(rng.integers(20, 50))),
              condition_type_concept_id=TYPE_EHR, condition_source_value="colon NOS")
        counts["later_nos_conditions"] += 1

    # --- baseline measurements ----------------------------------------------------------------------------
    def meas(i, concept, date, value_concept=None, number=None, source=None, table="measurement"):
        if table == "observation":
            R.add("observation", "observation_id", person_id=i, observation_concept_id=concept, observation_date=date,
                  observation_type_concept_id=TYPE_EHR, value_as_concept_id=value_concept,
                  observation_source_value=source)
        else:
            R.add("measurement", "measurement_id", person_id=i, measurement_concept_id=concept, measurement_date=date,
                  measurement_type_concept_id=TYPE_EHR, value_as_concept_id=value_concept, value_as_number=number,
                  measurement_source_value=source)

    def unmapped(i, concept, date, source):
        if rng.random() < UNMAPPED_SHARE:
            meas(i, concept, date, value_concept=0, source=source)
            counts["unmapped_value_records"] += 1

    lynch_cond = first(cc["lynch_condition"])
    for p in pts.itertuples(index=False):
        i = pid_of[p.patient_id]
        start, dx = first_ici.get(p.patient_id), diag_date[i]
        test_day = dx + pd.Timedelta(days=int(rng.integers(7, 40)))
        for name, col in (("msi_status", "msi_status"), ("mmr_status", "mmr_status"), ("braf_v600e", "braf_v600e")):
            v = getattr(p, col)
            if v == "unknown":
                unmapped(i, tests[name]["concept"], test_day, name)
            else:
                meas(i, tests[name]["concept"], test_day, tests[name][v], source=name)
        if p.ras_status == "wildtype":
            for g in ("kras", "nras"):
                meas(i, tests[g]["concept"], test_day, tests[g]["wildtype"], source=g)
        elif p.ras_status == "mutant":
            g, other = ("kras", "nras") if rng.random() < 0.8 else ("nras", "kras")
            meas(i, tests[g]["concept"], test_day, tests[g]["mutant"], source=g)
            if rng.random() < 0.7:
                meas(i, tests[other]["concept"], test_day, tests[other]["wildtype"], source=other)
        else:  # unknown: nothing, KRAS wild-type only (no extended testing), or an unmapped value
            u = rng.random()
            if u < 0.4:
                meas(i, tests["kras"]["concept"], test_day, tests["kras"]["wildtype"], source="kras")
            elif u < 0.4 + UNMAPPED_SHARE:
                meas(i, tests["kras"]["concept"], test_day, value_concept=0, source="kras")
                counts["unmapped_value_records"] += 1
        if p.lynch_syndrome == "yes" and rng.random() < 0.3:
            R.add("condition_occurrence", "condition_occurrence_id", person_id=i, condition_concept_id=lynch_cond,
                  condition_start_date=test_day, condition_type_concept_id=TYPE_EHR, condition_source_value="Lynch")
        elif p.lynch_syndrome == "unknown":
            unmapped(i, tests["lynch_syndrome"]["concept"], test_day, "lynch_syndrome")
        else:
            meas(i, tests["lynch_syndrome"]["concept"], test_day, tests["lynch_syndrome"][p.lynch_syndrome],
                 source="germline MMR")
        if pd.notna(p.tmb):
            meas(i, first(cc["numeric"]["tmb"]["concepts"]), test_day, number=float(p.tmb), source="TMB mut/Mb")
        if pd.notna(p.ecog):
            meas(i, first(cc["numeric"]["ecog"]["concepts"]), start - pd.Timedelta(days=int(rng.integers(0, 15))),
                 number=float(p.ecog), source="ECOG")
            if rng.random() < 0.5:  # an older ECOG at diagnosis (the one closest to the first dose wins)
                meas(i, first(cc["numeric"]["ecog"]["concepts"]), dx, number=float(min(p.ecog + 1, 4)), source="ECOG")
                counts["older_ecog_records"] += 1
        if p.metastasis_timing != "unknown":
            m = first(cc["m_category"]["m1" if p.metastasis_timing == "synchronous" else "m0"])
            meas(i, m, dx, source="cM")
        for site in ("liver", "lung", "lymph_node", "peritoneum", "bone"):
            v = getattr(p, f"met_{site}")
            spec = cc["metastasis"][site]
            day = dx + pd.Timedelta(days=int(rng.integers(0, 30)))
            if v == "yes" and spec.get("condition") and rng.random() < 0.3:
                R.add("condition_occurrence", "condition_occurrence_id", person_id=i,
                      condition_concept_id=first(spec["condition"]), condition_start_date=day,
                      condition_type_concept_id=TYPE_EHR, condition_source_value=f"secondary {site}")
            elif v in ("yes", "no"):
                meas(i, first(spec["measurement"]), day, present if v == "yes" else absent, source=f"met {site}")

    # --- drug exposures, regimen episodes, best response ----------------------------------------------------
    def expose(i, ingredient, s, e, text=None, source=None):
        name = next((n for n, x in ici.items() if int(x["concept_id"]) == ingredient), "oxaliplatin")
        return R.add("drug_exposure", "drug_exposure_id", person_id=i, drug_concept_id=clinical[ingredient],
                     drug_exposure_start_date=s, drug_exposure_end_date=e, drug_type_concept_id=TYPE_EHR,
                     stop_reason=text, quantity=1, days_supply=int((e - s).days) + 1, route_concept_id=None,
                     drug_source_value=source or DRUG_NAME.get(name, (name, name))[1],
                     drug_source_concept_id=None)

    last_contact = pts.set_index("patient_id")["last_contact_date"]
    interior = []  # (person, ingredient, start, end, stop) of exposures that are neither first nor last
    for c in trt.sort_values(["patient_id", "course"]).itertuples(index=False):
        i = pid_of[c.patient_id]
        stop = c.stop_date if pd.notna(c.stop_date) else last_contact[c.patient_id]
        drugs = regimen_drugs[c.regimen]
        main = drugs[1] if c.regimen == "anti-PD-1" and len(drugs) > 1 and rng.random() < 0.25 else drugs[0]
        schedule = []  # (ingredient, admin date, cycle length)
        a, k = c.start_date, 0
        while a <= stop:
            if c.regimen == "anti-PD-1+anti-CTLA-4" and k < 4:
                schedule += [(int(main["concept_id"]), a, 21), (int(drugs[1]["concept_id"]), a, 21)]
                step = 21
            else:
                step = INTERVAL.get(main["name"], 21)
                schedule.append((int(main["concept_id"]), a, step))
            a, k = a + pd.Timedelta(days=step), k + 1
        text = None
        if pd.notna(c.stop_date):
            texts = STOP_TEXTS[c.stop_reason]
            text = texts[int(rng.integers(0, len(texts)))]
        for n, (ing, s, step) in enumerate(schedule):
            e = min(s + pd.Timedelta(days=step - 1), stop)
            expose(i, ing, s, e, text if e == stop and text else None)
            if 0 < n < len(schedule) - 2 and e < stop:
                interior.append((i, ing, s, e))
        R.add("episode", "episode_id", person_id=i, episode_concept_id=regimen_ep, episode_start_date=c.start_date,
              episode_end_date=c.stop_date if pd.notna(c.stop_date) else None, episode_number=int(c.line),
              episode_object_concept_id=int(main["concept_id"]), episode_type_concept_id=TYPE_EHR,
              episode_source_value=c.regimen)
        if isinstance(c.best_response, str) and c.best_response:
            meas(i, best_c, stop, resp_v[c.best_response], source=f"BOR {c.best_response}")

    # overlapping, duplicated and end-before-start exposures inside courses
    pick = rng.permutation(len(interior))
    kinds = ["duplicated_exposures"] * DIRTY["duplicated_exposures"] + \
        ["overlapping_exposures"] * DIRTY["overlapping_exposures"] + \
        ["end_before_start_exposures"] * DIRTY["end_before_start_exposures"]
    for kind, j in zip(kinds, pick):
        i, ing, s, e = interior[j]
        if kind == "duplicated_exposures":
            expose(i, ing, s, e)
        elif kind == "overlapping_exposures":
            expose(i, ing, s + pd.Timedelta(days=3), e)
        else:
            expose(i, ing, s, s - pd.Timedelta(days=1))
        counts[kind] += 1
    # ICI exposures after death
    for p in dead.iloc[rng.permutation(len(dead))[:DIRTY["ici_after_death_exposures"]]].itertuples(index=False):
        s = p.death_date + pd.Timedelta(days=int(rng.integers(5, 40)))
        expose(pid_of[p.patient_id], int(pd1[0]["concept_id"]), s, s)
        counts["ici_after_death_exposures"] += 1
    # prior FOLFOX (oxaliplatin q14d, 6-12 cycles ending 30-90 days before the first ICI dose)
    later = c1[c1["line"] >= 2].index.to_numpy()
    for pid in sorted(later[rng.permutation(len(later))[:DIRTY["oxaliplatin_persons"]]]):
        end = first_ici[pid] - pd.Timedelta(days=int(rng.integers(30, 90)))
        n = int(rng.integers(6, 13))
        for k in range(n):
            s = end - pd.Timedelta(days=14 * (n - k))
            expose(pid_of[pid], OXALIPLATIN, s, s + pd.Timedelta(days=1), source="FOLFOX oxaliplatin 85 mg/m2")
        counts["oxaliplatin_persons"] += 1

    # --- assessments, progression episodes, ctDNA ------------------------------------------------------------
    obs_site = sites[OBSERVATION_SITE_INDEX] if len(sites) > OBSERVATION_SITE_INDEX else None
    site_of = pts.set_index("patient_id")["site"]
    pd_rows = np.flatnonzero((ass["response"] == "PD").to_numpy())
    pd_only = set(pd_rows[rng.permutation(len(pd_rows))[:DIRTY["pd_only_as_episode"]]])
    for n, r in enumerate(ass.itertuples(index=False)):
        i = pid_of[r.patient_id]
        if r.response == "PD":
            R.add("episode", "episode_id", person_id=i, episode_concept_id=progression_ep, episode_start_date=r.date,
                  episode_object_concept_id=diag_concept[i], episode_type_concept_id=TYPE_EHR,
                  episode_source_value="progression")
            if n in pd_only:
                counts["pd_only_as_episode"] += 1
                continue
        table = "observation" if site_of[r.patient_id] == obs_site else "measurement"
        meas(i, resp_c, r.date, resp_v[r.response], source=f"RECIST {r.response}", table=table)
    for r in ass.iloc[rng.permutation(len(ass))[:DIRTY["duplicated_assessments"]]].itertuples(index=False):
        meas(pid_of[r.patient_id], resp_c, r.date, resp_v[r.response], source=f"RECIST {r.response}")
        counts["duplicated_assessments"] += 1
    for r in ass.iloc[rng.permutation(len(ass))[:DIRTY["ne_assessments"]]].itertuples(index=False):
        meas(pid_of[r.patient_id], resp_c, r.date - pd.Timedelta(days=3), resp_v["NE"], source="RECIST NE")
        counts["ne_assessments"] += 1
    for r in ctd.itertuples(index=False):
        meas(pid_of[r.patient_id], first(cc["ctdna"]["concepts"]), r.date,
             present if r.result == "detected" else absent, source=f"ctDNA {r.result}")

    # --- persons outside the cohort -------------------------------------------------------------------------
    base = len(pid_of)

    def outsider(k, prefix, concept, dx):
        i = base + k
        R.add("person", person_id=i, gender_concept_id=[females, males][k % 2], year_of_birth=1950 + k,
              month_of_birth=3, day_of_birth=14, race_concept_id=0, ethnicity_concept_id=0,
              care_site_id=site_id[sites[k % len(sites)]], person_source_value=f"{prefix}{k:03d}")
        R.add("observation_period", "observation_period_id", person_id=i,
              observation_period_start_date=dx - pd.Timedelta(days=200),
              observation_period_end_date=dx + pd.Timedelta(days=700), period_type_concept_id=TYPE_EHR)
        R.add("condition_occurrence", "condition_occurrence_id", person_id=i, condition_concept_id=concept,
              condition_start_date=dx, condition_type_concept_id=TYPE_EHR)
        return i

    for k in range(1, DIRTY["other_cancer_persons"] + 1):  # breast cancer on pembrolizumab
        dx = pd.Timestamp("2019-01-10") + pd.Timedelta(days=41 * k)
        i = outsider(k, "XBC", OTHER_CANCER, dx)
        for c in range(8):
            s = dx + pd.Timedelta(days=60 + 21 * c)
            expose(i, int(pd1[0]["concept_id"]), s, s + pd.Timedelta(days=20))
        counts["other_cancer_persons"] += 1
    for k in range(DIRTY["other_cancer_persons"] + 1, DIRTY["other_cancer_persons"] + DIRTY["crc_without_ici_persons"] + 1):
        dx = pd.Timestamp("2018-05-02") + pd.Timedelta(days=37 * k)
        i = outsider(k, "XCR", crc["left_colon"], dx)
        for c in range(6):
            s = dx + pd.Timedelta(days=40 + 14 * c)
            expose(i, OXALIPLATIN, s, s + pd.Timedelta(days=1), source="FOLFOX oxaliplatin 85 mg/m2")
        counts["crc_without_ici_persons"] += 1

    # --- vocabulary subset ---------------------------------------------------------------------------------
    concept_rows = _concepts(cc, clinical)
    R.rows["concept"] = concept_rows
    anc = [(c["concept_id"], c["concept_id"], 0) for c in concept_rows if c["standard_concept"] == "S"]
    anc += [(ing, drug, 2) for ing, drug in clinical.items()]
    for group in ("right_colon", "left_colon"):
        anc += [(crc["unknown"], first([e]), 1) for e in cc["colorectal_cancer"][group]]
    R.rows["concept_ancestor"] = [{"ancestor_concept_id": a, "descendant_concept_id": d, "min_levels_of_separation": lv,
                                   "max_levels_of_separation": lv} for a, d, lv in anc]

    for stmt in ddl.create_statements(db.schema):
        db.execute(stmt)
    for name in ddl.TABLES:
        if name == "episode_event":
            continue
        db.load(name, R.frame(name))
    return counts


def _concepts(cc: dict, clinical: dict) -> list[dict]:
    rows: dict[int, dict] = {}

    def add(entries, domain, vocab, cls):
        for e in entries or []:
            cid = int(e["concept_id"])
            if cid not in rows:
                rows[cid] = {"concept_id": cid, "concept_name": str(e.get("name", cid))[:255], "domain_id": domain,
                             "vocabulary_id": vocab, "concept_class_id": cls, "standard_concept": "S",
                             "concept_code": str(e.get("code", cid)), "valid_start_date": pd.Timestamp("1970-01-01"),
                             "valid_end_date": pd.Timestamp("2099-12-31"), "invalid_reason": None}

    add([{"concept_id": 0, "name": "No matching concept", "code": "No matching concept"}], "Metadata", "None",
        "Undefined")
    rows[0]["standard_concept"] = None
    add([{"concept_id": TYPE_EHR, "name": "EHR", "code": "OMOP4976890"}], "Type Concept", "Type Concept",
        "Type Concept")
    for k in ("female", "male"):
        add(cc["gender"][k], "Gender", "Gender", "Gender")
    for entries in cc["colorectal_cancer"].values():
        add(entries, "Condition", "SNOMED", "Clinical Finding")
    add([{"concept_id": OTHER_CANCER, "name": "Malignant tumor of breast", "code": "254837009"}], "Condition",
        "SNOMED", "Clinical Finding")
    add(cc["lynch_condition"], "Condition", "SNOMED", "Clinical Finding")
    for spec in cc["metastasis"].values():
        add(spec.get("measurement"), "Measurement", "Cancer Modifier", "Metastasis")
        add(spec.get("condition"), "Condition", "SNOMED", "Clinical Finding")
    for entries in cc["m_category"].values():
        add(entries, "Measurement", "Cancer Modifier", "Staging/Grading")
    for entries in cc["values"].values():
        add(entries, "Meas Value", "SNOMED", "Qualifier Value")
    for spec in cc["tests"].values():
        add(spec["concepts"], "Measurement", "LOINC", "Lab Test")
        for entries in spec["values"].values():
            add(entries, "Meas Value", "SNOMED", "Qualifier Value")
    for spec in cc["numeric"].values():
        add(spec["concepts"], "Measurement", "LOINC", "Clinical Observation")
    add(cc["response"]["concepts"] + cc["response"]["best_response_concepts"], "Measurement", "LOINC",
        "Clinical Observation")
    for entries in cc["response"]["values"].values():
        add(entries, "Meas Value", "SNOMED", "Qualifier Value")
    add(cc["ctdna"]["concepts"], "Measurement", "LOINC", "Lab Test")
    for entries in cc["episode"].values():
        add(entries, "Episode", "Episode", "Disease Episode")
    add(cc["ici_ingredients"] + [{"concept_id": OXALIPLATIN, "name": "oxaliplatin"}], "Drug", "RxNorm", "Ingredient")
    names = {int(e["concept_id"]): e["name"] for e in cc["ici_ingredients"]} | {OXALIPLATIN: "oxaliplatin"}
    for ing, drug in clinical.items():
        nm = DRUG_NAME.get(names[ing], (f"{names[ing]} 5 MG/ML Injectable Solution",))[0]
        add([{"concept_id": drug, "name": nm, "code": f"ICISTOP{drug - LOCAL_DRUG_BASE + 1:03d}"}], "Drug", "icistop",
            "Clinical Drug")
    return [rows[k] for k in sorted(rows)]


def read_contract(data_dir) -> dict:
    """The contract tables of a data directory (CSV, as resources/example)."""
    from pathlib import Path

    d = Path(data_dir)
    out = {name: pd.read_csv(d / f"{name}.csv", dtype={"patient_id": str}, keep_default_na=False, na_values=[""])
           for name in ("patients", "treatments", "assessments", "ctdna") if (d / f"{name}.csv").exists()}
    return out


def main(argv=None) -> None:
    """``python -m icistop.data.synth omop --data DIR --out FILE.duckdb``: write the OMOP instance of a cohort."""
    import argparse
    from pathlib import Path

    from icistop.data.omop.concepts import load_concepts
    from icistop.data.omop.db import connect

    ap = argparse.ArgumentParser(prog="python -m icistop.data.synth omop", description=main.__doc__.splitlines()[0])
    ap.add_argument("--data", default="resources/example", help="contract tables (CSV directory)")
    ap.add_argument("--out", default="resources/omop_example/omop_cdm.duckdb", help="DuckDB file to (re)write")
    ap.add_argument("--concepts", default="config/omop_concepts.yaml", help="concept file (first concept of each list)")
    ap.add_argument("--seed", type=int, default=20240930)
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for f in (out, out.with_name(out.name + ".wal")):
        f.unlink(missing_ok=True)
    import duckdb

    with duckdb.connect() as con:  # an empty file with 16 KiB blocks: the instance takes < 1 MB instead of 3 MB
        con.execute(f"ATTACH '{out}' AS target (BLOCK_SIZE 16384)")
        con.execute("DETACH target")
    db = connect(duckdb_path=str(out), schema="main", read_only=False, create=True)
    try:
        counts = write_omop(read_contract(a.data), db, load_concepts(a.concepts), seed=a.seed)
        db.execute("CHECKPOINT")
    finally:
        db.close()
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB); dirty records: "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))

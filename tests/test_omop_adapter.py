"""OMOP adapter rules on small hand-built instances (docs/omop-mapping.md), one rule per test."""

from pathlib import Path

import pandas as pd
import pytest

from icistop.data.issues import DataError, UserError
from icistop.data.omop import ddl
from icistop.data.omop.adapter import OmopSettings, import_omop, regimen_of
from icistop.data.omop.concepts import load_concepts
from icistop.data.omop.db import connect, safe_url

ROOT = Path(__file__).resolve().parents[1]
CONCEPTS = load_concepts(ROOT / "config" / "omop_concepts.yaml")
C = {  # first concept of each list, as the synthetic writer uses them
    "right_colon": CONCEPTS["colorectal_cancer"]["right_colon"][0]["concept_id"],
    "rectum": CONCEPTS["colorectal_cancer"]["rectum"][0]["concept_id"],
    "pembro": next(e["concept_id"] for e in CONCEPTS["ici_ingredients"] if e["name"] == "pembrolizumab"),
    "nivo": next(e["concept_id"] for e in CONCEPTS["ici_ingredients"] if e["name"] == "nivolumab"),
    "ipi": next(e["concept_id"] for e in CONCEPTS["ici_ingredients"] if e["name"] == "ipilimumab"),
    "msi": CONCEPTS["tests"]["msi_status"]["concepts"][0]["concept_id"],
    "msi_h": CONCEPTS["tests"]["msi_status"]["values"]["MSI-H"][0]["concept_id"],
    "tmb": CONCEPTS["numeric"]["tmb"]["concepts"][0]["concept_id"],
    "ecog": CONCEPTS["numeric"]["ecog"]["concepts"][0]["concept_id"],
    "resp": CONCEPTS["response"]["concepts"][0]["concept_id"],
    "PD": CONCEPTS["response"]["values"]["PD"][0]["concept_id"],
    "CR": CONCEPTS["response"]["values"]["CR"][0]["concept_id"],
    "NE": CONCEPTS["response"]["values"]["NE"][0]["concept_id"],
    "kras": CONCEPTS["tests"]["kras"]["concepts"][0]["concept_id"],
    "nras": CONCEPTS["tests"]["nras"]["concepts"][0]["concept_id"],
    "detected": CONCEPTS["tests"]["kras"]["values"]["mutant"][0]["concept_id"],
    "not_detected": CONCEPTS["tests"]["kras"]["values"]["wildtype"][0]["concept_id"],
    "regimen_episode": CONCEPTS["episode"]["treatment_regimen"][0]["concept_id"],
    "m1": CONCEPTS["m_category"]["m1"][0]["concept_id"],
}
CLINICAL_DRUG = 9_000_001  # a clinical-drug concept below pembrolizumab


def _instance(tmp_path, persons, exposures, conditions=None, measurements=None, deaths=None, episodes=None,
              obs_end="2024-12-31", extra_sql=()):
    db = connect(duckdb_path=str(tmp_path / "cdm.duckdb"), schema="main", create=True, read_only=False)
    for stmt in ddl.create_statements("main"):
        db.execute(stmt)
    ing = [e["concept_id"] for e in CONCEPTS["ici_ingredients"]]
    db.load("concept_ancestor", pd.DataFrame({"ancestor_concept_id": ing + [C["pembro"]],
                                              "descendant_concept_id": ing + [CLINICAL_DRUG],
                                              "min_levels_of_separation": [0] * len(ing) + [2],
                                              "max_levels_of_separation": [0] * len(ing) + [2]}))
    p = pd.DataFrame(persons)
    p = p.assign(race_concept_id=0, ethnicity_concept_id=0)
    db.load("person", p)
    db.load("observation_period", pd.DataFrame({
        "observation_period_id": range(1, len(p) + 1), "person_id": p["person_id"],
        "observation_period_start_date": pd.to_datetime("2015-01-01").date(),
        "observation_period_end_date": pd.to_datetime(obs_end).date(), "period_type_concept_id": 32817}))
    conds = conditions if conditions is not None else [
        {"person_id": pid, "condition_concept_id": C["right_colon"], "condition_start_date": "2019-06-01"}
        for pid in p["person_id"]]
    cf = pd.DataFrame(conds)
    cf["condition_start_date"] = pd.to_datetime(cf["condition_start_date"]).dt.date
    db.load("condition_occurrence", cf.assign(condition_occurrence_id=range(1, len(cf) + 1), condition_type_concept_id=32817))
    ef = pd.DataFrame(exposures)
    for col in ("drug_exposure_start_date", "drug_exposure_end_date"):
        ef[col] = pd.to_datetime(ef[col]).dt.date
    if "stop_reason" not in ef:
        ef["stop_reason"] = None
    db.load("drug_exposure", ef.assign(drug_exposure_id=range(1, len(ef) + 1), drug_type_concept_id=32817))
    if measurements:
        mf = pd.DataFrame(measurements)
        mf["measurement_date"] = pd.to_datetime(mf["measurement_date"]).dt.date
        db.load("measurement", mf.assign(measurement_id=range(1, len(mf) + 1), measurement_type_concept_id=32817))
    if deaths:
        dfr = pd.DataFrame(deaths)
        dfr["death_date"] = pd.to_datetime(dfr["death_date"]).dt.date
        db.load("death", dfr)
    if episodes:
        ep = pd.DataFrame(episodes)
        ep["episode_start_date"] = pd.to_datetime(ep["episode_start_date"]).dt.date
        db.load("episode", ep.assign(episode_id=range(1, len(ep) + 1), episode_object_concept_id=0,
                                     episode_type_concept_id=32817))
    for stmt in extra_sql:
        db.execute(stmt)
    db.close()
    return connect(duckdb_path=str(tmp_path / "cdm.duckdb"), schema="main")


def person(pid, **kw):
    return {"person_id": pid, "gender_concept_id": 8532, "year_of_birth": 1960, "month_of_birth": 3, "day_of_birth": 15,
            "person_source_value": f"P{pid}", **kw}


def dose(pid, start, end=None, drug=None, reason=None):
    return {"person_id": pid, "drug_concept_id": drug or C["pembro"], "drug_exposure_start_date": start,
            "drug_exposure_end_date": end or start, "stop_reason": reason}


def test_courses_gap_overlap_ongoing_and_reasons(tmp_path):
    exposures = [
        # person 1: two administrations, then a 200-day gap -> second course (ongoing at last contact)
        dose(1, "2020-01-01", "2020-01-21"), dose(1, "2020-01-10", "2020-01-30"),  # overlapping
        dose(1, "2020-02-01", "2020-02-21", reason="Completed 2 years"),
        dose(1, "2024-11-01", "2024-11-21"), dose(1, "2024-12-01", "2024-12-20"),
        # person 2: stop for colitis, via a clinical drug concept below the ingredient
        dose(2, "2021-03-01", "2021-03-21", drug=CLINICAL_DRUG), dose(2, "2021-03-22", "2021-04-11", reason="irAE colitis"),
        # person 3: nivolumab + ipilimumab, no text, died 10 days after the last dose; a dose after death
        dose(3, "2022-01-01", "2022-01-14", drug=C["nivo"]), dose(3, "2022-01-01", "2022-01-14", drug=C["ipi"]),
        dose(3, "2023-01-01", "2023-01-10", drug=C["nivo"]),
        # person 4: text that matches no expression -> other
        dose(4, "2021-05-01", "2021-05-21", reason="xyz"),
    ]
    db = _instance(tmp_path, [person(i) for i in (1, 2, 3, 4)], exposures,
                   deaths=[{"person_id": 3, "death_date": "2022-01-24"}])
    tables, mapping = import_omop(db, CONCEPTS)
    t = tables["treatments"].set_index(["patient_id", "course"])
    assert t.loc[("P1", 1), "start_date"] == "2020-01-01" and t.loc[("P1", 1), "stop_date"] == "2020-02-21"
    assert t.loc[("P1", 1), "stop_reason"] == "planned_completion"
    assert pd.isna(t.loc[("P1", 2), "stop_date"]) and pd.isna(t.loc[("P1", 2), "stop_reason"])  # ongoing
    assert t.loc[("P2", 1), "stop_reason"] == "toxicity" and t.loc[("P2", 1), "regimen"] == "anti-PD-1"
    assert t.loc[("P3", 1), "regimen"] == "anti-PD-1+anti-CTLA-4"
    assert t.loc[("P3", 1), "stop_reason"] == "death" and t.loc[("P3", 1), "stop_date"] == "2022-01-14"
    assert ("P3", 2) not in t.index  # exposure after death dropped
    assert t.loc[("P4", 1), "stop_reason"] == "other"
    p = tables["patients"].set_index("patient_id")
    assert p.loc["P3", "death_date"] == "2022-01-24" and p.loc["P3", "last_contact_date"] == "2022-01-24"
    assert p.loc["P1", "last_contact_date"] == "2024-12-31"
    assert p.loc["P1", "age_at_ici_start"] == 59  # born 1960-03-15, first dose 2020-01-01
    drops = mapping.set_index("rule")
    row = drops.loc["ICI exposures of the cohort, before the person's death"]
    assert row["records_dropped"] == 1 and "1 dated after death" in row["detail"] and "overlapping" in row["detail"]
    assert (mapping["records_in"] - mapping["records_used"] == mapping["records_dropped"]).all()


def test_measurements_ras_window_and_unmapped(tmp_path):
    m = [
        # person 1: MSI-H before the first dose; KRAS and NRAS wild-type -> RAS wild-type; TMB twice (latest wins)
        {"person_id": 1, "measurement_concept_id": C["msi"], "measurement_date": "2019-07-01", "value_as_concept_id": C["msi_h"]},
        {"person_id": 1, "measurement_concept_id": C["kras"], "measurement_date": "2019-07-01", "value_as_concept_id": C["not_detected"]},
        {"person_id": 1, "measurement_concept_id": C["nras"], "measurement_date": "2019-07-01", "value_as_concept_id": C["not_detected"]},
        {"person_id": 1, "measurement_concept_id": C["tmb"], "measurement_date": "2019-07-01", "value_as_number": 30.0},
        {"person_id": 1, "measurement_concept_id": C["tmb"], "measurement_date": "2019-12-01", "value_as_number": 42.5},
        {"person_id": 1, "measurement_concept_id": C["tmb"], "measurement_date": "2021-01-01", "value_as_number": 99.0},  # after window
        {"person_id": 1, "measurement_concept_id": C["ecog"], "measurement_date": "2019-12-20", "value_as_number": 1.0},
        {"person_id": 1, "measurement_concept_id": C["m1"], "measurement_date": "2019-06-01", "value_as_concept_id": 0},
        # person 2: KRAS wild-type only -> RAS unknown; MSI value without a mapping -> unknown
        {"person_id": 2, "measurement_concept_id": C["kras"], "measurement_date": "2019-07-01", "value_as_concept_id": C["not_detected"]},
        {"person_id": 2, "measurement_concept_id": C["msi"], "measurement_date": "2019-07-01", "value_as_concept_id": 0},
        # person 3: NRAS mutant -> RAS mutant; responses (NE dropped)
        {"person_id": 3, "measurement_concept_id": C["nras"], "measurement_date": "2019-07-01", "value_as_concept_id": C["detected"]},
        {"person_id": 3, "measurement_concept_id": C["resp"], "measurement_date": "2020-03-01", "value_as_concept_id": C["CR"]},
        {"person_id": 3, "measurement_concept_id": C["resp"], "measurement_date": "2020-06-01", "value_as_concept_id": C["NE"]},
    ]
    m[7]["measurement_concept_id"] = C["m1"]
    exposures = [dose(i, "2020-01-01", "2020-06-01", reason="progression") for i in (1, 2, 3)]
    db = _instance(tmp_path, [person(i) for i in (1, 2, 3)], exposures, measurements=m)
    tables, mapping = import_omop(db, CONCEPTS)
    p = tables["patients"].set_index("patient_id")
    assert p.loc["P1", "msi_status"] == "MSI-H" and p.loc["P2", "msi_status"] == "unknown"
    assert list(p["ras_status"]) == ["wildtype", "unknown", "mutant"]
    assert p.loc["P1", "tmb"] == 42.5 and pd.isna(p.loc["P2", "tmb"])
    assert p.loc["P1", "ecog"] == 1 and pd.isna(p.loc["P3", "ecog"])
    assert p.loc["P1", "metastasis_timing"] == "synchronous" and p.loc["P2", "metastasis_timing"] == "unknown"
    assert p.loc["P1", "met_liver"] == "unknown"
    a = tables["assessments"]
    assert a.to_dict("records") == [{"patient_id": "P3", "date": "2020-03-01", "response": "CR"}]
    msi_row = mapping[mapping["rule"].str.startswith("msi_status")].iloc[0]
    assert msi_row["records_in"] == 2 and "1 values without a mapping" in msi_row["detail"]


def test_mmr_loss_of_any_stain_is_dmmr(tmp_path):
    """One immune stain per MMR protein: the latest result of each stain counts and loss of any one is dMMR,
    even when an intact stain is recorded later the same day (it would win as 'latest record')."""
    mmr = CONCEPTS["tests"]["mmr_status"]
    stains = [c["concept_id"] for c in mmr["concepts"]]
    assert len(stains) == 4 and mmr["any_result"] == "dMMR"
    loss, intact = mmr["values"]["dMMR"][0]["concept_id"], mmr["values"]["pMMR"][0]["concept_id"]

    def stain(pid, k, value, date="2019-07-01"):
        return {"person_id": pid, "measurement_concept_id": stains[k], "measurement_date": date, "value_as_concept_id": value}

    m = ([stain(1, 0, loss)] + [stain(1, k, intact) for k in (1, 2, 3)]   # MLH1 lost -> dMMR
         + [stain(2, k, intact) for k in range(4)]                           # all intact -> pMMR
         + [stain(3, 3, loss, "2019-05-01"), stain(3, 3, intact, "2019-08-01")])  # PMS2 re-stained intact -> pMMR
    db = _instance(tmp_path, [person(i) for i in (1, 2, 3)], [dose(i, "2020-01-01", "2020-06-01") for i in (1, 2, 3)],
                   measurements=m)
    p = import_omop(db, CONCEPTS)[0]["patients"].set_index("patient_id")
    assert p["mmr_status"].to_dict() == {"P1": "dMMR", "P2": "pMMR", "P3": "pMMR"}


def test_condition_descendant_takes_its_closest_group(tmp_path):
    """A descendant of a site concept and of the not-otherwise-specified colon concept gets the site."""
    crc = CONCEPTS["colorectal_cancer"]
    nos, right = crc["unknown"][0]["concept_id"], crc["right_colon"][0]["concept_id"]
    child = 2_100_000_001
    sql = [f"INSERT INTO concept_ancestor VALUES ({nos}, {child}, 2, 2)",
           f"INSERT INTO concept_ancestor VALUES ({right}, {child}, 1, 1)",
           f"INSERT INTO concept_ancestor VALUES ({nos}, {right}, 1, 1)"]
    conditions = [{"person_id": 1, "condition_concept_id": child, "condition_start_date": "2019-06-01"}]
    db = _instance(tmp_path, [person(1)], [dose(1, "2020-01-01", "2020-06-01")], conditions=conditions, extra_sql=sql)
    p = import_omop(db, CONCEPTS)[0]["patients"]
    assert p["primary_site"].tolist() == ["right_colon"]


def test_line_from_episode_and_persons_outside_cohort(tmp_path):
    persons = [person(1), person(2), person(3)]
    conditions = [{"person_id": 1, "condition_concept_id": C["rectum"], "condition_start_date": "2019-01-01"},
                  {"person_id": 2, "condition_concept_id": C["right_colon"], "condition_start_date": "2019-01-01"},
                  {"person_id": 3, "condition_concept_id": 4112752, "condition_start_date": "2019-01-01"}]  # not CRC
    exposures = [dose(1, "2020-01-05", "2020-02-01", reason="toxicity"), dose(3, "2020-01-05")]
    episodes = [{"person_id": 1, "episode_concept_id": C["regimen_episode"], "episode_start_date": "2020-01-01",
                 "episode_number": 2}]
    db = _instance(tmp_path, persons, exposures, conditions=conditions, episodes=episodes)
    tables, mapping = import_omop(db, CONCEPTS)
    assert list(tables["patients"]["patient_id"]) == ["P1"]
    assert tables["patients"].loc[0, "primary_site"] == "rectum"
    assert tables["treatments"].loc[0, "line"] == 2
    cohort = mapping.set_index("rule").loc["cohort: colorectal cancer and an ICI exposure"]
    assert cohort["records_in"] == 3 and cohort["records_used"] == 1
    assert "1 without a colorectal cancer condition, 1 with colorectal cancer but no ICI exposure" == cohort["detail"]


def test_bad_values_name_table_record_and_column(tmp_path):
    m = [{"person_id": 1, "measurement_concept_id": C["tmb"], "measurement_date": "2019-07-01", "value_as_number": -3.0}]
    db = _instance(tmp_path, [person(1)], [dose(1, "2020-01-01", reason="toxicity")], measurements=m)
    with pytest.raises(DataError) as err:
        import_omop(db, CONCEPTS)
    text = str(err.value)
    assert "OMOP main.measurement" in text and "column 'value_as_number'" in text and "measurement_id 1" in text
    assert "expected a value >= 0" in text


def test_missing_table_or_column_is_one_line(tmp_path):
    db = _instance(tmp_path, [person(1)], [dose(1, "2020-01-01")], extra_sql=["DROP TABLE main.death"])
    with pytest.raises(UserError, match=r"table main\.death not found"):
        import_omop(db, CONCEPTS)
    with pytest.raises(UserError, match="file not found"):
        connect(duckdb_path=str(tmp_path / "nope.duckdb"))


def test_postgres_url_never_shown(monkeypatch):
    assert safe_url("postgresql://alice:s3cret@db.example:5432/cdm") == "postgresql://alice:***@db.example:5432/cdm"
    monkeypatch.setenv("ICISTOP_TEST_PG", "postgresql://alice:s3cret@127.0.0.1:1/cdm")
    with pytest.raises(UserError) as err:
        connect(url_env="ICISTOP_TEST_PG")
    assert "s3cret" not in str(err.value) and "cannot be reached" in str(err.value)
    assert "\n" not in str(err.value)
    monkeypatch.delenv("ICISTOP_TEST_PG")
    with pytest.raises(UserError, match="ICISTOP_TEST_PG is not set"):
        connect(url_env="ICISTOP_TEST_PG")


@pytest.mark.parametrize("classes, regimen", [
    ({"PD-1"}, "anti-PD-1"), ({"PD-L1"}, "anti-PD-L1"), ({"PD-1", "CTLA-4"}, "anti-PD-1+anti-CTLA-4"),
    ({"PD-L1", "CTLA-4"}, "anti-PD-1+anti-CTLA-4"), ({"CTLA-4"}, "other"), ({"PD-1", "PD-L1"}, "other"),
    ({"PD-1", "LAG-3"}, "other")])
def test_regimen_classes(classes, regimen):
    assert regimen_of(frozenset(classes)) == regimen


def test_settings_from_config_keys_match_schema():
    import yaml
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    props = set(schema["properties"]["omop"]["properties"]) - {"database", "url_env", "cdm_schema", "concepts"}
    assert props == set(OmopSettings.__dataclass_fields__)
    for key, spec in schema["properties"]["omop"]["properties"].items():
        if key in OmopSettings.__dataclass_fields__:
            assert spec["default"] == OmopSettings.__dataclass_fields__[key].default, key

"""The synthetic OMOP instance writer (icistop.data.synth.omop) and the bundled resources/omop_example instance.

The round trip through the adapter is tested in tests/test_omop.py; here: the instance is a well-formed CDM v5.4
subset (tables, columns, NOT NULL columns filled, concept and concept_ancestor rows for every concept used), every
kind of dirty record is present as intended, two writes are identical, and the committed instance equals a fresh one.
"""

from pathlib import Path

import pandas as pd
import pytest

from icistop.data.omop import ddl
from icistop.data.omop.concepts import load_concepts
from icistop.data.omop.db import connect
from icistop.data.synth.omop import DIRTY, STOP_TEXTS, read_contract, stop_reason_of, write_omop

ROOT = Path(__file__).resolve().parents[1]
CONCEPTS = load_concepts(ROOT / "config" / "omop_concepts.yaml")
EXAMPLE = read_contract(ROOT / "resources" / "example")
BUNDLED = ROOT / "resources" / "omop_example" / "omop_cdm.duckdb"
TABLES = [t for t in ddl.TABLES]


def _write(path):
    db = connect(duckdb_path=str(path), schema="main", read_only=False, create=True)
    counts = write_omop(EXAMPLE, db, CONCEPTS)
    return db, counts


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    db, counts = _write(tmp_path_factory.mktemp("omop") / "cdm.duckdb")
    yield db, counts
    db.close()


def _table(db, name):
    cols = [c for c, _, _ in ddl.TABLES[name]]
    return db.query(f"SELECT * FROM main.{name} ORDER BY {', '.join(cols)}")


def test_tables_columns_and_not_null(instance):
    db, _ = instance
    for name, spec in ddl.TABLES.items():
        assert db.has_table(name), name
        assert db.columns(name) == [c for c, _, _ in spec], name
        frame = _table(db, name)
        if name != "episode_event":
            assert len(frame) > 0, name
        for col, _, required in spec:
            if required:
                assert frame[col].notna().all(), f"{name}.{col} has NULLs"
    stop = db.query("SELECT stop_reason FROM main.drug_exposure WHERE stop_reason IS NOT NULL")["stop_reason"]
    assert stop.str.len().max() <= 20


def test_every_concept_has_a_concept_row_and_drugs_descend_from_ingredients(instance):
    db, _ = instance
    known = set(db.query("SELECT concept_id FROM main.concept")["concept_id"])
    used = set()
    for table, cols in {"person": ["gender_concept_id"], "condition_occurrence": ["condition_concept_id"],
                        "drug_exposure": ["drug_concept_id", "drug_type_concept_id"],
                        "measurement": ["measurement_concept_id", "value_as_concept_id"],
                        "observation": ["observation_concept_id", "value_as_concept_id"],
                        "episode": ["episode_concept_id", "episode_object_concept_id"]}.items():
        for c in cols:
            used |= set(db.query(f"SELECT DISTINCT {c} AS c FROM main.{table} WHERE {c} IS NOT NULL")["c"])
    assert used <= known, sorted(used - known)
    pairs = db.query("""SELECT DISTINCT d.drug_concept_id, a.ancestor_concept_id, c.concept_class_id
                        FROM main.drug_exposure d JOIN main.concept_ancestor a ON a.descendant_concept_id = d.drug_concept_id
                        JOIN main.concept c ON c.concept_id = a.ancestor_concept_id
                        WHERE a.min_levels_of_separation > 0""")
    drugs = set(db.query("SELECT DISTINCT drug_concept_id FROM main.drug_exposure")["drug_concept_id"])
    assert set(pairs["drug_concept_id"]) == drugs  # every clinical drug sits below exactly one ingredient
    assert (pairs["concept_class_id"] == "Ingredient").all() and pairs["drug_concept_id"].is_unique
    ici = {int(e["concept_id"]) for e in CONCEPTS["ici_ingredients"]}
    assert {"pembrolizumab", "nivolumab", "ipilimumab", "atezolizumab", "relatlimab"} <= set(
        db.query(f"SELECT concept_name FROM main.concept WHERE concept_id IN ({','.join(map(str, ici))})")
        ["concept_name"])


def test_dirty_records_present_as_intended(instance):
    db, counts = instance
    for kind, n in DIRTY.items():
        assert counts[kind] > 0, kind
        if n:
            assert counts[kind] == n, kind
    q = lambda sql: int(db.query(sql)["n"].iloc[0])  # noqa: E731
    n_persons = len(EXAMPLE["patients"])
    outsiders = DIRTY["other_cancer_persons"] + DIRTY["crc_without_ici_persons"]
    assert q("SELECT count(*) AS n FROM main.person") == n_persons + outsiders
    assert q("SELECT count(*) AS n FROM main.drug_exposure d JOIN main.death x USING (person_id) "
             "WHERE d.drug_exposure_start_date > x.death_date") == DIRTY["ici_after_death_exposures"]
    assert q("SELECT count(*) AS n FROM main.drug_exposure WHERE drug_exposure_end_date < drug_exposure_start_date") \
        == DIRTY["end_before_start_exposures"]
    assert q("SELECT count(*) AS n FROM (SELECT person_id, drug_concept_id, drug_exposure_start_date, drug_exposure_end_date "
             "FROM main.drug_exposure GROUP BY ALL HAVING count(*) > 1)") == DIRTY["duplicated_exposures"]
    assert q("SELECT count(DISTINCT d.person_id) AS n FROM main.drug_exposure d JOIN main.concept_ancestor a "
             "ON a.descendant_concept_id = d.drug_concept_id WHERE a.ancestor_concept_id = 1318011") \
        == DIRTY["oxaliplatin_persons"] + DIRTY["crc_without_ici_persons"]
    assert q("SELECT count(*) AS n FROM main.measurement WHERE value_as_concept_id = 0") \
        == counts["unmapped_value_records"]
    assert q("SELECT count(*) AS n FROM main.observation_period o JOIN main.death d USING (person_id) "
             "WHERE o.observation_period_end_date > d.death_date") == DIRTY["observation_end_after_death"]
    assert q("SELECT count(*) AS n FROM main.person WHERE person_source_value LIKE 'X%'") == outsiders


def test_unmapped_values_only_where_the_contract_is_unknown(instance):
    db, _ = instance
    m = db.query("SELECT p.person_source_value AS patient_id, m.measurement_source_value AS test "
                 "FROM main.measurement m JOIN main.person p USING (person_id) WHERE m.value_as_concept_id = 0")
    pts = EXAMPLE["patients"].set_index("patient_id")
    col = {"msi_status": "msi_status", "mmr_status": "mmr_status", "braf_v600e": "braf_v600e", "kras": "ras_status",
           "lynch_syndrome": "lynch_syndrome"}
    assert set(m["test"]) <= set(col)
    assert all(pts.loc[r.patient_id, col[r.test]] == "unknown" for r in m.itertuples())


def test_exposures_start_and_end_courses_and_carry_the_stop_text(instance):
    db, _ = instance
    d = db.query("""SELECT p.person_source_value AS patient_id, d.drug_exposure_start_date AS s,
                           d.drug_exposure_end_date AS e, d.stop_reason FROM main.drug_exposure d
                    JOIN main.person p USING (person_id) JOIN main.concept_ancestor a ON a.descendant_concept_id = d.drug_concept_id
                    LEFT JOIN main.death x ON x.person_id = d.person_id
                    WHERE a.min_levels_of_separation > 0 AND a.ancestor_concept_id <> 1318011
                      AND (x.death_date IS NULL OR d.drug_exposure_start_date <= x.death_date)""")
    d["s"], d["e"] = pd.to_datetime(d["s"]), pd.to_datetime(d["e"])
    t = EXAMPLE["treatments"].copy()
    t["start_date"], t["stop_date"] = pd.to_datetime(t["start_date"]), pd.to_datetime(t["stop_date"])
    lc = pd.to_datetime(EXAMPLE["patients"].set_index("patient_id")["last_contact_date"])
    for c in t.itertuples():
        stop = c.stop_date if pd.notna(c.stop_date) else lc[c.patient_id]
        x = d[(d["patient_id"] == c.patient_id) & (d["s"] >= c.start_date) & (d["s"] <= stop)]
        assert x["s"].min() == c.start_date and x["e"].max() == stop
        texts = set(x["stop_reason"].dropna())
        if pd.isna(c.stop_date):
            assert not texts
        else:
            assert len(texts) == 1 and stop_reason_of(texts.pop(), CONCEPTS["stop_reasons"]) == c.stop_reason
            assert x.loc[x["e"] == stop, "stop_reason"].notna().any()


def test_stop_texts_fit_and_map_back():
    for reason, texts in STOP_TEXTS.items():
        for text in texts:
            assert len(text) <= 20 and stop_reason_of(text, CONCEPTS["stop_reasons"]) == reason, text


def test_deterministic(tmp_path, instance):
    db1, c1 = instance
    db2, c2 = _write(tmp_path / "again.duckdb")
    try:
        assert c1 == c2
        for name in TABLES:
            pd.testing.assert_frame_equal(_table(db1, name), _table(db2, name), check_dtype=True)
    finally:
        db2.close()


def test_bundled_instance_equals_a_fresh_write(instance):
    """resources/omop_example/omop_cdm.duckdb is what `python -m icistop.data.synth omop` writes today."""
    db, _ = instance
    bundled = connect(duckdb_path=str(BUNDLED), schema="main")
    try:
        for name in TABLES:
            pd.testing.assert_frame_equal(_table(bundled, name), _table(db, name), check_dtype=True,
                                          obj=f"{name} (regenerate: python -m icistop.data.synth omop)")
    finally:
        bundled.close()

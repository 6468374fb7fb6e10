"""The OMOP adapter on PostgreSQL: the synthetic example instance written into a fresh schema gives the same
contract tables and mapping report as the bundled DuckDB instance; a wrong password is a one-line error.

Needs a server: `make test-postgres` starts one (tests/postgres/start_postgres.sh) and sets
OMOP_TEST_DATABASE_URL. Without that variable the tests skip with a reason, except when CI=true (they must run).
"""

import os
import re
import uuid
from pathlib import Path

import pandas as pd
import pytest

from icistop.data.issues import UserError
from icistop.data.omop import ddl
from icistop.data.omop.adapter import OmopSettings, import_omop
from icistop.data.omop.concepts import load_concepts
from icistop.data.omop.db import connect
from icistop.data.synth.omop import read_contract, write_omop

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[1]
ENV = "OMOP_TEST_DATABASE_URL"
CONCEPTS = load_concepts(ROOT / "config" / "omop_concepts.yaml")
BUNDLED = ROOT / "resources" / "omop_example" / "omop_cdm.duckdb"


@pytest.fixture(scope="module")
def url():
    value = os.environ.get(ENV)
    if not value:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {ENV} is not set: the PostgreSQL test must run in CI (make test-postgres)")
        pytest.skip(f"{ENV} is not set (run `make test-postgres`, which starts a local server)")
    return value


@pytest.fixture(scope="module")
def postgres_instance(url):
    schema = f"icistop_test_{uuid.uuid4().hex[:10]}"
    db = connect(url_env=ENV, schema=schema, read_only=False)
    try:
        write_omop(read_contract(ROOT / "resources" / "example"), db, CONCEPTS)
        yield db
    finally:
        db.conn.rollback()
        db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        db.close()


def _table(db, name):
    cols = [c for c, _, _ in ddl.TABLES[name]]
    frame = db.query(f"SELECT * FROM {db.table(name)} ORDER BY {', '.join(cols)}")
    for c, typ, _ in ddl.TABLES[name]:  # driver types differ (Decimal, date, Int32); compare values
        if typ == "NUMERIC":
            frame[c] = pd.to_numeric(frame[c]).astype(float)
        elif typ == "DATE":
            frame[c] = pd.to_datetime(frame[c]).astype("datetime64[ns]")
        elif typ in ("INTEGER", "BIGINT"):
            frame[c] = frame[c].astype("Int64")
        else:
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return frame


def test_same_instance_in_postgres_and_duckdb(postgres_instance):
    duck = connect(duckdb_path=str(BUNDLED), schema="main")
    try:
        for name in ddl.TABLES:
            pd.testing.assert_frame_equal(_table(postgres_instance, name), _table(duck, name), obj=name)
    finally:
        duck.close()


def test_adapter_gives_identical_tables_and_mapping(postgres_instance):
    duck = connect(duckdb_path=str(BUNDLED), schema="main")
    try:
        ref_tables, ref_mapping = import_omop(duck, CONCEPTS, OmopSettings())
    finally:
        duck.close()
    tables, mapping = import_omop(postgres_instance, CONCEPTS, OmopSettings())
    assert set(tables) == set(ref_tables)
    for name in ref_tables:
        pd.testing.assert_frame_equal(tables[name], ref_tables[name], obj=name)
    pd.testing.assert_frame_equal(mapping, ref_mapping, obj="mapping report")
    assert len(tables["patients"]) == 800


def test_wrong_password_is_one_line_without_the_password(url, monkeypatch):
    secret = "Wr0ng-s3cret-pw"
    bad = re.sub(r"(://[^:/@]+)(:[^@]*)?@", rf"\1:{secret}@", url, count=1)
    assert secret in bad
    monkeypatch.setenv(ENV, bad)
    with pytest.raises(UserError) as err:
        connect(url_env=ENV, schema="main")
    message = str(err.value)
    assert secret not in message and "\n" not in message
    assert "cannot be reached" in message and "***" in message

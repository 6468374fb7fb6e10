"""Database access for the OMOP adapter: DuckDB (embedded file) or PostgreSQL (URL from an environment variable).

One small interface over both drivers: ``query`` returns a DataFrame, ``load`` bulk-inserts one. The
PostgreSQL URL is read from the environment only and never written to a log or an error message; a
database that cannot be reached raises UserError with one line that names the target without password.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from icistop.data.issues import UserError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def safe_url(url: str) -> str:
    """The URL with any password replaced by ***."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def identifier(name: str, what: str = "schema") -> str:
    if not _IDENTIFIER.match(name or ""):
        raise UserError(f"OMOP {what} name '{name}' is not a plain SQL identifier (letters, digits, underscore)")
    return name


@dataclass
class Database:
    kind: str  # "duckdb" or "postgresql"
    conn: object
    schema: str
    label: str  # what to call it in messages (file path, or URL without password)

    def table(self, name: str) -> str:
        return f"{self.schema}.{identifier(name, 'table')}"

    def query(self, sql: str) -> pd.DataFrame:
        if self.kind == "duckdb":
            return self.conn.execute(sql).df()
        with self.conn.cursor() as cur:
            cur.execute(sql)
            cols = [d.name for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=cols)

    def execute(self, sql: str) -> None:
        if self.kind == "duckdb":
            self.conn.execute(sql)
        else:
            with self.conn.cursor() as cur:
                cur.execute(sql)
            self.conn.commit()

    def has_table(self, name: str) -> bool:
        sql = ("SELECT count(*) AS n FROM information_schema.tables "
               f"WHERE lower(table_schema) = '{self.schema.lower()}' AND lower(table_name) = '{name.lower()}'")
        return int(self.query(sql)["n"].iloc[0]) > 0

    def columns(self, name: str) -> list[str]:
        sql = ("SELECT column_name FROM information_schema.columns "
               f"WHERE lower(table_schema) = '{self.schema.lower()}' AND lower(table_name) = '{name.lower()}' "
               "ORDER BY ordinal_position")
        return [c.lower() for c in self.query(sql)["column_name"]]

    def load(self, name: str, frame: pd.DataFrame) -> None:
        """Append ``frame`` (columns named as the table's) to table ``name``."""
        if frame.empty:
            return
        cols = ", ".join(identifier(c, "column") for c in frame.columns)
        if self.kind == "duckdb":
            self.conn.register("_icistop_load", frame)
            try:
                self.conn.execute(f"INSERT INTO {self.table(name)} ({cols}) SELECT {cols} FROM _icistop_load")
            finally:
                self.conn.unregister("_icistop_load")
            return
        rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
        with self.conn.cursor() as cur:
            with cur.copy(f"COPY {self.table(name)} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()


def connect(duckdb_path: str | None = None, url_env: str | None = None, schema: str = "main",
            read_only: bool = True, create: bool = False) -> Database:
    """Open the OMOP database: a DuckDB file, or PostgreSQL at the URL in environment variable ``url_env``."""
    identifier(schema)
    if url_env:
        url = os.environ.get(url_env)
        if not url:
            raise UserError(f"OMOP database: environment variable {url_env} is not set (it must hold the "
                            "PostgreSQL URL, e.g. postgresql://user@host:5432/db; the password may come from ~/.pgpass)")
        try:
            import psycopg
            conn = psycopg.connect(url, connect_timeout=10)
        except Exception as exc:  # noqa: BLE001 - any driver error becomes one line without the password
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(f"OMOP database {safe_url(url)} cannot be reached: {safe_url(reason)}") from None
        if read_only:
            conn.read_only = True
        return Database("postgresql", conn, schema, safe_url(url))
    if not duckdb_path:
        raise UserError("OMOP database: set omop.database (a DuckDB file) or omop.url_env (PostgreSQL)")
    import duckdb
    path = Path(duckdb_path)
    if not create and not path.is_file():
        raise UserError(f"OMOP database {path}: file not found")
    try:
        conn = duckdb.connect(str(path), read_only=read_only and not create)
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"OMOP database {path} cannot be opened: {str(exc).splitlines()[0]}") from None
    return Database("duckdb", conn, schema, str(path))

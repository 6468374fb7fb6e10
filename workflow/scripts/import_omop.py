"""Snakemake entry point: OMOP CDM v5.4 instance -> data contract v1 (rule import_omop)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import logging  # noqa: E402
from pathlib import Path  # noqa: E402

from icistop.data.omop.adapter import OmopSettings, import_omop  # noqa: E402
from icistop.data.omop.concepts import load_concepts  # noqa: E402
from icistop.data.omop.db import connect  # noqa: E402
from icistop.runner import run_step  # noqa: E402


def main(smk):
    log = logging.getLogger("import_omop")
    p = smk.params
    concepts = load_concepts(smk.input.concepts)
    database = getattr(smk.input, "database", None) or []  # the DuckDB file, when not PostgreSQL
    database = [database] if isinstance(database, str) else list(database)
    db = connect(duckdb_path=database[0] if database else None, url_env=p.url_env or None, schema=p.cdm_schema)
    log.info("reading OMOP CDM from %s (schema %s)", db.label, db.schema)
    try:
        tables, mapping = import_omop(db, concepts, OmopSettings(**p.settings))
    finally:
        db.close()
    for path in smk.output.tables:
        tables[Path(path).stem].to_csv(path, index=False)
    mapping.to_csv(smk.output.mapping, sep="\t", index=False)
    for row in mapping.itertuples():
        log.info("%s | %s: %d in, %d used, %d dropped %s", row.source_table, row.rule, row.records_in,
                 row.records_used, row.records_dropped, row.detail)


run_step(snakemake, main)  # noqa: F821

"""Snakemake entry point: validate the input tables (rule validate_data)."""

import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821

import logging  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from icistop.data.contract import load_schema  # noqa: E402
from icistop.data.issues import DataError, Issue  # noqa: E402
from icistop.runner import run_step  # noqa: E402
from icistop.data.tableio import write_json, write_tsv  # noqa: E402
from icistop.data.validation import validate_directory  # noqa: E402


def main(smk):
    log = logging.getLogger("validate_data")
    try:
        tables, issues, summary = validate_directory(smk.params.data_dir, dict(smk.params.extra_columns))
    except ValueError as exc:  # e.g. two files for one table
        raise DataError([Issue("error", "data_dir", None, None, None, str(exc))])
    write_tsv(issues, smk.log.issues)
    log.info("%d error(s), %d warning(s)", summary["n_errors"], summary["n_warnings"])
    if summary["n_errors"]:
        files = {name: info["file"] for name, info in summary["tables"].items()}
        errors = [
            Issue(r.severity, r.table, None if pd.isna(r.row) else int(r.row), r.column, r.value, r.message)
            for r in issues.itertuples()
            if r.severity == "error"
        ]
        raise DataError(errors, files=files, footer=f"All issues are listed in {smk.log.issues}.")
    write_tsv(issues, smk.output.issues)
    write_json(summary, smk.output.summary)
    for path in smk.output.tables:
        name = Path(path).stem
        if name in tables:
            tables[name].to_parquet(path, index=False)
        else:  # optional table absent: an empty table with the contract's columns
            columns = list(load_schema(name)["properties"])
            pd.DataFrame({c: pd.Series(dtype=object) for c in columns}).to_parquet(path, index=False)


run_step(snakemake, main)  # noqa: F821

"""OMOP round trip: the bundled synthetic instance -> adapter -> the example's contract tables, cell by cell.

The instance (resources/omop_example/omop_cdm.duckdb) is the example cohort written by
icistop.data.synth.omop with dirty records (overlapping exposures, a non-ICI drug, unmapped values,
exposures after death, persons outside the cohort); the adapter must undo all of it. The slow test runs
the workflow on config/omop_example.yaml and checks the key numbers equal those of the example.
"""

import io
from pathlib import Path

import pandas as pd
import pytest

from icistop.data.omop.adapter import OmopSettings, import_omop
from icistop.data.omop.concepts import load_concepts
from icistop.data.omop.db import connect

ROOT = Path(__file__).resolve().parents[1]
INSTANCE = ROOT / "resources" / "omop_example" / "omop_cdm.duckdb"
EXAMPLE = ROOT / "resources" / "example"


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as the CSV the adapter writes, read back as text (empty cells -> '')."""
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    buf.seek(0)
    return pd.read_csv(buf, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def imported():
    db = connect(duckdb_path=str(INSTANCE), schema="main")
    try:
        return import_omop(db, load_concepts(ROOT / "config" / "omop_concepts.yaml"), OmopSettings())
    finally:
        db.close()


@pytest.mark.parametrize("table", ["patients", "treatments", "assessments", "ctdna"])
def test_instance_gives_back_the_example_tables(imported, table):
    tables, _ = imported
    got = as_text(tables[table])
    want = pd.read_csv(EXAMPLE / f"{table}.csv", dtype=str, keep_default_na=False)
    keys = {"patients": ["patient_id"], "treatments": ["patient_id", "course"],
            "assessments": ["patient_id", "date", "response"], "ctdna": ["patient_id", "date", "result"]}[table]
    want = want.sort_values(keys).reset_index(drop=True)
    got = got.sort_values(keys).reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want), f"{table}: {len(got)} rows, expected {len(want)}"
    diff = got.ne(want)
    if diff.any().any():
        where = diff.any(axis=1)
        sample = pd.concat({"got": got[where].head(5), "want": want[where].head(5)}, axis=1)
        pytest.fail(f"{table}: {int(where.sum())} rows differ in {list(diff.columns[diff.any()])}\n{sample}")


def test_mapping_report_counts_the_dirty_records(imported):
    _, mapping = imported
    assert (mapping["records_in"] - mapping["records_used"] == mapping["records_dropped"]).all()
    by_rule = mapping.set_index("rule")
    cohort = by_rule.loc["cohort: colorectal cancer and an ICI exposure"]
    assert cohort["records_used"] == 800 and cohort["records_dropped"] > 0
    exposures = by_rule.loc["ICI exposures of the cohort, before the person's death"]
    assert exposures["records_dropped"] > 0 and "dated after death" in exposures["detail"]
    assert "0 overlapping" not in exposures["detail"]
    unmapped = mapping[mapping["rule"].str.startswith("msi_status")].iloc[0]
    assert "0 values without a mapping" not in unmapped["detail"]


@pytest.mark.slow
def test_workflow_on_the_omop_instance_gives_the_example_numbers(tmp_path):
    """`snakemake --configfile config/omop_example.yaml` end to end; every result table equals the example's."""
    from workflow_copy import copy_workflow, snakemake

    omop = copy_workflow(tmp_path / "omop")
    snakemake(omop, "--cores", "2", "--configfile", "config/omop_example.yaml")
    assert (omop / "results/report/report.html").is_file()
    mapping = pd.read_csv(omop / "results/adapter/mapping.tsv", sep="\t")
    assert len(mapping) > 10
    html = (omop / "results/report/report.html").read_text()
    assert "How the contract tables were made from the source" in html
    example = copy_workflow(tmp_path / "example")
    snakemake(example, "--cores", "2")
    compared = 0
    for path in sorted((example / "results").rglob("*.tsv")):
        rel = path.relative_to(example)
        if rel.parts[1] in {"validation", "report", "adapter"} or rel.name.startswith("data_"):
            continue  # file names, checksums and the data section differ by design
        other = omop / rel
        assert other.is_file(), rel
        assert other.read_bytes() == path.read_bytes(), f"{rel} differs between the OMOP and the CSV run"
        compared += 1
    assert compared > 50

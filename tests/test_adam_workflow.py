"""End-to-end: the workflow on the ADaM example (config/adam_example.yaml) gives the numbers of the CSV example (slow).

One run each, up to the survival tables: rule import_adam reads resources/adam_example/*.xpt, and the cohort
attrition, the KM landmark table (PFS after the stop at 12 / 24 / 36 months among others), the Cox models and the
endpoints per patient equal those of the default config on resources/example. ctDNA is not in ADaM here, so the
ADaM run has no ctdna table (docs/adam-mapping.md).
"""

import pandas as pd
import pytest

from workflow_copy import copy_workflow, snakemake

pytestmark = pytest.mark.slow

TARGETS = ["results/cohort/attrition.tsv", "results/endpoints/endpoints.parquet", "results/survival/km_landmarks.tsv",
           "results/survival/cox.tsv"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    adam = copy_workflow(tmp_path_factory.mktemp("adam"))
    snakemake(adam, *TARGETS, "--cores", "2", "--configfile", "config/adam_example.yaml")
    csv = copy_workflow(tmp_path_factory.mktemp("csv"))
    snakemake(csv, *TARGETS, "--cores", "2")
    return adam, csv


def test_adapter_wrote_contract_tables_and_mapping(runs):
    adam, _ = runs
    for table in ("patients", "treatments", "assessments"):
        assert (adam / f"results/adam/contract/{table}.csv").is_file()
    mapping = pd.read_csv(adam / "results/adapter/mapping.tsv", sep="\t")
    assert list(mapping.columns) == ["source_table", "rule", "records_in", "records_used", "records_dropped", "detail"]
    assert mapping.loc[mapping["rule"] == "PARAMCD OVRLRESP -> assessments", "records_used"].item() == 5570


def test_key_numbers_equal_the_csv_example(runs):
    adam, csv = runs
    for name in ("results/cohort/attrition.tsv", "results/survival/km_landmarks.tsv", "results/survival/cox.tsv"):
        pd.testing.assert_frame_equal(pd.read_csv(adam / name, sep="\t"), pd.read_csv(csv / name, sep="\t"),
                                      check_exact=True, obj=name)
    km = pd.read_csv(adam / "results/survival/km_landmarks.tsv", sep="\t")
    stop = km[(km["endpoint"] == "pfs_after_stop") & (km["grouping"] == "overall")].set_index("time")
    assert stop["n"].iloc[0] == 291
    assert stop.loc[[12, 24, 36], "surv"].round(3).tolist() == [0.966, 0.913, 0.848]


def test_endpoints_equal_apart_from_ctdna(runs):
    adam, csv = runs
    a = pd.read_parquet(adam / "results/endpoints/endpoints.parquet")
    c = pd.read_parquet(csv / "results/endpoints/endpoints.parquet")
    ctdna = [col for col in c.columns if "ctdna" in col]
    assert set(a.columns) == set(c.columns)
    pd.testing.assert_frame_equal(a.drop(columns=ctdna), c.drop(columns=ctdna)[a.drop(columns=ctdna).columns])

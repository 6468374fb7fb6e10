"""cBioPortal adapter on the real Samstein et al. 2019 export (../shared/data/raw, ODbL 1.0)."""

from pathlib import Path

import pandas as pd
import pytest

from icistop import DAYS_PER_MONTH
from icistop.data.cbioportal import import_cbioportal
from icistop.cohort.cohorts import define_cohorts, resolve_cutoff
from icistop.data.contract import coerce_table, load_schema
from icistop.cohort.endpoints import derive_endpoints
from icistop.data.validation import cross_table_issues

RAW = Path(__file__).resolve().parents[2] / "shared/data/raw/samstein2019_tmb_mskcc_2018/tmb_mskcc_2018_clinical_data.tsv"


@pytest.fixture(scope="module")
def clinical():
    if not RAW.exists():
        pytest.skip(f"Samstein export not found at {RAW}")
    return pd.read_csv(RAW, sep="\t")


def typed(tables):
    out = {}
    for name, frame in tables.items():
        text = frame.astype(object).where(frame.notna(), "").astype(str)
        result, issues = coerce_table(text, name, load_schema(name))
        assert not [i for i in issues if i.severity == "error"], issues[:3]
        out[name] = result
    return out


def test_colorectal_subset(clinical):
    tables = import_cbioportal(clinical, cancer_types=["Colorectal Cancer"])
    p = tables["patients"]
    assert len(p) == 110 and (p["death_date"] != "").sum() == 45
    assert set(tables["treatments"]["regimen"]) <= {"anti-PD-1", "anti-PD-1+anti-CTLA-4", "other"}
    assert (tables["treatments"]["regimen"] == "anti-PD-1+anti-CTLA-4").sum() == 10
    assert set(p["msi_status"]) == {"unknown"}
    assert (p["met_liver"] == "yes").sum() == 26 and "no" not in set(p["met_liver"])


def test_msi_proxy(clinical):
    tables = import_cbioportal(clinical, cancer_types=["Colorectal Cancer"], msi_proxy_tmb=20)
    assert (tables["patients"]["msi_status"] == "MSI-H").sum() == 34


def test_os_times_preserved(clinical):
    tables = typed(import_cbioportal(clinical, cancer_types=["Colorectal Cancer"]))
    assert not [i for i in cross_table_issues(tables) if i.severity == "error"]
    cut = resolve_cutoff(tables, None)
    cohorts, _ = define_cohorts(tables, {"require_msi_h_or_dmmr": False, "stop_cohort": {}}, cut)
    e = derive_endpoints(tables, cohorts, cut)["endpoints"].set_index("patient_id")
    crc = clinical[clinical["Cancer Type"] == "Colorectal Cancer"].set_index("Patient ID")
    assert len(e) == 110 and e["os_event"].sum() == 45
    diff = (e["os_time"] - crc.loc[e.index, "Overall Survival (Months)"]).abs()
    assert diff.max() < 0.5 / DAYS_PER_MONTH + 1e-9  # whole-day rounding only
    # the order of times (all that KM and Cox use) is unchanged
    src = crc.loc[e.index, "Overall Survival (Months)"]
    assert (e["os_time"].rank(method="min") == src.rank(method="min")).all()


def test_unknown_cancer_type_is_a_clear_error(clinical):
    with pytest.raises(ValueError, match="no patients of cancer type"):
        import_cbioportal(clinical, cancer_types=["Not a cancer"])

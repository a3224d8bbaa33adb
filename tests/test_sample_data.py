"""Checks on the committed synthetic HR export in sample_data/ (read with csv + openpyxl only)."""

from __future__ import annotations

import csv
import datetime as dt
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pytest

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"
CSV_PATH = SAMPLE_DIR / "employees.csv"
XLSX_PATH = SAMPLE_DIR / "employees.xlsx"
GENERATOR = SAMPLE_DIR / "generate.py"
AS_OF = dt.date(2026, 11, 26)
COLUMNS = [
    "EmployeeID", "FirstName", "LastName", "PreferredFirstName", "JobTitle", "Department",
    "Division", "CostCenter", "Company", "ManagerID", "Office", "StreetAddress", "City", "State",
    "PostalCode", "CountryCode", "MobilePhone", "WorkPhone", "HireDate", "TerminationDate",
    "Status", "WorkerType",
]


def read_csv() -> tuple[list[str], list[dict[str, str]]]:
    with CSV_PATH.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, [dict(zip(header, row, strict=True)) for row in reader]


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return read_csv()[1]


@pytest.fixture(scope="module")
def by_id(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["EmployeeID"]: row for row in rows}


def depth_of(emp_id: str, by_id: dict[str, dict[str, str]]) -> int:
    """Number of levels from the root down to emp_id; fails on a cycle."""
    seen: set[str] = set()
    while emp_id:
        assert emp_id not in seen, f"management cycle through {emp_id}"
        seen.add(emp_id)
        emp_id = by_id[emp_id]["ManagerID"]
    return len(seen)


def people_named(rows: list[dict[str, str]], first: str, last: str) -> list[dict[str, str]]:
    return [r for r in rows if r["FirstName"] == first and r["LastName"] == last]


def test_csv_encoding_and_columns() -> None:
    raw = CSV_PATH.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert b"\r" not in raw
    header, _ = read_csv()
    assert header == COLUMNS


def test_row_count_and_ids(rows: list[dict[str, str]], by_id: dict[str, dict[str, str]]) -> None:
    assert len(rows) >= 300
    assert len(by_id) == len(rows)
    assert all(re.fullmatch(r"\d{6}", r["EmployeeID"]) for r in rows)
    assert any(r["EmployeeID"].startswith("00") for r in rows)


def test_hierarchy(rows: list[dict[str, str]], by_id: dict[str, dict[str, str]]) -> None:
    roots = [r for r in rows if not r["ManagerID"]]
    assert len(roots) == 1
    for row in rows:
        if row["ManagerID"]:
            assert row["ManagerID"] in by_id
            assert row["ManagerID"] != row["EmployeeID"]
    assert max(depth_of(r["EmployeeID"], by_id) for r in rows) >= 5


def test_managers_of_current_people_are_not_terminated(
    rows: list[dict[str, str]], by_id: dict[str, dict[str, str]]
) -> None:
    for row in rows:
        if row["ManagerID"] and row["Status"] != "Terminated":
            assert by_id[row["ManagerID"]]["Status"] != "Terminated", row["EmployeeID"]


def test_named_people(rows: list[dict[str, str]]) -> None:
    for first, last in [("José", "Núñez"), ("Zoë", "O'Brien"), ("Łukasz", "Wójcik")]:
        assert people_named(rows, first, last), f"{first} {last} missing"
    smiths = people_named(rows, "John", "Smith")
    assert len(smiths) == 2
    assert smiths[0]["EmployeeID"] != smiths[1]["EmployeeID"]
    assert smiths[0]["Department"] != smiths[1]["Department"]


def test_enumerations_and_lifecycle(rows: list[dict[str, str]]) -> None:
    assert {r["Status"] for r in rows} == {"Active", "Leave", "Terminated"}
    assert {r["WorkerType"] for r in rows} == {"Employee", "Contractor"}
    hires = [dt.date.fromisoformat(r["HireDate"]) for r in rows]
    assert any(h > AS_OF for h in hires)
    pre_hires = [r for r in rows if dt.date.fromisoformat(r["HireDate"]) > AS_OF]
    assert 6 <= len(pre_hires) <= 10
    assert all(r["Status"] == "Active" for r in pre_hires)
    terminated = [r for r in rows if r["Status"] == "Terminated"]
    assert terminated
    assert all(dt.date.fromisoformat(r["TerminationDate"]) < AS_OF for r in terminated)
    assert any(r["Status"] == "Leave" for r in rows)
    assert any(r["WorkerType"] == "Contractor" for r in rows)


def test_country_codes_and_dates(rows: list[dict[str, str]]) -> None:
    codes = Counter(r["CountryCode"] for r in rows)
    assert all(re.fullmatch(r"[A-Z]{2}", code) for code in codes)
    assert "UK" not in codes
    assert len(codes) >= 5
    for row in rows:
        for column in ("HireDate", "TerminationDate"):
            value = row[column]
            if column == "HireDate" or value:
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)
                dt.date.fromisoformat(value)


def test_xlsx_matches_csv(rows: list[dict[str, str]]) -> None:
    workbook = openpyxl.load_workbook(XLSX_PATH)
    assert workbook.sheetnames == ["Employees"]
    sheet = workbook["Employees"]
    values: list[list[str]] = []
    for raw in sheet.iter_rows(values_only=True):
        row: list[str] = []
        for cell in raw:
            if cell is None:
                row.append("")
            elif isinstance(cell, dt.datetime):
                row.append(cell.date().isoformat())
            elif isinstance(cell, dt.date):
                row.append(cell.isoformat())
            else:
                assert isinstance(cell, str), f"non-text cell {cell!r}"
                row.append(cell)
        values.append(row)
    assert values[0] == COLUMNS
    assert values[1:] == [[r[c] for c in COLUMNS] for r in rows]


def test_generator_is_deterministic(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(tmp_path)], check=True,
                   capture_output=True)
    assert (tmp_path / "employees.csv").read_bytes() == CSV_PATH.read_bytes()
    assert (tmp_path / "employees.xlsx").read_bytes() == XLSX_PATH.read_bytes()

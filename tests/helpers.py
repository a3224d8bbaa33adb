"""Paths to the sample data and Microsoft's interop files, and builders for small HR
exports in the formats the readers take."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CSV = ROOT / "sample_data" / "employees.csv"
SAMPLE_XLSX = ROOT / "sample_data" / "employees.xlsx"


def _interop() -> Path:
    """Microsoft's samples in ``shared/interop`` beside the checkout or beside any folder
    above it (a git worktree nests the checkout one level deeper); tests skip without."""
    for folder in ROOT.parents:
        found = folder / "shared" / "interop" / "entra-inbound-provisioning-samples"
        if found.is_dir():
            return found
    return ROOT.parent / "shared" / "interop" / "entra-inbound-provisioning-samples"


INTEROP = _interop()
#: The moment every test runs at (the sample data's as-of day; see tests/conftest.py).
PINNED_NOW = "2026-11-26T09:00:00Z"


def write_xlsx(
    path: Path,
    rows: Sequence[Sequence[Any]],
    *,
    sheet: str = "Sheet1",
    extra_sheets: Sequence[str] = (),
    date_format: str = "yyyy-mm-dd",
) -> Path:
    """A workbook with ``rows`` on one sheet; date cells get a date number format."""
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    assert worksheet is not None
    worksheet.title = sheet
    for row in rows:
        worksheet.append(list(row))
    for cells in worksheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, dt.datetime | dt.date):
                cell.number_format = date_format
    for name in extra_sheets:
        workbook.create_sheet(name).append(["other"])
    workbook.save(path)
    return path


SAMPLE_HEADER = (
    "EmployeeID,FirstName,LastName,PreferredFirstName,JobTitle,Department,Division,CostCenter,"
    "Company,ManagerID,Office,StreetAddress,City,State,PostalCode,CountryCode,MobilePhone,"
    "WorkPhone,HireDate,TerminationDate,Status,WorkerType"
).split(",")


def sample_rows() -> list[list[str]]:
    """Three small records in the sample export's columns (a CEO and two reports)."""
    base = dict.fromkeys(SAMPLE_HEADER, "")
    people = [
        {"EmployeeID": "000001", "FirstName": "Zoë", "LastName": "O'Brien", "ManagerID": "",
         "StreetAddress": "1 Main St\nFloor 2", "CountryCode": "GB", "HireDate": "2015-01-05"},
        {"EmployeeID": "000002", "FirstName": "José", "LastName": "Núñez",
         "ManagerID": "000001", "CountryCode": "ES", "HireDate": "2019-06-01",
         "JobTitle": "Engineer, Platform"},
        {"EmployeeID": "000003", "FirstName": "Łukasz", "LastName": "Wójcik",
         "ManagerID": "000001", "CountryCode": "PL", "HireDate": "2021-09-13",
         "TerminationDate": "2024-02-29"},
    ]
    rows = []
    for person in people:
        values = {**base, "Status": "Active", "WorkerType": "Employee", **person}
        rows.append([values[c] for c in SAMPLE_HEADER])
    return rows


def sample_export() -> tuple[list[str], list[dict[str, str]]]:
    """The sample export's header and its rows as dicts (column -> text)."""
    with SAMPLE_CSV.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def export_bytes(header: Sequence[str], rows: Sequence[dict[str, str]]) -> bytes:
    """A UTF-8 CSV export of ``rows`` in ``header``'s columns (other keys ignored)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(header), lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def write_export(path: Path, header: Sequence[str], rows: Sequence[dict[str, str]]) -> Path:
    """``export_bytes`` written to ``path``; returns ``path``."""
    path.write_bytes(export_bytes(header, rows))
    return path

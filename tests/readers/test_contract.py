"""Every reader honours one contract: the same data gives the same records.

The same small export is written in each format HR systems and Excel produce; whatever
the format, the reader must hand on identical column names, values (text, exactly as a
person sees them) and row numbers.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from connector.readers import open_source
from tests.helpers import SAMPLE_CSV, SAMPLE_XLSX, write_xlsx

COLUMNS = ["EmployeeID", "FirstName", "LastName", "HireDate", "StreetAddress", "PostalCode"]
ROWS = [
    ["00123", "José", "Núñez", "2024-03-01", "1 Calle Mayor", "01960"],
    ["123456789012345678", "Zoë", "O'Brien", "2019-11-30", "Flat 2\n10 High St", "SW1A 1AA"],
    ["000007", "Łukasz", "Wójcik", "", 'The "Old" Mill, Unit 4', "00-950"],
]


def _delimited(delimiter: str, newline: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerows([COLUMNS, *ROWS])
    return buffer.getvalue()


def csv_utf8(path: Path) -> Path:
    path.write_text(_delimited(",", "\n"), encoding="utf-8", newline="")
    return path


def csv_bom_semicolon_crlf(path: Path) -> Path:
    path.write_bytes(codecs.BOM_UTF8 + _delimited(";", "\r\n").encode())
    return path


def excel_unicode_text(path: Path) -> Path:
    path.write_bytes(_delimited("\t", "\r\n").encode("utf-16"))
    return path


def csv_pipe(path: Path) -> Path:
    path.write_text(_delimited("|", "\n"), encoding="utf-8", newline="")
    return path


def xlsx_typed(path: Path) -> Path:
    typed = [[dt.date.fromisoformat(v) if c == "HireDate" and v else (v or None)
              for c, v in zip(COLUMNS, row, strict=True)] for row in ROWS]
    return write_xlsx(path.with_suffix(".xlsx"), [COLUMNS, *typed])


WRITERS: dict[str, Callable[[Path], Path]] = {
    "csv-utf8": csv_utf8,
    "csv-bom-semicolon-crlf": csv_bom_semicolon_crlf,
    "utf16-tab": excel_unicode_text,
    "csv-pipe": csv_pipe,
    "xlsx-typed-cells": xlsx_typed,
}


@pytest.mark.parametrize("fmt", WRITERS)
def test_same_data_same_records(tmp_path: Path, fmt: str) -> None:
    path = WRITERS[fmt](tmp_path / "export.csv")
    reader = open_source(path)
    assert reader.columns == COLUMNS
    records = list(reader.records())
    assert [r.row for r in records] == [2, 3, 4]
    assert [list(r.values.values()) for r in records] == ROWS
    assert all(r.problems == () for r in records)
    assert reader.warnings == []


def test_sample_csv_and_xlsx_give_the_same_records() -> None:
    if not (SAMPLE_CSV.exists() and SAMPLE_XLSX.exists()):
        pytest.fail("sample_data/employees.csv and .xlsx must exist (sample_data/generate.py)")
    from_csv = [(r.row, r.values) for r in open_source(SAMPLE_CSV).records()]
    from_xlsx = [(r.row, r.values) for r in open_source(SAMPLE_XLSX).records()]
    assert len(from_csv) >= 300
    assert from_csv == from_xlsx

"""Files are read for what they are, not for what their name says."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import SourceError
from connector.readers import CsvReader, ExcelReader, open_source
from tests.helpers import write_xlsx


def test_xlsx_is_read_by_content(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "export.xlsx", [["ID"], ["1"]])
    assert isinstance(open_source(path), ExcelReader)


def test_workbook_with_a_csv_name_is_still_read_as_a_workbook(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "misnamed.csv", [["ID"], ["1"]])
    reader = open_source(path)
    assert isinstance(reader, ExcelReader)
    assert [r.values for r in reader.records()] == [{"ID": "1"}]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "legacy Excel 97-2003"),
        ("renamed.xlsx", b"ID,Name\n1,A\n", "is not an Excel workbook"),
        ("text.xls", b"ID\tName\n1\tA\n", "is not an Excel 97-2003 workbook"),
        ("archive.xlsx", b"PK\x03\x04" + b"\x00" * 100, "ZIP archive but not an Excel workbook"),
        ("report.pdf", b"%PDF-1.7\n...", "a PDF document"),
        ("photo.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "a PNG image"),
        ("data.json", b'{"a": 1}', "not a format this tool reads"),
        ("export.csv", b"\x7fELF\x02\x01\x01" + b"\x00" * 50, "ELF executable"),
        ("export.csv", b"7z\xbc\xaf\x27\x1c\x00\x04", "a 7-Zip archive"),
        ("export", b"SQLite format 3\x00" + b"\x10" * 20, "an SQLite database"),
    ],
)
def test_wrong_or_unsupported_formats_get_a_clear_error(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(SourceError, match=message):
        open_source(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        open_source(tmp_path / "nope.csv")
    with pytest.raises(SourceError, match="is a folder"):
        open_source(tmp_path)


def test_sheet_option_is_refused_for_text(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("ID\n1\n")
    with pytest.raises(SourceError, match="--sheet applies to Excel"):
        open_source(path, sheet="Employees")
    assert isinstance(open_source(path), CsvReader)

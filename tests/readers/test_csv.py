"""The CSV reader against the dialects and encodings real HR exports come in."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from connector.errors import SourceError
from connector.readers import CsvReader, open_source

HEADER = "EmployeeID,FirstName,LastName"


def read(path: Path) -> list[tuple[int, dict[str, str]]]:
    return [(r.row, r.values) for r in open_source(path).records()]


def write(tmp_path: Path, data: bytes, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_utf8_with_bom_has_clean_first_header(tmp_path: Path) -> None:
    path = write(tmp_path, codecs.BOM_UTF8 + "EmployeeID,Name\n00123,Zoë\n".encode())
    reader = open_source(path)
    assert reader.columns == ["EmployeeID", "Name"]
    assert read(path) == [(2, {"EmployeeID": "00123", "Name": "Zoë"})]
    assert reader.warnings == []


def test_utf16_with_bom_tab_separated_as_excel_unicode_text(tmp_path: Path) -> None:
    text = "EmployeeID\tName\r\n00123\tŁukasz Wójcik\r\n"
    path = write(tmp_path, text.encode("utf-16"), "unicode.txt")
    reader = open_source(path)
    assert isinstance(reader, CsvReader)
    assert reader.delimiter == "\t"
    assert read(path) == [(2, {"EmployeeID": "00123", "Name": "Łukasz Wójcik"})]


def test_utf16_without_bom_is_recognised(tmp_path: Path) -> None:
    path = write(tmp_path, "A,B\n1,2\n".encode("utf-16-le"))
    assert read(path) == [(2, {"A": "1", "B": "2"})]


def test_cp1252_falls_back_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "EmployeeID;Name\n7;José Núñez\n".encode("cp1252"))
    reader = open_source(path)
    assert [r.values["Name"] for r in reader.records()] == ["José Núñez"]
    assert reader.encoding == "cp1252"  # type: ignore[attr-defined]
    assert len(reader.warnings) == 1
    assert "Windows-1252" in reader.warnings[0].reason
    assert "line 2" in reader.warnings[0].reason


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected(tmp_path: Path, delimiter: str) -> None:
    text = delimiter.join(["ID", "Name", "City"]) + "\n"
    text += delimiter.join(["001", '"Smith, John"', "Paris"]) + "\n"
    path = write(tmp_path, text.encode())
    assert read(path) == [(2, {"ID": "001", "Name": "Smith, John", "City": "Paris"})]


def test_quoted_comma_in_header_line_does_not_fool_the_sniffer(tmp_path: Path) -> None:
    path = write(tmp_path, b'"Name, full";ID;City\n"Doe, J";1;X\n')
    assert open_source(path).columns == ["Name, full", "ID", "City"]


def test_crlf_and_quoted_newlines(tmp_path: Path) -> None:
    data = b'ID,Address,City\r\n1,"12 Main St\r\nFloor 3",Leeds\r\n2,"Quote ""A""",York\r\n'
    path = write(tmp_path, data)
    assert read(path) == [
        (2, {"ID": "1", "Address": "12 Main St\r\nFloor 3", "City": "Leeds"}),
        (3, {"ID": "2", "Address": 'Quote "A"', "City": "York"}),
    ]


def test_values_stay_text_exactly_as_written(tmp_path: Path) -> None:
    data = b"ID,Big,Zip,Float,Empty,Padded\n00123,123456789012345678,01960,1.50,, x \n"
    path = write(tmp_path, data)
    assert read(path)[0][1] == {
        "ID": "00123", "Big": "123456789012345678", "Zip": "01960", "Float": "1.50",
        "Empty": "", "Padded": " x ",
    }


def test_header_cells_are_trimmed_and_trailing_empty_rows_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, b" ID , Name \n1,A\n\n2,B\n,\n\n")
    reader = open_source(path)
    assert reader.columns == ["ID", "Name"]
    assert [(r.row, r.values["Name"]) for r in reader.records()] == [(2, "A"), (4, "B")]


def test_empty_trailing_header_columns_are_dropped(tmp_path: Path) -> None:
    path = write(tmp_path, b"ID,Name,,\n1,A,,\n")
    assert open_source(path).columns == ["ID", "Name"]
    assert read(path) == [(2, {"ID": "1", "Name": "A"})]


def test_short_rows_are_padded_long_rows_are_flagged(tmp_path: Path) -> None:
    path = write(tmp_path, b"ID,Name,City\n1,A\n2,B,C,extra\n")
    records = list(open_source(path).records())
    assert records[0].values == {"ID": "1", "Name": "A", "City": ""}
    assert records[0].problems == ()
    assert records[1].values == {"ID": "2", "Name": "B", "City": "C"}
    assert "beyond the last header column" in records[1].problems[0]
    assert "'extra'" in records[1].problems[0]


def test_title_rows_above_the_header_are_skipped_with_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, b"Employee list\nExported 2024-03-01\n\nID,Name\n1,A\n")
    reader = open_source(path, hint=["ID", "Name"])
    assert reader.header_row == 4
    assert [(r.row, r.values) for r in reader.records()] == [(5, {"ID": "1", "Name": "A"})]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"\n\n  \n", "is empty"),
        (b"ID,Name,ID\n1,a,b\n", "header name 'ID' is used twice (columns A and C)"),
        (b"ID,,Name\n1,a,b\n", "column B has no header name"),
        (b'ID,Name\n1,"unterminated\n2,b\n', "malformed quoting"),
        (b"\x00\x01\x02\x03binary\x00garbage" * 20, "binary file"),
        (b"ID\n\x81\x8d\xff\n", "neither UTF-8 nor Windows-1252"),
    ],
)
def test_unusable_files_raise_source_error(tmp_path: Path, data: bytes, message: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(SourceError) as info:
        list(open_source(path).records())
    assert message in info.value.message
    assert info.value.file == str(path)

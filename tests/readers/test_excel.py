"""The Excel reader: typed cells become the text a person sees in them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from connector.errors import SourceError
from connector.readers import ExcelReader, open_source
from connector.readers.files.excel import cell_text
from tests.helpers import write_xlsx


def test_date_datetime_and_numeric_cells_become_text(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "typed.xlsx", [
        ["ID", "Hired", "Clock-in", "Floor", "Rate", "Flag", "Badge", "Time"],
        [123, dt.date(2024, 3, 1), dt.datetime(2024, 3, 1, 8, 30), 42.0, 12.5, True,
         "00123", dt.time(8, 30)],
    ])
    (record,) = open_source(path).records()
    assert record.row == 2
    assert record.values == {
        "ID": "123", "Hired": "2024-03-01", "Clock-in": "2024-03-01T08:30:00",
        "Floor": "42", "Rate": "12.5", "Flag": "TRUE", "Badge": "00123", "Time": "08:30:00",
    }


def test_title_rows_above_the_header_are_found(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "titled.xlsx", [
        ["Contoso HR — employee export"],
        ["Generated", dt.date(2024, 3, 1)],
        [],
        ["EmployeeID", "FirstName", "HireDate"],
        ["00042", "Zoë", dt.date(2023, 1, 9)],
    ])
    reader = open_source(path)
    assert reader.header_row == 4
    assert reader.columns == ["EmployeeID", "FirstName", "HireDate"]
    assert [(r.row, r.values) for r in reader.records()] == [
        (5, {"EmployeeID": "00042", "FirstName": "Zoë", "HireDate": "2023-01-09"})]


def test_empty_trailing_rows_and_columns_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "trailing.xlsx"
    write_xlsx(path, [["ID", "Name", None, None], ["1", "A", None, None], [None, None],
                      ["2", "B"], [None], [None, None, None]])
    reader = open_source(path)
    assert reader.columns == ["ID", "Name"]
    assert [(r.row, r.values["ID"]) for r in reader.records()] == [(2, "1"), (4, "2")]


def test_sheet_is_chosen_by_name_and_defaults_to_the_first(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "book.xlsx", [["ID"], ["7"]], sheet="Employees",
                      extra_sheets=["Notes"])
    assert [r.values for r in open_source(path).records()] == [{"ID": "7"}]
    notes = open_source(path, sheet="Notes")
    assert isinstance(notes, ExcelReader)
    assert notes.columns == ["other"]
    with pytest.raises(SourceError, match="no sheet named 'Staff'; its sheets are: "
                                          "'Employees', 'Notes'"):
        open_source(path, sheet="Staff")


def test_huge_numeric_id_keeps_digits_and_warns(tmp_path: Path) -> None:
    rows = [["ID", "Text"], [1234567890123456, "123456789012345678"]]
    path = write_xlsx(tmp_path / "ids.xlsx", rows)
    reader = open_source(path)
    (record,) = reader.records()
    assert record.values == {"ID": "1234567890123456", "Text": "123456789012345678"}
    assert len(reader.warnings) == 1
    assert "more than 15 digits" in reader.warnings[0].reason
    assert reader.warnings[0].row == 2
    assert reader.warnings[0].column == "ID"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"), (-3.0, "-3"), (0.1 + 0.2, "0.3"), (12.5, "12.5"),
        (1e20, "100000000000000000000"),
        (False, "FALSE"), (dt.datetime(2024, 3, 1, 8, 30, 0, 500), "2024-03-01T08:30:00.000500"),
        (dt.timedelta(hours=26, minutes=5), "26:05:00"), (None, ""), ("", ""),
    ],
)
def test_cell_text(value: object, text: str) -> None:
    assert cell_text(value) == text


def test_duplicate_header_in_workbook_is_unusable(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "dup.xlsx", [["ID", "Name", "Name "], ["1", "a", "b"]])
    with pytest.raises(SourceError, match="'Name' is used twice"):
        open_source(path)


def test_header_only_sheet_has_no_records(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "empty.xlsx", [["ID", "Name"]])
    assert list(open_source(path).records()) == []
    with pytest.raises(SourceError, match="is empty"):
        open_source(write_xlsx(tmp_path / "blank.xlsx", []))

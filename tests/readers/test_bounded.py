"""Whatever the file, the readers refuse clearly and hold a bounded amount of it: what is
not a regular file is never opened, lines, records and values have caps, workbooks have
an unzipped size, a cell count and a memory limit."""

from __future__ import annotations

import codecs
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.errors import SourceError
from connector.readers import open_source
from connector.readers.files import limits
from connector.readers.files.csv import PREFIX_BYTES
from connector.readers.files.limits import MAX_FIELD_CHARS, MAX_LINE_CHARS
from tests.readers.crafted import SHEET, cell, declare_size, row, workbook


@pytest.fixture
def no_hang() -> Iterator[None]:
    """Fail (rather than hang the suite) when a test blocks for 10 seconds."""

    def alarm(signum: int, frame: object) -> None:
        raise TimeoutError("blocked: the reader opened what it should have refused")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def refusal(path: Path | str, **options: str) -> str:
    with pytest.raises(SourceError) as info:
        list(open_source(path, **options).records())
    return info.value.message


# --- what is not a regular file -------------------------------------------------------------

@pytest.mark.usefixtures("no_hang")
def test_a_fifo_is_refused_without_being_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "export.csv"
    os.mkfifo(fifo)
    assert "is a named pipe (FIFO), not a regular file" in refusal(fifo)


@pytest.mark.usefixtures("no_hang")
def test_a_device_is_refused_even_behind_a_csv_name(tmp_path: Path) -> None:
    assert "is a device, not a regular file" in refusal("/dev/zero")
    link = tmp_path / "export.csv"
    link.symlink_to("/dev/zero")
    assert "is a device" in refusal(link)


def test_a_socket_and_a_folder_are_refused(tmp_path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "s.csv"))
        assert "is a socket" in refusal(tmp_path / "s.csv")
    finally:
        server.close()
    assert "is a folder" in refusal(tmp_path)


def test_a_link_to_a_regular_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "real.csv").write_text("ID\n7\n")
    (tmp_path / "link.csv").symlink_to(tmp_path / "real.csv")
    assert [r.values for r in open_source(tmp_path / "link.csv").records()] == [{"ID": "7"}]


# --- binary content -------------------------------------------------------------------------

def test_nul_bytes_after_the_start_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"ID,Name\n" + b"1,a\n" * 20_000 + b"2,b\x00c\n")
    assert "line 20002 holds a NUL byte" in refusal(path)


# --- lines, records and values --------------------------------------------------------------

def test_a_line_over_the_cap_is_named_not_called_malformed_quoting(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    with path.open("w") as handle:
        handle.write("ID,Name\n1,a\n")
        handle.write("2," + "x," * (MAX_LINE_CHARS // 2) + "\n")
        handle.write("3,c\n")
    message = refusal(path)
    assert message.startswith("line 3 is longer than 4 MiB (4,194,304 characters)")
    assert "quoting" not in message


def test_a_line_at_the_cap_is_read(tmp_path: Path) -> None:
    value = "y" * (MAX_FIELD_CHARS - 1)
    line = ",".join([value] * 4)
    line += "z" * (MAX_LINE_CHARS - len(line))
    assert len(line) == MAX_LINE_CHARS
    path = tmp_path / "export.csv"
    path.write_text("A,B,C,D\n" + line + "\r\n2,b,c,d\r\n", newline="")
    records = list(open_source(path).records())
    assert [r.row for r in records] == [2, 3]
    assert len(records[0].values["D"]) == MAX_FIELD_CHARS - 1 + MAX_LINE_CHARS - len(
        ",".join([value] * 4))


def test_a_value_over_the_cap_is_refused_and_one_at_it_read(tmp_path: Path) -> None:
    at_cap = tmp_path / "at.csv"
    at_cap.write_text("ID,Notes\n1," + "n" * MAX_FIELD_CHARS + "\n")
    (record,) = open_source(at_cap).records()
    assert len(record.values["Notes"]) == MAX_FIELD_CHARS
    over = tmp_path / "over.csv"
    over.write_text("ID,Notes\n1,short\n2," + "n" * (MAX_FIELD_CHARS + 1) + "\n")
    assert refusal(over).startswith(
        "line 3 has a value (field 2) longer than 1 MiB (1,048,576 characters)")


def test_a_quoted_value_over_lines_is_capped_too(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text('ID,Notes\n1,"' + "n\n" * (MAX_FIELD_CHARS // 2 + 1) + '"\n')
    assert refusal(path).startswith("the record on lines 2-524291 has a value (field 2)")


def test_a_quote_left_open_stops_at_the_record_cap(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    with path.open("w") as handle:
        handle.write('ID,Name\n1,"open\n')
        for number in range(2, 200_000):
            handle.write(f"{number},{'x' * 30}\n")  # 4.3 M characters after the quote
    message = refusal(path)
    assert message.startswith("the record starting on line 2 is longer than 4 MiB")
    assert "is a quote left open?" in message


# --- encodings decided on a prefix, decoded as a stream -------------------------------------

def test_cp1252_far_down_the_file_is_found_and_its_line_named(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    body = b"".join(b"%d,Anna\n" % n for n in range(1, 300_000))  # > 1 MiB, > the prefix
    path.write_bytes(b"ID,Name\n" + body + "300000,José\n".encode("cp1252"))
    reader = open_source(path)
    assert reader.encoding == "cp1252"  # type: ignore[attr-defined]
    assert "first at line 300001" in reader.warnings[0].reason
    assert list(reader.records())[-1].values["Name"] == "José"


def test_utf8_split_across_chunks_stays_utf8(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    filler = "1," + "a" * (PREFIX_BYTES - 8) + "\n"
    names = "".join(f"{n},Zoë Łukasz\n" for n in range(2, 150_000))
    path.write_bytes(("ID,Name\n" + filler + names).encode())
    reader = open_source(path)
    assert reader.encoding == "utf-8"  # type: ignore[attr-defined]
    assert reader.warnings == []
    assert {r.values["Name"] for r in reader.records() if r.row > 2} == {"Zoë Łukasz"}


def test_bytes_neither_encoding_allows_far_down_are_unusable(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"ID\n" + b"1\n" * 100_000 + b"\x81\xe9\n")
    assert "neither UTF-8 nor Windows-1252 text (line 100002" in refusal(path)


def test_invalid_text_after_a_bom_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"ID\n" + b"1\n" * 40_000 + b"\xff\n")
    assert "is not valid utf-8-sig text (line 40002" in refusal(path)


# --- workbooks ------------------------------------------------------------------------------

def test_a_workbook_that_would_unzip_past_the_cap_is_not_read(tmp_path: Path) -> None:
    path = workbook(tmp_path / "bomb.xlsx", row(1, cell("A1", "ID")), row(2, cell("A2", 1)))
    declare_size(path, SHEET, 2**31)
    message = refusal(path)
    assert message.startswith("would expand to 2,048 MiB when unzipped, more than the 1,024 MiB")


def test_a_part_larger_than_it_declares_is_refused(tmp_path: Path) -> None:
    rows = [row(n, cell(f"A{n}", n)) for n in range(1, 5000)]
    path = declare_size(workbook(tmp_path / "liar.xlsx", *rows), SHEET, 1000)
    assert "larger than its declared uncompressed size" in refusal(path)


def test_a_stray_value_in_the_last_cell_is_refused_not_a_crash(tmp_path: Path) -> None:
    path = workbook(tmp_path / "far.xlsx", row(1, cell("A1", "ID")), row(2, cell("A2", 1)),
                    row(1048576, cell("XFD1048576", 1)))
    message = refusal(path)
    assert message.startswith("sheet 'Staff' needs more than 2 GiB of memory to read")
    assert "Ctrl+End" in message


def test_a_sheet_over_the_cell_cap_is_refused_before_any_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_XLSX_CELLS", 110)  # the real cap would need 10M cells
    path = workbook(tmp_path / "wide.xlsx", row(1, cell("A1", "ID")), row(2, cell("A2", 1)),
                    row(11, cell("J11", 1)))
    assert [r.row for r in open_source(path).records()] == [2, 11]  # 11 x 10 = 110 cells
    monkeypatch.setattr(limits, "MAX_XLSX_CELLS", 109)
    assert refusal(path).startswith(
        "sheet 'Staff' spans 11 rows and 10 columns from A1 (110 cells), more than the 109")


def test_a_table_away_from_a1_keeps_spreadsheet_rows_and_columns(tmp_path: Path) -> None:
    path = workbook(tmp_path / "low.xlsx",
                    row(3, cell("A3", "ID"), cell("B3", "Name")),
                    row(4, cell("A4", 1), cell("B4", "Ann")),
                    row(6, cell("B6", "Bob"), cell("A6", 2)))
    reader = open_source(path)
    assert reader.header_row == 3
    assert [(r.row, r.values) for r in reader.records()] == [
        (4, {"ID": "1", "Name": "Ann"}), (6, {"ID": "2", "Name": "Bob"})]
    right = workbook(tmp_path / "right.xlsx", row(1, cell("C1", "ID")), row(2, cell("C2", 1)))
    assert refusal(right) == "column A has no header name; column B has no header name"

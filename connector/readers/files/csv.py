"""Delimited text exports: CSV, semicolon CSV, tab- and pipe-separated.

HR systems and Excel write these in several encodings and dialects; this reader works out
which from the bytes, and says so when it had to guess (cp1252).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from itertools import chain
from pathlib import Path

from connector.core.records import Record
from connector.errors import SourceError
from connector.readers.base import (
    HEADER_SEARCH_ROWS,
    Reader,
    build_record,
    clean_header,
    find_header_index,
    is_blank,
)

DELIMITERS = (",", ";", "\t", "|")
_SNIFF_LINES = 50
# Bytes cp1252 leaves undefined: a file holding them is neither UTF-8 nor Windows-1252.
_CP1252_HOLES = frozenset(b"\x81\x8d\x8f\x90\x9d")


def decode(data: bytes, name: str) -> tuple[str, str, str | None]:
    """Text, encoding name, and a warning when the encoding had to be guessed.

    UTF-8 (with or without BOM) and UTF-16 with a BOM (Excel's "Unicode text") are
    certain; anything else that is not valid UTF-8 is read as Windows-1252, the code page
    older Windows exports use, with a warning so accented names get a second look.
    """
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding, None
            except UnicodeDecodeError as exc:
                raise SourceError(
                    f"starts with a {encoding} byte-order mark but is not valid {encoding} "
                    f"(byte {exc.start})",
                    file=name,
                ) from None
    utf16 = _utf16_without_bom(data)
    if utf16:
        return data.decode(utf16), utf16, None
    if b"\x00" in data[:4096]:
        raise SourceError(
            "is a binary file, not delimited text (found NUL bytes); "
            "export the data as CSV or XLSX",
            file=name,
        )
    try:
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        if _CP1252_HOLES.intersection(data):
            raise SourceError(
                f"is neither UTF-8 nor Windows-1252 text (line {line} has bytes neither "
                "allows); is it a binary file?",
                file=name,
            ) from None
        warning = (
            f"is not valid UTF-8 (first at line {line}); read it as Windows-1252 (cp1252). "
            "Check names with accents, or export as UTF-8"
        )
        return data.decode("cp1252"), "cp1252", warning


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 without a byte-order mark shows as NULs in every other byte of ASCII text."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def sniff_delimiter(text: str) -> str:
    """The delimiter used in the first lines: the candidate that splits a line most.

    Counting happens outside quotes, so a quoted "Smith, John" does not vote for comma.
    When no candidate appears, the file has a single column and comma is as good as any.
    """
    best, best_count = ",", 0
    lines = text.splitlines()[:_SNIFF_LINES]
    for delimiter in DELIMITERS:
        count = max((_count_outside_quotes(line, delimiter) for line in lines), default=0)
        if count > best_count:
            best, best_count = delimiter, count
    return best


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            count += 1
    return count


class CsvReader(Reader):
    """Reads a delimited text file; every value stays the exact text in the file."""

    format = "csv"

    def __init__(self, path: Path, *, name: str | None = None, hint: Sequence[str] = ()) -> None:
        super().__init__(name or str(path))
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SourceError(f"cannot be read: {exc.strerror}", file=self.name) from None
        text, self.encoding, warning = decode(data, self.name)
        if warning:
            self.warn(warning)
        self.delimiter = sniff_delimiter(text)
        self._rows = csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter,
                                strict=True)
        top = self._take(HEADER_SEARCH_ROWS)
        if not top or all(is_blank(cells) for cells in top):
            raise SourceError("is empty: no header row and no records", file=self.name)
        index = find_header_index(top, hint)
        self.header_row = index + 1
        self._header = clean_header(top[index], file=self.name, row=self.header_row)
        self.columns = self._header.columns
        self._pending = top[index + 1:]

    def _take(self, count: int) -> list[list[str]]:
        rows: list[list[str]] = []
        for _ in range(count):
            cells = self._next_row()
            if cells is None:
                break
            rows.append(cells)
        return rows

    def _next_row(self) -> list[str] | None:
        try:
            return next(self._rows)
        except StopIteration:
            return None
        except csv.Error as exc:
            raise SourceError(
                f"malformed quoting near line {self._rows.line_num}: {exc}. "
                "A value with a quote, delimiter or line break must be wrapped in quotes, "
                'with quotes inside it doubled ("")',
                file=self.name,
            ) from None

    def records(self) -> Iterator[Record]:
        row = self.header_row
        for cells in chain(self._pending, iter(self._next_row, None)):
            row += 1
            if is_blank(cells):
                continue
            yield build_record(cells, self._header, row)

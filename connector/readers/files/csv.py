"""Delimited text exports: CSV, semicolon CSV, tab- and pipe-separated.

HR systems and Excel write these in several encodings and dialects; this reader works out
which from the bytes, and says so when it had to guess (cp1252).

The file is streamed, never held whole: the encoding and the delimiter are decided from
the first ``PREFIX_BYTES`` (a file without a byte-order mark that is not UTF-16 is also
scanned once, in chunks, to tell UTF-8 from Windows-1252), then lines are decoded as the
records are read. A line, a record and a value are capped (``files.limits``), so memory
stays bounded whatever the file holds.
"""

from __future__ import annotations

import codecs
import csv
import io
import weakref
from collections.abc import Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import BinaryIO

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
from connector.readers.files.limits import (
    MAX_FIELD_CHARS,
    MAX_LINE_CHARS,
    chars_text,
    open_regular,
)

DELIMITERS = (",", ";", "\t", "|")
#: How much of the start decides the encoding and the delimiter, and is checked for NULs.
PREFIX_BYTES = 64 * 1024
_SNIFF_LINES = 50
_BINARY_BYTES = 8192
_SCAN_CHUNK = 1 << 20
# Bytes cp1252 leaves undefined: a file holding them is neither UTF-8 nor Windows-1252.
_CP1252_HOLES = tuple(bytes([b]) for b in b"\x81\x8d\x8f\x90\x9d")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# The csv module's own cap on a field is process-wide and 128 KiB by default; ours are
# checked here, per line and per value, so the module's may not stop a record first.
_CSV_FIELD_LIMIT = MAX_LINE_CHARS + 2


def detect_encoding(
    prefix: bytes, handle: BinaryIO, name: str
) -> tuple[str, str | None]:
    """Encoding name, and a warning when it had to be guessed.

    UTF-8 (with or without BOM) and UTF-16 with a BOM (Excel's "Unicode text") are
    certain; anything else that is not valid UTF-8 is read as Windows-1252, the code page
    older Windows exports use, with a warning so accented names get a second look.
    ``prefix`` is the start of the file; telling UTF-8 from Windows-1252 reads the rest
    of ``handle`` in chunks (it is left at an arbitrary position).
    """
    for bom, encoding in _BOMS:
        if prefix.startswith(bom):
            return encoding, None
    utf16 = _utf16_without_bom(prefix)
    if utf16:
        return utf16, None
    if b"\x00" in prefix[:_BINARY_BYTES]:
        raise SourceError(
            "is a binary file, not delimited text (found NUL bytes); "
            "export the data as CSV or XLSX",
            file=name,
        )
    line = first_invalid_line(prefix, handle, "utf-8")
    if line is None:
        return "utf-8", None
    if _has_cp1252_holes(prefix, handle):
        raise SourceError(
            f"is neither UTF-8 nor Windows-1252 text (line {line} has bytes neither "
            "allows); is it a binary file?",
            file=name,
        )
    warning = (
        f"is not valid UTF-8 (first at line {line}); read it as Windows-1252 (cp1252). "
        "Check names with accents, or export as UTF-8"
    )
    return "cp1252", warning


def _chunks(prefix: bytes, handle: BinaryIO) -> Iterator[bytes]:
    """The whole file: ``prefix`` (its start, already read), then the rest."""
    handle.seek(len(prefix))
    yield prefix
    while chunk := handle.read(_SCAN_CHUNK):
        yield chunk


def first_invalid_line(
    prefix: bytes, handle: BinaryIO, encoding: str
) -> int | None:
    """The line holding the first bytes that are not valid ``encoding``, or None when the
    whole file is. ``prefix`` is its start, already read; the rest is read in chunks."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 1
    for chunk in _chunks(prefix, handle):
        state = decoder.getstate()
        try:
            lines += decoder.decode(chunk).count("\n")
        except UnicodeDecodeError as exc:
            # exc.start also counts the bytes held back from the previous chunk.
            lenient = codecs.getincrementaldecoder(encoding)(errors="replace")
            lenient.setstate(state)
            return lines + lenient.decode(chunk[:max(0, exc.start - len(state[0]))]).count("\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return lines
    return None


def _has_cp1252_holes(prefix: bytes, handle: BinaryIO) -> bool:
    return any(hole in chunk for chunk in _chunks(prefix, handle) for hole in _CP1252_HOLES)


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
    """Reads a delimited text file; every value stays the exact text in the file.

    The file stays open while its records are read and is closed when they have all been
    read (or when the reader is dropped).
    """

    format = "csv"

    def __init__(
        self,
        path: Path,
        *,
        name: str | None = None,
        hint: Sequence[str] = (),
        handle: BinaryIO | None = None,
    ) -> None:
        super().__init__(name or str(path))
        if handle is None:
            handle = open_regular(path, self.name)
        self._close = weakref.finalize(self, handle.close)
        try:
            self._open(handle, hint)
        except BaseException:
            self._close()
            raise

    def _open(self, handle: BinaryIO, hint: Sequence[str]) -> None:
        handle.seek(0)
        prefix = handle.read(PREFIX_BYTES)
        self.encoding, warning = detect_encoding(prefix, handle, self.name)
        if warning:
            self.warn(warning)
        start = codecs.getincrementaldecoder(self.encoding)(errors="replace").decode(prefix)
        self.delimiter = sniff_delimiter(start)
        handle.seek(0)
        self._text = io.TextIOWrapper(handle, encoding=self.encoding, newline="")
        self._consumed = 0  # characters read so far
        self._record_start = 0  # ... when the record being read began
        self._last_line = 0  # the physical line the previous record ended on
        if csv.field_size_limit() < _CSV_FIELD_LIMIT:
            csv.field_size_limit(_CSV_FIELD_LIMIT)
        self._rows = csv.reader(self._lines(), delimiter=self.delimiter, strict=True)
        top = self._take(HEADER_SEARCH_ROWS)
        if not top or all(is_blank(cells) for cells in top):
            raise SourceError("is empty: no header row and no records", file=self.name)
        index = find_header_index(top, hint)
        self.header_row = index + 1
        self._header = clean_header(top[index], file=self.name, row=self.header_row)
        self.columns = self._header.columns
        self._pending = top[index + 1:]

    def _lines(self) -> Iterator[str]:
        """Physical lines, each checked against the caps before the csv module sees it."""
        readline = self._text.readline
        limit = MAX_LINE_CHARS + 2  # room for the longest line and its CRLF
        while True:
            try:
                line = readline(limit)
            except UnicodeDecodeError as exc:
                raise self._invalid_text(exc) from None
            if not line:
                return
            size = len(line)
            if size > MAX_LINE_CHARS and len(line.rstrip("\r\n")) > MAX_LINE_CHARS:
                raise SourceError(
                    f"line {self._rows.line_num + 1} is longer than "
                    f"{chars_text(MAX_LINE_CHARS)}, the most a line may hold; "
                    "is it a binary file or a broken export?",
                    file=self.name,
                )
            self._consumed += size
            if self._consumed - self._record_start > limit:  # a record spanning lines
                raise SourceError(
                    f"the record starting on line {self._last_line + 1} is longer than "
                    f"{chars_text(MAX_LINE_CHARS)} by line "
                    f"{self._rows.line_num + 1}; is a quote left open?",
                    file=self.name,
                )
            if "\x00" in line:
                raise SourceError(
                    f"line {self._rows.line_num + 1} holds a NUL byte; is part of the "
                    "file binary?",
                    file=self.name,
                )
            yield line

    def _invalid_text(self, exc: UnicodeDecodeError) -> SourceError:
        """The error for text that stops being ``self.encoding`` part-way (the decoder
        reads ahead of the lines, so the line is found again from the start)."""
        handle = self._text.buffer
        handle.seek(0)
        line = first_invalid_line(handle.read(PREFIX_BYTES), handle, self.encoding)
        return SourceError(
            f"is not valid {self.encoding} text (line {line or '?'}: {exc.reason})",
            file=self.name,
        )

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
            cells = next(self._rows)
        except StopIteration:
            return None
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):  # the limit was lowered since
                raise SourceError(
                    f"line {self._rows.line_num} has a value longer than the csv module's "
                    f"limit ({csv.field_size_limit():,} characters)",
                    file=self.name,
                ) from None
            raise SourceError(
                f"malformed quoting near line {self._rows.line_num}: {exc}. "
                "A value with a quote, delimiter or line break must be wrapped in quotes, "
                'with quotes inside it doubled ("")',
                file=self.name,
            ) from None
        if self._consumed - self._record_start > MAX_FIELD_CHARS:
            self._check_fields(cells)
        self._record_start = self._consumed
        self._last_line = self._rows.line_num
        return cells

    def _check_fields(self, cells: list[str]) -> None:
        for index, cell in enumerate(cells):
            if len(cell) > MAX_FIELD_CHARS:
                first, last = self._last_line + 1, self._rows.line_num
                where = f"line {last}" if first == last else f"the record on lines {first}-{last}"
                raise SourceError(
                    f"{where} has a value (field {index + 1}) longer than "
                    f"{chars_text(MAX_FIELD_CHARS)}, the most a value may hold",
                    file=self.name,
                )

    def records(self) -> Iterator[Record]:
        row = self.header_row
        try:
            for cells in chain(self._pending, iter(self._next_row, None)):
                row += 1
                if is_blank(cells):
                    continue
                yield build_record(cells, self._header, row)
        finally:
            self._close()

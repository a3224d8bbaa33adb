"""When a dropped file is ready: it has stopped changing, and what it holds is whole.

*Stable*: size, modification and change time unchanged for ``stable_seconds``: either
the last change is at least that old, or two looks that far apart saw the file the same
(which covers clocks that disagree, as on network shares).

*Whole* (:func:`incomplete`), judged on the bytes that would be applied:

- a workbook (a ZIP) has the end of its central directory, which a writer puts last,
  and its ``xl/workbook.xml`` reads back with a good checksum;
- delimited text ends with a line break, does not end inside a quoted value, and its
  last record has as many fields as the header (the widest of the first rows, since
  title rows above the header are narrower). A writer that paused mid-line or
  mid-record is caught; one that paused exactly between two records is not, which is
  why the README recommends writing under a temporary name and renaming, or a ``.ready``
  marker.

Anything else odd about a file (not text, an over-long line, bad quoting elsewhere) is
left to the reader, which refuses the file with its own message: this module only tells
"still being written" from "finished".
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from connector.errors import SourceError
from connector.readers.files.csv import sniff_delimiter
from connector.readers.files.detect import HEAD_BYTES, sniff_format
from connector.readers.files.limits import MAX_LINE_CHARS

Signature = tuple[int, ...]
_HEADER_ROWS = 50
_PREFIX = 64 * 1024
_WORKBOOK_PART = "xl/workbook.xml"
_MAX_WORKBOOK_PART = 64 * 1024 * 1024


def signature(st: os.stat_result) -> Signature:
    """What must stay the same for a file to count as unchanged."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def last_change(st: os.stat_result) -> float:
    """When the file last changed, in seconds since the epoch (the system's clock)."""
    # On POSIX the change time is set by the kernel on every write, so it also catches
    # copies that keep the source's modification time; on Windows st_ctime is creation.
    ns = st.st_mtime_ns if os.name == "nt" else max(st.st_mtime_ns, st.st_ctime_ns)
    return ns / 1e9


class Stability:
    """Remembers when each name was first seen as it is now (one look after another)."""

    def __init__(self, stable_seconds: float) -> None:
        self.stable_seconds = stable_seconds
        self._seen: dict[str, tuple[Signature, float]] = {}

    def unstable_for(self, name: str, st: os.stat_result, now: float) -> float:
        """0 when stable, else how much longer it must stay unchanged to be."""
        current = signature(st)
        seen = self._seen.get(name)
        if seen is None or seen[0] != current:
            seen = self._seen[name] = (current, now)
        by_age = self.stable_seconds - (now - last_change(st))
        by_looks = self.stable_seconds - (now - seen[1])
        # A change time in the future (a share's clock ahead of ours) cannot be trusted.
        if last_change(st) > now:
            by_age = self.stable_seconds
        return max(0.0, min(by_age, by_looks))

    def forget_others(self, names: set[str]) -> None:
        """Forget files no longer listed, so memory stays bounded."""
        self._seen = {k: v for k, v in self._seen.items() if k in names}


def incomplete(path: Path) -> str | None:
    """Why the file at ``path`` looks cut short (still being written), or None."""
    with path.open("rb") as handle:
        head = handle.read(_PREFIX)
        if not head:
            return "is empty (still being written?)"
        if head.startswith(b"PK\x03\x04"):
            return _workbook_incomplete(path)
        try:
            sniff_format(path, head[:HEAD_BYTES])
        except SourceError:
            return None  # not an export at all: the reader says what it is
        if b"\x00" in head[:8192] and _utf16(head) is None:
            return None  # binary
        encoding = _utf16(head) or "utf-8"
        handle.seek(-min(4, os.fstat(handle.fileno()).st_size), os.SEEK_END)
        if not _ends_a_line(handle.read(), encoding):
            return "does not end with a line break: its last line is cut short"
        handle.seek(0)
        return _last_record_short(handle, encoding, head)


def _utf16(head: bytes) -> str | None:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4096]
    even, odd = sample[0::2], sample[1::2]
    if len(sample) >= 4 and odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if len(sample) >= 4 and even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _ends_a_line(tail: bytes, encoding: str) -> bool:
    if encoding == "utf-16-be" or (encoding == "utf-16" and not tail.endswith(b"\x00")):
        return tail.endswith((b"\x00\n", b"\x00\r"))
    if encoding.startswith("utf-16"):
        return tail.endswith((b"\n\x00", b"\r\x00"))
    return tail.endswith((b"\n", b"\r"))


def _last_record_short(handle: io.BufferedReader, encoding: str, head: bytes) -> str | None:
    text = io.TextIOWrapper(handle, encoding=encoding, errors="replace", newline="")
    start = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)
    rows = csv.reader(_lines(text), delimiter=sniff_delimiter(start), strict=True)
    widest, last, line = 0, 0, 0
    try:
        for number, cells in enumerate(rows, 1):
            if not any(cell.strip() for cell in cells):
                continue
            if number <= _HEADER_ROWS:
                widest = max(widest, len(cells))
            last, line = len(cells), rows.line_num
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            return "ends inside a quoted value: its last record is cut short"
        return None  # malformed elsewhere: the reader names it
    except _TooLong:
        return None
    if last < widest:
        return (f"its last record (line {line}) has {last} field(s) where the header has "
                f"{widest}: it is cut short")
    return None


class _TooLong(Exception):
    """A line past the reader's cap: not this module's to judge."""


def _lines(text: io.TextIOWrapper) -> Iterator[str]:
    """Physical lines, none longer than the reader allows (memory stays bounded)."""
    limit = MAX_LINE_CHARS + 2
    while line := text.readline(limit):
        if len(line) >= limit:
            raise _TooLong
        yield line


def _workbook_incomplete(path: Path) -> str | None:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        return "is a ZIP (a workbook) without the end of its directory: it is cut short"
    except (OSError, EOFError, ValueError):
        return None  # unreadable: the reader says why
    with archive:
        try:
            part = archive.getinfo(_WORKBOOK_PART)
        except KeyError:
            return None  # a ZIP but not a workbook: the reader says so
        if part.file_size > _MAX_WORKBOOK_PART:
            return None
        try:
            archive.read(part)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
            return f"is a workbook whose {_WORKBOOK_PART} does not read back whole ({exc})"
    return None

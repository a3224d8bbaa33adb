"""What a file must be before any reader opens it, and how large its parts may grow.

A reader reads regular files only, decided by ``os.stat`` rather than the name: a named
pipe (FIFO) would block the reader until something writes to it, a device such as
``/dev/zero`` never ends, a socket cannot be read as a file at all. Symbolic links to a
regular file are fine.

Size is not capped as a whole (a million-row export must read, and CSV streams), but the
pieces a reader has to hold at once are, so that memory stays bounded whatever the file:

* a CSV line or record: ``MAX_LINE_CHARS`` characters (4 MiB); a value in it:
  ``MAX_FIELD_CHARS`` (1 MiB). No HR value comes near either; a file that does is a
  binary file, a broken export or a quote left open.
* a workbook: at most ``MAX_XLSX_EXPANDED`` bytes (1 GiB) of XML once unzipped, a sheet of
  at most ``MAX_XLSX_CELLS`` cells (10 million: 400,000 rows of 25 columns) counted from
  A1 to its last cell, read in a helper process that may use at most
  ``XLSX_MEMORY_BYTES`` (2 GiB) more than it started with (see ``files.excel``).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from connector.errors import SourceError

MAX_LINE_CHARS = 4 * 1024 * 1024
MAX_FIELD_CHARS = 1024 * 1024
MAX_XLSX_EXPANDED = 1024 * 1024 * 1024
MAX_XLSX_CELLS = 10_000_000
XLSX_MEMORY_BYTES = 2 * 1024 * 1024 * 1024

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def chars_text(count: int) -> str:
    """A cap in characters for messages: ``4 MiB (4,194,304 characters)``."""
    return f"{count / 2**20:g} MiB ({count:,} characters)"


def _not_regular(mode: int) -> str | None:
    """Why a file of this mode cannot be read as an export, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return ("is a named pipe (FIFO), not a regular file; it is not read, since reading "
                "would wait for a writer. Save the export to a file first")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file; it is not read"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file; it is not read"
    return "is not a regular file; it is not read"


def check_regular(path: Path, name: str) -> os.stat_result:
    """The ``stat`` of ``path`` when it is a regular file (links followed); else
    ``SourceError`` saying what it is. Nothing is opened."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SourceError("does not exist", file=name) from None
    except OSError as exc:
        raise SourceError(f"cannot be read: {exc.strerror}", file=name) from None
    reason = _not_regular(st.st_mode)
    if reason:
        raise SourceError(reason, file=name)
    return st


def open_regular(path: Path, name: str, *, buffering: int = 1 << 16) -> BinaryIO:
    """Open a regular file for reading in binary, refusing anything else.

    The check is made on the path first and again on what was opened: a FIFO swapped in
    between is opened without blocking (``O_NONBLOCK``) and refused before it is read.
    """
    check_regular(path, name)
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC | _BINARY)
    except FileNotFoundError:
        raise SourceError("does not exist", file=name) from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket swapped in since the check
            raise SourceError("is not a regular file; it is not read", file=name) from None
        raise SourceError(f"cannot be read: {exc.strerror}", file=name) from None
    try:
        reason = _not_regular(os.fstat(fd).st_mode)
        if reason:
            raise SourceError(reason, file=name)
        if _NONBLOCK:  # a regular file never blocks; clear the flag all the same
            os.set_blocking(fd, True)
        return open(fd, "rb", buffering=buffering, closefd=True)
    except BaseException:
        os.close(fd)
        raise

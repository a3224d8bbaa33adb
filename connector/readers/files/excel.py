"""Excel workbooks (.xlsx, .xlsm), read with calamine.

calamine (a Rust reader) parses a sheet about four times faster than openpyxl, which is
what lets a 100k-row export load in seconds (see ``bench/readers.py``). Cells come back
typed; ``excel_worker.cell_text`` turns each into the text a person sees for it: dates as
ISO 8601, whole numbers without ``.0``.

A workbook is a ZIP archive of XML, and calamine holds a sheet whole, from A1 to its last
cell, so a small file can ask for any amount of memory: a ZIP bomb, or one value in cell
XFD1048576 (17 billion cells). Before anything is unzipped, the sizes the archive
declares are added up and a workbook above ``MAX_XLSX_EXPANDED`` is refused (calamine
stops at the declared size of each part, so the declaration binds). The sheet is then read
in a helper process (``excel_worker``) whose memory is capped at ``XLSX_MEMORY_BYTES``,
and which refuses a sheet of more than ``MAX_XLSX_CELLS`` cells before sending any row.
"""

from __future__ import annotations

import marshal
import struct
import subprocess
import sys
import tempfile
import weakref
import zipfile
from collections.abc import Iterator, Sequence
from itertools import chain, islice
from pathlib import Path
from typing import Any

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
from connector.readers.files import limits
from connector.readers.files.excel_worker import cell_text

__all__ = ["ExcelReader", "cell_text", "check_expansion"]

_WORKER = Path(__file__).with_name("excel_worker.py")
_Row = tuple[list[str], list[int] | None]  # cell texts from column A; imprecise numbers


def check_expansion(path: Path, name: str) -> None:
    """Refuse a workbook whose parts would unzip to more than ``MAX_XLSX_EXPANDED``."""
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceError(f"is not a readable Excel workbook ({exc})", file=name) from None
    cap = limits.MAX_XLSX_EXPANDED
    if expanded > cap:
        raise SourceError(
            f"would expand to {expanded / 2**20:,.0f} MiB when unzipped, more than the "
            f"{cap / 2**20:,.0f} MiB a workbook may unzip to; it is not read (export "
            "large data as CSV)",
            file=name,
        )


class _Worker:
    """A running ``excel_worker`` and the frames it sends."""

    def __init__(self, path: Path, name: str, sheet: str | None) -> None:
        self.name = name
        self.sheet = sheet
        self.finished = False
        # -P: the worker's folder stays off sys.path (it holds a csv.py of ours).
        command = [sys.executable, "-P", str(_WORKER), str(path), sheet or "",
                   str(limits.MAX_XLSX_CELLS), str(limits.XLSX_MEMORY_BYTES)]
        self._errors = tempfile.TemporaryFile()  # closed by stop()
        try:
            self._process = subprocess.Popen(  # noqa: S603 (our own script, no shell)
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._errors)
        except OSError as exc:
            self._errors.close()
            raise SourceError(f"cannot be read: the workbook reader did not start "
                              f"({exc.strerror})", file=name) from None
        assert self._process.stdout is not None
        self._stream = self._process.stdout

    def _frame(self) -> tuple[Any, ...]:
        """The next frame; ``SourceError`` when the worker sent an error or stopped."""
        head = self._stream.read(4)
        size = struct.unpack("<I", head)[0] if len(head) == 4 else 0
        data = self._stream.read(size) if size else b""
        if not size or len(data) != size:  # the worker stopped, part-way or at once
            raise self._failure()
        frame: tuple[Any, ...] = marshal.loads(data)  # noqa: S302 (our own worker's output)
        if frame[0] == "error":
            raise SourceError(frame[1], file=self.name)
        return frame

    def start(self) -> str:
        """The name of the sheet, once the worker has loaded it and found it usable."""
        kind, self.sheet = self._frame()
        if kind != "sheet" or self._frame()[0] != "size":
            raise RuntimeError(f"the workbook reader's frames are out of order ({kind})")
        return self.sheet

    def rows(self) -> Iterator[_Row]:
        """The sheet's rows from row 1, as the worker sends them."""
        while (frame := self._frame())[0] == "rows":
            yield from frame[1]
        self.finished = frame[0] == "end"

    def _failure(self) -> SourceError:
        """Why the worker stopped before the end of the sheet."""
        code = self._process.wait()
        self._errors.seek(0)
        return _failure(self.name, self.sheet, code, self._errors.read(4096))

    def stop(self) -> None:
        """End the worker (at once, unless it has sent everything) and free what it held."""
        if not self.finished and self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._stream.close()
        self._errors.close()


def _failure(name: str, sheet: str | None, code: int, errors: bytes) -> SourceError:
    """Why the helper process stopped without reading the sheet."""
    what = f"sheet {sheet!r}" if sheet else "the workbook"
    if b"memory allocation" in errors or code == 3:
        return SourceError(
            f"{what} needs more than {limits.XLSX_MEMORY_BYTES / 2**30:g} GiB of memory to "
            "read: its cells reach far below or to the right of the data (Ctrl+End in "
            "Excel goes to the last cell; delete what lies beyond the table), or the "
            "workbook is built to exhaust memory. Export the data as CSV",
            file=name,
        )
    last = errors.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
    return SourceError(
        f"{what} could not be read (the reader stopped with code {code}"
        + (f": {last[0][:200]}" if last[0] else "") + ")",
        file=name,
    )


class ExcelReader(Reader):
    """Reads one sheet of a workbook: by name, or the first sheet.

    Rows arrive from the helper process as they are converted; it is stopped once they
    have all been read (or when the reader is dropped).
    """

    format = "xlsx"

    def __init__(
        self,
        path: Path,
        *,
        name: str | None = None,
        sheet: str | None = None,
        hint: Sequence[str] = (),
    ) -> None:
        super().__init__(name or str(path))
        limits.check_regular(path, self.name)
        check_expansion(path, self.name)
        worker = _Worker(path, self.name, sheet)
        self._stop = weakref.finalize(self, worker.stop)
        try:
            self.sheet: str = worker.start()
            self._rows = worker.rows()
            top = list(islice(self._rows, HEADER_SEARCH_ROWS))
            texts = [cells for cells, _ in top]
            if not texts or all(is_blank(cells) for cells in texts):
                raise SourceError(f"sheet {self.sheet!r} is empty: no header row and no "
                                  "records", file=self.name)
            index = find_header_index(texts, hint)
            self.header_row = index + 1
            self._header = clean_header(texts[index], file=self.name, row=self.header_row)
            self.columns = self._header.columns
            self._pending = top[index + 1:]
        except BaseException:
            self._stop()
            raise

    def records(self) -> Iterator[Record]:
        header = self._header
        columns = header.columns
        row = self.header_row
        try:
            for cells, imprecise in chain(self._pending, self._rows):
                row += 1
                if is_blank(cells):
                    continue
                for position in imprecise or ():
                    if position < len(columns):
                        self.warn(
                            f"the number {cells[position]} has more than 15 digits and "
                            "Excel may have rounded it; store IDs as text in the workbook",
                            row=row,
                            column=columns[position],
                        )
                yield build_record(cells, header, row)
        finally:
            self._stop()

"""Reads one sheet of a workbook with calamine, in a process of its own.

``files.excel`` runs this file as a script (``python -I excel_worker.py PATH SHEET
MAX_CELLS MEMORY``) rather than calling calamine itself: calamine builds the whole sheet as
one block from A1 to its last cell, so a workbook with one value in XFD1048576 asks for
half a terabyte, and a Rust allocation failure aborts the process that makes it, with no
exception to catch. Here the process limits its own address space (``RLIMIT_AS``) before
opening the workbook, so such a sheet ends this process only, and the reader reports it.

The script writes frames to stdout, each a 4-byte little-endian length and a ``marshal``
dump of a tuple (the reader runs the same interpreter, so the format is the same):

* ``("error", message)``: the workbook or sheet cannot be used (message for a person);
* ``("sheet", name)``: the sheet about to be read (before calamine loads it);
* ``("size", rows, columns)``: the sheet loaded, its size counted from A1;
* ``("rows", [(texts, imprecise), ...])``: rows in order from row 1, each the text of its
  cells (from column A) and the indexes of whole numbers above 15 digits, or None;
* ``("end",)``.

It imports nothing from ``connector`` (``-I`` keeps its folder off ``sys.path``), so
starting it costs an interpreter and calamine only; ``cell_text`` lives here so that the
reader and this script agree on how a cell reads.
"""

from __future__ import annotations

import datetime as dt
import marshal
import os
import struct
import sys
from typing import IO, Any

# Excel keeps 15 significant digits; a larger whole number typed into a cell has lost
# digits already, which matters for IDs.
EXACT_DIGITS = 10**15
_BATCH = 2000


def cell_text(value: Any) -> str:
    """The text for one cell value as calamine returns it."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is float:
        if value.is_integer():
            return str(int(value))
        return format(value, ".15g")
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if kind is int:
        return str(value)
    if kind is dt.datetime:
        return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")  # type: ignore[no-any-return]
    if kind is dt.date:
        return value.isoformat()  # type: ignore[no-any-return]
    if kind is dt.time:
        return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")  # type: ignore[no-any-return]
    if kind is dt.timedelta:
        return _duration(value)
    if value is None:
        return ""
    return str(value)


def _duration(value: dt.timedelta) -> str:
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _limit_memory(extra: int) -> None:
    """Let this process map at most ``extra`` bytes more than it has now (Linux; where
    the limit cannot be set, the sheet is read without it)."""
    try:
        import resource

        with open("/proc/self/statm", encoding="ascii") as statm:
            mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        soft = mapped + extra
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    except (ImportError, OSError, ValueError):
        pass


def _convert(values: list[Any], pad: list[str]) -> tuple[list[str], list[int] | None]:
    texts = [v if type(v) is str else cell_text(v) for v in values]
    if pad:
        texts = pad + texts
    imprecise = None
    if float in set(map(type, values)):
        for index, value in enumerate(values):
            if type(value) is float and value.is_integer() and abs(value) >= EXACT_DIGITS:
                imprecise = imprecise or []
                imprecise.append(len(pad) + index)
    return texts, imprecise


def read_sheet(path: str, sheet: str | None, max_cells: int, out: IO[bytes]) -> None:
    """Write the frames for one sheet of the workbook at ``path`` to ``out``."""
    from python_calamine import CalamineWorkbook

    def send(*frame: Any) -> None:
        data = marshal.dumps(frame)
        out.write(struct.pack("<I", len(data)))
        out.write(data)

    try:
        workbook = CalamineWorkbook.from_path(path)
    except Exception as exc:  # calamine raises its own untyped errors
        return send("error", f"is not a readable Excel workbook ({exc})")
    names = list(workbook.sheet_names)
    if sheet is None:
        if not names:
            return send("error", "has no sheets")
        sheet = names[0]
    elif sheet not in names:
        return send("error", f"has no sheet named {sheet!r}; its sheets are: "
                    + ", ".join(repr(n) for n in names))
    send("sheet", sheet)
    out.flush()  # the reader knows which sheet it was, should loading it end this process
    try:
        data = workbook.get_sheet_by_name(sheet)
    except Exception as exc:
        return send("error", f"sheet {sheet!r} cannot be read ({exc})")
    start, end = data.start, data.end
    rows, columns = (end[0] + 1, end[1] + 1) if start and end else (0, 0)
    if rows * columns > max_cells:
        return send("error", f"sheet {sheet!r} spans {rows:,} rows and {columns:,} columns "
                    f"from A1 ({rows * columns:,} cells), more than the {max_cells:,} cells "
                    "a workbook may have here; if a stray value lies far below or to the "
                    "right of the data (Ctrl+End in Excel goes to it), delete it, or "
                    "export the data as CSV")
    send("size", rows, columns)
    pad = [""] * (start[1] if start else 0)
    batch: list[tuple[list[str], list[int] | None]] = []
    for values in data.iter_rows():
        batch.append(_convert(values, pad))
        if len(batch) >= _BATCH:
            send("rows", batch)
            batch = []
    if batch:
        send("rows", batch)
    send("end")


def main(argv: list[str]) -> int:
    """``PATH SHEET MAX_CELLS MEMORY`` (an empty SHEET: the first)."""
    path, sheet, max_cells, memory = argv
    _limit_memory(int(memory))
    try:
        read_sheet(path, sheet or None, int(max_cells), sys.stdout.buffer)
    except MemoryError:
        return 3
    except BrokenPipeError:  # the reader stopped listening
        return 4
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

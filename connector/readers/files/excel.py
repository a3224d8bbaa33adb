"""Excel workbooks (.xlsx, .xlsm), read with calamine.

calamine (a Rust reader) parses a sheet about four times faster than openpyxl, which is
what lets a 100k-row export load in seconds (see ``bench/readers.py``). Cells come back
typed; this module turns each into the text a person sees for it: dates as ISO 8601,
whole numbers without ``.0``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook

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

# Excel keeps 15 significant digits; a larger whole number typed into a cell has lost
# digits already, which matters for IDs.
_EXACT_DIGITS = 10**15


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


class ExcelReader(Reader):
    """Reads one sheet of a workbook: by name, or the first sheet."""

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
        try:
            workbook = CalamineWorkbook.from_path(str(path))
        except Exception as exc:  # calamine raises its own untyped errors
            raise SourceError(
                f"is not a readable Excel workbook ({exc})", file=self.name
            ) from None
        names = list(workbook.sheet_names)
        if sheet is None:
            if not names:
                raise SourceError("has no sheets", file=self.name)
            sheet = names[0]
        elif sheet not in names:
            raise SourceError(
                f"has no sheet named {sheet!r}; its sheets are: "
                + ", ".join(repr(n) for n in names),
                file=self.name,
            )
        self.sheet = sheet
        try:
            raw = workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        except Exception as exc:
            raise SourceError(f"sheet {sheet!r} cannot be read ({exc})", file=self.name) from None
        self._raw: list[list[Any]] = raw
        top = [[cell_text(v) for v in row] for row in raw[:HEADER_SEARCH_ROWS]]
        if not top or all(is_blank(cells) for cells in top):
            raise SourceError(f"sheet {sheet!r} is empty: no header row and no records",
                              file=self.name)
        index = find_header_index(top, hint)
        self.header_row = index + 1
        self._header = clean_header(top[index], file=self.name, row=self.header_row)
        self.columns = self._header.columns

    def records(self) -> Iterator[Record]:
        header = self._header
        width = header.width
        for index in range(self.header_row, len(self._raw)):
            values = self._raw[index]
            cells = [cell_text(v) for v in values[:width]]
            if len(values) > width:
                # Keep what lies beyond the header so build_record can report it.
                cells.extend(cell_text(v) for v in values[width:])
            if is_blank(cells):
                continue
            row = index + 1
            for value, column in zip(values, header.columns, strict=False):
                if type(value) is float and value.is_integer() and abs(value) >= _EXACT_DIGITS:
                    self.warn(
                        f"the number {cell_text(value)} has more than 15 digits and Excel "
                        "may have rounded it; store IDs as text in the workbook",
                        row=row,
                        column=column,
                    )
            yield build_record(cells, header, row)

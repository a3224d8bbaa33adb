"""What every reader produces, and the header rules they all share.

A reader turns one HR source into ``Record`` values: the source row number and a mapping
of column name to text, exactly as written. Nothing is converted to numbers, dates or
NaN here; the mapping decides what a value means.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from connector.core.records import Record
from connector.errors import Problem, SourceError

# Cells that are values, not column names: numbers and ISO dates.
_VALUE_LIKE = re.compile(r"[-+]?\d+([.,]\d+)?$|\d{4}-\d{2}-\d{2}")

#: How many rows from the top a reader looks through for the header row.
HEADER_SEARCH_ROWS = 30


class Reader(ABC):
    """One HR source, opened: its columns are known, its records can be iterated once.

    Opening a reader reads the header, so a source that cannot be used at all raises
    ``SourceError`` at once, before anything else happens.
    """

    #: Short name of the format, for messages and reports (``csv``, ``xlsx`` ...).
    format: str = ""

    def __init__(self, name: str) -> None:
        self.name = name
        self.columns: list[str] = []
        self.header_row = 1
        self.warnings: list[Problem] = []

    @abstractmethod
    def records(self) -> Iterator[Record]:
        """Yield the source's records in order; empty rows are skipped."""

    def warn(self, reason: str, *, row: int | None = None, column: str | None = None) -> None:
        """Note something a person should know about the source as a whole."""
        self.warnings.append(
            Problem(reason, severity="warning", file=self.name, row=row, column=column)
        )


@dataclass(slots=True)
class Header:
    """A header row, cleaned: trimmed names and the positions of the columns they name."""

    columns: list[str]
    width: int
    problems: list[str] = field(default_factory=list)


def column_letter(index: int) -> str:
    """Spreadsheet letter of a 0-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def clean_header(cells: Sequence[str], *, file: str, row: int) -> Header:
    """Trim header cells, drop empty trailing ones, and refuse headers no one can map.

    A blank name inside the header or a name used twice makes the source unusable: a
    record could not say which value belongs to which column.
    """
    names = [cell.strip() for cell in cells]
    while names and not names[-1]:
        names.pop()
    problems: list[str] = []
    first_seen: dict[str, int] = {}
    for index, name in enumerate(names):
        where = f"column {column_letter(index)}"
        if not name:
            problems.append(f"{where} has no header name")
        elif name in first_seen:
            problems.append(
                f"header name {name!r} is used twice "
                f"(columns {column_letter(first_seen[name])} and {column_letter(index)})"
            )
        else:
            first_seen[name] = index
    if problems:
        raise SourceError("; ".join(problems), file=file, row=row)
    return Header(columns=names, width=len(names))


def is_blank(cells: Sequence[str]) -> bool:
    """True for a row with nothing but empty or white-space cells."""
    return not any(cell.strip() for cell in cells)


def find_header_index(rows: Sequence[Sequence[str]], hint: Sequence[str]) -> int:
    """Index of the header row among the first rows of a sheet.

    Exports often carry title rows ("Employee list", a date) above the header. With a
    hint (the columns the mapping needs), the header is the first row that names most of
    them; without one, it is the first row that fills more than half as many cells as the
    fullest row near the top (a title row is much narrower than the table below it) and
    holds no numbers or dates (a header holds names).
    """
    candidates = rows[:HEADER_SEARCH_ROWS]
    if hint:
        wanted = {name.strip() for name in hint}
        best, best_hits = -1, 0
        for index, cells in enumerate(candidates):
            hits = len(wanted.intersection(cell.strip() for cell in cells))
            if hits > best_hits:
                best, best_hits = index, hits
        if best >= 0 and best_hits * 2 >= len(wanted):
            return best
    filled = [sum(1 for cell in cells if cell.strip()) for cells in candidates]
    fullest = max(filled, default=0)
    for index, count in enumerate(filled):
        if count and count * 2 > fullest and not any(
            _VALUE_LIKE.match(cell.strip()) for cell in candidates[index]
        ):
            return index
    for index, count in enumerate(filled):
        if count:
            return index
    return 0


def build_record(
    cells: Sequence[str], header: Header, row: int
) -> Record:
    """Pair a row's cells with the header; short rows are padded with empty values."""
    width = header.width
    problems: tuple[str, ...] = ()
    if len(cells) > width:
        extra = [cell for cell in cells[width:] if cell.strip()]
        if extra:
            shown = ", ".join(repr(cell) for cell in extra[:3])
            problems = (
                f"{len(extra)} value(s) beyond the last header column ({shown}); "
                "a delimiter inside an unquoted value?",
            )
        cells = cells[:width]
    elif len(cells) < width:
        cells = list(cells) + [""] * (width - len(cells))
    return Record(row=row, values=dict(zip(header.columns, cells, strict=True)), problems=problems)

"""The record every reader yields and every later stage consumes (pure data)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Record:
    """One HR record: its row number as a spreadsheet shows it, and its values as text.

    ``problems`` holds what the reader noticed about this row (say, more values than the
    header has columns); the record is still handed on so nothing is silently dropped.
    """

    row: int
    values: dict[str, str]
    problems: tuple[str, ...] = ()

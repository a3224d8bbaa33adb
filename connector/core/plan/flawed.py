"""What rows with errors mean for everyone else in the plan. Pure.

A flawed row never causes a write to someone else:

* a managed user whose key is on a row with errors is left alone: every change the plan
  would make to them, their manager link included, is held, and links naming them as
  manager are held too;
* a row with no usable key (blank, or the same key on several rows) could be anyone, so
  nobody is disabled for being missing from the export while there is one: those disables
  are held, unless the run allows them (``Policy.allow_absent_disables``).

Held changes are reported, never written (``Change.hold``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from connector.core.records import MappedRecord
from connector.errors import Problem


@dataclass(frozen=True)
class Flawed:
    """The rows with errors of one source, as the plan needs them."""

    #: Rows with errors (records in error and records that could not be matched), with
    #: their problems.
    errors: dict[int, list[Problem]] = field(default_factory=dict)
    #: HR key -> the rows with errors that carry it.
    keys: dict[str, list[int]] = field(default_factory=dict)
    #: Rows with errors whose key is blank or on several rows: who they are is unknown.
    keyless: list[int] = field(default_factory=list)

    def why_left_alone(self, key: str) -> str:
        """Why a user whose key is on a row with errors gets nothing this run."""
        return (f"held: key {key} is on {rows_text(self.keys[key])} with errors, so this "
                "user is left alone until it is fixed")

    def why_no_absence(self) -> str:
        """Why disables for absence are held this run."""
        return (f"held: {rows_text(self.keyless)} with no usable key (blank or repeated) "
                "could be this person, so nobody is disabled for being missing "
                "(--allow-absent-disables allows it for one run)")


def find_flawed(records: Sequence[MappedRecord], match_problems: Mapping[int, str]) -> Flawed:
    """The rows with errors among ``records`` (``match_problems``: rows ``match_users``
    could not match). Reads the records, never changes them."""
    on_rows = Counter(record.key for record in records if record.key)
    flawed = Flawed()
    for record in records:
        extra = match_problems.get(record.row)
        if record.status != "error" and extra is None:
            continue
        problems = list(record.errors) if record.status == "error" else []
        if extra is not None:
            problems.append(Problem(extra, row=record.row, key=record.key or None))
        flawed.errors[record.row] = problems
        if record.key:
            flawed.keys.setdefault(record.key, []).append(record.row)
        if not record.key or on_rows[record.key] > 1:
            flawed.keyless.append(record.row)
    return flawed


def rows_text(rows: Sequence[int], shown: int = 5) -> str:
    """``row 7``, ``rows 7 and 9``, ``rows 2, 3, 4, 5, 6 and 4 more``."""
    if len(rows) == 1:
        return f"row {rows[0]}"
    listed = ", ".join(str(r) for r in rows[:shown])
    if len(rows) > shown:
        return f"rows {listed} and {len(rows) - shown} more"
    head, _, last = listed.rpartition(", ")
    return f"rows {head} and {last}"

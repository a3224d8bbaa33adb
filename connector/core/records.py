"""Records through the pipeline (pure data): the ``Record`` every reader yields, and the
``MappedRecord`` the mapping makes of it for the plan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from connector.errors import Problem

Status = Literal["mapped", "skipped", "error"]


@dataclass(slots=True)
class Record:
    """One HR record: its row number as a spreadsheet shows it, and its values as text.

    ``problems`` holds what the reader noticed about this row (say, more values than the
    header has columns); the record is still handed on so nothing is silently dropped.
    """

    row: int
    values: dict[str, str]
    problems: tuple[str, ...] = ()


@dataclass(slots=True)
class MappedRecord:
    """What the mapping made of one record.

    ``attributes`` hold the values of rules that always apply and ``on_create`` those of
    create-only rules, by flat property name (``employeeOrgData.division``); ``defaults``
    hold rule defaults used because the result was empty, which apply on create only, as
    in Entra; ``empty`` names always-rules that produced nothing (no default).
    """

    row: int
    key: str
    status: Status
    attributes: dict[str, Any] = field(default_factory=dict)
    on_create: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    empty: list[str] = field(default_factory=list)
    leaver: bool = False
    manager_key: str | None = None
    reason: str | None = None
    errors: list[Problem] = field(default_factory=list)

    def for_create(self) -> dict[str, Any]:
        """Every value a create would send (flat names)."""
        return {**self.defaults, **self.on_create, **self.attributes}


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Graph's shape from flat names: ``employeeOrgData.division`` becomes a sub-object."""
    nested: dict[str, Any] = {}
    for name, value in flat.items():
        head, dot, rest = name.partition(".")
        if dot:
            nested.setdefault(head, {})[rest] = value
        else:
            nested[name] = value
    return nested


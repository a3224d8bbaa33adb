"""Records through the pipeline (pure data): the ``Record`` every reader yields, and the
``MappedRecord`` the mapping makes of it for the plan."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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
    #: The values the create-only rules read (``CompiledMapping.create_columns``), kept
    #: from the record until those rules run, so the record itself need not be kept.
    inputs: tuple[str, ...] | None = None

    def for_create(self) -> dict[str, Any]:
        """Every value a create would send (flat names): defaults, then create-only
        values, then the rest, each name once with the value that wins (a new dict)."""
        if not self.defaults and not self.on_create:
            return dict(self.attributes)
        return {**self.defaults, **self.on_create, **self.attributes}

    def value(self, name: str) -> Any:
        """The value a create would send for ``name`` (``for_create()[name]`` without
        copying every value), None when there is none."""
        value = self.attributes.get(name)
        if value is None and self.on_create:
            value = self.on_create.get(name)
        if value is None and self.defaults:
            value = self.defaults.get(name)
        return value

    def create_values(self) -> Mapping[str, Any]:
        """``for_create()``, without a copy when there is nothing to merge (read it, do
        not edit it)."""
        if not self.defaults and not self.on_create:
            return self.attributes
        # One merge in C: the same order and winners as the names read one at a time.
        return {**self.defaults, **self.on_create, **self.attributes}

    def create_items(self) -> Iterator[tuple[str, Any]]:
        """``for_create().items()``: defaults, then create-only values, then the rest."""
        return iter(self.create_values().items())

    def create_count(self) -> int:
        """How many values a create would send."""
        if not self.defaults and not self.on_create:
            return len(self.attributes)
        return len(self.attributes.keys() | self.on_create.keys() | self.defaults.keys())


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


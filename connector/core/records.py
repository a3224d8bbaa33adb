"""Records through the pipeline (pure data): the ``Record`` every reader yields, and the
``MappedRecord`` the mapping makes of it for the plan."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from connector.errors import Problem

Status = Literal["mapped", "skipped", "error"]


class _NoValues(dict[str, Any]):
    """The empty mapping every ``MappedRecord`` shares until it has values: read-only (a
    dict for reading at C speed), copied and pickled as itself."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("MappedRecord's shared empty mapping: assign a dict of your own")

    __setitem__ = __delitem__ = update = setdefault = pop = popitem = clear = _refuse
    __ior__ = _refuse

    def __reduce__(self) -> str:
        return "NO_VALUES"


#: The empty, read-only mapping of values a ``MappedRecord`` has by default.
NO_VALUES: Final[Mapping[str, Any]] = _NoValues()


@dataclass(slots=True)
class Record:
    """One HR record: its row number as a spreadsheet shows it, and its values as text.

    ``problems`` holds what the reader noticed about this row (say, more values than the
    header has columns); the record is still handed on so nothing is silently dropped.
    """

    row: int
    values: dict[str, str]
    problems: tuple[str, ...] = ()


@dataclass(slots=True, init=False)
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
    # The containers most records leave empty default to empties every record shares
    # (read-only: assign a new dict or list to fill one): a million records hold no
    # million empty dicts and lists.
    on_create: Mapping[str, Any] = field(default_factory=lambda: NO_VALUES)
    defaults: Mapping[str, Any] = field(default_factory=lambda: NO_VALUES)
    empty: Sequence[str] = ()
    leaver: bool = False
    manager_key: str | None = None
    reason: str | None = None
    errors: Sequence[Problem] = ()
    #: The values the create-only rules read (``CompiledMapping.create_columns``), kept
    #: from the record until those rules run, so the record itself need not be kept.
    inputs: tuple[str, ...] | None = None
    #: The groups the record's own values put it in (pairs of the mapping's group rule
    #: and the group, ``connector.mapping.groups``); empty without a ``groups:`` section.
    groups: tuple[tuple[Any, Any], ...] = ()

    def __init__(  # written out: a record is made per row, and shares its empties
        self, row: int, key: str, status: Status, attributes: dict[str, Any] | None = None,
        on_create: Mapping[str, Any] = NO_VALUES, defaults: Mapping[str, Any] = NO_VALUES,
        empty: Sequence[str] = (), leaver: bool = False, manager_key: str | None = None,
        reason: str | None = None, errors: Sequence[Problem] = (),
        inputs: tuple[str, ...] | None = None, groups: tuple[tuple[Any, Any], ...] = (),
    ) -> None:
        self.row, self.key, self.status = row, key, status
        self.attributes = {} if attributes is None else attributes
        self.on_create, self.defaults, self.empty = on_create, defaults, empty
        self.leaver, self.manager_key, self.reason = leaver, manager_key, reason
        self.errors, self.inputs, self.groups = errors, inputs, groups

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


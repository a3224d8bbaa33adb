"""What a plan is made of: actions, one ``Change`` per user and action, the ``Policy`` a run
plans under, and the ``Plan`` itself. Pure data."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from connector.core.plan.compare import current_value
from connector.core.plan.group_model import GroupChange, GroupLedger
from connector.core.records import MappedRecord, nest
from connector.errors import Problem

Action = Literal["create", "update", "disable", "enable", "delete", "manager", "unchanged",
                 "skipped", "error", "held"]
ACTIONS: tuple[Action, ...] = ("create", "update", "disable", "enable", "delete", "manager",
                               "unchanged", "skipped", "error", "held")
#: The actions apply writes. ``held`` is not one of them: a held change is never written.
WRITES: frozenset[str] = frozenset({"create", "update", "disable", "enable", "delete", "manager"})


#: An attribute a change writes: name, value today, value wanted.
Triple = tuple[str, Any, Any]


class Change:
    """One planned action for one user.

    ``attributes`` maps each attribute written to ``(old, new)`` as Graph stores them (for
    a create, ``old`` is None). ``body`` is the Graph payload for create/update/disable/
    enable; for ``manager`` changes, ``manager_key``/``manager_id`` name the new manager
    (``None`` clears it) and ``manager_id`` is None while the manager is still to be
    created in this run; ``attributes["manager"]`` holds the current manager (by HR key,
    else UPN or id; None when there is none) and the new one's key.

    A ``held`` change is one a flawed row holds back: ``held`` names the action it would
    have been (``disable``, ``manager``, ...; None when a user is only left alone),
    ``attributes`` what it would have changed, and ``reason`` why it is held. It has no
    body and is never written.

    Held compactly, as a plan of a million changes must be: a create keeps the mapped
    record it creates (``creates``) and makes its ``attributes`` and ``body`` from it when
    they are read; ``attributes`` given as a tuple of ``(name, old, new)`` is kept as it
    is. Those views are made anew on each read: assign ``attributes`` or ``body`` to
    change them, do not edit what a read returned.
    """

    __slots__ = ("_attributes", "_body", "action", "creates", "errors", "held", "key",
                 "manager_id", "manager_key", "reason", "row", "upn", "user_id")

    def __init__(
        self, action: Action, key: str, row: int | None = None, user_id: str | None = None,
        upn: str | None = None,
        attributes: dict[str, tuple[Any, Any]] | tuple[Triple, ...] | None = None,
        body: dict[str, Any] | None = None, reason: str | None = None,
        manager_key: str | None = None, manager_id: str | None = None,
        errors: Sequence[Problem] | None = None, held: Action | None = None,
        creates: MappedRecord | None = None,
    ) -> None:
        self.action = action
        self.key = key
        self.row = row
        self.user_id = user_id
        self.upn = upn
        self._attributes = attributes
        self._body = body
        self.reason = reason
        self.manager_key = manager_key
        self.manager_id = manager_id
        # Most changes have no errors: they share one empty tuple (assign a list to add).
        self.errors: Sequence[Problem] = errors if errors is not None else ()
        self.held = held
        self.creates = creates

    @property
    def attributes(self) -> dict[str, tuple[Any, Any]]:
        """Attribute name -> ``(old, new)``."""
        stored = self._attributes
        if isinstance(stored, dict):
            return stored
        if stored is not None or self.creates is not None:
            return {name: (old, new) for name, old, new in self.attribute_items()}
        made: dict[str, tuple[Any, Any]] = {}
        self._attributes = made
        return made

    @attributes.setter
    def attributes(self, value: dict[str, tuple[Any, Any]]) -> None:
        self._attributes = value

    @property
    def body(self) -> dict[str, Any]:
        """The Graph payload (empty for actions that send none)."""
        if self._body is None:
            if self.creates is not None and self.action == "create":
                return nest(dict(self.creates.create_items()))
            self._body = {}
        return self._body

    @body.setter
    def body(self, value: dict[str, Any]) -> None:
        self._body = value

    def attribute_items(self) -> Iterator[Triple]:
        """``(name, old, new)`` for every attribute, without building ``attributes``."""
        stored = self._attributes
        if isinstance(stored, dict):
            for name, (old, new) in stored.items():
                yield name, old, new
        elif stored is not None:
            yield from stored
        elif self.creates is not None:
            for name, new in self.creates.create_items():
                yield name, None, new

    def created_values(self) -> Mapping[str, Any] | None:
        """For a change that holds the mapped record it creates: every value it sends, by
        flat name (each attribute's ``old`` is None); else None. Read it, do not edit it."""
        if self._attributes is None and self.creates is not None:
            return self.creates.create_values()
        return None

    @property
    def attribute_count(self) -> int:
        """How many attributes the change names (reports count rows with it)."""
        stored = self._attributes
        if stored is not None:
            return len(stored)
        return self.creates.create_count() if self.creates is not None else 0

    def hold(self, why: str) -> None:
        """Turn this change into a held one (it keeps what it would have changed)."""
        if self.action == "held":
            return
        self.held = self.action
        self.action = "held"
        self.body = {}
        self.reason = f"{self.reason}; {why}" if self.reason else why

    def _fields(self) -> tuple[Any, ...]:
        return (self.action, self.key, self.row, self.user_id, self.upn, self.attributes,
                self.body, self.reason, self.manager_key, self.manager_id, list(self.errors),
                self.held)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Change):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"Change(action={self.action!r}, key={self.key!r}, row={self.row!r}, "
                f"user_id={self.user_id!r}, upn={self.upn!r}, reason={self.reason!r}, "
                f"attributes={self.attributes!r})")


@dataclass(frozen=True)
class Policy:
    """How a run treats what it finds (from the mapping and the run's configuration)."""

    matching: tuple[str, ...] = ("employeeId",)
    full_export: bool = True
    prehire_days: int = 14
    delete_after_days: int | None = None
    #: Which tenant users the connector manages. None: those whose first matching
    #: attribute is set. Given (the mapping's ``managed:`` filters), a matched user
    #: outside it is left alone too.
    managed: Callable[[Mapping[str, Any]], bool] | None = None
    #: Disable users missing from a full export even when some row has no usable key
    #: (blank or repeated); otherwise those disables are held (``--allow-absent-disables``).
    allow_absent_disables: bool = False

    def manages(self, user: Mapping[str, Any]) -> bool:
        """Whether the connector may touch ``user``."""
        if self.managed is not None:
            return self.managed(user)
        return bool(current_value(user, self.matching[0]))


@dataclass
class GroupInfo:
    """What a plan knows about the owned groups beyond its changes: their member counts
    today (group id -> count; the safety percentages) and the ledger to record after the
    run (members the connector added, since when a group is empty)."""

    sizes: dict[str, int] = field(default_factory=dict)
    ledger: GroupLedger = field(default_factory=GroupLedger)
    #: Owned group id -> its mailNickname (what the ledger file names each group by).
    nicknames: dict[str, str] = field(default_factory=dict)


@dataclass
class Plan:
    """Every change a run would make, with what it noticed on the way."""

    changes: list[Change]
    managed: int
    records: int
    warnings: list[Problem] = field(default_factory=list)
    #: Group changes (``connector.core.plan.groups``), apart from the users' changes.
    groups: list[GroupChange] = field(default_factory=list)
    #: What the run records about owned groups after it applies (None: no groups).
    group_info: GroupInfo | None = None

    def count(self, action: str) -> int:
        """How many changes have ``action``."""
        return sum(1 for c in self.changes if c.action == action)

    @property
    def summary(self) -> dict[str, int]:
        """Counts per action (every action, zero included)."""
        return {action: self.count(action) for action in ACTIONS}

    @property
    def writes(self) -> list[Change]:
        """The changes that write to the tenant, in order."""
        return [c for c in self.changes if c.action in WRITES]

    @property
    def errors(self) -> list[Problem]:
        """Every record problem, flattened."""
        return [p for c in self.changes for p in c.errors]

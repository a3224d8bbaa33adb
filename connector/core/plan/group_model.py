"""Groups in the plan: the mapping's group rules as the plan needs them, the groups read from
the tenant, the memberships the connector added, and one ``GroupChange`` per group write.
Pure data (``groups`` plans with it).

Group changes live apart from the user ``Change`` list (``Plan.groups``): a group, a
member, add or remove, and why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

GroupAction = Literal["create", "update", "add", "remove", "delete", "kept", "held", "error"]
GROUP_ACTIONS: tuple[GroupAction, ...] = ("create", "update", "add", "remove", "delete", "kept",
                                          "held", "error")
#: The group actions apply writes (``kept``, ``held`` and ``error`` are reported only).
GROUP_WRITES: frozenset[str] = frozenset({"create", "update", "add", "remove", "delete"})
#: How logs, the CSV and the terminal name each group action beside the user actions.
GROUP_LABELS: Mapping[str, str] = {
    "create": "group create", "update": "group update", "add": "member add",
    "remove": "member remove", "delete": "group delete", "kept": "group kept",
    "held": "group held", "error": "group error"}


@dataclass(frozen=True)
class GroupRule:
    """One rule of the mapping's ``groups:`` section, as the plan needs it.

    A rule declares the groups whose mailNickname (lower case) is ``prefix`` + a value +
    ``suffix`` (a group per distinct value), or exactly ``prefix`` (a fixed group).
    """

    name: str
    prefix: str
    suffix: str = ""
    per_value: bool = False
    #: Remove members the connector did not add (the group is HR's alone).
    exclusive: bool = False
    #: Leavers (disabled: a leaver, out of scope, missing from a full export) leave it.
    remove_leavers: bool = True
    #: Delete the group once it has been empty this many days; None: keep it.
    delete_empty_after_days: int | None = None

    def declares(self, nickname: str) -> bool:
        """Whether a group with this mailNickname belongs to this rule."""
        name = nickname.lower()
        if not self.per_value:
            return name == self.prefix
        return (name.startswith(self.prefix) and name.endswith(self.suffix)
                and len(name) > len(self.prefix) + len(self.suffix))


@dataclass(frozen=True)
class DesiredGroup:
    """A group a rule wants, named from one value (``value`` is None for a fixed group)."""

    nickname: str
    display_name: str
    description: str | None
    rule: GroupRule
    value: str | None = None

    @property
    def key(self) -> str:
        """Graph compares mailNicknames without case: the plan's key for the group."""
        return self.nickname.lower()

    def why(self) -> str:
        """Why a record belongs here: ``rule departments: 'Finance'``."""
        return (f"rule {self.rule.name}: {self.value!r}" if self.value is not None
                else f"rule {self.rule.name}")


@dataclass(frozen=True)
class TenantGroup:
    """A group as read from the tenant; ``members`` (ids, lower case) is None when they
    were not read (a group the connector does not own)."""

    id: str
    display_name: str
    nickname: str
    description: str | None = None
    security_enabled: bool = True
    mail_enabled: bool = False
    group_types: tuple[str, ...] = ()
    members: frozenset[str] | None = None
    #: Member id -> its ``@odata.type`` when it is not a user (a group, a device ...).
    kinds: Mapping[str, str] = field(default_factory=dict)

    def ownable(self, marker: str) -> bool:
        """A security group (not mail-enabled, no Microsoft 365 or dynamic membership)
        whose mailNickname starts with the marker: the only groups the connector owns."""
        types = {t.lower() for t in self.group_types}
        return (self.security_enabled and not self.mail_enabled
                and not types & {"unified", "dynamicmembership"}
                and self.nickname.lower().startswith(marker.lower()))

    def kind_of(self, member_id: str) -> str:
        """``user``, ``group``, ``device`` ...: what a member is."""
        kind = self.kinds.get(member_id, "#microsoft.graph.user")
        return kind.rsplit(".", 1)[-1]


@dataclass
class GroupLedger:
    """What the state folder records about owned groups: the members the connector added
    (group id -> member ids, lower case) and since when a group has been empty.

    ``known`` is False when a run has no state folder: then no member is known to be the
    connector's, so only exclusive groups lose members.
    """

    added: dict[str, set[str]] = field(default_factory=dict)
    empty_since: dict[str, dt.date] = field(default_factory=dict)
    known: bool = True

    def copy(self) -> GroupLedger:
        """A copy to change (the plan keeps the one it read)."""
        return GroupLedger({g: set(m) for g, m in self.added.items()}, dict(self.empty_since),
                           self.known)

    def same(self, other: GroupLedger) -> bool:
        """Whether both record the same (groups with nothing recorded do not count)."""
        def added(ledger: GroupLedger) -> dict[str, set[str]]:
            return {g: m for g, m in ledger.added.items() if m}
        return added(self) == added(other) and self.empty_since == other.empty_since


#: What a member add or remove carries as its body and attributes: one shared, read-only
#: empty mapping (a first load plans hundreds of thousands of them).
_NONE: Mapping[str, Any] = MappingProxyType({})


@dataclass(slots=True)
class GroupChange:
    """One planned change to a group, or one group reported without a write.

    ``create`` and ``update`` carry the Graph ``body`` (and ``attributes``, old -> new);
    ``add`` and ``remove`` name the member by HR key (``member_key``; None for a member
    that is not one of HR's users) and object id (``member_id``; None while the user is
    still to be created in this run). ``kept`` reports an owned group left as it is (no
    rule declares it any more, or it is empty and kept), ``error`` a group the connector
    must not touch (a clash), ``held`` a change a row with errors holds back (``held``
    names what it would have been).
    """

    action: GroupAction
    group: str
    nickname: str
    rule: str | None = None
    group_id: str | None = None
    member_key: str | None = None
    member_id: str | None = None
    member_upn: str | None = None
    reason: str | None = None
    body: Mapping[str, Any] = field(default_factory=lambda: _NONE)
    attributes: Mapping[str, tuple[Any, Any]] = field(default_factory=lambda: _NONE)
    held: GroupAction | None = None

    def hold(self, why: str) -> None:
        """Turn this change into a held one: reported, never written."""
        if self.action == "held":
            return
        self.held, self.action, self.body = self.action, "held", _NONE
        self.reason = f"{self.reason}; {why}" if self.reason else why

    @property
    def label(self) -> str:
        """``member add``: how logs and tables name the action."""
        return GROUP_LABELS[self.action]

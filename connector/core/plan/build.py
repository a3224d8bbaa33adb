"""The plan: desired users (from the mapping) against current users (from Graph). Pure.

``build_plan`` decides, for every HR record and every managed user, one action:

=========  ================================================================================
create     no user matches the record; a pre-hire only within ``prehire_days`` of the start
update     the matched user differs in attributes the mapping owns (only those are written)
disable    a leaver, a record gone out of scope, a managed user missing from a full export,
           or accountEnabled turning false
enable     accountEnabled turning true (a rehire: the same key is back)
delete     a disabled leaver past the mapping's ``delete_after_days`` (never by default)
unchanged  nothing to write
skipped    out of scope with no account, a leaver with no account, a pre-hire too early
error      the record could not be mapped; its user, if any, is left alone
=========  ================================================================================

Manager changes are planned separately (``action="manager"``), after the user actions, so
a manager created in the same run can be referenced. Values are compared the way Graph
stores them. ``check_safety`` says whether a plan stays within the run's thresholds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from connector.core.plan.compare import (
    NOT_CLEARABLE,
    current_value,
    differs,
    display,
    find_cycles,
    org_data_body,
)
from connector.core.records import MappedRecord, nest
from connector.errors import Problem

Action = Literal["create", "update", "disable", "enable", "delete", "manager", "unchanged",
                 "skipped", "error"]
ACTIONS: tuple[Action, ...] = ("create", "update", "disable", "enable", "delete", "manager",
                               "unchanged", "skipped", "error")
WRITES: frozenset[str] = frozenset({"create", "update", "disable", "enable", "delete", "manager"})


@dataclass
class Change:
    """One planned action for one user.

    ``attributes`` maps each attribute written to ``(old, new)`` as Graph stores them (for
    a create, ``old`` is None). ``body`` is the Graph payload for create/update/disable/
    enable; for ``manager`` changes, ``manager_key``/``manager_id`` name the new manager
    (``None`` clears it) and ``manager_id`` is None while the manager is still to be
    created in this run.
    """

    action: Action
    key: str
    row: int | None = None
    user_id: str | None = None
    upn: str | None = None
    attributes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    manager_key: str | None = None
    manager_id: str | None = None
    errors: list[Problem] = field(default_factory=list)


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

    def manages(self, user: Mapping[str, Any]) -> bool:
        """Whether the connector may touch ``user``."""
        if self.managed is not None:
            return self.managed(user)
        return bool(current_value(user, self.matching[0]))


@dataclass
class Plan:
    """Every change a run would make, with what it noticed on the way."""

    changes: list[Change]
    managed: int
    records: int
    warnings: list[Problem] = field(default_factory=list)

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


def match_users(
    records: Sequence[MappedRecord], current: Sequence[Mapping[str, Any]], matching: Sequence[str]
) -> tuple[dict[int, Mapping[str, Any]], dict[int, str]]:
    """The user each record matches (by row), trying matching attributes in order.

    Returns the matches and, per row, why a record could not be matched unambiguously
    (two users share the value, or another record already matched that user).
    """
    indexes = [_index(current, attribute) for attribute in matching]
    matches: dict[int, Mapping[str, Any]] = {}
    problems: dict[int, str] = {}
    claimed: dict[str, int] = {}
    for record in records:
        if record.status == "error":
            continue
        values = record.for_create()
        if record.status == "skipped" and record.key:
            # Out-of-scope records are not mapped; their HR key stands for the first
            # matching attribute (employeeId = the key column in every shipped mapping).
            values = {matching[0]: record.key}
        for attribute, index in zip(matching, indexes, strict=True):
            value = values.get(attribute)
            if not isinstance(value, str) or not value:
                continue
            found = index.get(_fold(attribute, value), [])
            if len(found) > 1:
                problems[record.row] = (f"{len(found)} users have {attribute} {value!r}; "
                                        "fix the tenant so it names one user")
            elif found:
                user = found[0]
                other = claimed.get(str(user["id"]))
                if other is not None:
                    problems[record.row] = f"matches the same user as row {other}"
                else:
                    claimed[str(user["id"])] = record.row
                    matches[record.row] = user
            if found:
                break
    return matches, problems


def _fold(attribute: str, value: str) -> str:
    # Graph compares UPNs and mail case-insensitively; employeeId and the rest exactly.
    return value.lower() if attribute in ("userPrincipalName", "mail") else value


def _index(
    users: Iterable[Mapping[str, Any]], attribute: str
) -> dict[str, list[Mapping[str, Any]]]:
    index: dict[str, list[Mapping[str, Any]]] = {}
    for user in users:
        value = current_value(user, attribute)
        if isinstance(value, str) and value:
            index.setdefault(_fold(attribute, value), []).append(user)
    return index


def build_plan(
    records: Sequence[MappedRecord],
    current: Sequence[Mapping[str, Any]],
    matches: Mapping[int, Mapping[str, Any]],
    *,
    policy: Policy,
    now: dt.datetime,
    match_problems: Mapping[int, str] | None = None,
) -> Plan:
    """Plan every change; pure, so a dry run is this and nothing more."""
    primary = policy.matching[0]
    managed = [u for u in current if policy.manages(u)]
    changes: list[Change] = []
    seen: set[str] = set()
    for record in records:
        problem = (match_problems or {}).get(record.row)
        if problem:
            record.status = "error"
            record.errors.append(Problem(problem, row=record.row, key=record.key or None))
        user = matches.get(record.row)
        if user is not None:
            seen.add(str(user["id"]))
        changes.append(_record_change(record, user, policy, now))
    if policy.full_export:
        present = _present_values(records, primary)
        for user in managed:
            if str(user["id"]) in seen or current_value(user, primary) in present:
                continue
            if user.get("accountEnabled") is False:
                continue
            changes.append(Change(
                action="disable", key=str(current_value(user, primary)), user_id=str(user["id"]),
                upn=user.get("userPrincipalName"), attributes={"accountEnabled": (True, False)},
                body={"accountEnabled": False}, reason="not in the HR export (a full export)"))
    plan = Plan(changes=changes, managed=len(managed), records=len(records))
    _plan_managers(plan, records, current, matches, primary)
    return plan


def _present_values(records: Sequence[MappedRecord], primary: str) -> set[str]:
    """Matching values of every record in the source, errors included, so a user whose
    record failed is never mistaken for one missing from the export."""
    present: set[str] = set()
    for record in records:
        value = record.for_create().get(primary)
        if isinstance(value, str):
            present.add(value)
        if record.key:
            present.add(record.key)
    return present


def _record_change(
    record: MappedRecord, user: Mapping[str, Any] | None, policy: Policy, now: dt.datetime
) -> Change:
    upn = (user or {}).get("userPrincipalName") or record.for_create().get("userPrincipalName")
    change = Change(action="unchanged", key=record.key, row=record.row,
                    user_id=str(user["id"]) if user else None, upn=upn)
    if record.status == "error":
        change.action, change.errors = "error", list(record.errors)
        change.reason = "; ".join(p.reason for p in record.errors)
        return change
    if user is not None and policy.managed is not None and not policy.manages(user):
        change.action, change.user_id = "skipped", None
        change.reason = (f"matches {user.get('userPrincipalName') or user['id']}, a user outside "
                         "the mapping's managed set: not touched")
        return change
    if record.status == "skipped":
        if user is not None and user.get("accountEnabled") is not False:
            return _disable(change, record.reason or "out of scope")
        change.action, change.reason = "skipped", record.reason
        return change
    if user is None:
        return _create(change, record, policy, now)
    if record.leaver:
        if user.get("accountEnabled") is not False:
            _diff(change, record, user, leaver=True)
            return _disable(change, "leaver")
        if _past_grace(record, policy, now):
            change.action, change.reason = "delete", (
                f"leaver, disabled, more than {policy.delete_after_days} days after leaving")
            return change
    _diff(change, record, user, leaver=record.leaver)
    enabled = change.attributes.get("accountEnabled")
    if enabled is not None:
        change.action = "enable" if enabled[1] is True else "disable"
        change.reason = "rehire: the same key is back" if enabled[1] is True else (
            "accountEnabled rule gives False")
    elif change.attributes:
        change.action = "update"
    return change


def _disable(change: Change, reason: str) -> Change:
    change.action, change.reason = "disable", reason
    change.attributes["accountEnabled"] = (True, False)
    change.body["accountEnabled"] = False
    return change


def _create(change: Change, record: MappedRecord, policy: Policy, now: dt.datetime) -> Change:
    if record.leaver:
        change.action, change.reason = "skipped", "leaver with no account: not created"
        return change
    values = record.for_create()
    hire = values.get("employeeHireDate")
    if isinstance(hire, str):
        start = dt.datetime.fromisoformat(hire.replace("Z", "+00:00"))
        create_on = (start - dt.timedelta(days=policy.prehire_days)).date()
        if create_on > now.date():
            change.action = "skipped"
            change.reason = (f"pre-hire starting {start.date()}: created on {create_on}, "
                             f"{policy.prehire_days} days before")
            return change
    change.action = "create"
    change.attributes = {name: (None, value) for name, value in values.items()}
    change.body = nest(values)
    return change


def _past_grace(record: MappedRecord, policy: Policy, now: dt.datetime) -> bool:
    if policy.delete_after_days is None:
        return False
    left = record.attributes.get("employeeLeaveDateTime")
    if not isinstance(left, str):
        return False
    leave = dt.datetime.fromisoformat(left.replace("Z", "+00:00"))
    return now >= leave + dt.timedelta(days=policy.delete_after_days)


def _diff(change: Change, record: MappedRecord, user: Mapping[str, Any], *, leaver: bool) -> None:
    """Attribute differences for a matched user: only what the mapping owns and writes."""
    desired: dict[str, Any] = dict(record.attributes)
    for name in record.empty:
        if name not in NOT_CLEARABLE:
            desired[name] = [] if name in ("businessPhones", "otherMails") else None
    if leaver:
        desired.pop("accountEnabled", None)  # _disable sets it
    flat: dict[str, Any] = {}
    for name, new in desired.items():
        old = current_value(user, name)
        if differs(old, new):
            change.attributes[name] = (old, new)
            flat[name] = new
    body = nest(flat)
    if "employeeOrgData" in body:
        # Graph replaces employeeOrgData whole: send both parts (graph.md §1.2).
        body["employeeOrgData"] = org_data_body(user, desired)
    change.body = body


def _plan_managers(
    plan: Plan, records: Sequence[MappedRecord], current: Sequence[Mapping[str, Any]],
    matches: Mapping[int, Mapping[str, Any]], primary: str,
) -> None:
    """Manager set/change/clear for every mapped record; problems become warnings."""
    by_key = {r.key: r for r in records if r.key and r.status != "error"}
    in_error = {r.key for r in records if r.key and r.status == "error"}
    creates = {c.key for c in plan.changes if c.action == "create"}
    existing = {str(current_value(u, primary)): u for u in current if current_value(u, primary)}
    by_id = {str(u["id"]): u for u in current}
    loops = find_cycles({r.key: r.manager_key for r in by_key.values() if r.manager_key})
    for cycle in loops:
        plan.warnings.append(Problem(
            f"managers form a loop ({' -> '.join([*cycle, cycle[0]])}); not set",
            severity="warning", key=cycle[0]))
    in_loop = {key for cycle in loops for key in cycle}
    for change in list(plan.changes):
        record = by_key.get(change.key)
        if record is None or change.action not in ("create", "update", "unchanged", "enable"):
            continue
        if record.row != change.row or change.key in in_loop:
            continue
        user = matches.get(record.row)
        old_id = user.get("manager") if user else None
        wanted = record.manager_key
        if wanted == record.key:
            plan.warnings.append(Problem("is their own manager; the manager is not set",
                                         severity="warning", row=record.row, key=record.key))
            continue
        new_id: str | None = None
        if wanted:
            target = by_key.get(wanted)
            target_user = matches.get(target.row) if target else existing.get(wanted)
            if target_user is not None:
                new_id = str(target_user["id"])
            elif not (target and target.key in creates):
                why = ("is on a record with errors" if wanted in in_error and target is None
                       else "matches no record and no user")
                plan.warnings.append(Problem(
                    f"manager key {wanted!r} {why}; the manager is not set",
                    severity="warning", row=record.row, key=record.key))
                continue
        elif old_id is None:
            continue
        if wanted and new_id is not None and new_id == old_id:
            continue
        old_user = by_id.get(str(old_id)) if old_id else None
        plan.changes.append(Change(
            action="manager", key=record.key, row=record.row, user_id=change.user_id,
            upn=change.upn, manager_key=wanted, manager_id=new_id,
            attributes={"manager": (display(old_user, primary) if old_id else None, wanted)},
            reason="manager cleared: the record names none" if not wanted else None))

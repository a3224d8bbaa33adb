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
error      the record could not be mapped or matched; its user, if any, is left alone
held       a change a flawed row holds back (``flawed``): never written, always reported
=========  ================================================================================

Manager changes are planned separately (``action="manager"``, ``managers``), after the
user actions, so a manager created in the same run can be referenced. Values are compared
the way Graph stores them. ``check_safety`` says whether a plan stays within the run's
thresholds. The records and users given are read, never changed: what the plan finds
(match problems included) is in the plan it returns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from connector.core.plan.compare import NOT_CLEARABLE, current_value, differs, org_data_body
from connector.core.plan.flawed import find_flawed
from connector.core.plan.managers import plan_managers
from connector.core.plan.match import match_users
from connector.core.plan.model import ACTIONS, WRITES, Action, Change, Plan, Policy
from connector.core.records import MappedRecord, nest
from connector.errors import Problem

__all__ = ["ACTIONS", "WRITES", "Action", "Change", "Plan", "Policy", "build_plan",
           "match_users"]


def build_plan(
    records: Sequence[MappedRecord],
    current: Sequence[Mapping[str, Any]],
    matches: Mapping[int, Mapping[str, Any]],
    *,
    policy: Policy,
    now: dt.datetime,
    match_problems: Mapping[int, str] | None = None,
) -> Plan:
    """Plan every change; pure, so a dry run is this and nothing more.

    ``match_problems`` (from ``match_users``) make their records ``error`` changes. Rows
    with errors hold back what they could cause to others (``connector.core.plan.flawed``).
    """
    primary = policy.matching[0]
    managed = [u for u in current if policy.manages(u)]
    flawed = find_flawed(records, match_problems or {})
    # Managed users whose key is on a row with errors: left alone (user id -> key).
    held_users = {str(u["id"]): str(key) for u in managed
                  if (key := current_value(u, primary)) in flawed.keys}
    changes: list[Change] = []
    seen: set[str] = set()
    for record in records:
        user = matches.get(record.row)
        if user is not None:
            seen.add(str(user["id"]))
        change = _record_change(record, user, policy, now, flawed.errors.get(record.row))
        held_key = held_users.get(change.user_id or "")
        if held_key is not None and change.action in WRITES:
            change.hold(flawed.why_left_alone(held_key))
        changes.append(change)
    present = _present_values(records, primary)
    for user in managed:
        user_id, key = str(user["id"]), current_value(user, primary)
        if user_id in seen:
            continue
        if user_id in held_users:
            changes.append(Change(action="held", key=str(key), user_id=user_id,
                                  upn=user.get("userPrincipalName"),
                                  reason=flawed.why_left_alone(str(key))))
            continue
        if not policy.full_export or key in present or user.get("accountEnabled") is False:
            continue
        absent = Change(
            action="disable", key=str(key), user_id=user_id, upn=user.get("userPrincipalName"),
            attributes={"accountEnabled": (True, False)}, body={"accountEnabled": False},
            reason="not in the HR export (a full export)")
        if flawed.keyless and not policy.allow_absent_disables:
            absent.hold(flawed.why_no_absence())
        changes.append(absent)
    plan = Plan(changes=changes, managed=len(managed), records=len(records))
    plan_managers(plan, records, current, matches, primary, flawed, held_users)
    return plan


def _present_values(records: Sequence[MappedRecord], primary: str) -> set[str]:
    """Matching values of every record in the source, errors included, so a user whose
    record failed is never mistaken for one missing from the export."""
    present: set[str] = set()
    for record in records:
        value = record.value(primary)
        if isinstance(value, str):
            present.add(value)
        if record.key:
            present.add(record.key)
    return present


def _record_change(
    record: MappedRecord, user: Mapping[str, Any] | None, policy: Policy, now: dt.datetime,
    errors: list[Problem] | None,
) -> Change:
    upn = (user or {}).get("userPrincipalName") or record.value("userPrincipalName")
    change = Change(action="unchanged", key=record.key, row=record.row,
                    user_id=str(user["id"]) if user else None, upn=upn)
    if errors is not None:
        change.action, change.errors = "error", list(errors)
        change.reason = "; ".join(p.reason for p in errors)
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
    hire = record.value("employeeHireDate")
    if isinstance(hire, str):
        start = dt.datetime.fromisoformat(hire.replace("Z", "+00:00"))
        create_on = (start - dt.timedelta(days=policy.prehire_days)).date()
        if create_on > now.date():
            change.action = "skipped"
            change.reason = (f"pre-hire starting {start.date()}: created on {create_on}, "
                             f"{policy.prehire_days} days before")
            return change
    change.action = "create"
    change.creates = record  # attributes and body are made from it when read
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

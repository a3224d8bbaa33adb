"""Group memberships from HR data against the owned groups read from the tenant. Pure.

``plan_groups`` runs after the user plan (``build_plan``), since who belongs where follows
what happens to each user:

* a mapped record whose user is created, updated, enabled or unchanged belongs to the
  groups its rules give (a user created in this run is added after the create);
* a leaver (a leaver record, a record out of scope, a managed user missing from a full
  export) leaves the groups of rules with ``remove_leavers`` (the default) and stays in
  the others; a user being deleted is left to Graph, which drops their memberships;
* a user a row with errors holds back (``flawed``) gets nothing: each membership change
  the plan would make for them is ``held``, as are removals for absence while a row has no
  usable key.

Only owned groups are changed: security groups, not mail-enabled, whose mailNickname has
the mapping's marker. A wanted group that does not exist is created, unless a group
without the marker has its displayName (a clash: an ``error`` naming it, nothing done) or
a group that cannot be owned (a Microsoft 365, mail-enabled or dynamic group) has its
mailNickname. A member is removed only when the connector added it (the ledger kept in
the state folder) or the rule is ``exclusive``; others are left, with a warning. An owned
group no rule declares any more is reported (``kept``), never changed; an emptied group
is kept, or deleted after the rule's ``delete_empty_after_days``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.core.plan.compare import differs
from connector.core.plan.group_fates import Fate, user_fates
from connector.core.plan.group_model import (
    GROUP_ACTIONS,
    DesiredGroup,
    GroupChange,
    GroupLedger,
    GroupRule,
    TenantGroup,
)
from connector.core.plan.model import Change, GroupInfo, Plan, Policy
from connector.core.records import MappedRecord
from connector.errors import Problem

#: How many member keys a warning names before "and N more".
_SHOWN = 5


@dataclass(frozen=True)
class GroupInputs:
    """Everything the group plan reads besides the user plan.

    ``memberships``: record row -> the groups its rules give; ``tenant``: the groups whose
    mailNickname has the marker (members read for those the connector can own);
    ``named``: groups without the marker, by displayName (lower case), for the groups
    the plan would create.
    """

    marker: str
    rules: Sequence[GroupRule]
    memberships: Mapping[int, Sequence[DesiredGroup]]
    tenant: Sequence[TenantGroup]
    named: Mapping[str, TenantGroup] = field(default_factory=dict)
    ledger: GroupLedger = field(default_factory=GroupLedger)


def plan_groups(
    plan: Plan, records: Sequence[MappedRecord], users: Sequence[Mapping[str, Any]],
    inputs: GroupInputs, *, policy: Policy, today: dt.date,
) -> None:
    """Append the group changes to ``plan.groups`` (and warnings to ``plan.warnings``)."""
    managed = {str(u["id"]).lower(): u for u in users if policy.manages(u)}
    fates, creates = user_fates(plan, records, managed, inputs.memberships, policy)
    desired = _desired_groups(inputs.memberships.values(), plan)
    wanted: dict[str, set[str]] = {key: set() for key in desired}  # group -> member ids
    for uid, fate in fates.items():
        if fate.kind == "member":
            for group in fate.groups:
                wanted[group.key].add(uid)
    new_members: dict[str, list[Change]] = {}
    for change, groups in creates:
        for group in groups:
            new_members.setdefault(group.key, []).append(change)
    if not inputs.ledger.known and inputs.tenant:
        plan.warnings.append(Problem(
            "no state folder: which members hr-connector added is not known, so only the "
            "groups of exclusive rules lose members in this run", severity="warning"))
    by_nick = {g.nickname.lower(): g for g in inputs.tenant}
    changes: list[GroupChange] = []
    for key, group in desired.items():
        found = by_nick.get(key)
        if found is not None and not found.ownable(inputs.marker):
            changes.append(_error(group, found, f"a group with mailNickname {found.nickname} "
                                  f"exists but is not one the connector can own ({_kind(found)}"
                                  "): it is never changed; change the rule's mailNickname"))
            wanted.pop(key)
            continue
        if found is None:
            clash = inputs.named.get(group.display_name.lower())
            if clash is not None:
                changes.append(_error(group, clash, (
                    f"a group named {clash.display_name!r} exists without the "
                    f"{inputs.marker} marker (mailNickname {clash.nickname}, id {clash.id}): "
                    "it is never changed and no second group of that name is made; rename "
                    "it or change the rule's displayName")))
                continue
            changes.append(_create(group))
        else:
            changes.extend(_update(group, found))
        present = (found.members or frozenset()) if found is not None else frozenset()
        group_id = found.id if found is not None else None
        why = group.why()  # one string for every add to this group
        for uid in sorted(wanted[key] - present, key=lambda u: fates[u].key):
            fate = fates[uid]
            add = GroupChange("add", group.display_name, group.nickname, group.rule.name,
                              group_id, fate.key, uid, fate.upn, why)
            if fate.held is not None:
                add.hold(fate.held)
            changes.append(add)
        why_new = f"{why}; a new user"
        changes.extend(GroupChange("add", group.display_name, group.nickname, group.rule.name,
                                   group_id, change.key, None, change.upn, why_new)
                       for change in new_members.get(key, ()))
    info = GroupInfo(ledger=GroupLedger(known=inputs.ledger.known))
    for found in inputs.tenant:
        if found.ownable(inputs.marker) and found.members is not None:
            changes.extend(_owned(found, inputs, wanted.get(found.nickname.lower(), set()),
                                  fates, managed, info, plan, today))
    order = {action: n for n, action in enumerate(GROUP_ACTIONS)}
    changes.sort(key=lambda c: (c.group.lower(), c.nickname, order[c.action],
                                c.member_key or "", c.member_id or ""))
    plan.groups.extend(changes)
    plan.group_info = info


def _desired_groups(
    memberships: Iterable[Sequence[DesiredGroup]], plan: Plan
) -> dict[str, DesiredGroup]:
    """Every group some record belongs to, by key; values that give the same mailNickname
    share the first one's group (with a warning)."""
    desired: dict[str, DesiredGroup] = {}
    merged: dict[str, set[str]] = {}
    for groups in memberships:
        for group in groups:
            first = desired.setdefault(group.key, group)
            if first is not group and first.value != group.value:
                merged.setdefault(group.key, {str(first.value)}).add(str(group.value))
    for key, values in sorted(merged.items()):
        plan.warnings.append(Problem(
            f"the values {', '.join(repr(v) for v in sorted(values))} all give the group "
            f"mailNickname {key}: their people share the group {desired[key].display_name!r}",
            severity="warning"))
    return desired


def _kind(group: TenantGroup) -> str:
    types = ", ".join(group.group_types) or "none"
    return (f"securityEnabled {str(group.security_enabled).lower()}, mailEnabled "
            f"{str(group.mail_enabled).lower()}, groupTypes {types}")


def _error(group: DesiredGroup, found: TenantGroup, reason: str) -> GroupChange:
    return GroupChange("error", group.display_name, group.nickname, group.rule.name,
                       found.id, reason=reason)


def _create(group: DesiredGroup) -> GroupChange:
    body: dict[str, Any] = {"displayName": group.display_name, "mailNickname": group.nickname,
                            "mailEnabled": False, "securityEnabled": True, "groupTypes": []}
    if group.description:
        body["description"] = group.description
    return GroupChange("create", group.display_name, group.nickname, group.rule.name,
                       reason=f"wanted by {group.why()}", body=body,
                       attributes={k: (None, v) for k, v in body.items()
                                   if k in ("displayName", "mailNickname", "description")})


def _update(group: DesiredGroup, found: TenantGroup) -> list[GroupChange]:
    wanted = {"displayName": group.display_name, "description": group.description}
    old = {"displayName": found.display_name, "description": found.description}
    attributes = {k: (old[k], v) for k, v in wanted.items()
                  if v is not None and differs(old[k], v)}
    if not attributes:
        return []
    return [GroupChange("update", group.display_name, group.nickname, group.rule.name,
                        found.id, reason="the rule names it differently now",
                        body={k: new for k, (_, new) in attributes.items()},
                        attributes=attributes)]


def _owned(
    found: TenantGroup, inputs: GroupInputs, wanted: set[str], fates: Mapping[str, Fate],
    managed: Mapping[str, Mapping[str, Any]], info: GroupInfo, plan: Plan, today: dt.date,
) -> list[GroupChange]:
    """Removals, and what happens to an owned group itself (kept, emptied, deleted)."""
    members = found.members or frozenset()
    info.sizes[found.id] = len(members)
    info.nicknames[found.id] = found.nickname
    added = inputs.ledger.added.get(found.id.lower(), set())
    kept_added = {m for m in added if m in members}
    if kept_added:
        info.ledger.added[found.id.lower()] = kept_added
    rule = next((r for r in inputs.rules if r.declares(found.nickname)), None)
    if rule is None:
        return [GroupChange("kept", found.display_name, found.nickname, None, found.id,
                            reason=(f"no rule declares it any more: left as it is "
                                    f"({len(members)} members)"))]
    changes: list[GroupChange] = []
    not_added: list[str] = []
    for member in sorted(members - wanted):
        change = _removal(found, rule, member, fates.get(member), member in managed,
                          member in added, not_added)
        if change is not None:
            changes.append(change)
    if not_added:
        shown = ", ".join(not_added[:_SHOWN]) + (
            f" and {len(not_added) - _SHOWN} more" if len(not_added) > _SHOWN else "")
        plan.warnings.append(Problem(
            f"{found.display_name}: {len(not_added)} members are no longer in it by HR data "
            f"but hr-connector did not add them, so they stay ({shown}); make the rule "
            "exclusive to remove them", severity="warning"))
    removed = {c.member_id for c in changes if c.action == "remove"}
    if members - removed or wanted:
        return changes
    return [*changes, *_emptied(found, rule, info, inputs.ledger, today, bool(members))]


def _removal(
    found: TenantGroup, rule: GroupRule, member: str, fate: Fate | None, is_managed: bool,
    was_added: bool, not_added: list[str],
) -> GroupChange | None:
    if not is_managed:
        if not rule.exclusive:
            return None
        kind = found.kind_of(member)
        what = "a user hr-connector does not manage" if kind == "user" else f"a {kind}"
        return GroupChange("remove", found.display_name, found.nickname, rule.name, found.id,
                           None, member, reason=f"{what}, and the rule keeps this group "
                                                "exclusively HR-driven")
    if fate is None or fate.kind == "untouched":
        return None
    if fate.kind == "leaving" and not rule.remove_leavers:
        return None
    if not (was_added or rule.exclusive):
        not_added.append(fate.key)
        return None
    if fate.kind == "leaving":
        reason = f"{fate.reason or 'leaver'}: leaves the groups of rule {rule.name}"
    else:
        now_in = [g.display_name for g in fate.groups if g.rule == rule]
        reason = (f"moved: HR data now puts them in {', '.join(map(repr, now_in))}" if now_in
                  else f"HR data no longer puts them in a group of rule {rule.name}")
    change = GroupChange("remove", found.display_name, found.nickname, rule.name, found.id,
                         fate.key, member, fate.upn, reason)
    if fate.held is not None:
        change.hold(fate.held)
    return change


def _emptied(
    found: TenantGroup, rule: GroupRule, info: GroupInfo, ledger: GroupLedger, today: dt.date,
    has_members: bool,
) -> list[GroupChange]:
    """An owned group with nobody in it after this run: kept, or deleted after its grace."""
    since = ledger.empty_since.get(found.id.lower(), today)
    info.ledger.empty_since[found.id.lower()] = since
    days = rule.delete_empty_after_days
    if days is None:
        return [GroupChange("kept", found.display_name, found.nickname, rule.name, found.id,
                            reason=f"empty since {since}: kept (the rule keeps emptied "
                                   "groups)")]
    due = since + dt.timedelta(days=days)
    if today >= due and not has_members:
        return [GroupChange("delete", found.display_name, found.nickname, rule.name, found.id,
                            reason=f"empty since {since}, and the rule deletes a group "
                                   f"empty for {days} days (a security group is deleted "
                                   "for good)")]
    return [GroupChange("kept", found.display_name, found.nickname, rule.name, found.id,
                        reason=f"empty since {since}: deleted on {due} unless it has "
                               "members again")]

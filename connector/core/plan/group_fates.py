"""What the user plan does to each user, as the group plan needs it (``Fate``). Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connector.core.plan.compare import current_value
from connector.core.plan.group_model import DesiredGroup
from connector.core.plan.model import Change, Plan, Policy
from connector.core.records import MappedRecord


@dataclass
class Fate:
    """What the user plan does to one user, as far as groups are concerned: ``member`` of
    ``groups``, ``leaving`` (disabled as a leaver, out of scope or missing), or
    ``untouched``; ``held`` says why its group changes are held back, if they are."""

    kind: str
    key: str
    upn: str | None
    groups: Sequence[DesiredGroup] = ()
    reason: str | None = None
    held: str | None = None


def user_fates(
    plan: Plan, records: Sequence[MappedRecord], managed: Mapping[str, Mapping[str, Any]],
    memberships: Mapping[int, Sequence[DesiredGroup]], policy: Policy,
) -> tuple[dict[str, Fate], list[tuple[Change, Sequence[DesiredGroup]]]]:
    """Each managed user's fate (by lower-case id), and the creates with their groups."""
    by_row = {r.row: r for r in records}
    fates: dict[str, Fate] = {}
    creates: list[tuple[Change, Sequence[DesiredGroup]]] = []
    for change in plan.changes:
        if change.action == "manager":
            continue
        record = by_row.get(change.row) if change.row is not None else None
        groups = memberships.get(change.row, ()) if change.row is not None else ()
        if change.action == "create":
            creates.append((change, groups))
            continue
        uid = (change.user_id or "").lower()
        if uid not in managed:
            continue
        fate = _fate(change, record, groups)
        if fate is not None:
            fates[uid] = fate
    present = {r.key for r in records if r.key}
    for uid, user in managed.items():
        if uid in fates:
            continue
        key = str(current_value(user, policy.matching[0]) or "")
        upn = user.get("userPrincipalName")
        if policy.full_export and key not in present:
            fates[uid] = Fate("leaving", key, upn, reason="not in the HR export")
        else:
            fates[uid] = Fate("untouched", key, upn)
    return fates, creates


def _fate(change: Change, record: MappedRecord | None,
          groups: Sequence[DesiredGroup]) -> Fate | None:
    key, upn = change.key, change.upn
    if change.action == "held":
        if record is not None and record.status == "mapped" and not record.leaver:
            return Fate("member", key, upn, groups, held=change.reason)
        if change.held == "disable":  # a disable for absence a keyless row holds back
            return Fate("leaving", key, upn, reason="not in the HR export",
                         held=change.reason)
        return Fate("untouched", key, upn)
    if change.action == "delete":
        return Fate("untouched", key, upn)  # Graph drops a deleted user's memberships
    if record is None:
        return Fate("leaving", key, upn, reason=change.reason) if change.action == (
            "disable") else None
    if record.status == "skipped":
        return Fate("leaving", key, upn, reason="out of scope")
    if record.leaver:
        return Fate("leaving", key, upn, reason="leaver")
    if record.status == "mapped" and change.action in ("update", "unchanged", "enable",
                                                       "disable"):
        return Fate("member", key, upn, groups)
    return None

"""Manager links: set, change or clear, planned after the user actions so that a manager
created in the same run can be referenced. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from connector.core.plan.compare import current_value, display, find_cycles
from connector.core.plan.flawed import Flawed, rows_text
from connector.core.plan.model import Change, Plan
from connector.core.records import MappedRecord
from connector.errors import Problem


def manager_loops(records: Iterable[MappedRecord], plan: Plan, *, outcome: str) -> set[str]:
    """Keys of the records whose managers form a loop; a warning in ``plan`` per loop
    ("managers form a loop (a -> b -> a); ``outcome``"). The Graph and SCIM plans both
    leave such links out."""
    loops = find_cycles({r.key: r.manager_key for r in records if r.manager_key})
    for cycle in loops:
        plan.warnings.append(Problem(
            f"managers form a loop ({' -> '.join([*cycle, cycle[0]])}); {outcome}",
            severity="warning", key=cycle[0]))
    return {key for cycle in loops for key in cycle}


def plan_managers(
    plan: Plan, records: Sequence[MappedRecord], current: Sequence[Mapping[str, Any]],
    matches: Mapping[int, Mapping[str, Any]], primary: str, flawed: Flawed,
    held_users: Mapping[str, str],
) -> None:
    """Append a manager change for every mapped record whose manager differs; problems
    become warnings. Links a flawed row would cause are held: to or from a user whose key
    is on a row with errors (``held_users``: user id -> key), or naming such a key."""
    by_key = {r.key: r for r in records
              if r.key and r.status != "error" and r.row not in flawed.errors}
    creates = {c.key for c in plan.changes if c.action == "create"}
    existing = {str(current_value(u, primary)): u for u in current if current_value(u, primary)}
    by_id = {str(u["id"]): u for u in current}
    in_loop = manager_loops(by_key.values(), plan, outcome="not set")
    # A manager change's attributes, one tuple per (manager today, manager wanted): the
    # reports of everyone a manager manages share it (a million links, far fewer tuples).
    links: dict[tuple[str | None, str | None], tuple[tuple[str, Any, Any], ...]] = {}
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
            elif not (target and target.key in creates) and wanted not in flawed.keys:
                plan.warnings.append(Problem(
                    f"manager key {wanted!r} {_why_no_user(target, plan)}; the manager is "
                    "not set", severity="warning", row=record.row, key=record.key))
                continue
        elif old_id is None:
            continue
        if wanted and new_id is not None and new_id == old_id:
            continue
        old_user = by_id.get(str(old_id)) if old_id else None
        # A manager set today is named even when it is not among the users read, so the
        # safety checks and the reports see that one is there.
        old_name = (display(old_user, primary) or str(old_id)) if old_id else None
        attributes = links.get((old_name, wanted))
        if attributes is None:
            attributes = links[old_name, wanted] = (("manager", old_name, wanted),)
        link = Change(
            action="manager", key=record.key, row=record.row, user_id=change.user_id,
            upn=change.upn, manager_key=wanted, manager_id=new_id, attributes=attributes,
            reason="manager cleared: the record names none" if not wanted else None)
        why = _why_held(link, wanted, new_id, flawed, held_users)
        if why is not None:
            link.hold(why)
        plan.changes.append(link)


def _why_no_user(target: MappedRecord | None, plan: Plan) -> str:
    """Why the manager a record names has no user to link to: naming the record that is
    there (out of scope, a leaver, not created yet) says what HR can fix."""
    if target is None:
        return "matches no record and no user"
    if target.status == "skipped":
        why = (target.reason or "out of scope").removeprefix("out of scope — ")
        return f"names a record that is out of scope ({why}), with no user"
    if target.leaver:
        return f"names a leaver (row {target.row}), who has no user"
    reason = next((c.reason for c in plan.changes if c.key == target.key and c.reason), None)
    return (f"names row {target.row}, which has no user yet"
            + (f" ({reason})" if reason else ""))


def _why_held(link: Change, wanted: str | None, new_id: str | None, flawed: Flawed,
              held_users: Mapping[str, str]) -> str | None:
    if link.user_id is not None and link.user_id in held_users:
        return flawed.why_left_alone(held_users[link.user_id])
    if wanted and wanted in flawed.keys:
        return (f"held: manager {wanted} is on {rows_text(flawed.keys[wanted])} with errors; "
                "the link waits until it is fixed")
    if new_id is not None and new_id in held_users:
        return (f"held: manager {wanted} is a user whose key {held_users[new_id]} is on "
                f"{rows_text(flawed.keys[held_users[new_id]])} with errors")
    return None

"""Safety thresholds: a run that would do too much damage stops before its first write. Pure.

A truncated or wrong HR file looks like mass departures or mass edits; these checks turn
it into a stopped run with an explanation instead of thousands of disabled or rewritten
accounts. They count only what can lose something that is there today, per user:

* a disable (whatever the reason) and a delete: ``--max-disables``;
* a user whose existing values would be lost: a disable, a delete, an enable (it
  overwrites accountEnabled=false and lets someone sign in again), an update that
  overwrites or clears a non-empty value, a manager replaced or cleared:
  ``--max-changes`` (a user counts once, whatever else changes).

Never counted: creates, anything on a user created in this run (manager links included),
filling a value that is empty today (a missing manager included), and held changes (they
are not written). So the first load of any size goes through, and so does a rerun after a
run that stopped part-way: what is left is creates and filling empty values.

Groups: membership removals are counted per group, against ``--max-member-removals``
(members removed from one group) and ``--max-member-removals-percent`` (of its members
today, from ``small_group`` members up). Group creates and member adds never count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from connector.core.plan.compare import is_empty
from connector.core.plan.model import WRITES, Change, Plan

#: Writes that always count: each can cut someone off or bring someone back.
_ALWAYS = frozenset({"disable", "delete", "enable"})

#: How messages name each limit: the sync command's options ...
OPTION_NAMES: Mapping[str, str] = {
    "max_disables": "--max-disables", "max_disables_percent": "--max-disables-percent",
    "max_changes": "--max-changes", "max_changes_percent": "--max-changes-percent",
    "min_source_percent": "--min-source-percent",
    "max_member_removals": "--max-member-removals",
    "max_member_removals_percent": "--max-member-removals-percent"}
#: ... or, for runs from a configuration file, its policy keys.
POLICY_NAMES: Mapping[str, str] = {key: f"policies.{key}" for key in OPTION_NAMES}


@dataclass(frozen=True)
class Thresholds:
    """Limits per run. Percentages are of the managed users; they apply only from
    ``small_tenant`` managed users up, below which the counts alone are enough. ``names``
    says how messages name each limit (what the person who set it would change)."""

    max_disables: int = 50
    max_disable_percent: float = 10.0
    max_changes: int = 1000
    max_change_percent: float = 30.0
    min_source_percent: float = 50.0
    small_tenant: int = 20
    #: Members removed from one group, and their share of its members today.
    max_member_removals: int = 100
    max_member_removal_percent: float = 30.0
    #: The percentage applies to groups of at least this many members.
    small_group: int = 20
    names: Mapping[str, str] = field(default_factory=lambda: OPTION_NAMES, compare=False,
                                    repr=False)


def dangerous(change: Change) -> bool:
    """Whether a planned write can lose something that is there today (see the module)."""
    if change.action in _ALWAYS:
        return True
    if change.action in ("update", "manager"):
        return any(not is_empty(old) for old, _ in change.attributes.values())
    return False


def counted(plan: Plan) -> tuple[int, int]:
    """What the thresholds count: (users disabled or deleted, users changed dangerously)."""
    disabled: set[str] = set()
    changed: set[str] = set()
    for change in plan.changes:
        if change.action not in WRITES or not dangerous(change):
            continue
        who = change.user_id or f"key {change.key}"
        changed.add(who)
        if change.action in ("disable", "delete"):
            disabled.add(who)
    return len(disabled), len(changed)


def check_safety(plan: Plan, limits: Thresholds) -> list[str]:
    """Why the plan must not be applied; empty when it is within every threshold."""
    reasons: list[str] = []
    managed = plan.managed
    disables, changes = counted(plan)
    percent_applies = managed >= limits.small_tenant

    def over(count: int, limit: int, percent: float, what: str, option: str) -> None:
        share = 100.0 * count / managed if managed else 0.0
        if count > limit:
            reasons.append(f"{count} {what} exceed the limit of {limit} "
                           f"({limits.names[option]})")
        elif percent_applies and share > percent:
            reasons.append(f"{count} {what} are {share:.1f}% of the {managed} managed users, "
                           f"over the limit of {percent:g}% "
                           f"({limits.names[option + '_percent']})")

    over(disables, limits.max_disables, limits.max_disable_percent, "disables/deletes",
         "max_disables")
    over(changes, limits.max_changes, limits.max_change_percent,
         "existing users changed (values overwritten or cleared, managers replaced, "
         "disabled, enabled or deleted)", "max_changes")
    if managed and percent_applies and plan.records * 100.0 < managed * limits.min_source_percent:
        reasons.append(
            f"the source has {plan.records} records for {managed} managed users "
            f"(under {limits.min_source_percent:g}%): a truncated or wrong export? "
            f"({limits.names['min_source_percent']})")
    reasons.extend(check_member_removals(plan, limits))
    return reasons


def member_removals(plan: Plan) -> dict[str, tuple[str, int]]:
    """Members each group would lose (held removals are not written): group id ->
    (displayName, count)."""
    counts: dict[str, tuple[str, int]] = {}
    for change in plan.groups:
        if change.action == "remove" and change.group_id:
            name, count = counts.get(change.group_id, (change.group, 0))
            counts[change.group_id] = (name, count + 1)
    return counts


def check_member_removals(plan: Plan, limits: Thresholds) -> list[str]:
    """Why the plan removes too many members from some group (empty when it does not)."""
    sizes = plan.group_info.sizes if plan.group_info is not None else {}
    names = limits.names
    reasons: list[str] = []
    for group_id, (group, count) in sorted(member_removals(plan).items(),
                                           key=lambda item: item[1][0].lower()):
        size = sizes.get(group_id, 0)
        share = 100.0 * count / size if size else 0.0
        if count > limits.max_member_removals:
            reasons.append(f"{count} members removed from {group!r} exceed the limit of "
                           f"{limits.max_member_removals} "
                           f"({names.get('max_member_removals', 'max_member_removals')})")
        elif size >= limits.small_group and share > limits.max_member_removal_percent:
            option = names.get("max_member_removals_percent", "max_member_removals_percent")
            reasons.append(f"{count} members removed from {group!r} are {share:.1f}% of its "
                           f"{size} members, over the limit of "
                           f"{limits.max_member_removal_percent:g}% ({option})")
    return reasons

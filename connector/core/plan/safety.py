"""Safety thresholds: a run that would change too much stops before its first write. Pure.

A truncated or wrong HR file looks like mass departures; these checks turn it into a
stopped run with an explanation instead of thousands of disabled accounts. Creates never
count, so the first load into an empty tenant goes through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from connector.core.plan import Plan

#: How messages name each limit: the sync command's options ...
OPTION_NAMES: Mapping[str, str] = {
    "max_disables": "--max-disables", "max_disables_percent": "--max-disables-percent",
    "max_changes": "--max-changes", "max_changes_percent": "--max-changes-percent",
    "min_source_percent": "--min-source-percent"}
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
    names: Mapping[str, str] = field(default_factory=lambda: OPTION_NAMES, compare=False,
                                    repr=False)


def check_safety(plan: Plan, limits: Thresholds) -> list[str]:
    """Why the plan must not be applied; empty when it is within every threshold."""
    reasons: list[str] = []
    managed = plan.managed
    disables = plan.count("disable") + plan.count("delete")
    changes = sum(plan.count(a) for a in ("update", "disable", "enable", "delete", "manager"))
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
    over(changes, limits.max_changes, limits.max_change_percent, "changes to existing users",
         "max_changes")
    if managed and percent_applies and plan.records * 100.0 < managed * limits.min_source_percent:
        reasons.append(
            f"the source has {plan.records} records for {managed} managed users "
            f"(under {limits.min_source_percent:g}%): a truncated or wrong export? "
            f"({limits.names['min_source_percent']})")
    return reasons

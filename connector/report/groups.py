"""Group changes in the reports: the ``groups`` section of the JSON report and how every
other format shows it. Pure.

The section (present when the mapping declares groups):

* ``summary``: counts of ``create update add remove delete kept held error`` plus
  ``written`` and ``failed`` (group writes Graph accepted or refused);
* ``changes``: one item per group change, in plan order (group by group: create or
  update, member adds, removals, then delete or kept): ``action``, ``group``
  (displayName), ``mailNickname``, ``groupId`` (null for a group still to be created),
  ``rule``, ``member`` (the member's HR key; null for a group change, or for a member that
  is not one of HR's users), ``memberId``, ``userPrincipalName``, ``reason``,
  ``attributes`` (a create or update: name -> ``{old, new}``), ``outcome`` (as for users),
  and for a held change ``heldAction``.

Failed group writes and group errors (a clash with a group the connector does not own)
are also listed in the report's ``errors``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from rich.table import Table
from rich.text import Text

from connector.core.plan.group_model import (
    GROUP_ACTIONS,
    GROUP_LABELS,
    GROUP_WRITES,
    GroupChange,
)
from connector.core.results import SyncResult, WriteOutcome
from connector.report.html import outcome_text, plural, row_outcome, value_text
from connector.report.items import LazyItems

_STYLES = {"create": "green", "update": "blue", "add": "green", "remove": "dark_orange",
           "delete": "red", "kept": "dim", "held": "yellow", "error": "red"}


def _outcome(outcome: WriteOutcome | None) -> dict[str, Any] | None:
    if outcome is None:
        return None
    return {"ok": outcome.ok, "error": outcome.error, "code": outcome.code,
            "status": outcome.status, "requestId": outcome.request_id}


def group_item(change: GroupChange, outcome: WriteOutcome | None) -> dict[str, Any]:
    """One item of the section's ``changes``."""
    item: dict[str, Any] = {
        "action": change.action, "group": change.group, "mailNickname": change.nickname,
        "groupId": change.group_id or (outcome.user_id if outcome else None),
        "rule": change.rule, "member": change.member_key, "memberId": change.member_id,
        "userPrincipalName": change.member_upn, "reason": change.reason,
        "attributes": ({name: {"old": old, "new": new}
                        for name, (old, new) in change.attributes.items()}
                       if change.attributes else {}),
        "outcome": _outcome(outcome)}
    if change.action == "held":
        item["heldAction"] = change.held
    return item


class GroupItems(LazyItems):
    """The section's ``changes``: every group change in plan order, each item made when
    it is read (a 100k-person first load plans 200k member adds)."""

    def __init__(self, result: SyncResult) -> None:
        self._result = result

    def __iter__(self) -> Iterator[dict[str, Any]]:
        outcomes = self._result.group_outcomes
        for index, change in enumerate(self._result.plan.groups):
            yield group_item(change, outcomes.get(index))

    def __len__(self) -> int:
        return len(self._result.plan.groups)


def groups_section(result: SyncResult) -> dict[str, Any] | None:
    """The ``groups`` section of the JSON report (None when the plan has no groups); its
    ``changes`` are ``GroupItems``, made when read."""
    plan = result.plan
    if plan.group_info is None and not plan.groups:
        return None
    counts = Counter(change.action for change in plan.groups)
    summary: dict[str, int] = {action: counts[action] for action in GROUP_ACTIONS}
    summary["written"] = sum(1 for o in result.group_outcomes.values() if o.ok)
    summary["failed"] = sum(1 for o in result.group_outcomes.values() if not o.ok)
    return {"summary": summary, "changes": GroupItems(result)}


def group_errors(result: SyncResult) -> list[dict[str, Any]]:
    """The report's ``errors`` for groups: clashes, then failed group writes (items are
    made for those changes only)."""
    errors: list[dict[str, Any]] = []
    outcomes = result.group_outcomes
    for index, change in enumerate(result.plan.groups):
        written = outcomes.get(index)
        if change.action != "error" and (written is None or written.ok):
            continue
        item = group_item(change, written)
        outcome = item["outcome"]
        if item["action"] == "error":
            errors.append({"severity": "error", "reason": f"group {item['group']}: "
                                                          f"{item['reason']}"})
        elif outcome is not None and not outcome["ok"]:
            who = f" ({item['member']})" if item["member"] else ""
            problem = {"severity": "error", "action": GROUP_LABELS[item["action"]],
                       "reason": f"{GROUP_LABELS[item['action']]} {item['group']}{who} "
                                 f"failed: {outcome['error'] or 'no reason given'}"}
            if item["member"]:
                problem["key"] = item["member"]
            problem.update({k: v for k, v in (("code", outcome["code"]),
                                              ("status", outcome["status"]),
                                              ("requestId", outcome["requestId"]))
                            if v is not None})
            errors.append(problem)
    return errors


def group_outcome(item: Mapping[str, Any], note: str | None) -> str:
    """How a group change went, for the CSV and the workbook (as for users)."""
    return row_outcome(item, note, GROUP_WRITES)


def group_pairs(item: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(attribute, old, new) rows of one group change: what the CSV, the workbook and the
    upload page list. A member joins (``group``: empty -> the group) or leaves (the
    group -> empty); a group change lists its attributes."""
    action = item.get("heldAction") or item["action"]
    if item["attributes"]:
        return [(name, c["old"], c["new"]) for name, c in item["attributes"].items()]
    if action == "add":
        return [("group", None, item["group"])]
    if action in ("remove", "delete"):
        return [("group", item["group"], None)]
    return [("group", item["group"], item["group"])]


def group_csv_rows(report: Mapping[str, Any], note: str | None) -> list[list[Any]]:
    """The group changes in the CSV report's columns."""
    rows: list[list[Any]] = []
    for item in (report.get("groups") or {}).get("changes", []):
        start = [report["run_id"], GROUP_LABELS[item["action"]], item["member"],
                 item["userPrincipalName"]]
        end = [item["reason"], group_outcome(item, note)]
        rows.extend([*start, name, old, new, *end] for name, old, new in group_pairs(item))
    return rows


def group_counts(report: Mapping[str, Any]) -> Text | None:
    """``groups: create 31 · add 674 · ...`` for the terminal (None without groups)."""
    section = report.get("groups")
    if section is None:
        return None
    summary = section["summary"]
    counts = Text("groups: ")
    names = [a for a in (*GROUP_ACTIONS, "failed") if a != "failed" or not report["dry_run"]]
    for n, action in enumerate(names):
        counts.append(" · " if n else "")
        counts.append(f"{action} {summary[action]}",
                      style=_STYLES.get(action, "red") if summary[action] else "dim")
    return counts


def group_table(report: Mapping[str, Any], limit: int) -> list[Table | Text]:
    """The first ``limit`` group changes as a terminal table (and how many are left)."""
    items = (report.get("groups") or {}).get("changes", [])
    if not items or not limit:
        return []
    table = Table(expand=False, title="Group changes", title_justify="left")
    for name in ("Action", "Group", "Member", "UPN", "Note"):
        table.add_column(name, overflow="fold", no_wrap=name == "Action")
    for item in items[:limit]:
        outcome = item["outcome"]
        failure = outcome_text(outcome) if outcome and not outcome["ok"] else ""
        note = "; ".join(p for p in (value_text(item["reason"]), failure) if p)
        table.add_row(Text(GROUP_LABELS[item["action"]], style=_STYLES.get(item["action"], "")),
                      Text(item["group"]), Text(value_text(item["member"])),
                      Text(value_text(item["userPrincipalName"])),
                      Text(note, style="red" if failure else "dim"))
    parts: list[Table | Text] = [table]
    if len(items) > limit:
        parts.append(Text(f"… {plural(len(items) - limit, 'more group change')} not shown "
                          "(write them all with --report PATH)", style="dim"))
    return parts

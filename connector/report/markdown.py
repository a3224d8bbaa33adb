"""The sync report in Markdown (``--report run.md``), rendered from the JSON report. Pure.

Every cell goes through ``md_cell``: punctuation Markdown or HTML would act on is
backslash-escaped, so an HR value can neither split a table cell nor become a link or a tag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connector.core.plan import ACTIONS
from connector.core.plan.group_model import GROUP_LABELS
from connector.report.html import headline, outcome_text, problem_where, value_text

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|&"})


def md_cell(value: Any) -> str:
    """Text safe in a Markdown table cell: punctuation Markdown or HTML would act on is
    backslash-escaped (so ``|`` cannot split a cell), newlines become ``<br>``."""
    text = value_text(value).translate(_MD_SPECIAL)
    return "<br>".join(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


# "Records in error", not "Error": the page also has an "Errors" section (every problem).
_MD_SECTIONS = {"create": "Create", "update": "Update", "disable": "Disable",
                "enable": "Enable", "delete": "Delete", "manager": "Manager changes",
                "skipped": "Skipped records", "error": "Records in error",
                "held": "Held back by rows with errors (not written)"}


def _md_value(value: Any) -> str:
    return "*(empty)*" if value in (None, "", []) else md_cell(value)


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def _md_note(item: Mapping[str, Any]) -> str:
    parts = [md_cell(item["reason"]), md_cell(outcome_text(item["outcome"]))]
    return "; ".join(p for p in parts if p)


def _md_problems(title: str, problems: list[dict[str, Any]]) -> list[str]:
    lines = [f"## {title} ({len(problems)})", ""]
    for problem in problems:
        where = md_cell(problem_where(problem))
        lines.append(f"- {where + ': ' if where else ''}{md_cell(problem['reason'])}")
    return [*lines, ""] if problems else [*lines, "None.", ""]


def _md_groups(report: Mapping[str, Any]) -> list[str]:
    """The ``groups`` section: counts, then one row per group change (none without it)."""
    section = report.get("groups")
    if section is None:
        return []
    summary = section["summary"]
    names = [a for a in (*summary,) if a not in ("written", "failed")]
    names += ["written", "failed"] if not report["dry_run"] else []
    lines = ["## Groups", "", *_md_table(["Group action", "Count"],
                                         [[n, str(summary[n])] for n in names])]
    rows = []
    for item in section["changes"]:
        note = _md_note(item)
        changes = ", ".join(f"{md_cell(name)}: {_md_value(change['new'])}"
                            for name, change in item["attributes"].items())
        rows.append([md_cell(GROUP_LABELS[item["action"]]), md_cell(item["group"]),
                     md_cell(item["member"]), md_cell(item["userPrincipalName"]), changes,
                     note])
    if rows:
        lines.extend([f"## Group changes ({len(rows)})", "", *_md_table(
            ["Action", "Group", "Member", "UPN", "Changes", "Reason / outcome"], rows)])
    return lines


def markdown_page(report: Mapping[str, Any], *, counted: Sequence[str]) -> str:
    """The Markdown report for a report dict (``report.sync.sync_dict``): status, summary
    table (the actions ``counted``), a section per action, errors, warnings."""
    lines = ["# HR sync report", "", f"**{md_cell(headline(report))}** "
             f"(status: {md_cell(report['status'])})", ""]
    for label, name in (("Run", "run_id"), ("Source", "source"), ("Mapping", "mapping"),
                        ("Tenant", "tenant"), ("Started", "started"), ("Finished", "finished"),
                        ("Records", "records"), ("Managed users", "managed")):
        lines.append(f"- {label}: {md_cell(report[name])}")
    lines.append("")
    if report["stopped"]:
        lines.extend(["> **STOPPED by the safety checks: nothing was written.**", ">"])
        lines.extend(f"> - {md_cell(reason)}" for reason in report["stopped"])
        lines.append("")
    summary = report["summary"]
    lines.extend(["## Summary", "", *_md_table(["Action", "Count"],
                                                [[a, str(summary[a])] for a in counted])])
    for action in ACTIONS:
        items = [i for i in report["changes"] if i["action"] == action]
        if not items:
            continue
        rows = []
        for item in items:
            first = [md_cell(item["employeeId"]), md_cell(item["userPrincipalName"]),
                     md_cell(item["row"])]
            note = _md_note(item)
            attributes = item["attributes"].items() or [("", None)]
            for n, (name, change) in enumerate(attributes):
                old = "" if change is None or action == "create" else _md_value(change["old"])
                new = "" if change is None else _md_value(change["new"])
                rows.append([*(first if n == 0 else ["", "", ""]), md_cell(name), old, new,
                             note if n == 0 else ""])
        lines.extend([f"## {_MD_SECTIONS[action]} ({len(items)})", "", *_md_table(
            ["Key", "UPN", "Row", "Attribute", "Old", "New", "Reason / outcome"], rows)])
    lines.extend(_md_groups(report))
    lines.extend(_md_problems("Errors", report["errors"]))
    lines.extend(_md_problems("Warnings", report["warnings"]))
    lines.append("Unchanged users are counted, not listed. Times are UTC.")
    return "\n".join(lines) + "\n"

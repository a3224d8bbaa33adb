"""Renders a sync run (``SyncResult``) as JSON, HTML, CSV, Markdown, an Excel workbook and a
terminal view. Pure.

Every format is rendered from one dict, ``sync_dict(result)`` (the JSON report), so the
formats cannot disagree. The JSON report is a contract other tools rely on:

* ``summary``: integer counts for every plan action (``create``, ``update``, ``disable``,
  ``enable``, ``delete``, ``manager``, ``unchanged``, ``skipped``, ``error``, ``held``),
  plus ``written`` (writes Graph accepted) and ``failed`` (writes it refused).
* ``changes``: every change except ``unchanged`` (those users are only counted), in plan
  order, manager changes last. ``skipped`` and ``error`` records are listed with their
  reason so nothing is dropped silently. Each item: ``action``, ``employeeId`` (the HR
  key), ``userPrincipalName`` (may be null), ``row``, ``userId`` (the matched user, or for
  a create the id Graph gave it), ``reason``, ``attributes`` (name -> ``{"old", "new"}``
  as Graph stores them; a manager change has the attribute ``manager``, naming users by
  their HR key), ``outcome`` (``{"ok", "error", "code", "status", "requestId"}``, null
  when nothing was written: a dry run, a stopped run, a record that is not a write), for
  manager changes ``managerKey``/``managerId``, and for ``held`` changes (held back by a
  row with errors, never written) ``heldAction``: what it would have been (``disable``,
  ``manager``, ``update`` ...; null when the user is only left alone), with
  ``managerKey``/``managerId`` when it is a manager link.
* ``warnings`` (source and plan warnings) and ``errors`` (record errors, then failed
  writes, which also carry ``action``, ``code``, ``status`` and ``requestId``).
* run metadata: ``run_id``, ``status``, ``dry_run``, ``source``, ``mapping``, ``tenant``,
  ``started``/``finished`` (ISO 8601 UTC, ``Z``), ``stopped`` (the safety reasons),
  ``records``, ``managed``.

Passwords never appear: the plan holds none and nothing here adds one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping
from typing import Any, Literal

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from connector.core.plan import ACTIONS, WRITES, Change
from connector.core.results import SyncResult, WriteOutcome
from connector.errors import Problem
from connector.report import groups as group_report
from connector.report.html import (
    headline,
    html_page,
    outcome_text,
    plural,
    value_text,
)
from connector.report.markdown import markdown_page
from connector.report.validation import problem_dict, spreadsheet_safe

Format = Literal["json", "html", "csv", "md", "xlsx"]
FORMATS_BY_SUFFIX: dict[str, Format] = {".json": "json", ".html": "html", ".htm": "html",
                                        ".csv": "csv", ".md": "md", ".xlsx": "xlsx"}
CSV_COLUMNS = ("run_id", "action", "employeeId", "userPrincipalName", "attribute", "old",
               "new", "reason", "outcome")


# --- the JSON report ----------------------------------------------------------------------

def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # the pipeline works in UTC; a naive time is taken as UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _json_value(value: Any) -> Any:
    """A value as JSON holds it: date-times in UTC with Z, tuples as lists."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime):
        return _iso(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    return str(value)


def _outcome_dict(outcome: WriteOutcome | None) -> dict[str, Any] | None:
    if outcome is None:
        return None
    return {"ok": outcome.ok, "error": outcome.error, "code": outcome.code,
            "status": outcome.status, "requestId": outcome.request_id}


def _change_dict(change: Change, outcome: WriteOutcome | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "action": change.action,
        "employeeId": change.key,
        "userPrincipalName": change.upn,
        "row": change.row,
        "userId": change.user_id or (outcome.user_id if outcome else None),
        "reason": change.reason,
        "attributes": {name: {"old": _json_value(old), "new": _json_value(new)}
                       for name, (old, new) in change.attributes.items()},
        "outcome": _outcome_dict(outcome),
    }
    if change.action == "held":
        item["heldAction"] = change.held
    if "manager" in (change.action, change.held):
        item["managerKey"], item["managerId"] = change.manager_key, change.manager_id
    return item


def _failed_write(change: Change, outcome: WriteOutcome) -> dict[str, Any]:
    problem = Problem(f"{change.action} failed: {outcome.error or 'no reason given'}",
                      row=change.row, key=change.key or None)
    extras = {"action": change.action, "code": outcome.code, "status": outcome.status,
              "requestId": outcome.request_id}
    return {**problem_dict(problem), **{k: v for k, v in extras.items() if v is not None}}


def sync_dict(result: SyncResult) -> dict[str, Any]:
    """The JSON report (a contract: see the module docstring for every key)."""
    plan = result.plan
    failed = result.failed
    summary: dict[str, int] = {action: plan.count(action) for action in ACTIONS}
    summary["written"] = sum(1 for o in result.outcomes.values() if o.ok)
    summary["failed"] = len(failed)
    report: dict[str, Any] = {
        "run_id": result.run_id,
        "status": result.status,
        "dry_run": result.dry_run,
        "source": result.source,
        "mapping": result.mapping,
        "tenant": result.tenant,
        "started": _iso(result.started),
        "finished": _iso(result.finished),
        "records": plan.records,
        "managed": plan.managed,
        "stopped": list(result.stopped),
        "summary": summary,
        "changes": [_change_dict(change, result.outcomes.get(index))
                    for index, change in enumerate(plan.changes)
                    if change.action != "unchanged"],
        "warnings": [problem_dict(p) for p in [*result.source_warnings, *plan.warnings]],
        "errors": [*(problem_dict(p) for p in plan.errors),
                   *(_failed_write(c, o) for c, o in failed)],
    }
    section = group_report.groups_section(result)
    if section is not None:  # the mapping keeps groups (connector.report.groups)
        report["groups"] = section
        report["errors"].extend(group_report.group_errors(section))
    return report


def _counted(report: Mapping[str, Any]) -> list[str]:
    """The counts a person sees: every action, and failed writes unless nothing was tried."""
    return [a for a in (*ACTIONS, "failed") if a != "failed" or not report["dry_run"]]


def sync_html(result: SyncResult) -> str:
    """A self-contained HTML page for people (``connector.report.html``)."""
    return html_page(sync_dict(result))


# --- CSV ----------------------------------------------------------------------------------

def _run_note(report: Mapping[str, Any]) -> str | None:
    """What every CSV row says when nothing was written, so no row reads as done."""
    if report["stopped"]:
        run = "dry run, stopped" if report["dry_run"] else "stopped"
        return f"{run}, not written: {'; '.join(report['stopped'])}"
    return "dry run, not written" if report["dry_run"] else None


def _item_outcome(item: Mapping[str, Any], note: str | None) -> str:
    if item["action"] == "held":  # held whatever the run: it says so first
        return f"held; {note}" if note is not None else "held, not written"
    if note is not None:
        return note
    if item["outcome"] is None and item["action"] in WRITES:
        return "not written"
    return outcome_text(item["outcome"])


def _csv_cell(value: Any) -> str:
    text = spreadsheet_safe(value_text(value))
    # A lone CR is not quoted with a "\n" line terminator and would split the row in
    # spreadsheets; as LF it is quoted and stays inside its cell.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def sync_csv(result: SyncResult) -> str:
    """One row per attribute change (one row with an empty attribute for a change without
    attributes), every cell spreadsheet-safe. A run with no changes gets one row saying so."""
    report = sync_dict(result)
    note = _run_note(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    rows: list[list[Any]] = []
    for item in report["changes"]:
        start = [report["run_id"], item["action"], item["employeeId"],
                 item["userPrincipalName"]]
        end = [item["reason"], _item_outcome(item, note)]
        pairs = item["attributes"].items() or [("", {"old": None, "new": None})]
        rows.extend([*start, name, change["old"], change["new"], *end] for name, change in pairs)
    rows.extend(group_report.group_csv_rows(report, note))
    if not rows:
        rows.append([report["run_id"], "", "", "", "", "", "", "no changes",
                     note or report["status"]])
    for row in rows:
        writer.writerow([_csv_cell(cell) for cell in row])
    return buffer.getvalue()


# --- Markdown -----------------------------------------------------------------------------

def sync_markdown(result: SyncResult) -> str:
    """A Markdown report: status, summary table, a section per action, errors, warnings
    (``connector.report.markdown``)."""
    report = sync_dict(result)
    return markdown_page(report, counted=_counted(report))


# --- terminal -----------------------------------------------------------------------------

_STYLES = {"dry-run": "bold cyan", "stopped": "bold white on red", "failed": "bold red",
           "partial": "bold yellow", "ok": "bold green"}
_ACTION_STYLES = {"create": "green", "update": "blue", "disable": "dark_orange",
                  "enable": "cyan", "delete": "red", "manager": "magenta", "skipped": "dim",
                  "error": "red", "held": "yellow"}


def _term_value(value: Any, style: str) -> Text:
    if value in (None, "", []):
        return Text("(empty)", style="dim italic")
    return Text(value_text(value), style=style)


def _diff_rows(report: Mapping[str, Any]) -> list[list[Text]]:
    rows: list[list[Text]] = []
    for item in report["changes"]:
        style = _ACTION_STYLES.get(item["action"], "")
        first = [Text(item["action"], style=style), Text(item["employeeId"]),
                 Text(value_text(item["userPrincipalName"]))]
        # An applied write that went through needs no note; reasons and failures do.
        outcome = item["outcome"]
        failure = outcome_text(outcome) if outcome and not outcome["ok"] else ""
        note = "; ".join(p for p in (value_text(item["reason"]), failure) if p)
        note_text = Text(note, style="red" if failure else "dim")
        if not item["attributes"]:
            rows.append([*first, Text(""), Text(""), note_text])
            continue
        for n, (name, change) in enumerate(item["attributes"].items()):
            diff = _term_value(change["new"], "green")
            if item["action"] != "create":
                diff = Text.assemble(_term_value(change["old"], "red strike"), " → ", diff)
            rows.append([*(first if n == 0 else [Text("")] * 3), Text(name), diff,
                         note_text if n == 0 else Text("")])
    return rows


def sync_terminal(result: SyncResult, *, limit: int = 50) -> RenderableType:
    """What a run prints: headline, counts, the first ``limit`` diff rows, problem counts."""
    report = sync_dict(result)
    # The diff comes first and the verdict last, so the end of the output (what a
    # terminal, a cron mail preview or `tail` shows) is the summary.
    parts: list[RenderableType] = []
    rows = _diff_rows(report)
    if rows and limit:
        table = Table(expand=False)
        for name in ("Action", "Key", "UPN", "Attribute", "Old → new", "Note"):
            table.add_column(name, overflow="fold",
                             no_wrap=name in ("Action", "Key", "Attribute"))
        for row in rows[:limit]:
            table.add_row(*row)
        parts.append(table)
    if len(rows) > limit:
        parts.append(Text(f"… {plural(len(rows) - limit, 'more row')} not shown "
                          "(write them all with --report PATH)", style="dim"))
    parts.extend(group_report.group_table(report, limit))
    parts.append(Text(f"run {report['run_id']} · {report['source']} → {report['tenant']} · "
                      f"mapping {report['mapping']} · {plural(report['records'], 'record')}, "
                      f"{report['managed']} managed users", style="dim"))
    summary = report["summary"]
    # One line of "action count" pairs: it wraps on a narrow terminal instead of truncating.
    counts = Text()
    for n, action in enumerate(_counted(report)):
        counts.append(" · " if n else "")
        counts.append(f"{action} {summary[action]}",
                      style=_ACTION_STYLES.get(action, "") if summary[action] else "dim")
    parts.append(counts)
    group_line = group_report.group_counts(report)
    if group_line is not None:
        parts.append(group_line)
    problems = (f"{plural(len(report['errors']), 'error')}, "
                f"{plural(len(report['warnings']), 'warning')}")
    style = "red" if report["errors"] else "yellow" if report["warnings"] else "green"
    parts.append(Text(problems, style=style))
    if report["stopped"]:
        parts.append(Text("Stopped by the safety checks:", style="bold red"))
        parts.extend(Text(f"  • {reason}", style="red") for reason in report["stopped"])
    parts.append(Text(headline(report), style=_STYLES.get(report["status"], "bold")))
    return Group(*parts)


# --- Excel -------------------------------------------------------------------------------

def sync_xlsx(result: SyncResult) -> bytes:
    """An Excel workbook: summary, one row per attribute change, problems
    (``connector.report.xlsx``)."""
    from connector.report.xlsx import xlsx_workbook  # openpyxl loads for this format only

    report = sync_dict(result)
    note = _run_note(report)
    return xlsx_workbook(report, counted=_counted(report),
                         outcome_of=lambda item: _item_outcome(item, note),
                         group_outcome_of=lambda item: group_report.group_outcome(item, note))


# --- dispatch -----------------------------------------------------------------------------

def report_bytes(result: SyncResult, fmt: Format | str) -> bytes:
    """What a report file in ``fmt`` holds: the text formats in UTF-8, or the workbook."""
    content = render(result, fmt)
    return content.encode("utf-8") if isinstance(content, str) else content


def render(result: SyncResult, fmt: Format | str) -> str | bytes:
    """The report in ``fmt``: text for ``json``, ``html``, ``csv`` and ``md``, the
    workbook's bytes for ``xlsx`` (``report_bytes`` gives every format as bytes)."""
    if fmt == "json":
        return json.dumps(sync_dict(result), indent=2, ensure_ascii=False) + "\n"
    if fmt == "html":
        return sync_html(result)
    if fmt == "csv":
        return sync_csv(result)
    if fmt == "md":
        return sync_markdown(result)
    if fmt == "xlsx":
        return sync_xlsx(result)
    raise ValueError(f"unknown report format {fmt!r}; use one of json, html, csv, md, xlsx")

"""Renders a sync run (``SyncResult``) as JSON, HTML, CSV, Markdown, an Excel workbook and a
terminal view. Pure.

Every format is rendered from one report, ``sync_report(result)`` (the JSON report, its
changes made as they are read: ``connector.report.contract``), so the formats cannot
disagree; ``sync_dict(result)`` is the same as plain data. The JSON report is a contract
other tools rely on:

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
* SCIM runs (API-driven inbound provisioning) only: ``provisioning`` (the job, its
  requests, throttling, budget, the wait and a count of outcomes per status; see
  ``connector.run.scim_results.provisioning_section``) and, in each posted change's
  ``outcome``, ``entra``: what Entra's provisioning engine did with the record, from its
  logs (``connector.scim.Provisioned.as_dict``: status, action, code, reason, modified
  properties old -> new); once known, the change's ``attributes`` are Entra's.

Passwords never appear: the plan holds none and nothing here adds one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import TYPE_CHECKING, Any, Literal

from connector.core.plan import ACTIONS, WRITES
from connector.core.results import SyncResult
from connector.report import groups as group_report
from connector.report.contract import (
    ChangeItems,
    json_bytes,
    sync_dict,
    sync_report,
    write_json,
)
from connector.report.html import (
    headline,
    html_page,
    outcome_text,
    plural,
    row_outcome,
    value_text,
)
from connector.report.markdown import markdown_page
from connector.report.validation import spreadsheet_safe

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.text import Text

__all__ = ["CSV_COLUMNS", "FORMATS_BY_SUFFIX", "ChangeItems", "Format", "render",
           "report_bytes", "sync_csv", "sync_dict", "sync_html", "sync_markdown",
           "sync_report", "sync_terminal", "sync_xlsx", "write_json"]

Format = Literal["json", "html", "csv", "md", "xlsx"]
FORMATS_BY_SUFFIX: dict[str, Format] = {".json": "json", ".html": "html", ".htm": "html",
                                        ".csv": "csv", ".md": "md", ".xlsx": "xlsx"}
CSV_COLUMNS = ("run_id", "action", "employeeId", "userPrincipalName", "attribute", "old",
               "new", "reason", "outcome")


# --- the JSON report (``connector.report.contract``) ------------------------------------------

def _counted(report: Mapping[str, Any]) -> list[str]:
    """The counts a person sees: every action, and failed writes unless nothing was tried."""
    return [a for a in (*ACTIONS, "failed") if a != "failed" or not report["dry_run"]]


Report = Mapping[str, Any]


def sync_html(result: SyncResult, report: Report | None = None) -> str:
    """A self-contained HTML page for people (``connector.report.html``)."""
    return html_page(report or sync_report(result))


# --- CSV ----------------------------------------------------------------------------------

def _run_note(report: Mapping[str, Any]) -> str | None:
    """What every CSV row says when nothing was written, so no row reads as done."""
    if report["stopped"]:
        run = "dry run, stopped" if report["dry_run"] else "stopped"
        return f"{run}, not written: {'; '.join(report['stopped'])}"
    return "dry run, not written" if report["dry_run"] else None


def _csv_cell(value: Any) -> str:
    text = spreadsheet_safe(value_text(value))
    # A lone CR is not quoted with a "\n" line terminator and would split the row in
    # spreadsheets; as LF it is quoted and stays inside its cell.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def sync_csv(result: SyncResult, report: Report | None = None) -> str:
    """One row per attribute change (one row with an empty attribute for a change without
    attributes), every cell spreadsheet-safe. A run with no changes gets one row saying so."""
    report = report or sync_report(result)
    note = _run_note(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    written = False
    for item in report["changes"]:
        start = [report["run_id"], item["action"], item["employeeId"],
                 item["userPrincipalName"]]
        end = [item["reason"], row_outcome(item, note, WRITES)]
        pairs = item["attributes"].items() or [("", {"old": None, "new": None})]
        for name, change in pairs:
            writer.writerow([_csv_cell(cell) for cell in
                             (*start, name, change["old"], change["new"], *end)])
            written = True
    for row in group_report.group_csv_rows(report, note):
        writer.writerow([_csv_cell(cell) for cell in row])
        written = True
    if not written:
        writer.writerow([_csv_cell(cell) for cell in
                         (report["run_id"], "", "", "", "", "", "", "no changes",
                          note or report["status"])])
    return buffer.getvalue()


# --- Markdown -----------------------------------------------------------------------------

def sync_markdown(result: SyncResult, report: Report | None = None) -> str:
    """A Markdown report: status, summary table, a section per action, errors, warnings
    (``connector.report.markdown``)."""
    report = report or sync_report(result)
    return markdown_page(report, counted=_counted(report))


# --- terminal -----------------------------------------------------------------------------

_STYLES = {"dry-run": "bold cyan", "stopped": "bold white on red", "failed": "bold red",
           "partial": "bold yellow", "ok": "bold green"}
_ACTION_STYLES = {"create": "green", "update": "blue", "disable": "dark_orange",
                  "enable": "cyan", "delete": "red", "manager": "magenta", "skipped": "dim",
                  "error": "red", "held": "yellow"}


def _term_value(value: Any, style: str) -> Text:
    from rich.text import Text

    if value in (None, "", []):
        return Text("(empty)", style="dim italic")
    return Text(value_text(value), style=style)


def _diff_rows(changes: ChangeItems) -> Iterator[list[Text]]:
    """The diff table's rows, one per attribute, made as they are read."""
    from rich.text import Text

    for item in changes:
        style = _ACTION_STYLES.get(item["action"], "")
        first = [Text(item["action"], style=style), Text(item["employeeId"]),
                 Text(value_text(item["userPrincipalName"]))]
        # An applied write that went through needs no note; reasons and failures do.
        outcome = item["outcome"]
        failure = outcome_text(outcome) if outcome and not outcome["ok"] else ""
        note = "; ".join(p for p in (value_text(item["reason"]), failure) if p)
        note_text = Text(note, style="red" if failure else "dim")
        if not item["attributes"]:
            yield [*first, Text(""), Text(""), note_text]
            continue
        for n, (name, change) in enumerate(item["attributes"].items()):
            diff = _term_value(change["new"], "green")
            if item["action"] != "create":
                diff = Text.assemble(_term_value(change["old"], "red strike"), " → ", diff)
            yield [*(first if n == 0 else [Text("")] * 3), Text(name), diff,
                   note_text if n == 0 else Text("")]


def sync_terminal(result: SyncResult, *, limit: int = 50,
                  report: Report | None = None) -> RenderableType:
    """What a run prints: headline, counts, the first ``limit`` diff rows, problem counts.
    Only the rows shown are made; the others are counted."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    report = report or sync_report(result)
    changes: ChangeItems = report["changes"]
    # The diff comes first and the verdict last, so the end of the output (what a
    # terminal, a cron mail preview or `tail` shows) is the summary.
    parts: list[RenderableType] = []
    shown = list(islice(_diff_rows(changes), limit)) if limit else []
    if shown:
        table = Table(expand=False)
        for name in ("Action", "Key", "UPN", "Attribute", "Old → new", "Note"):
            table.add_column(name, overflow="fold",
                             no_wrap=name in ("Action", "Key", "Attribute"))
        for row in shown:
            table.add_row(*row)
        parts.append(table)
    hidden = _rows_after(changes, len(shown))
    if hidden:
        parts.append(Text(f"… {plural(hidden, 'more row')} not shown "
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


def _rows_after(changes: Any, shown: int) -> int:
    """Diff rows past the first ``shown``, counted without making them."""
    if isinstance(changes, ChangeItems):
        return changes.rows() - shown
    return sum(len(item["attributes"]) or 1 for item in changes) - shown


# --- Excel -------------------------------------------------------------------------------

def sync_xlsx(result: SyncResult, report: Report | None = None) -> bytes:
    """An Excel workbook: summary, one row per attribute change, problems
    (``connector.report.xlsx``)."""
    from connector.report.xlsx import xlsx_workbook  # openpyxl loads for this format only

    report = report or sync_report(result)
    note = _run_note(report)
    return xlsx_workbook(report, counted=_counted(report),
                         outcome_of=lambda item: row_outcome(item, note, WRITES),
                         group_outcome_of=lambda item: group_report.group_outcome(item, note))


# --- dispatch -----------------------------------------------------------------------------

def report_bytes(result: SyncResult, fmt: Format | str, report: Report | None = None) -> bytes:
    """What a report file in ``fmt`` holds: the text formats in UTF-8, or the workbook.
    ``report``: the run's ``sync_report``, when the caller renders several formats."""
    if fmt == "json":
        return json_bytes(report or sync_report(result))
    content = render(result, fmt, report)
    return content.encode("utf-8") if isinstance(content, str) else content


def render(result: SyncResult, fmt: Format | str, report: Report | None = None) -> str | bytes:
    """The report in ``fmt``: text for ``json``, ``html``, ``csv`` and ``md``, the
    workbook's bytes for ``xlsx`` (``report_bytes`` gives every format as bytes)."""
    if fmt not in ("json", "html", "csv", "md", "xlsx"):
        raise ValueError(f"unknown report format {fmt!r}; use one of json, html, csv, md, "
                         "xlsx")
    report = report or sync_report(result)
    if fmt == "json":
        return json_bytes(report).decode("utf-8")
    if fmt == "html":
        return sync_html(result, report)
    if fmt == "csv":
        return sync_csv(result, report)
    if fmt == "md":
        return sync_markdown(result, report)
    return sync_xlsx(result, report)

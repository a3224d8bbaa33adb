"""Renders results for people (rich tables) and for machines (JSON-ready dicts).

Pure: every function takes a result and returns something to print or serialise; the CLI
does the printing.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Sequence
from typing import IO, Any

import orjson
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from connector.core.records import MappedRecord, Record, nest
from connector.core.validation import ValidationResult
from connector.errors import Problem

VERDICT_TEXT = {
    "clean": "OK: every record can be used",
    "errors": "some records have errors; the others can be used",
    "unusable": "the file cannot be used",
}


def problem_dict(problem: Problem) -> dict[str, Any]:
    """A problem as a JSON object; absent context is left out rather than null."""
    data: dict[str, Any] = {"severity": problem.severity, "reason": problem.reason}
    for name in ("file", "row", "column", "key"):
        value = getattr(problem, name)
        if value is not None:
            data[name] = value
    if problem.rows:
        data["rows"] = list(problem.rows)
    return data


def _verdict(result: ValidationResult) -> dict[str, Any]:
    return {
        "file": result.file,
        "format": result.format or None,
        "verdict": result.verdict,
        "exit_code": result.exit_code,
        "header_row": result.header_row or None,
        "columns": result.columns,
        "records": result.count,
        "records_with_errors": len(result.error_rows),
        "errors": len(result.errors) + len(result.unusable),
        "warnings": len(result.warnings),
    }


def validation_dict(result: ValidationResult) -> dict[str, Any]:
    """The machine-readable form of ``validate``'s verdict (``--format json``; the CLI
    writes it with ``write_validation_json``, which never holds it whole)."""
    return {**_verdict(result),
            "problems": [problem_dict(p) for p in [*result.unusable, *result.problems]]}


def write_validation_json(result: ValidationResult, handle: IO[bytes]) -> None:
    """``validation_dict(result)`` as ``json.dumps(..., indent=2, ensure_ascii=False)``
    writes it, plus a newline, with the problems encoded a chunk at a time: 100,000
    warnings are never one list of dicts and one string."""
    text = json.dumps(_verdict(result), indent=2, ensure_ascii=False)
    handle.write(text[:-2].encode("utf-8"))  # without "\n}": the problems follow
    handle.write(b',\n  "problems": ')
    problems = itertools.chain(result.unusable, result.problems)
    first = True
    while chunk := [problem_dict(p) for p in itertools.islice(problems, _CHUNK)]:
        # Encoded inside {"": [...]} so the items come out two levels down, as in the
        # whole document: '{\n  "": [\n    ' then the items, then '\n  ]\n}'. orjson
        # writes what json does (and refuses lone surrogates, which json then writes).
        try:
            items = orjson.dumps({"": chunk}, option=orjson.OPT_INDENT_2)[14:-6]
        except orjson.JSONEncodeError:
            items = json.dumps({"": chunk}, indent=2, ensure_ascii=False)[14:-6].encode(
                "utf-8", "surrogatepass")
        handle.write(b"[\n    " if first else b",\n    ")
        handle.write(items)
        first = False
    handle.write(b"[]\n}\n" if first else b"\n  ]\n}\n")


#: Problems encoded at a time by ``write_validation_json``.
_CHUNK = 1000


def problems_table(problems: Sequence[Problem], *, title: str | None = None) -> Table:
    """One line per problem: severity, row, column, key and the reason."""
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("", no_wrap=True)
    table.add_column("Row", justify="right", no_wrap=True)
    table.add_column("Column", no_wrap=True)
    table.add_column("Key", no_wrap=True)
    table.add_column("Problem")
    for problem in problems:
        style = "red" if problem.severity == "error" else "yellow"
        table.add_row(
            Text(problem.severity, style=style),
            "" if problem.row is None else str(problem.row),
            problem.column or "",
            problem.key or "",
            Text(problem.reason),
        )
    return table


def validation_renderable(result: ValidationResult, *, limit: int | None = None
                          ) -> RenderableType:
    """The readable table ``validate`` prints by default: the first ``limit`` problems
    (all of them when None), the others counted."""
    parts: list[RenderableType] = []
    if result.unusable:
        parts.append(problems_table(result.unusable, title=f"{result.file}: cannot be used"))
    else:
        parts.append(Text(
            f"{result.file}: {result.format}, header on row {result.header_row}, "
            f"{len(result.columns)} columns, {result.count} records"))
        shown = result.problems if limit is None else result.problems[:limit]
        if shown:
            parts.append(problems_table(shown))
        hidden = len(result.problems) - len(shown)
        if hidden:
            more = "1 more problem" if hidden == 1 else f"{hidden:,} more problems"
            parts.append(Text(f"… {more} not shown (--show N, or --format json for all "
                              "of them)", style="dim"))
    summary = (
        f"{VERDICT_TEXT[result.verdict]} — {result.count} records, "
        f"{len(result.error_rows)} with errors, {len(result.warnings)} warnings"
    )
    style = {"clean": "green", "errors": "yellow", "unusable": "red"}[result.verdict]
    parts.append(Text(summary, style=f"bold {style}"))
    return Group(*parts)


def records_table(columns: Sequence[str], records: Iterable[Record]) -> Table:
    """Records as read, one line each, with their source row."""
    table = Table(expand=False)
    table.add_column("Row", justify="right", no_wrap=True)
    for column in columns:
        table.add_column(column, overflow="fold")
    for record in records:
        table.add_row(str(record.row), *(Text(record.values[c]) for c in columns))
    return table


def records_csv(columns: Sequence[str], records: Iterable[Record]) -> str:
    """Records as CSV text (with a leading ``Row`` column)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["Row", *columns])
    for record in records:
        writer.writerow([record.row, *(record.values[c] for c in columns)])
    return buffer.getvalue()


# --- preview: desired users ---------------------------------------------------------------

PREVIEW_COLUMNS = ("displayName", "userPrincipalName", "jobTitle", "accountEnabled")
#: The SCIM attribute a ``target: scim`` mapping writes for each preview column.
_SCIM_COLUMNS = {"userPrincipalName": "userName", "jobTitle": "title",
                 "accountEnabled": "active"}


def _note(record: MappedRecord) -> str:
    if record.errors:
        return "; ".join(p.reason for p in record.errors)
    notes = [record.reason or ""]
    if record.leaver:
        notes.append("leaver: disabled if the account exists, never created")
    return "; ".join(n for n in notes if n)


def preview_record_dict(record: MappedRecord) -> dict[str, Any]:
    """One record of ``preview --format json``: the user Graph would hold, and why."""
    return {
        "row": record.row,
        "key": record.key,
        "status": record.status,
        "leaver": record.leaver,
        "reason": record.reason,
        "user": nest(record.for_create()) if record.status == "mapped" else None,
        "on_create_only": sorted([*record.on_create, *record.defaults]),
        "defaults_used": sorted(record.defaults),
        "empty": list(record.empty),
        "manager_key": record.manager_key,
        "errors": [problem_dict(p) for p in record.errors],
    }


def preview_dict(
    records: Sequence[MappedRecord], *, file: str, mapping: str, warnings: Sequence[Problem]
) -> dict[str, Any]:
    """``preview --format json``."""
    counts = {s: sum(1 for r in records if r.status == s) for s in ("mapped", "skipped", "error")}
    return {
        "file": file,
        "mapping": mapping,
        "summary": {**counts, "leaver": sum(1 for r in records if r.leaver)},
        "records": [preview_record_dict(r) for r in records],
        "warnings": [problem_dict(p) for p in warnings],
    }


def _display(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def preview_table(records: Sequence[MappedRecord]) -> Table:
    """One line per record: key, status and the attributes people look at first."""
    table = Table(expand=False)
    for name in ("Row", "Key", "Status", *PREVIEW_COLUMNS, "Manager", "Note"):
        table.add_column(name, overflow="fold", no_wrap=name not in ("jobTitle", "Note"))
    styles = {"mapped": "green", "skipped": "dim", "error": "red"}
    for record in records:
        values = record.for_create()
        table.add_row(
            str(record.row), record.key, Text(record.status, style=styles[record.status]),
            *(Text(_display(values.get(name, values.get(_SCIM_COLUMNS.get(name, name)))))
              for name in PREVIEW_COLUMNS),
            record.manager_key or "", Text(_note(record)))
    return table


def preview_detail(record: MappedRecord) -> Table:
    """Every attribute of one record (``preview --row N``) and where its value came from."""
    table = Table(title=f"Row {record.row}, key {record.key!r}: {record.status}",
                  title_justify="left")
    table.add_column("Attribute", no_wrap=True)
    table.add_column("Value", overflow="fold")
    table.add_column("Applies", no_wrap=True)
    sources = [(record.attributes, "always"), (record.on_create, "on create"),
               (record.defaults, "default, on create")]
    for values, applies in sources:
        for name, value in values.items():
            # Text, not markup: a SCIM name holds brackets (addresses[type eq "work"]...).
            table.add_row(Text(name), Text(_display(value)), applies)
    for name in record.empty:
        table.add_row(Text(name), Text("(empty)", style="dim"), "always")
    if record.manager_key:
        table.add_row("manager", Text(f"the user with HR key {record.manager_key}"), "always")
    note = _note(record)
    if note:
        table.add_row("note", Text(note, style="yellow" if not record.errors else "red"), "")
    return table


def preview_csv(records: Sequence[MappedRecord]) -> str:
    """One row per record, one column per attribute (flat names), for spreadsheets."""
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record.for_create()))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["row", "key", "status", *names, "manager_key", "note"])
    for record in records:
        values = record.for_create()
        writer.writerow([record.row, record.key, record.status,
                         *(spreadsheet_safe(_display(values.get(n))) for n in names),
                         record.manager_key or "", spreadsheet_safe(_note(record))])
    return buffer.getvalue()


def spreadsheet_safe(text: str) -> str:
    """Defuse formula injection: a cell starting with = + - @ (or a tab/CR) is quoted."""
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text

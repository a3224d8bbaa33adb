"""Renders results for people (rich tables) and for machines (JSON-ready dicts).

Pure: every function takes a result and returns something to print or serialise; the CLI
does the printing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from connector.checks import ValidationResult
from connector.errors import Problem
from connector.records import Record

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


def validation_dict(result: ValidationResult) -> dict[str, Any]:
    """The machine-readable form of ``validate``'s verdict (``--format json``)."""
    return {
        "file": result.file,
        "format": result.format or None,
        "verdict": result.verdict,
        "exit_code": result.exit_code,
        "header_row": result.header_row or None,
        "columns": result.columns,
        "records": len(result.records),
        "records_with_errors": len(result.error_rows),
        "errors": len(result.errors) + len(result.unusable),
        "warnings": len(result.warnings),
        "problems": [problem_dict(p) for p in [*result.unusable, *result.problems]],
    }


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


def validation_renderable(result: ValidationResult) -> RenderableType:
    """The readable table ``validate`` prints by default."""
    parts: list[RenderableType] = []
    if result.unusable:
        parts.append(problems_table(result.unusable, title=f"{result.file}: cannot be used"))
    else:
        parts.append(Text(
            f"{result.file}: {result.format}, header on row {result.header_row}, "
            f"{len(result.columns)} columns, {len(result.records)} records"))
        if result.problems:
            parts.append(problems_table(result.problems))
    summary = (
        f"{VERDICT_TEXT[result.verdict]} — {len(result.records)} records, "
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

"""Wires the stages together: open a source, check it (and, as the product grows, map,
plan and apply). The CLI calls these; they hold no rules of their own.
"""

from __future__ import annotations

from pathlib import Path

from connector.checks import SourceSchema, ValidationResult, check_source
from connector.errors import Problem, SourceError
from connector.readers import open_source


def validate_file(
    path: str | Path, schema: SourceSchema, *, sheet: str | None = None
) -> ValidationResult:
    """Open ``path`` and check it; a file that cannot be used becomes an unusable result."""
    try:
        reader = open_source(path, sheet=sheet, hint=schema.expected_columns)
        return check_source(reader, schema)
    except SourceError as exc:
        problem = Problem(exc.message, file=exc.file or str(path), row=exc.row, column=exc.column)
        return ValidationResult(file=str(path), unusable=[problem])

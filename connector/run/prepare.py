"""Read, check and map a source: ``validate_file`` opens and checks it, ``prepare`` also
maps every record. ``validate``, ``preview`` and every sync call these; they hold no rules
of their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from connector.core.validation import (
    SourceSchema,
    ValidationResult,
    check_source,
    schema_from_mapping,
)
from connector.errors import Problem, SourceError
from connector.mapping import CompiledMapping, MappedRecord
from connector.mapping.engine import paused_gc
from connector.mapping.expr import Directory, EvalContext
from connector.readers import Reader, open_source

#: A source: a file path, or a reader already opened (an HR API reader, say).
Source = str | Path | Reader


def source_name(source: Source) -> str:
    """How messages and reports name a source."""
    return source.name if isinstance(source, Reader) else str(source)


def validate_file(
    path: Source, schema: SourceSchema, *, sheet: str | None = None
) -> ValidationResult:
    """Open ``path`` (unless it is a reader already) and check it; a source that cannot be
    used becomes an unusable result."""
    try:
        if isinstance(path, Reader):
            reader = path
        else:
            reader = open_source(path, sheet=sheet, hint=schema.expected_columns)
        return check_source(reader, schema)
    except SourceError as exc:
        name = source_name(path)
        problem = Problem(exc.message, file=exc.file or name, row=exc.row, column=exc.column)
        return ValidationResult(file=name, unusable=[problem])


@dataclass
class Prepared:
    """A source read, checked and mapped: what preview shows and sync plans from."""

    validation: ValidationResult
    mapping: CompiledMapping
    mapped: list[MappedRecord]
    context: EvalContext

    def count(self, status: str) -> int:
        """How many records ended with ``status`` (mapped, skipped or error)."""
        return sum(1 for m in self.mapped if m.status == status)


def prepare(
    source: Source,
    mapping: CompiledMapping,
    *,
    now: dt.datetime,
    directory: Directory,
    sheet: str | None = None,
    create_rules: bool = True,
    check_managers: bool = True,
) -> Prepared:
    """Read and check ``source`` against what ``mapping`` needs, then map every record.

    A source that cannot be used raises ``SourceError`` listing why. A record with a
    source problem (empty or duplicate key, bad date ...) is not mapped: it comes back as
    an ``error`` record carrying those problems, so nothing is dropped silently. With
    ``create_rules=False`` the create-only rules wait (see ``CompiledMapping.finish_create``).
    ``check_managers=False`` leaves manager references to the plan, which also knows the
    tenant's users (so each problem is reported once).
    """
    schema = schema_from_mapping(
        file=mapping.file, key=mapping.key, required=mapping.required_columns,
        manager=mapping.manager_column if check_managers else None,
        countries=mapping.country_columns, dates=mapping.date_columns)
    validation = validate_file(source, schema, sheet=sheet)
    if validation.unusable:
        raise SourceError("; ".join(p.reason for p in validation.unusable),
                          file=validation.file)
    problems_by_row: dict[int, list[Problem]] = {}
    for problem in validation.errors:
        if problem.row is not None:
            problems_by_row.setdefault(problem.row, []).append(problem)
    context = mapping.context(now=now, directory=directory)
    mapped: list[MappedRecord] = []
    with paused_gc():
        _map_all(validation, mapping, context, problems_by_row, mapped, create_rules)
    return Prepared(validation=validation, mapping=mapping, mapped=mapped, context=context)


def _map_all(
    validation: ValidationResult, mapping: CompiledMapping, context: EvalContext,
    problems_by_row: dict[int, list[Problem]], mapped: list[MappedRecord], create_rules: bool,
) -> None:
    for record in validation.records:
        row_problems = problems_by_row.get(record.row)
        if row_problems:
            key = record.values.get(mapping.key, "").strip()
            mapped.append(MappedRecord(row=record.row, key=key, status="error",
                                       errors=row_problems))
        else:
            mapped.append(mapping.map_record(record, context, create_rules=create_rules))

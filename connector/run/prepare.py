"""Read, check and map a source: ``validate_file`` opens and checks it, ``prepare`` also
maps every record. ``validate``, ``preview`` and every sync call these; they hold no rules
of their own.

``prepare`` streams: each record is checked and mapped as it is read, then let go; only
what the mapping made of it is kept (and, until the create-only rules run, the few values
those rules read). Memory grows with the mapped records, not with the source.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from connector.core.records import Record
from connector.core.validation import (
    SourceSchema,
    ValidationResult,
    check_source,
    header_problem,
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


def _open(path: Source, schema: SourceSchema, sheet: str | None) -> Reader:
    if isinstance(path, Reader):
        return path
    return open_source(path, sheet=sheet, hint=schema.expected_columns)


def _unusable(path: Source, exc: SourceError) -> ValidationResult:
    name = source_name(path)
    problem = Problem(exc.message, file=exc.file or name, row=exc.row, column=exc.column)
    return ValidationResult(file=name, unusable=[problem])


def validate_file(
    path: Source, schema: SourceSchema, *, sheet: str | None = None,
    keep_records: bool = False,
) -> ValidationResult:
    """Open ``path`` (unless it is a reader already) and check it; a source that cannot be
    used becomes an unusable result. The records are counted, and kept in the result's
    ``records`` only with ``keep_records``."""
    try:
        return check_source(_open(path, schema, sheet), schema, keep_records=keep_records)
    except SourceError as exc:
        return _unusable(path, exc)


def open_checked(source: Source, mapping: CompiledMapping, *, sheet: str | None = None
                 ) -> Reader:
    """``source`` opened, its header read and checked against what ``mapping`` needs:
    what makes a file unusable before its first record (not found, not a regular file,
    empty, required columns missing) raises ``SourceError`` here. A sync calls it before
    it takes the lock or opens the tenant, so such a run (exit 2) writes nothing, not even
    the sandbox tenant's file; it then plans from the reader returned."""
    schema = mapping_schema(mapping, check_managers=False)
    reader = _open(source, schema, sheet)
    problem = header_problem(reader, schema)
    if problem is not None:
        raise SourceError(problem.reason, file=reader.name, row=problem.row)
    return reader


def mapping_schema(mapping: CompiledMapping, *, check_managers: bool = True) -> SourceSchema:
    """What a source must hold for ``mapping``: its key, required columns, country and
    date columns, and (with ``check_managers``) its manager column."""
    return schema_from_mapping(
        file=mapping.file, key=mapping.key, required=mapping.required_columns,
        manager=mapping.manager_column if check_managers else None,
        countries=mapping.country_columns, dates=mapping.date_columns)


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
    """Read and check ``source`` against what ``mapping`` needs, mapping each record as
    it is read.

    A source that cannot be used raises ``SourceError`` listing why. A record with a
    source problem (empty or duplicate key, bad date ...) is not mapped: it comes back as
    an ``error`` record carrying those problems, so nothing is dropped silently (a key
    found repeated only later in the source takes its records back). With
    ``create_rules=False`` the create-only rules wait (see ``CompiledMapping.finish_create``;
    each record keeps the values they read). ``check_managers=False`` leaves manager
    references to the plan, which also knows the tenant's users (so each problem is
    reported once).
    """
    schema = mapping_schema(mapping, check_managers=check_managers)
    context = mapping.context(now=now, directory=directory)
    mapped: list[MappedRecord] = []
    #: row -> its position in ``mapped`` and how many problems its reader found.
    where: dict[int, int] = {}
    key_column = mapping.key
    groups = mapping.groups

    def each(record: Record, errors: list[Problem]) -> None:
        where[record.row] = len(mapped)
        if errors:
            key = record.values.get(key_column, "").strip()
            mapped.append(MappedRecord(row=record.row, key=key, status="error",
                                       errors=errors))
        else:
            # Create-only rules wait until every key is known to be unique, so a record
            # taken back for a repeated key never claims a unique value (a UPN).
            result = mapping.map_record(record, context, create_rules=False)
            if groups is not None:  # while the record's values are at hand
                groups.place(record.values, result, context)
            mapped.append(result)

    def duplicates(problems: dict[int, Problem]) -> None:
        for row, problem in problems.items():
            index = where[row]
            old = mapped[index]
            if old.status == "error" and old.errors:
                # The reader's problems first, then the key's, then the cells' (the
                # order validation lists them in).
                errors = [*old.errors]
                readers = sum(1 for p in errors if p.column is None)
                errors.insert(readers, problem)
            else:
                errors = [problem]
            mapped[index] = MappedRecord(row=row, key=old.key, status="error", errors=errors)

    try:
        reader = _open(source, schema, sheet)
        with paused_gc():
            validation = check_source(reader, schema, each=each, duplicates=duplicates)
    except SourceError as exc:
        validation = _unusable(source, exc)
    if validation.unusable:
        raise SourceError("; ".join(p.reason for p in validation.unusable),
                          file=validation.file)
    if create_rules:
        with paused_gc():
            for record in mapped:
                if record.status == "mapped":
                    mapping.finish_create(None, record, context)
    return Prepared(validation=validation, mapping=mapping, mapped=mapped, context=context)

"""Checks an HR source before anything is mapped or written.

Two kinds of findings:

* **unusable** (exit 2): the file cannot be read, has no records, lacks a required column or
  repeats a header name. Nothing in it can be trusted to mean what it says.
* **per record**: errors (empty key, the same key on several rows, a malformed date) make
  that record unusable, and only that record; warnings (a manager key that names nobody,
  a self-manager, a country code that is not ISO 3166-1) are worth a look but the record
  still goes through.

``check_source`` is pure: it takes an opened source (anything shaped like a reader) and a
``SourceSchema`` and returns every finding. ``connector.run.prepare.validate_file`` does the
opening, so a broken file becomes a result rather than an exception.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from connector.core.countries import ALPHA2, COMMON_MISTAKES
from connector.core.records import Record
from connector.errors import (
    EXIT_OK,
    EXIT_RECORD_ERRORS,
    EXIT_UNUSABLE,
    Problem,
)


class TableSource(Protocol):
    """What the checks need of an opened source; every reader has this shape."""

    name: str
    format: str
    columns: list[str]
    header_row: int
    warnings: list[Problem]

    def records(self) -> Iterator[Record]: ...


@dataclass(frozen=True)
class SourceSchema:
    """What a source must hold, as far as checking it goes.

    The mapping provides one (its key column, the columns its rules read, its manager
    column); ``SAMPLE_SCHEMA`` describes the columns of ``sample_data/``.
    """

    key: str
    required: tuple[str, ...] = ()
    manager: str | None = None
    countries: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    description: str = ""

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns a source must have: the key, the required ones and the manager column."""
        names = [self.key, *self.required, *([self.manager] if self.manager else [])]
        return tuple(dict.fromkeys(names))

    @property
    def expected_columns(self) -> tuple[str, ...]:
        """Every column the schema names, key first, each once."""
        names = [self.key, *self.required]
        names += [n for n in (self.manager, *self.countries, *self.dates) if n]
        return tuple(dict.fromkeys(names))


def schema_from_mapping(
    *, file: str, key: str, required: Sequence[str], manager: str | None,
    countries: Sequence[str] = (), dates: Sequence[str] = (),
) -> SourceSchema:
    """The schema a mapping implies: its key, the columns its rules read, its manager."""
    return SourceSchema(key=key, required=tuple(c for c in required if c != key),
                        manager=manager, countries=tuple(countries), dates=tuple(dates),
                        description=f"the mapping {file}")


SAMPLE_COLUMNS = (
    "EmployeeID", "FirstName", "LastName", "PreferredFirstName", "JobTitle", "Department",
    "Division", "CostCenter", "Company", "ManagerID", "Office", "StreetAddress", "City",
    "State", "PostalCode", "CountryCode", "MobilePhone", "WorkPhone", "HireDate",
    "TerminationDate", "Status", "WorkerType",
)  # fmt: skip

SAMPLE_SCHEMA = SourceSchema(
    key="EmployeeID",
    required=SAMPLE_COLUMNS,
    manager="ManagerID",
    countries=("CountryCode",),
    dates=("HireDate", "TerminationDate"),
    description="the sample_data/ export columns",
)


@dataclass
class ValidationResult:
    """Everything ``validate`` found in one source.

    ``count`` is how many records the source holds; ``records`` holds them only when the
    check was asked to keep them (``check_source(keep_records=True)``): a run maps each
    record as it is checked and keeps what the mapping made of it instead.
    """

    file: str
    format: str = ""
    columns: list[str] = field(default_factory=list)
    header_row: int = 0
    records: list[Record] = field(default_factory=list)
    unusable: list[Problem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    count: int = 0

    @property
    def errors(self) -> list[Problem]:
        """Record problems that keep a record from going through."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Findings worth a look that do not stop a record."""
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def error_rows(self) -> set[int]:
        """Rows whose records cannot be used."""
        return {p.row for p in self.errors if p.row is not None}

    @property
    def verdict(self) -> str:
        """``unusable``, ``errors`` or ``clean`` (warnings do not change it)."""
        if self.unusable:
            return "unusable"
        return "errors" if self.errors else "clean"

    @property
    def exit_code(self) -> int:
        """0 clean, 1 some records have errors, 2 the source cannot be used."""
        return {"unusable": EXIT_UNUSABLE, "errors": EXIT_RECORD_ERRORS}.get(
            self.verdict, EXIT_OK
        )


#: What ``check_source`` hands on per record: the record and its errors so far (empty:
#: usable unless its key turns out to be repeated, which ``duplicates`` says at the end).
RecordSink = Callable[[Record, list[Problem]], None]


def header_problem(reader: TableSource, schema: SourceSchema) -> Problem | None:
    """Why an opened source cannot be used before a record is read (required columns
    missing from its header), or None."""
    missing = [name for name in schema.required_columns if name not in reader.columns]
    if not missing:
        return None
    return Problem("missing required column(s): " + ", ".join(missing)
                   + _suggest_columns(missing, reader.columns)
                   + (f" (expected by {schema.description})" if schema.description else ""),
                   file=reader.name, row=reader.header_row)


def check_source(reader: TableSource, schema: SourceSchema, *,
                 each: RecordSink | None = None, keep_records: bool = False,
                 duplicates: Callable[[dict[int, Problem]], None] | None = None,
                 ) -> ValidationResult:
    """Every finding about an opened source; reads its records once, as a stream.

    Each record is checked as it is read and handed to ``each`` with its errors so far,
    then let go (kept in ``records`` only with ``keep_records``). What needs every record
    (keys used on several rows, managers that name nobody, manager loops) is found at the
    end; ``duplicates`` then gets the rows whose key is repeated, with that problem, so a
    caller that used them in ``each`` can take them back.
    """
    result = ValidationResult(
        file=reader.name, format=reader.format, columns=list(reader.columns),
        header_row=reader.header_row,
    )
    missing = header_problem(reader, schema)
    if missing is not None:
        result.unusable.append(missing)
        return result
    check = _Check(schema, reader.name, [c for c in schema.countries if c in reader.columns],
                   [c for c in schema.dates if c in reader.columns])
    for record in reader.records():
        errors = check.record(record)
        if keep_records:
            result.records.append(record)
        if each is not None:
            each(record, errors)
    result.count = check.count
    if not check.count:
        result.unusable.append(Problem(
            "has a header but no records", file=reader.name, row=reader.header_row))
        return result
    repeated = check.repeated_keys()
    if duplicates is not None and repeated:
        duplicates({p.row: p for p in repeated if p.row is not None})
    # The order of old: source warnings, reader problems, key, cell, then manager problems,
    # sorted by row with errors first (a stable sort keeps that order within a row).
    result.problems = [*reader.warnings, *check.reader_problems, *check.empty_keys,
                       *repeated, *check.cell_problems]
    if schema.manager:
        result.problems.extend(check.manager_problems())
    result.problems.sort(key=lambda p: (p.row or 0, p.severity != "error"))
    return result


class _Check:
    """The checks of one source, a record at a time; keeps keys and manager keys only."""

    def __init__(self, schema: SourceSchema, file: str, countries: Sequence[str],
                 dates: Sequence[str]) -> None:
        self.schema, self.file = schema, file
        self.countries, self.dates = tuple(countries), tuple(dates)
        self.count = 0
        self.reader_problems: list[Problem] = []
        self.empty_keys: list[Problem] = []
        self.cell_problems: list[Problem] = []
        #: key -> its first row; key -> every row, for keys on several rows only.
        self.first_row: dict[str, int] = {}
        self.rows_of: dict[str, list[int]] = {}
        #: key -> the manager key of its first row.
        self.manager_of: dict[str, str] = {}
        #: (row, key, manager) of references to keys not seen yet when read.
        self.forward: list[tuple[int, str, str]] = []
        self.self_managed: list[Problem] = []

    def record(self, record: Record) -> list[Problem]:
        """Check one record; returns its errors (its warnings are kept for the end)."""
        self.count += 1
        row, values, file = record.row, record.values, self.file
        errors = [Problem(reason, file=file, row=row) for reason in record.problems]
        self.reader_problems.extend(errors)
        key_column = self.schema.key
        key = values[key_column].strip()
        if not key:
            problem = Problem("empty key: every record needs a value here",
                              file=file, row=row, column=key_column)
            self.empty_keys.append(problem)
            errors.append(problem)
        elif key in self.first_row:
            self.rows_of.setdefault(key, [self.first_row[key]]).append(row)
        else:
            self.first_row[key] = row
        errors.extend(self._cells(values, row, key or None))
        manager_column = self.schema.manager
        if manager_column:
            manager = values[manager_column].strip()
            if key:
                self.manager_of.setdefault(key, manager)
            if manager and manager == key:
                self.self_managed.append(Problem(
                    "is their own manager; the manager will not be set", severity="warning",
                    file=file, row=row, column=manager_column, key=key or None))
            elif manager and manager not in self.first_row:
                self.forward.append((row, key, manager))
        return errors

    def _cells(self, values: Mapping[str, str], row: int, key: str | None) -> list[Problem]:
        problems: list[Problem] = []
        file = self.file
        for column in self.dates:
            text = values[column]
            if text.strip() and not _is_iso_date(text.strip()):
                problems.append(Problem(f"{text!r} is not a date (expected yyyy-mm-dd)",
                                        file=file, row=row, column=column, key=key))
        errors = list(problems)
        for column in self.countries:
            code = values[column]
            if code.strip() and code.strip() not in ALPHA2:
                hint = COMMON_MISTAKES.get(code.strip().upper())
                reason = f"{code!r} is not an ISO 3166-1 alpha-2 country code" + (
                    f" (did you mean {hint!r}?)" if hint else "")
                problems.append(Problem(reason, severity="warning", file=file, row=row,
                                        column=column, key=key))
        for column, text in values.items():
            if text != text.strip() and text.strip():
                problems.append(Problem(
                    f"{text!r} has leading or trailing spaces (kept as they are)",
                    severity="warning", file=file, row=row, column=column, key=key))
        self.cell_problems.extend(problems)
        return errors

    def repeated_keys(self) -> list[Problem]:
        """One problem per row of every key used on several rows."""
        problems = []
        for key, rows in self.rows_of.items():
            listed = ", ".join(str(r) for r in rows)
            for row in rows:
                problems.append(Problem(
                    f"key {key!r} is used on {len(rows)} rows ({listed}); none of them "
                    "can be matched to one user until it is unique",
                    file=self.file, row=row, column=self.schema.key, key=key,
                    rows=tuple(rows)))
        return problems

    def manager_problems(self) -> list[Problem]:
        """Self-managers, managers that name no record, and manager loops, as warnings."""
        column = self.schema.manager
        problems = list(self.self_managed)
        for row, key, manager in self.forward:
            if manager not in self.manager_of:
                problems.append(Problem(
                    f"manager key {manager!r} matches no record in this source; "
                    "the manager will not be set", severity="warning", file=self.file,
                    row=row, column=column, key=key or None))
        for cycle in find_cycles(self.manager_of):
            chain = " -> ".join([*cycle, cycle[0]])
            problems.append(Problem(
                f"managers form a loop ({chain}); managers in a loop are not set",
                severity="warning", file=self.file, row=self.first_row[cycle[0]],
                column=column, key=cycle[0]))
        return problems


def _suggest_columns(missing: Sequence[str], present: Sequence[str]) -> str:
    by_folded = {name.casefold().replace(" ", "").replace("_", ""): name for name in present}
    hints = [
        f"{name!r} is there as {by_folded[folded]!r}"
        for name in missing
        if (folded := name.casefold().replace(" ", "").replace("_", "")) in by_folded
    ]
    return f" ({'; '.join(hints)}: column names are case-sensitive)" if hints else ""


def _is_iso_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text[:10])
    except ValueError:
        return False
    return len(text) == 10 or text[10] in "T "


def find_cycles(manager_of: Mapping[str, str]) -> list[list[str]]:
    """Each loop in the manager graph once (self-managers are reported separately)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles: list[list[str]] = []
    for start in manager_of:
        path: list[str] = []
        node: str | None = start
        while node is not None and node in manager_of and state.get(node) is None:
            state[node] = 1
            path.append(node)
            nxt = manager_of[node]
            node = nxt if nxt and nxt != node else None
        if node is not None and state.get(node) == 1 and node in path:
            cycles.append(path[path.index(node):])
        for visited in path:
            state[visited] = 2
    return cycles

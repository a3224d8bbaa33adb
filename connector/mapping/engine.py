"""Applies a compiled mapping to records: HR record in, desired Entra user out. Pure.

Empty cells are null here: an HR export cannot tell an empty value from a missing one, and
treating both as null gives Coalesce, IsPresent, Switch defaults and scoping's "any clause
on null is false" the meaning admins expect from Entra. The record's values are read as
they are (no copy): expressions are compiled to read "" as null (``empty_is_null``),
direct rules and filters treat "" as empty.

A compiled mapping keeps state for the run it maps (its evaluation context: a
``connector.mapping.runner.RuleRunner``): the rules written out as one function,
memoised rules' caches and one string object per repeated column value. It is meant for
one run at a time, not for threads mapping at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from connector.core.records import MappedRecord, Record
from connector.errors import MappingError, Problem
from connector.mapping.expr import EvalContext, SharedCalls
from connector.mapping.groups import CompiledGroups
from connector.mapping.runner import RuleRunner
from connector.mapping.scoping import CompiledFilter, any_holds, explain_out_of_scope
from connector.mapping.targets import Target

Values = Mapping[str, str | None]
Evaluate = Callable[[Values, EvalContext], Any]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One attribute rule, ready to run.

    ``column`` is set for direct rules, which the engine reads without a call;
    ``convert`` turns the rule's result into the JSON value Graph stores.
    """

    target: Target
    evaluate: Evaluate
    default: str | None
    on_create: bool
    unique: bool
    text: str
    column: str | None = None
    convert: Callable[[Any], Any] = field(default=lambda value: value)
    #: The columns the rule reads.
    columns: frozenset[str] = frozenset()
    #: For a deterministic expression: the columns its results are remembered by, per
    #: run (see ``_Memo``); empty: evaluated for every record.
    memo: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class CompiledMapping:
    """A mapping file, compiled: every expression parsed, every name checked."""

    file: str
    key: str
    rules: dict[str, CompiledRule]
    matching: tuple[str, ...]
    scope: tuple[CompiledFilter, ...]
    leaver: Callable[[Values, EvalContext], bool] | None
    delete_after_days: int | None
    manager_column: str | None
    params: Mapping[str, str]
    partial: bool
    required_columns: tuple[str, ...]
    optional_columns: tuple[str, ...]
    country_columns: tuple[str, ...] = ()
    date_columns: tuple[str, ...] = ()
    description: str = ""
    #: Filters on Graph user properties naming the users the connector manages; empty:
    #: the users whose first matching attribute is set.
    managed: tuple[CompiledFilter, ...] = ()
    #: ``graph`` (rules name Graph user properties) or ``scim`` (rules name SCIM
    #: attributes of an API-driven provisioning job, ``connector.mapping.scim``).
    target: str = "graph"
    #: URNs of the custom SCIM extensions a ``scim`` mapping declares.
    scim_extensions: tuple[str, ...] = ()
    #: The ``groups:`` section (None: the mapping keeps no groups).
    groups: CompiledGroups | None = None
    #: The calls several rules share, each evaluated once a record (``SharedCalls``).
    shared: SharedCalls | None = None
    #: The run being mapped (``RuleRunner``), made anew for each new context.
    _runs: list[RuleRunner] = field(default_factory=list, init=False, repr=False)

    def context(self, *, now: dt.datetime, directory: Any) -> EvalContext:
        """The evaluation context for a run: one clock and one directory for all records."""
        return EvalContext(now=now, params=self.params, directory=directory)

    def map_record(
        self, record: Record, context: EvalContext, *, create_rules: bool = True
    ) -> MappedRecord:
        """Map one record; a failing rule marks the record as an error, naming the rule.

        With ``create_rules=False`` the ``apply: on_create`` rules are left for
        ``finish_create``: a sync knows only after matching which records become new
        users, and an existing user must not claim a unique value (a UPN) it never uses.
        The values those rules read are kept on the result (``keep_inputs``), so the
        record need not be.
        """
        run = self._run(context)
        if self.shared is not None:
            self.shared.forget()
        values: Values = record.values
        key = (values.get(self.key) or "").strip()
        mapped = MappedRecord(record.row, key, "mapped")
        if self.scope and not any_holds(self.scope, values, run.today):
            mapped.status = "skipped"
            mapped.reason = explain_out_of_scope(self.scope, values, run.today)
            return mapped
        if self.leaver is not None:
            try:
                mapped.leaver = self.leaver(values, context)
            except MappingError as exc:
                mapped.errors = [*mapped.errors, self._problem(record, key, "leaver", exc)]
        if self.manager_column:
            manager = (values.get(self.manager_column) or "").strip()
            if manager:  # one string per manager, however many people they manage
                manager = run.managers.setdefault(manager, manager)
            mapped.manager_key = manager or None
        (run.every if create_rules else run.always)(mapped, record, values, context)
        run.count += 1
        if run.count >= run.checkpoint:
            run.check()
        if mapped.errors:
            mapped.status = "error"
        elif not create_rules and mapped.status == "mapped":
            self.keep_inputs(record, mapped)
        return mapped

    def finish_create(self, record: Record | None, mapped: MappedRecord,
                      context: EvalContext) -> None:
        """Run the ``on_create`` rules of a record mapped with ``create_rules=False``, on
        ``record``, or when it is None on the values ``keep_inputs`` kept."""
        run = self._run(context)
        if self.shared is not None:
            self.shared.forget()
        if record is None:
            inputs = mapped.inputs
            values: Values = {} if inputs is None else dict(zip(self.create_columns, inputs,
                                                                   strict=True))
            record = Record(row=mapped.row, values={})
        else:
            values = record.values
        mapped.inputs = None
        run.create(mapped, record, values, context)
        if mapped.errors:
            mapped.status = "error"

    def keep_inputs(self, record: Record, mapped: MappedRecord) -> None:
        """Keep on ``mapped`` what its create-only rules will read from ``record``."""
        columns = self.create_columns
        if columns:
            get = record.values.get
            mapped.inputs = tuple([get(column) or "" for column in columns])

    @functools.cached_property
    def create_columns(self) -> tuple[str, ...]:
        """The columns the create-only rules read (what ``keep_inputs`` keeps)."""
        names: set[str] = set()
        for rule in self.rules.values():
            if rule.on_create:
                names.update(rule.columns)
        return tuple(sorted(names))

    def _run(self, context: EvalContext) -> RuleRunner:
        runs = self._runs
        if runs and runs[0].context is context:
            return runs[0]
        run = RuleRunner(self.rules, context, label=self.file)
        runs[:] = [run]
        return run

    def _problem(self, record: Record, key: str, rule: str, exc: MappingError) -> Problem:
        return Problem(f"{rule}: {exc.message}", file=None, row=record.row, column=rule,
                       key=key or None)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch of records is mapped.

    Mapping creates many small objects and no reference cycles; the collector would
    rescan them again and again (a fifth of the time at 100k records).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()

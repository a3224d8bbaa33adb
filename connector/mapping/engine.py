"""Applies a compiled mapping to records: HR record in, desired Entra user out. Pure.

Empty cells are null here: an HR export cannot tell an empty value from a missing one, and
treating both as null gives Coalesce, IsPresent, Switch defaults and scoping's "any clause
on null is false" the meaning admins expect from Entra.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from connector.core.records import MappedRecord, Record
from connector.errors import MappingError, Problem
from connector.mapping.expr import IGNORE, IGNORE_OBJECT, EvalContext
from connector.mapping.groups import CompiledGroups
from connector.mapping.scoping import CompiledFilter, any_holds, explain_out_of_scope
from connector.mapping.targets import Target


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One attribute rule, ready to run.

    ``column`` is set for direct rules, which the engine reads without a call;
    ``convert`` turns the rule's result into the JSON value Graph stores.
    """

    target: Target
    evaluate: Callable[[Mapping[str, str | None], EvalContext], Any]
    default: str | None
    on_create: bool
    unique: bool
    text: str
    column: str | None = None
    convert: Callable[[Any], Any] = field(default=lambda value: value)
    #: The columns the rule reads.
    columns: frozenset[str] = frozenset()


@dataclass(frozen=True, eq=False)
class CompiledMapping:
    """A mapping file, compiled: every expression parsed, every name checked."""

    file: str
    key: str
    rules: dict[str, CompiledRule]
    matching: tuple[str, ...]
    scope: tuple[CompiledFilter, ...]
    leaver: Callable[[Mapping[str, str | None], EvalContext], bool] | None
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
        # Empty cells are left out: a missing key reads as null, like an absent attribute.
        values: dict[str, str | None] = dict(filter(itemgetter(1), record.values.items()))
        key = (values.get(self.key) or "").strip()
        mapped = MappedRecord(row=record.row, key=key, status="mapped")
        if self.scope:
            today = context.now.date()
            if not any_holds(self.scope, values, today):
                mapped.status = "skipped"
                mapped.reason = explain_out_of_scope(self.scope, values, today)
                return mapped
        if self.leaver is not None:
            try:
                mapped.leaver = self.leaver(values, context)
            except MappingError as exc:
                mapped.errors.append(self._problem(record, key, "leaver", exc))
        if self.manager_column:
            mapped.manager_key = (values.get(self.manager_column) or "").strip() or None
        self._apply_rules(mapped, record, values, context,
                          self._plan if create_rules else self._plan_always)
        if mapped.errors:
            mapped.status = "error"
        elif not create_rules and mapped.status == "mapped":
            self.keep_inputs(record, mapped)
        return mapped

    def finish_create(self, record: Record | None, mapped: MappedRecord,
                      context: EvalContext) -> None:
        """Run the ``on_create`` rules of a record mapped with ``create_rules=False``, on
        ``record``, or when it is None on the values ``keep_inputs`` kept."""
        if record is None:
            inputs = mapped.inputs
            values: dict[str, str | None] = {} if inputs is None else {
                name: value for name, value in zip(self.create_columns, inputs, strict=True)
                if value}
            record = Record(row=mapped.row, values={})
        else:
            values = dict(filter(itemgetter(1), record.values.items()))
        mapped.inputs = None
        self._apply_rules(mapped, record, values, context, self._plan_create)
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

    def _apply_rules(
        self, mapped: MappedRecord, record: Record, values: dict[str, str | None],
        context: EvalContext, plan: tuple[tuple[Any, ...], ...],
    ) -> None:
        # The hot loop of a run (once per rule per record): rules unpacked into plain
        # tuples, locals, and the common case (one string that fits) done inline keep a
        # 25-rule mapping above 50k records/s (bench/mapping.py).
        attributes, on_create = mapped.attributes, mapped.on_create
        for name, column, evaluate, default, create_only, unique, limit, convert, share in plan:
            if column is not None:
                result: Any = values.get(column)
                if share[1] and result is not None:
                    # One string object per distinct value of a column that repeats
                    # (departments, cities): a million records hold a few thousand.
                    seen = share[0]
                    known = seen.get(result)
                    if known is not None:
                        result = known
                    elif len(seen) < SHARE_LIMIT:
                        seen[result] = result
                    else:  # a column of distinct values (names, phones): stop looking
                        share[1] = False
                        seen.clear()
            else:
                try:
                    result = evaluate(values, context)
                except MappingError as exc:
                    mapped.errors.append(self._problem(record, mapped.key, name, exc))
                    continue
                if result is IGNORE:
                    continue
                if result is IGNORE_OBJECT:
                    mapped.status = "skipped"
                    mapped.reason = f"the rule for {name} says IgnoreObjectFlow"
                    return
            if not result:  # None, "" or an empty list
                if default is not None:
                    result = default
                    target = mapped.defaults
                elif create_only:
                    continue
                else:
                    mapped.empty.append(name)
                    continue
            else:
                target = on_create if create_only else attributes
            if type(result) is str and len(result) <= limit:
                target[name] = result
                if unique:
                    context.directory.take(result)
                continue
            try:
                converted = convert(result)
            except MappingError as exc:
                mapped.errors.append(self._problem(record, mapped.key, name, exc))
                continue
            if unique and isinstance(converted, str):
                context.directory.take(converted)
            target[name] = converted

    @functools.cached_property
    def _plan_always(self) -> tuple[tuple[Any, ...], ...]:
        return tuple(step for step in self._plan if not step[4])

    @functools.cached_property
    def _plan_create(self) -> tuple[tuple[Any, ...], ...]:
        return tuple(step for step in self._plan if step[4])

    @functools.cached_property
    def _plan(self) -> tuple[tuple[Any, ...], ...]:
        # Only plain-string targets may skip conversion; others get a limit of -1.
        return tuple(
            (name, rule.column, rule.evaluate, rule.default, rule.on_create, rule.unique,
             (rule.target.max_length or 1 << 30) if rule.target.kind == "string" else -1,
             rule.convert, [{}, True] if rule.column is not None else None)
            for name, rule in self.rules.items()
        )

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


#: Distinct values of a direct rule's column shared as one string object each; a column
#: with more is taken for one of distinct values and no longer looked up.
SHARE_LIMIT = 4096
_MISSING = object()
#: Most distinct inputs a memoised rule remembers; past it, results are computed as usual.
MEMO_LIMIT = 50_000
_MEMO_SAMPLE = 2_000


def memoize(
    evaluate: Callable[[Mapping[str, str | None], EvalContext], Any], references: Sequence[str]
) -> Callable[[Mapping[str, str | None], EvalContext], Any]:
    """Remember a deterministic rule's result per combination of the columns it reads.

    HR data repeats itself: a 100k-person export has a few thousand hire dates and a
    handful of statuses, so date formatting and enabled-rules are mostly lookups. Results
    are kept per evaluation context (one per run), since Now() and DefaultDomain() come
    from it; errors are not remembered, so each failing record is still reported.
    """
    names = tuple(references)
    cache: dict[Any, Any] = {}
    owner: list[EvalContext | None] = [None]
    # [calls, hits, bypass]: a rule whose inputs rarely repeat (a display name) stops
    # paying for lookups after a sample of records shows the cache does not help it. A
    # miss costs a lookup, a hit saves a whole evaluation: 10 % hits pay (hire dates of
    # 100k people over 15 years hit 18 % in the first 2,000 records, 95 % overall).
    stats = [0, 0, False]

    def memoized(values: Mapping[str, str | None], context: EvalContext) -> Any:
        if owner[0] is not context:
            cache.clear()
            owner[0] = context
            stats[:] = [0, 0, False]
        if stats[2]:
            return evaluate(values, context)
        key: Any = values.get(names[0]) if len(names) == 1 else tuple(map(values.get, names))
        result = cache.get(key, _MISSING)
        stats[0] += 1
        if result is _MISSING:
            result = evaluate(values, context)
            if len(cache) < MEMO_LIMIT:
                cache[key] = result
            if stats[0] == _MEMO_SAMPLE and stats[1] * 10 < _MEMO_SAMPLE:
                stats[2] = True
                cache.clear()
        else:
            stats[1] += 1
        return result

    return memoized

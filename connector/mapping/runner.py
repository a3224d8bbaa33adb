"""How a mapping's rules run, per run: one Python function per phase, written for the
mapping, and the state a run keeps (memoised rules, shared strings). Pure.

A generic loop over the rules spent more time deciding what each rule is (read a column?
evaluate? convert? which dict?) than doing it. ``RuleRunner`` instead writes the rules out
as straight-line Python, one block per rule in rule order, compiles it once per run (and
again at a checkpoint, when a memo settles or a column turns out to hold distinct
values), and calls that. The generated text embeds only ``repr()`` of names (comments
included) and integers; everything else (closures, caches, converters) is passed in by
name, so what runs is what the engine's rules say, nothing a mapping file could inject.
``RuleRunner.source`` holds the text last written (tracebacks show its lines).
"""

from __future__ import annotations

import itertools
import linecache
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from connector.core.records import MappedRecord, Record
from connector.errors import MappingError, Problem
from connector.mapping.expr import IGNORE, IGNORE_OBJECT, EvalContext

if TYPE_CHECKING:
    from connector.mapping.engine import CompiledRule

Values = Mapping[str, str | None]
Evaluate = Callable[[Values, EvalContext], Any]
#: ``apply(mapped, record, values, context)``: one phase's rules on one record.
Apply = Callable[[MappedRecord, Record, Values, EvalContext], None]

#: Distinct values of a direct rule's column shared as one string object each; a column
#: with more (checked every ``CHECK_EVERY`` records) is taken for one of distinct values
#: and no longer looked up.
SHARE_LIMIT = 4096
CHECK_EVERY = 4096
#: Most distinct inputs a memoised rule remembers; past it, results are computed as usual.
MEMO_LIMIT = 50_000
MEMO_SAMPLE = 2_000
_MISSING: Any = object()
_names = itertools.count()


class Memo:
    """A deterministic rule's results remembered per combination of the columns it reads,
    for one run.

    HR data repeats itself: a 100k-person export has a few thousand hire dates and a
    handful of statuses, so date formatting and enabled-rules are mostly lookups. A rule
    whose inputs rarely repeat (a display name) stops paying for lookups once a sample of
    records shows the cache does not help it: a miss costs a lookup, a hit saves a whole
    evaluation, so 10 % hits pay (hire dates of 100k people over 15 years hit 18 % in the
    first 2,000 records, 95 % overall). Errors are not remembered, so each failing record
    is still reported. The key is the columns' values as read ("" and absent are two keys
    for one result, which is harmless).
    """

    def __init__(self, evaluate: Evaluate, columns: tuple[str, ...]) -> None:
        self.raw, self.columns = evaluate, columns
        self.cache: dict[Any, Any] = {}
        self.limit = MEMO_LIMIT
        #: None while sampling, then True (looked up) or False (evaluated every time).
        self.kept: bool | None = None
        self.calls = self.hits = 0
        cache, limit, get = self.cache, self.limit, self.cache.get
        single = columns[0] if len(columns) == 1 else None

        def sampling(values: Values, context: EvalContext) -> Any:
            self.calls += 1
            key = values.get(single) if single is not None else tuple(map(values.get, columns))
            result = get(key, _MISSING)
            if result is _MISSING:
                result = evaluate(values, context)
                if len(cache) < limit:
                    cache[key] = result
            else:
                self.hits += 1
            return result

        self.sampling = sampling

    def miss(self, values: Values, context: EvalContext, key: Any) -> Any:
        """Evaluate a record the cache does not know, and remember it while there is room."""
        result = self.raw(values, context)
        if len(self.cache) < self.limit:
            self.cache[key] = result
        return result

    def settle(self) -> bool:
        """After the sample: keep looking up, or evaluate every record; False while the
        sample is not complete."""
        if self.calls < MEMO_SAMPLE:
            return False
        self.kept = self.hits * 10 >= self.calls
        if not self.kept:
            self.cache.clear()
        return True


class RuleRunner:
    """What mapping keeps for one run (one evaluation context): the day scoping compares
    dates with, each memoised rule's ``Memo``, each direct rule's shared strings, and the
    generated ``apply`` functions of the three phases (every rule, the rules that always
    apply, the create-only rules)."""

    def __init__(self, rules: Mapping[str, CompiledRule], context: EvalContext, *,
                 label: str) -> None:
        self.rules, self.context, self.label = rules, context, label
        self.today = context.now.date()
        self.memos = {name: Memo(rule.evaluate, rule.memo)
                      for name, rule in rules.items() if rule.memo}
        #: Direct rules' strings, value -> the one object kept (None: not shared).
        self.seen: dict[str, dict[str, str] | None] = {
            name: {} for name, rule in rules.items() if rule.column is not None}
        #: Managers' keys, the same way (people share managers: never more keys than
        #: records, and usually a fifth of them).
        self.managers: dict[str, str] = {}
        self.count = 0
        self.checkpoint = min(MEMO_SAMPLE, CHECK_EVERY)
        self.source = ""
        self.write()

    def check(self) -> None:
        """A checkpoint (every ``CHECK_EVERY`` records, and after the memo sample): memos
        that finished their sample settle, columns of distinct values stop being shared,
        and the functions are written again if anything changed."""
        self.checkpoint = self.count + CHECK_EVERY
        settled = [memo.settle() for memo in self.memos.values() if memo.kept is None]
        full = [name for name, seen in self.seen.items()
                if seen is not None and len(seen) >= SHARE_LIMIT]
        for name in full:  # a column of distinct values (names, phones): stop looking
            self.seen[name] = None
        if any(settled) or full:
            self.write()

    def write(self) -> None:
        """Forget the phases' functions: each is written again when next used (a sync
        uses two of the three)."""
        self.every: Apply = self._written("every")
        self.always: Apply = self._written("always")
        self.create: Apply = self._written("create")

    def _written(self, phase: str) -> Apply:
        def first_use(mapped: MappedRecord, record: Record, values: Values,
                      context: EvalContext) -> None:
            function = self._write(phase)
            setattr(self, phase, function)
            function(mapped, record, values, context)

        return first_use

    def _write(self, phase: str) -> Apply:
        """Write and compile one phase's function: its rules in rule order."""
        names: dict[str, Any] = {"IGNORE": IGNORE, "IGNORE_OBJECT": IGNORE_OBJECT,
                                 "MISSING": _MISSING, "MappingError": MappingError,
                                 "fail": _fail, "skip": _skip, "store": _store}
        lines = [f"def {phase}(mapped, record, values, context):", "    get = values.get",
                 "    attributes = mapped.attributes", "    oc = df = em = None"]
        for number, (name, rule) in enumerate(self.rules.items()):
            if phase == "every" or rule.on_create == (phase == "create"):
                lines += self._block(number, name, rule, names)
        lines.append("    store(mapped, oc, df, em)")
        source = "\n".join(lines) + "\n"
        filename = f"<{phase} rule of {self.label} #{next(_names)}>"
        exec(compile(source, filename, "exec"), names)  # noqa: S102 (see the module)
        # Tracebacks through the generated code show its lines.
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        self.source = source
        function: Apply = names[phase]
        return function

    def _block(self, number: int, name: str, rule: CompiledRule,
               names: dict[str, Any]) -> list[str]:
        """The lines of one rule: read or evaluate, then keep, convert or mark empty."""
        label = repr(name)
        if rule.column is not None:  # a direct rule: the column's value as it is
            # Comments carry repr() too: a name or column holding a line break must not
            # end the comment and start code.
            lines = [f"    # {name!r} <- {rule.column!r}", f"    v = get({rule.column!r})",
                     "    if v:"]
            seen = self.seen.get(name)
            if seen is not None:
                # One string object per distinct value of a column that repeats
                # (departments, cities): a million records hold a few thousand.
                names[f"s{number}"] = seen.setdefault
                lines.append(f"        v = s{number}(v, v)")
            lines += _indent(self._keep(number, name, rule, names, empty=False), 8)
            lines += ["    else:"]
            lines += _indent(self._keep(number, name, rule, names, empty=True), 8)
            return lines
        lines = [f"    # {name!r}", "    try:"]
        memo = self.memos.get(name)
        if memo is not None and memo.kept:
            names[f"m{number}"], names[f"miss{number}"] = memo.cache.get, memo.miss
            key = (f"get({memo.columns[0]!r})" if len(memo.columns) == 1 else
                   "(" + ", ".join(f"get({c!r})" for c in memo.columns) + ",)")
            lines += [f"        k = {key}", f"        v = m{number}(k, MISSING)",
                      "        if v is MISSING:",
                      f"            v = miss{number}(values, context, k)"]
        else:
            names[f"e{number}"] = (memo.sampling if memo is not None and memo.kept is None
                                   else rule.evaluate)
            lines.append(f"        v = e{number}(values, context)")
        lines += ["    except MappingError as exc:",
                  f"        fail(mapped, record, {label}, exc)",
                  "    else:",
                  "        if v is IGNORE_OBJECT:",
                  f"            return skip(mapped, {label}, oc, df, em)",
                  "        if v is IGNORE:",
                  "            pass",
                  "        elif v:"]
        lines += _indent(self._keep(number, name, rule, names, empty=False), 12)
        lines += ["        else:"]
        lines += _indent(self._keep(number, name, rule, names, empty=True), 12)
        return lines

    def _keep(self, number: int, name: str, rule: CompiledRule, names: dict[str, Any], *,
              empty: bool) -> list[str]:
        """What happens to a rule's value ``v``: into ``attributes`` or, for create-only
        rules, ``oc``; an empty one takes the default (into ``df``), or is named in
        ``em`` (rules that always apply), or is dropped (create-only rules)."""
        label = repr(name)
        if empty:
            if rule.default is None:
                if rule.on_create:
                    return ["pass"]
                return ["if em is None:", "    em = list(mapped.empty)",
                        f"em.append({label})"]
            names[f"d{number}"] = rule.default
            lines = [f"v = d{number}", "if df is None:", "    df = dict(mapped.defaults)"]
            target = "df"
        elif rule.on_create:
            lines, target = ["if oc is None:", "    oc = dict(mapped.on_create)"], "oc"
        else:
            lines, target = [], "attributes"
        names[f"c{number}"] = rule.convert
        take = ["context.directory.take(v)"] if rule.unique else []
        convert = ["try:", f"    v = c{number}(v)", "except MappingError as exc:",
                   f"    fail(mapped, record, {label}, exc)", "else:",
                   f"    {target}[{label}] = v"]
        convert += [f"    {line}" for line in
                    (["if type(v) is str:", "    context.directory.take(v)"] if take else [])]
        if rule.target.kind != "string":
            return lines + convert
        limit = rule.target.max_length or 1 << 30
        # The common case, one string that fits, is kept as it is.
        return [*lines, f"if type(v) is str and len(v) <= {limit}:",
                f"    {target}[{label}] = v", *_indent(take, 4), "else:",
                *_indent(convert, 4)]


def _indent(lines: list[str], spaces: int) -> list[str]:
    return [" " * spaces + line for line in lines]


def _fail(mapped: MappedRecord, record: Record, rule: str, exc: MappingError) -> None:
    problem = Problem(f"{rule}: {exc.message}", file=None, row=record.row, column=rule,
                      key=mapped.key or None)
    mapped.errors = [*mapped.errors, problem]


#: The lists of empty rules records end with, as tuples: most records leave the same
#: few rules empty (a leave date, a state), so a million records hold a few tuples.
_EMPTIES: dict[tuple[str, ...], tuple[str, ...]] = {}
_EMPTIES_LIMIT = 4096


def _store(mapped: MappedRecord, on_create: dict[str, Any] | None,
           defaults: dict[str, Any] | None, empty: list[str] | None) -> None:
    # Containers a record left empty were never made (MappedRecord's shared empties).
    if on_create is not None:
        mapped.on_create = on_create
    if defaults is not None:
        mapped.defaults = defaults
    if empty is not None:
        names = tuple(empty)
        shared = _EMPTIES.get(names)
        if shared is None and len(_EMPTIES) < _EMPTIES_LIMIT:
            shared = _EMPTIES[names] = names
        mapped.empty = shared or names


def _skip(mapped: MappedRecord, rule: str, on_create: dict[str, Any] | None,
          defaults: dict[str, Any] | None, empty: list[str] | None) -> None:
    mapped.status = "skipped"
    mapped.reason = f"the rule for {rule} says IgnoreObjectFlow"
    _store(mapped, on_create, defaults, empty)

"""Syntax tree -> nested Python closures, and the public :class:`Expression`.

Compiling does all the work that doesn't depend on a record: arity was checked by the
checker, constants are folded (a pure call with constant arguments is evaluated once, and
if it can only fail, that is a compile error), regexes and date formats are precompiled by
the function builders, and comparisons become boolean predicates that IIF uses directly.
What is left per record is one closure call per node.
"""

from __future__ import annotations

import operator
import re
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from connector.errors import EvaluationError, MappingError

from .checker import check
from .functions import FUNCTIONS, KEYWORDS
from .lexer import tokenize
from .nodes import (
    Attribute,
    Call,
    Compare,
    Constant,
    Empty,
    Keyword,
    Node,
    Parameter,
    canonical,
    walk,
)
from .parser import parse
from .spec import Arg, Compiled, Predicate, Site, chained, constant
from .values import (
    FALSE,
    TRUE,
    EvalContext,
    FlowSignal,
    Ignore,
    Record,
    StubDirectory,
    Value,
    single,
)

#: Entra's limit on the length of one expression.
MAX_LENGTH: Final = 10_000

_OPERATORS: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_INTEGER = re.compile(r"\s*[+-]?\d+\s*\Z")
_DECIMAL = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)\s*\Z")
_FLOW_SOURCES: Final = frozenset(
    {"IgnoreFlowIfNullOrEmpty", "IgnoreAttributeFlow", "IgnoreObjectFlow"}
)
# Pure functions never read these; they only make the closures' signature complete.
_FOLD_RECORD: Final[Record] = {}
_FOLD_CONTEXT: Final = EvalContext(datetime(2000, 1, 1, tzinfo=UTC), {}, StubDirectory(""))


def _number(raw: str) -> int | Decimal | None:
    """``raw`` as a number if both sides of a comparison should compare numerically."""
    if _INTEGER.match(raw):
        return int(raw)
    if _DECIMAL.match(raw):
        return Decimal(raw.strip())
    return None


def _describe(node: Node) -> str:
    if isinstance(node, Attribute):
        return f"[{node.name}]"
    if isinstance(node, Call):
        return f"{node.name}(...)"
    return "the value"


class Expression:
    """One compiled expression.

    ``evaluate(record, context)`` is a plain closure stored on the instance (not a method),
    so a call costs no more than the expression itself. It returns a :data:`Value`, or
    raises :class:`EvaluationError` with the position of the failing call.

    ``references`` are the attribute names read, ``parameters`` the ``[%NAME%]`` names,
    ``uses_unique`` says SelectUniqueValue is used, and ``redacted`` says Redact() is used,
    so reports should show "[Redact]" instead of the value.
    """

    __slots__ = (
        "deterministic", "evaluate", "parameters", "redacted", "references", "text", "tree",
        "uses_unique",
    )

    evaluate: Callable[[Record, EvalContext], Value]

    def __init__(self, text: str, tree: Node, root: Compiled) -> None:
        self.text = text
        self.tree = tree
        nodes = list(walk(tree))
        self.references = frozenset(n.name for n in nodes if isinstance(n, Attribute))
        self.parameters = frozenset(n.name for n in nodes if isinstance(n, Parameter))
        calls = {n.name for n in nodes if isinstance(n, Call)}
        self.uses_unique = "SelectUniqueValue" in calls
        self.redacted = "Redact" in calls
        #: Same record and context, same result: no randomness, no uniqueness check (Now
        #: and DefaultDomain come from the context, which is fixed for a run).
        self.deterministic = not calls & {"Guid", "RandomString", "SelectUniqueValue"}
        words = {n.name for n in nodes if isinstance(n, Keyword)}
        if (calls | words) & _FLOW_SOURCES:

            def evaluate(record: Record, context: EvalContext) -> Value:
                try:
                    return root(record, context)
                except FlowSignal as signal:
                    return signal.marker

            self.evaluate = evaluate
        else:
            self.evaluate = root

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


class SharedCalls:
    """Calls that several rules of one mapping (or one rule twice) compute alike, each
    evaluated once per record: ``Coalesce([PreferredFirstName], [FirstName])`` in the
    given name, the display name and every UPN candidate, or the mailNickname chain that is
    also the first UPN candidate. Only pure calls that read the record are shared.

    A shared call remembers its last record and result (one slot, by identity of the
    record's values); the engine calls ``forget`` before each record, so it is meant for
    a mapping's rules, not for expressions evaluated on a dict edited between calls.
    """

    def __init__(self, texts: Iterable[str]) -> None:
        counts: Counter[str] = Counter()
        #: canonical call -> the canonical calls directly around it.
        parents: dict[str, set[str]] = {}
        for text in texts:
            try:
                tree = parse(tokenize(text), text)
            except MappingError:
                continue  # compiling it reports the problem
            for node in walk(tree):
                if isinstance(node, Call) and _shareable(node):
                    key = canonical(node)
                    counts[key] += 1
                    for arg in node.args:
                        if isinstance(arg, Call):
                            parents.setdefault(canonical(arg), set()).add(key)
        wanted = {key for key, count in counts.items() if count > 1}
        # A call found only inside one shared call (as often as it) is computed with it:
        # sharing the outer call is enough, and leaves the inner chain whole (one closure
        # for Replace(ToLower(StripSpaces(...))): ``FunctionSpec.step``).
        self.wanted = {key for key in wanted
                       if not any(parent in wanted and counts[parent] == counts[key]
                                  for parent in parents.get(key, ()))}
        self.compiled: dict[str, Compiled] = {}
        self._forgets: list[Callable[[], None]] = []

    def share(self, key: str, fn: Compiled) -> Compiled:
        """The one evaluation of ``key`` every use shares (``fn`` for its first use)."""
        known = self.compiled.get(key)
        if known is not None:
            return known
        last: Record | None = None
        value: Value = None

        def shared(record: Record, context: EvalContext) -> Value:
            nonlocal last, value
            if last is record:
                return value
            value = fn(record, context)
            last = record
            return value

        def forget() -> None:
            nonlocal last, value
            last = value = None

        self.compiled[key] = shared
        self._forgets.append(forget)
        return shared

    def forget(self) -> None:
        """Forget the last record: the next evaluation computes every shared call (the
        engine calls it before each record, so values changed in place are never
        answered from before)."""
        for forget in self._forgets:
            forget()


def _shareable(node: Call) -> bool:
    reads = False
    for inner in walk(node):
        if isinstance(inner, Call):
            spec = FUNCTIONS.get(inner.name)
            if spec is None or not spec.pure:
                return False
        elif isinstance(inner, Keyword) and inner.name in _FLOW_SOURCES:
            return False
        elif isinstance(inner, Attribute):
            reads = True
    return reads


class _Compiler:
    def __init__(self, text: str, shared: SharedCalls | None = None,
                 empty_is_null: bool = False) -> None:
        self.text = text
        self.shared = shared
        self.empty_is_null = empty_is_null

    def node(self, node: Node) -> Arg:
        if isinstance(node, Constant):
            return Arg(constant(node.value), node.position, const=node.value)
        if isinstance(node, Empty):
            return Arg(constant(None), node.position, const=None, empty=True)
        if isinstance(node, Keyword):
            return _constant_arg(KEYWORDS[node.name], node.position)
        if isinstance(node, Attribute):
            return Arg(_attribute(node.name, self.empty_is_null), node.position,
                       column=node.name, null_empty=self.empty_is_null)
        if isinstance(node, Parameter):
            return Arg(self.parameter(node), node.position)
        if isinstance(node, Compare):
            return self.compare(node)
        return self.call(node)

    def parameter(self, node: Parameter) -> Compiled:
        name, text = node.name, self.text

        def parameter(record: Record, context: EvalContext) -> Value:
            value = context.params.get(name)
            if value is None:
                raise EvaluationError(
                    f"there is no mapping parameter {name!r}",
                    expression=text,
                    position=node.position,
                )
            return value

        return parameter

    def call(self, node: Call) -> Arg:
        spec = FUNCTIONS[node.name]
        args = [self.node(arg) for arg in node.args]
        site = Site(node.name, node.position, self.text)
        fn = spec.build(args, site)
        if spec.pure and all(arg.is_const for arg in args):
            return self.fold(fn, node.position)
        chain = None
        step = spec.step(args) if spec.step is not None else None
        if step is not None:
            # A text step on a text step: one closure for the chain (``chained``).
            inner = args[0].chain
            chain = ((inner[0], (*inner[1], step), inner[2]) if inner is not None
                     else (args[0].fn, (step,), site))
            fn = chained(chain[0], chain[1], chain[2], site)
        shared = self.shared
        if shared is not None:
            key = canonical(node)
            if key in shared.wanted:
                return Arg(shared.share(key, fn), node.position)
        return Arg(fn, node.position, chain=chain)

    def fold(self, fn: Compiled, position: int, predicate: Predicate | None = None) -> Arg:
        try:
            value = fn(_FOLD_RECORD, _FOLD_CONTEXT)
        except EvaluationError as error:
            raise MappingError(
                f"this always fails: {error.message}",
                expression=self.text,
                position=error.position if error.position is not None else position,
            ) from None
        except FlowSignal:
            return Arg(fn, position, predicate=predicate)
        return _constant_arg(value, position)

    def compare(self, node: Compare) -> Arg:
        left, right = self.node(node.left), self.node(node.right)
        test = _OPERATORS[node.op]
        left_fn, right_fn = left.fn, right.fn
        site = Site(f"the {node.op} comparison", node.position, self.text)
        sides = (_describe(node.left), _describe(node.right))

        def operand(value: Value, side: int) -> str:
            raw = single(value)
            if raw is None:
                raise EvaluationError(
                    f"{sides[side]} is empty, so it can't be compared (IIF fails when an "
                    'attribute it tests is empty; use Switch with a "" key, Coalesce, or '
                    "the mapping's default)"
                )
            return raw

        def predicate(record: Record, context: EvalContext) -> bool:
            try:
                first = operand(left_fn(record, context), 0)
                second = operand(right_fn(record, context), 1)
            except EvaluationError as error:
                site.locate(error)
                raise
            # Numbers compare as numbers ("10" > "9"), anything else ordinally.
            first_number = _number(first)
            if first_number is not None:
                second_number = _number(second)
                if second_number is not None:
                    return bool(test(first_number, second_number))
            return bool(test(first, second))

        fixed = right.value if right.is_const and not left.is_const else None
        if isinstance(fixed, str) and _number(fixed) is None:
            # The common [country] = "USA": the right side is text, so the comparison is
            # always ordinal and needs no number checks.

            def predicate_text(record: Record, context: EvalContext) -> bool:
                first = left_fn(record, context)
                if type(first) is not str:
                    try:
                        first = operand(first, 0)
                    except EvaluationError as error:
                        site.locate(error)
                        raise
                return bool(test(first, fixed))

            predicate = predicate_text

        def compare(record: Record, context: EvalContext) -> Value:
            return TRUE if predicate(record, context) else FALSE

        if left.is_const and right.is_const:
            return self.fold(compare, node.position, predicate)
        return Arg(compare, node.position, predicate=predicate)


def _constant_arg(value: Value, position: int) -> Arg:
    # Builders inspect constants (regexes, formats, numbers); an IGNORE marker is kept from
    # them, so it only ever acts at run time, where it drops the attribute.
    if isinstance(value, Ignore):
        return Arg(constant(value), position)
    return Arg(constant(value), position, const=value)


def _attribute(name: str, empty_is_null: bool) -> Compiled:
    if empty_is_null:

        def attribute_or_null(record: Record, context: EvalContext) -> Value:
            return record.get(name) or None

        return attribute_or_null

    def attribute(record: Record, context: EvalContext) -> Value:
        return record.get(name)

    return attribute


def compile_expression(text: str, shared: SharedCalls | None = None, *,
                       empty_is_null: bool = False) -> Expression:
    """Compile ``text``; raises MappingError (with a position) if it can't be used.

    Syntax errors stop at the first one; unknown functions, argument counts and placement
    rules are all reported together in one MappingError's ``errors``. ``shared``: the
    calls the mapping's expressions share (``SharedCalls``), each evaluated once a record.
    ``empty_is_null``: an attribute whose value is "" (or an empty list) reads as null, as
    a mapping reads an HR record's empty cells, without the record being copied.
    """
    if len(text) > MAX_LENGTH:
        raise MappingError(
            f"the expression is {len(text):,} characters long; the limit is {MAX_LENGTH:,}",
            expression=text,
            position=MAX_LENGTH,
        )
    tree = parse(tokenize(text), text)
    check(tree, text)
    return Expression(text, tree, _Compiler(text, shared, empty_is_null).node(tree).fn)

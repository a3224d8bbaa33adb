"""Property tests: the engine only ever raises its own errors.

1. Any text either compiles or raises MappingError.
2. Expressions generated from the grammar (with the registry's arities) either fail to
   compile with MappingError, or evaluate to a Value or raise EvaluationError.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.errors import EvaluationError, MappingError
from connector.mapping.expr import (
    FUNCTIONS,
    IGNORE,
    IGNORE_OBJECT,
    EvalContext,
    Expression,
    StubDirectory,
    compile_expression,
)

RECORDS: list[dict[str, Any]] = [
    {
        "a": "Ab-1 c",
        "b": "2021-01-02",
        "list": ["x", "y", "x"],
        "empty": "",
        "num": "42",
        "date": "2020-03-16-07:00",
        "one": ["z"],
    },
    {"a": "", "b": "ÀÉ ß", "list": [], "num": "-3.5", "date": "8/25/2021 5:41:18 PM"},
    {},
]
CONTEXT = EvalContext(
    now=datetime(2025, 7, 30, 9, 30, tzinfo=UTC),
    params={"P": "param"},
    directory=StubDirectory("contoso.com", {"x", "ab-1 c"}),
)
TOKENS = [
    *FUNCTIONS,
    "(",
    ")",
    ",",
    ", ",
    '"',
    '""',
    "[",
    "]",
    "[a]",
    "[list]",
    "[%P%]",
    "[%Q%]",
    "=",
    "<>",
    "<",
    ">=",
    "-",
    "&H",
    "&HF",
    "12",
    "-3",
    "4.5",
    " ",
    "\n",
    "\\",
    '\\"',
    "vbTextCompare",
    "IgnoreAttributeFlow",
    "IgnoreObjectFlow",
    "True",
    "%",
    "'",
    "“",
]
ATTRIBUTES = ["[a]", "[b]", "[list]", "[one]", "[missing]", "[empty]", "[num]", "[date]", "[%P%]"]
STRING_CONSTANTS = [
    '"d"',
    '"ww"',
    '"yyyy"',
    '"m"',
    '"yyyy-MM-dd"',
    '"M/d/yyyy h:mm:ss tt"',
    '"2021-01-02"',
    '"True"',
    '"False"',
    '"(?<x>a)"',
    '"x"',
    '"[a-z]+"',
    '"${x}"',
    '"0"',
    '"-"',
    '" "',
    '"tr-TR"',
    '"AllowWhiteSpaces"',
    '"yyyyMMddHHmmss.fZ"',
    '"20150123105347.1Z"',
    '"129699324000000000"',
]
NESTABLE = sorted(name for name in FUNCTIONS if name != "SelectUniqueValue")


def _quoted(raw: str) -> str:
    return '"' + raw.replace("\\", "\\\\").replace('"', '\\"') + '"'


leaves = st.one_of(
    st.sampled_from(ATTRIBUTES),
    st.sampled_from(STRING_CONSTANTS),
    st.text(alphabet="aZ09 -_.@()[]*+?\\$é", max_size=8).map(_quoted),
    st.integers(min_value=-400, max_value=400).map(str),
    st.sampled_from(
        [
            "vbTextCompare",
            "vbBinaryCompare",
            "IgnoreAttributeFlow",
            "IgnoreObjectFlow",
            "&HF7",
            "3.25",
        ]
    ),
)


def _call(name: str, children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    spec = FUNCTIONS[name]
    high = spec.max_args if spec.max_args is not None else spec.min_args + 3
    if name == "Switch":
        counts = st.integers(2, 4).map(lambda pairs: pairs * 2)
    else:
        counts = st.integers(spec.min_args, high)
    argument = st.one_of(children, children, st.just(""))
    return counts.flatmap(
        lambda count: st.lists(argument, min_size=count, max_size=count).map(
            lambda args: f"{name}({', '.join(args)})"
        )
    )


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    calls = st.sampled_from(NESTABLE).flatmap(lambda name: _call(name, children))
    comparisons = st.tuples(
        children, st.sampled_from(["=", "<>", "<", "<=", ">", ">="]), children
    ).map(" ".join)
    return st.one_of(calls, calls, comparisons)


expressions = st.recursive(leaves, _extend, max_leaves=12)
top_level = st.one_of(
    expressions,
    st.lists(expressions, min_size=2, max_size=3).map(
        lambda rules: f"SelectUniqueValue({', '.join(rules)})"
    ),
)


def _is_value(value: object) -> bool:
    if value is None or value is IGNORE or value is IGNORE_OBJECT or isinstance(value, str):
        return True
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _compile(text: str) -> Expression | MappingError:
    try:
        return compile_expression(text)
    except MappingError as error:
        return error


def _evaluate(expression: Expression, record: dict[str, Any]) -> object:
    # Anything but EvaluationError propagates and fails the test.
    try:
        return expression.evaluate(record, CONTEXT)
    except EvaluationError as error:
        return error


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(st.sampled_from(TOKENS), max_size=25).map("".join)))
def test_any_text_compiles_or_raises_mapping_error(text: str) -> None:
    outcome = _compile(text)
    if isinstance(outcome, MappingError):
        assert not isinstance(outcome, EvaluationError)
        outcome.detailed()  # renders without crashing


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(top_level)
def test_generated_expressions_evaluate_to_a_value_or_evaluation_error(text: str) -> None:
    expression = _compile(text)
    if isinstance(expression, MappingError):
        assert not isinstance(expression, EvaluationError)
        return
    for record in RECORDS:
        outcome = _evaluate(expression, record)
        if isinstance(outcome, EvaluationError):
            assert outcome.position is not None
            outcome.detailed()
        else:
            assert _is_value(outcome), outcome

"""Scoping filters with Entra's operators and semantics, plus date comparisons.

A list of filters is in scope when ANY filter holds; a filter holds when ALL its clauses
hold. As in Entra, any clause on a null (absent or empty) value is false — NOT EQUALS and
NOT REGEX MATCH included — except IS NULL. EQUALS, Includes, ENDS_WITH and REGEX MATCH are
case-sensitive; Greater_Than and friends compare integers.

Beyond Entra, dates can be compared with today: ``DATE_BEFORE``, ``DATE_ON_OR_BEFORE``,
``DATE_AFTER`` and ``DATE_ON_OR_AFTER`` take ``today``, ``today+N`` or ``today-N`` (days)
or a fixed ``yyyy-mm-dd``, and read the column as an ISO 8601 date.

Operators are accepted in any case with spaces or underscores (``NOT EQUALS``,
``not_equals``); everything is compiled when the mapping loads.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from connector.mapping.expr import compile_regex
from connector.mapping.spec import Clause, Filter

Values = Mapping[str, str | None]
Test = Callable[[str, dt.date], bool]

NO_VALUE_OPERATORS = {"IS TRUE", "IS FALSE", "IS NULL", "IS NOT NULL"}
_TRUE_WORDS = frozenset({"true", "1", "yes"})
_FALSE_WORDS = frozenset({"false", "0", "no"})
_RELATIVE = re.compile(r"today\s*(?:([+-])\s*(\d+))?$", re.IGNORECASE)


def normalise_operator(text: str) -> str:
    """``Greater_Than_OR_EQUALS`` -> ``GREATER THAN OR EQUALS``."""
    return " ".join(text.replace("_", " ").upper().split())


@dataclass(frozen=True, slots=True)
class CompiledClause:
    """A clause ready to run, with the text used to explain it."""

    attribute: str
    operator: str
    value: str | None
    test: Test

    def holds(self, values: Values, today: dt.date) -> bool:
        """Whether the clause is true for one record."""
        text = values.get(self.attribute)
        if self.operator == "IS NULL":
            return not text
        if not text:
            return False
        return self.test(text, today)

    def describe(self) -> str:
        """``WorkerType EQUALS 'Employee'``."""
        if self.value is None:
            return f"{self.attribute} {self.operator}"
        return f"{self.attribute} {self.operator} {self.value!r}"


@dataclass(frozen=True, slots=True)
class CompiledFilter:
    """A filter ready to run: all its clauses must hold."""

    name: str
    clauses: tuple[CompiledClause, ...]
    #: The clauses as ``any_holds`` runs them: (attribute, how, test, value), how being
    #: _EQUALS (compared inline), _IS_NULL or _TEST.
    checks: tuple[tuple[str, int, Test, str | None], ...] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "checks", tuple(
            (c.attribute, _IS_NULL if c.operator == "IS NULL" else
             _EQUALS if c.operator == "EQUALS" else _TEST, c.test, c.value)
            for c in self.clauses))

    def holds(self, values: Values, today: dt.date) -> bool:
        """Whether every clause holds (the per-record fast path; no explanation)."""
        return any_holds((self,), values, today)

    def first_failure(self, values: Values, today: dt.date) -> CompiledClause | None:
        """The first clause that does not hold, or None when the filter holds."""
        for clause in self.clauses:
            if not clause.holds(values, today):
                return clause
        return None


def compile_clause(clause: Clause) -> CompiledClause:
    """Compile one clause; ``ValueError`` names what is wrong with it."""
    operator = normalise_operator(clause.operator)
    value = clause.value
    if operator in NO_VALUE_OPERATORS:
        if value is not None:
            raise ValueError(f"{operator} takes no value")
    elif value is None:
        raise ValueError(f"{operator} needs a value")
    return CompiledClause(clause.attribute, operator, value, _test(operator, value))


def _test(operator: str, value: str | None) -> Test:
    if operator in ("IS NULL", "IS NOT NULL"):
        return lambda text, today: True
    if operator == "IS TRUE":
        return lambda text, today: text.strip().lower() in _TRUE_WORDS
    if operator == "IS FALSE":
        return lambda text, today: text.strip().lower() in _FALSE_WORDS
    assert value is not None
    simple: dict[str, Test] = {
        "EQUALS": lambda text, today: text == value,
        "NOT EQUALS": lambda text, today: text != value,
        "INCLUDES": lambda text, today: value in text,
        "ENDS WITH": lambda text, today: text.endswith(value),
    }
    if operator in simple:
        return simple[operator]
    if operator in ("REGEX MATCH", "NOT REGEX MATCH"):
        try:
            pattern = compile_regex(value)
        except re.error as exc:
            raise ValueError(f"the regular expression {value!r} is not valid: {exc}") from None
        if operator == "REGEX MATCH":
            return lambda text, today: pattern.search(text) is not None
        return lambda text, today: pattern.search(text) is None
    numeric = _numeric_test(operator, value)
    if numeric is not None:
        return numeric
    dated = _date_test(operator, value)
    if dated is not None:
        return dated
    raise ValueError(f"unknown operator {operator!r}; use one of " + ", ".join(OPERATORS))


_COMPARE: dict[str, Callable[[int, int], bool]] = {
    "GREATER THAN": lambda a, b: a > b,
    "GREATER THAN OR EQUALS": lambda a, b: a >= b,
    "LESS THAN": lambda a, b: a < b,
    "LESS THAN OR EQUALS": lambda a, b: a <= b,
}
_DATE_COMPARE: dict[str, Callable[[dt.date, dt.date], bool]] = {
    "DATE BEFORE": lambda a, b: a < b,
    "DATE ON OR BEFORE": lambda a, b: a <= b,
    "DATE AFTER": lambda a, b: a > b,
    "DATE ON OR AFTER": lambda a, b: a >= b,
}
OPERATORS = (
    "EQUALS", "NOT EQUALS", "IS TRUE", "IS FALSE", "IS NULL", "IS NOT NULL", "REGEX MATCH",
    "NOT REGEX MATCH", "Includes", "ENDS_WITH", "Greater_Than", "Greater_Than_OR_EQUALS",
    "Less_Than", "Less_Than_OR_EQUALS", "DATE_BEFORE", "DATE_ON_OR_BEFORE", "DATE_AFTER",
    "DATE_ON_OR_AFTER",
)  # fmt: skip


def _numeric_test(operator: str, value: str) -> Test | None:
    compare = _COMPARE.get(operator)
    if compare is None:
        return None
    limit = _integer(value)
    if limit is None:
        raise ValueError(f"{operator} compares integers; {value!r} is not one")
    bound = limit

    def test(text: str, today: dt.date) -> bool:
        number = _integer(text)
        return number is not None and compare(number, bound)

    return test


def _integer(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _date_test(operator: str, value: str) -> Test | None:
    compare = _DATE_COMPARE.get(operator)
    if compare is None:
        return None
    relative = _RELATIVE.match(value.strip())
    if relative:
        sign, days = relative.groups()
        offset = dt.timedelta(days=int(days or 0) * (-1 if sign == "-" else 1))

        def relative_test(text: str, today: dt.date) -> bool:
            date = parse_date(text)
            return date is not None and compare(date, today + offset)

        return relative_test
    fixed = parse_date(value)
    if fixed is None:
        raise ValueError(f"{operator} needs today, today+N, today-N or yyyy-mm-dd, "
                         f"not {value!r}")
    bound = fixed

    def fixed_test(text: str, today: dt.date) -> bool:
        date = parse_date(text)
        return date is not None and compare(date, bound)

    return fixed_test


def parse_date(text: str) -> dt.date | None:
    """The date of an ISO 8601 date or date-time (``2024-03-01``, ``2024-03-01T08:00Z``)."""
    text = text.strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def compile_filters(filters: Sequence[Filter]) -> tuple[list[CompiledFilter], list[str]]:
    """Compiled filters, and a message per clause that could not be compiled."""
    compiled: list[CompiledFilter] = []
    problems: list[str] = []
    for number, item in enumerate(filters, start=1):
        name = item.name or f"filter {number}"
        clauses = []
        for index, clause in enumerate(item.clauses, start=1):
            try:
                clauses.append(compile_clause(clause))
            except ValueError as exc:
                problems.append(f"{name}, clause {index}: {exc}")
        compiled.append(CompiledFilter(name, tuple(clauses)))
    return compiled, problems


_TEST, _IS_NULL, _EQUALS = 0, 1, 2


def any_holds(filters: Sequence[CompiledFilter], values: Values, today: dt.date) -> bool:
    """Whether any filter holds: in scope (or a leaver). Run for every record, so the
    clauses are read from ``CompiledFilter.checks`` here rather than called one by one
    (``CompiledClause.holds`` says the same)."""
    get = values.get
    for item in filters:
        for attribute, how, test, value in item.checks:
            text = get(attribute)
            if how == _EQUALS:
                if text != value or not text:
                    break
            elif how == _IS_NULL:
                if text:
                    break
            elif not text or not test(text, today):
                break
        else:
            return True
    return False


def explain_out_of_scope(
    filters: Sequence[CompiledFilter], values: Values, today: dt.date
) -> str | None:
    """None when some filter holds; otherwise why each filter failed, for the report."""
    reasons = []
    for item in filters:
        failed = item.first_failure(values, today)
        if failed is None:
            return None
        actual = values.get(failed.attribute)
        shown = "empty" if not actual else repr(actual)
        reasons.append(f"{item.name}: {failed.describe()} is false (value {shown})")
    return "out of scope — " + "; ".join(reasons)

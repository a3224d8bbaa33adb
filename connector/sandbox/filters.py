"""``$filter``: lexer → parser → capability check → evaluation (§4.2, [AQ], [KI]).

Supported: ``eq ne ge le gt lt``, ``in (...)``, ``startswith(p,'x')``/``endswith(p,'x')``
(function names case-insensitive, §8), ``and``/``or``/``not(...)``, parentheses, lambda
``coll/any(x:x eq 'v')``, sub-paths ``employeeOrgData/costCenter``. String comparisons are
case-insensitive (§8 [INF]). Every problem is a :class:`GraphError`, never a crash.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .envelope import GraphError, bad_request, no_such_property, unsupported_query
from .schema import EXTENSION_RE, PROPS, filter_support
from .users import parse_datetime, value_of

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<punct>[(),:/])|"
    r"(?P<word>[A-Za-z_$][A-Za-z0-9_$.-]*)|(?P<num>[0-9][0-9A-Za-z:.+-]*))"
)
_COMPARE_OPS = {"eq", "ne", "ge", "le", "gt", "lt"}
_OP_KIND = {"eq": "Equal", "ne": "NotEqual", "ge": "GreaterThanOrEqual", "le": "LessThanOrEqual",
            "gt": "GreaterThan", "lt": "LessThan"}
#: [KI]: at most 15 ``in`` values and 120-character ``eq`` values without advanced queries.
MAX_IN_VALUES = 15
MAX_EQ_LENGTH = 120


@dataclass(frozen=True)
class Lit:
    """A literal: str (quoted), bool, None, or a datetime/number kept as text."""

    value: Any
    kind: str  # "string" | "bool" | "null" | "datetime" | "number"


@dataclass(frozen=True)
class Compare:
    """``path op literal`` with op in eq/ne/ge/le/gt/lt."""

    path: str
    op: str
    lit: Lit


@dataclass(frozen=True)
class In:
    """``path in (literal, ...)``."""

    path: str
    lits: tuple[Lit, ...]


@dataclass(frozen=True)
class Func:
    """``startswith(path,'x')`` / ``endswith(path,'x')``."""

    name: str  # "startsWith" | "endsWith"
    path: str
    lit: Lit


@dataclass(frozen=True)
class Any_:
    """Lambda over a collection: ``path/any(var: body)``."""

    path: str
    var: str
    body: Node


@dataclass(frozen=True)
class BoolOp:
    """``left and right`` / ``left or right``."""

    op: str  # "and" | "or"
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    """``not(inner)``."""

    inner: Node


Node = Compare | In | Func | Any_ | BoolOp | Not


def _syntax(detail: str) -> GraphError:
    return bad_request(f"Invalid filter clause: {detail}", code="BadRequest")  # [INF] text


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise _syntax(f"syntax error at position {pos} in '{text}'.")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
        self.i = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end" or (value is not None and token[1].lower() != value):
            raise _syntax(f"expected '{value or 'token'}' but found '{token[1] or 'end'}'.")
        self.i += 1
        return token

    def parse(self) -> Node:
        node = self.expr()
        if self.peek()[0] != "end":
            raise _syntax(f"unexpected '{self.peek()[1]}'.")
        return node

    def expr(self) -> Node:
        node = self.conj()
        while self.peek()[0] == "word" and self.peek()[1].lower() == "or":
            self.take()
            node = BoolOp("or", node, self.conj())
        return node

    def conj(self) -> Node:
        node = self.unary()
        while self.peek()[0] == "word" and self.peek()[1].lower() == "and":
            self.take()
            node = BoolOp("and", node, self.unary())
        return node

    def unary(self) -> Node:
        if self.peek()[0] == "word" and self.peek()[1].lower() == "not":
            self.take()
            return Not(self.unary())
        if self.peek()[1] == "(":
            self.take("(")
            node = self.expr()
            self.take(")")
            return node
        return self.primary()

    def literal(self) -> Lit:
        kind, text = self.take()
        if kind == "str":
            return Lit(text[1:-1].replace("''", "'"), "string")
        if kind == "word" and text.lower() in {"true", "false"}:
            return Lit(text.lower() == "true", "bool")
        if kind == "word" and text.lower() == "null":
            return Lit(None, "null")
        if kind == "num":
            stamp = parse_datetime(text)
            return Lit(stamp, "datetime") if stamp else Lit(text, "number")
        raise _syntax(f"expected a literal but found '{text}'.")

    def path(self) -> str:
        kind, text = self.take()
        if kind != "word":
            raise _syntax(f"expected a property but found '{text}'.")
        parts = [text]
        while self.peek()[1] == "/" and self.peek(1)[1].lower() not in {"any", "all"}:
            self.take("/")
            parts.append(self.take()[1])
        return "/".join(parts)

    def primary(self) -> Node:
        name = self.peek()[1]
        if name.lower() in {"startswith", "endswith"} and self.peek(1)[1] == "(":
            self.take()
            self.take("(")
            path = self.path()
            self.take(",")
            lit = self.literal()
            self.take(")")
            return Func("startsWith" if name.lower() == "startswith" else "endsWith", path, lit)
        path = self.path()
        if self.peek()[1] == "/":
            self.take("/")
            kind = self.take()[1].lower()
            if kind != "any":
                raise unsupported_query(
                    f"Unsupported or invalid query filter clause specified for property "
                    f"'{path}' of resource 'User'.")
            self.take("(")
            var = self.take()[1]
            self.take(":")
            body = self.expr()
            self.take(")")
            return Any_(path, var, body)
        op = self.take()[1].lower()
        if op == "in":
            self.take("(")
            lits = [self.literal()]
            while self.peek()[1] == ",":
                self.take(",")
                lits.append(self.literal())
            self.take(")")
            return In(path, tuple(lits))
        if op not in _COMPARE_OPS:
            raise _syntax(f"unknown operator '{op}'.")
        return Compare(path, op, self.literal())


def parse_filter(text: str) -> Node:
    """Parse a ``$filter`` expression (400 BadRequest on syntax errors)."""
    return _Parser(text).parse()


def _needs_advanced(op: str) -> GraphError:
    # [AQ] text, used for every operator/property that is advanced-only.
    return unsupported_query(
        f"Operator '{op}' is not supported because the required parameters might be missing. "
        "Try adding $count=true query parameter and ConsistencyLevel:eventual header. "
        "Refer to https://aka.ms/graph-docs/advanced-queries for more information")


def _unsupported(path: str) -> GraphError:
    return unsupported_query(
        f"Unsupported or invalid query filter clause specified for property '{path}' of "
        "resource 'User'.")


def _prop_type(path: str) -> str:
    if path in PROPS:
        kind = PROPS[path].kind
        return {"bool": "Edm.Boolean", "datetime": "Edm.DateTimeOffset"}.get(kind, "Edm.String")
    return "Edm.Boolean" if path.endswith("forceChangePasswordNextSignIn") else "Edm.String"


def _check_literal(path: str, op: str, lit: Lit) -> None:
    if lit.kind == "null":
        return
    want = _prop_type(path)
    got = {"string": "Edm.String", "bool": "Edm.Boolean", "datetime": "Edm.DateTimeOffset",
           "number": "Edm.Int32"}[lit.kind]
    if want != got:
        raise bad_request(
            "A binary operator with incompatible types was detected. Found operand types "
            f"'{want}' and '{got}' for operator kind '{_OP_KIND.get(op, 'Equal')}'.",
            code="BadRequest")


def _allow(path: str, op: str, advanced: bool, extensions: list[str]) -> None:
    support = filter_support(path)
    root = path.split("/")[0]
    if support is None or (EXTENSION_RE.match(path) and path not in extensions):
        if root in PROPS:
            raise _unsupported(path)
        raise no_such_property(path)
    default_ops, advanced_ops = support
    if op in default_ops:
        return
    if op in advanced_ops:
        if not advanced:
            raise _needs_advanced({"null": "eq", "any:endsWith": "endsWith"}.get(op, op))
        return
    raise _unsupported(path)


def check_filter(node: Node, advanced: bool, extensions: list[str]) -> None:
    """Reject what Graph rejects: unknown properties, unsupported operators, advanced-only
    clauses without advanced parameters, and the [KI] default limits."""
    if isinstance(node, BoolOp):
        check_filter(node.left, advanced, extensions)
        check_filter(node.right, advanced, extensions)
    elif isinstance(node, Not):
        if not advanced:
            raise _needs_advanced("not")
        check_filter(node.inner, advanced, extensions)
    elif isinstance(node, Compare):
        op = "null" if node.op == "eq" and node.lit.kind == "null" else node.op
        _allow(node.path, op, advanced, extensions)
        _check_literal(node.path, node.op, node.lit)
        if (not advanced and isinstance(node.lit.value, str)
                and len(node.lit.value) > MAX_EQ_LENGTH):
            raise _unsupported(node.path)
    elif isinstance(node, In):
        _allow(node.path, "in", advanced, extensions)
        for lit in node.lits:
            _check_literal(node.path, "eq", lit)
        if not advanced and len(node.lits) > MAX_IN_VALUES:
            # [KI] limit; the message is the directory's OR-clause limit text [INF].
            raise unsupported_query(
                "Too many child clauses specified in search filter expression containing "
                f"'OR' operators: {len(node.lits)}. Max allowed: {MAX_IN_VALUES}.")
    elif isinstance(node, Func):
        _allow(node.path, node.name, advanced, extensions)
        _check_literal(node.path, "eq", node.lit)
    else:
        body = node.body
        if isinstance(body, Compare) and body.path == node.var and body.op == "eq":
            _allow(node.path, "any:eq", advanced, extensions)
        elif isinstance(body, Func) and body.path == node.var:
            _allow(node.path, f"any:{body.name}", advanced, extensions)
        else:
            raise _unsupported(node.path)


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _lookup(doc: dict[str, Any], path: str) -> Any:
    root, _, sub = path.partition("/")
    _, value = value_of(doc, root)
    if sub:
        return value.get(sub) if isinstance(value, dict) else None
    if root == "id" and isinstance(value, str):
        return value.lower()
    return value


def _compare(left: Any, op: str, right: Any) -> bool:
    a, b = _fold(left), _fold(right)
    if op == "eq":
        return bool(a == b)
    if op == "ne":
        return bool(a != b)
    if a is None or b is None:
        return False
    return bool({"ge": a >= b, "le": a <= b, "gt": a > b, "lt": a < b}[op])


def _string_func(name: str, value: Any, prefix: Any) -> bool:
    if not isinstance(value, str) or not isinstance(prefix, str):
        return False
    if name == "startsWith":
        return value.casefold().startswith(prefix.casefold())
    return value.casefold().endswith(prefix.casefold())


def evaluate(node: Node, doc: dict[str, Any]) -> bool:
    """Whether ``doc`` matches the (already checked) filter."""
    if isinstance(node, BoolOp):
        if node.op == "and":
            return evaluate(node.left, doc) and evaluate(node.right, doc)
        return evaluate(node.left, doc) or evaluate(node.right, doc)
    if isinstance(node, Not):
        return not evaluate(node.inner, doc)
    if isinstance(node, Compare):
        right = node.lit.value.lower() if node.path == "id" and node.lit.value else node.lit.value
        return _compare(_lookup(doc, node.path), node.op, right)
    if isinstance(node, In):
        value = _fold(_lookup(doc, node.path))
        return any(value == _fold(lit.value) for lit in node.lits)
    if isinstance(node, Func):
        return _string_func(node.name, _lookup(doc, node.path), node.lit.value)
    items = _lookup(doc, node.path) or []
    body = node.body
    test: Callable[[Any], bool]
    if isinstance(body, Compare):
        test = lambda item: _compare(item, "eq", body.lit.value)  # noqa: E731
    else:
        assert isinstance(body, Func)
        test = lambda item: _string_func(body.name, item, body.lit.value)  # noqa: E731
    return any(test(item) for item in items)


def indexed_keys(node: Node) -> tuple[str, list[str]] | None:
    """A (column, values) pair the store can use to narrow candidates: a top-level ``eq``/``in``
    on id, userPrincipalName or employeeId, possibly inside an ``and``."""
    columns = {"id": "id", "userPrincipalName": "upn_lower", "employeeId": "employee_id"}
    if isinstance(node, Compare) and node.op == "eq" and node.path in columns:
        if isinstance(node.lit.value, str):
            return columns[node.path], [node.lit.value]
    if isinstance(node, In) and node.path in columns:
        values = [lit.value for lit in node.lits if isinstance(lit.value, str)]
        if len(values) == len(node.lits):
            return columns[node.path], values
    if isinstance(node, BoolOp) and node.op == "and":
        return indexed_keys(node.left) or indexed_keys(node.right)
    return None

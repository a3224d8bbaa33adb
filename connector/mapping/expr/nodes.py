"""The syntax tree: small frozen dataclasses, each knowing where it starts in the text."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True, slots=True)
class Constant:
    """A string or number literal (numbers are decimal strings, as Entra treats them)."""

    value: str
    position: int


@dataclass(frozen=True, slots=True)
class Attribute:
    """``[name]``: reads the record."""

    name: str
    position: int


@dataclass(frozen=True, slots=True)
class Parameter:
    """``[%name%]``: reads a mapping parameter (our extension)."""

    name: str
    position: int


@dataclass(frozen=True, slots=True)
class Keyword:
    """A bare word such as ``vbTextCompare`` or ``IgnoreAttributeFlow``."""

    name: str
    position: int


@dataclass(frozen=True, slots=True)
class Empty:
    """An argument left empty by position, as in ``Replace([x], , "re", , "", , )``."""

    position: int


@dataclass(frozen=True, slots=True)
class Call:
    """``Name(arg, ...)``; ``position`` is where the name starts."""

    name: str
    args: tuple[Node, ...]
    position: int


@dataclass(frozen=True, slots=True)
class Compare:
    """``left op right`` with one of = <> < <= > >=; ``position`` is the operator's."""

    op: str
    left: Node
    right: Node
    position: int


Node: TypeAlias = Constant | Attribute | Parameter | Keyword | Empty | Call | Compare


def walk(node: Node) -> Iterator[Node]:
    """``node`` and every node below it, parents first."""
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, Call):
            stack.extend(reversed(current.args))
        elif isinstance(current, Compare):
            stack.extend((current.right, current.left))


def canonical(node: Node) -> str:
    """The node as text without positions: equal for the same computation wherever it is
    written (how a mapping finds sub-expressions its rules share)."""
    if isinstance(node, Call):
        return f"{node.name}({','.join(canonical(arg) for arg in node.args)})"
    if isinstance(node, Compare):
        return f"({canonical(node.left)}{node.op}{canonical(node.right)})"
    if isinstance(node, Attribute):
        return f"[{node.name}]"
    if isinstance(node, Parameter):
        return f"[%{node.name}%]"
    if isinstance(node, Constant):
        return repr(node.value)
    if isinstance(node, Keyword):
        return node.name
    return "_"

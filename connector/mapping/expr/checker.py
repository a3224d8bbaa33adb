"""Semantic checks on a parsed tree, all reported together.

Unknown functions (with a "did you mean"), wrong argument counts, unknown bare words,
SelectUniqueValue anywhere but the top, and IgnoreFlowIfNullOrEmpty inside an IIF
condition. Syntax errors stop at the first one (the parser can't go on), but these are
independent, so an admin sees every one of them in one pass.
"""

from __future__ import annotations

from connector.errors import MappingError

from .functions import FUNCTIONS, KEYWORDS, OUTBOUND_ONLY, suggest
from .nodes import Call, Keyword, Node, walk


def _unknown_function(call: Call) -> str:
    if call.name in OUTBOUND_ONLY:
        return (
            f"{call.name} works on app role assignments when provisioning from Entra ID to "
            "an app; it has no meaning for HR data"
        )
    hint = suggest(call.name)
    message = f"unknown function {call.name!r}"
    if hint:
        message += f"; did you mean {hint}? (function names are case-sensitive)"
    return message


def _unknown_word(word: Keyword) -> str:
    name = word.name
    if name in FUNCTIONS:
        return f"{name} is a function; call it with parentheses: {name}(...)"
    if name.casefold() in ("true", "false"):
        return f'booleans are strings here; write "{name.capitalize()}" in double quotes'
    if name.casefold() in ("and", "or", "not"):
        return f"there is no {name.upper()} operator; nest IIF (or use Not(...))"
    hint = suggest(name, KEYWORDS) or suggest(name)
    message = f"unknown name {name!r}"
    if hint and hint in KEYWORDS:
        return f"{message}; did you mean {hint}?"
    if hint:
        return f"{message}; did you mean the function {hint}(...)?"
    return f"{message}; attribute names go in square brackets: [{name}]"


def check(tree: Node, text: str) -> None:
    """Raise one MappingError listing every problem found in ``tree`` (if any)."""
    problems: list[MappingError] = []

    def report(message: str, position: int) -> None:
        problems.append(MappingError(message, expression=text, position=position))

    for node in walk(tree):
        if isinstance(node, Keyword) and node.name not in KEYWORDS:
            report(_unknown_word(node), node.position)
        if not isinstance(node, Call):
            continue
        spec = FUNCTIONS.get(node.name)
        if spec is None:
            report(_unknown_function(node), node.position)
            continue
        problem = spec.arity_problem(len(node.args))
        if problem:
            report(problem, node.position)
        if node.name == "SelectUniqueValue" and node is not tree:
            report(
                "SelectUniqueValue must be the outermost function of the expression "
                "(it can't be nested)",
                node.position,
            )
        if node.name == "IIF" and node.args:
            for inner in walk(node.args[0]):
                if isinstance(inner, Call) and inner.name == "IgnoreFlowIfNullOrEmpty":
                    report(
                        "IgnoreFlowIfNullOrEmpty can't be used in an IIF condition; wrap the "
                        "whole IIF in it instead",
                        inner.position,
                    )
    if not problems:
        return
    problems.sort(key=lambda problem: problem.position or 0)
    if len(problems) == 1:
        raise problems[0]
    raise MappingError(
        f"{len(problems)} problems in this expression",
        expression=text,
        position=problems[0].position,
        errors=problems,
    )

""".NET regular expressions on top of Python's ``re``.

Entra's Replace uses .NET Regex. Most syntax is shared; the differences that matter for
mappings are translated here:

* named groups ``(?<name>...)`` / ``(?'name'...)`` -> ``(?P<name>...)``, ``\\k<name>`` ->
  ``(?P=name)``;
* ``\\z`` (end of text) -> ``\\Z``; ``\\Z`` (end, or before a final newline) -> a lookahead;
* .NET numbers unnamed groups first and named groups after them, Python numbers them in
  order; ``$1`` and ``\\1`` are mapped so they mean what they mean in .NET;
* replacement strings use ``$1``, ``${name}``, ``$$``, ``$&``, ``$```, ``$'`` and ``$_``;
  they become a small callable (no Python ``\\g<>`` escaping pitfalls).

Unsupported .NET features (character-class subtraction, balancing groups, RegexOptions
other than inline ones) are reported as errors, never silently misread.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from connector.errors import EvaluationError

Expander = Callable[[re.Match[str]], str]


@dataclass(frozen=True, slots=True)
class DotNetRegex:
    """A compiled .NET pattern plus its group numbering."""

    pattern: str
    compiled: re.Pattern[str]
    #: .NET group number -> Python group number.
    numbers: dict[int, int]

    def group_index(self, name: str) -> int | None:
        """The Python group number for a .NET group name or number, or None."""
        if name.isdigit():
            number = int(name)
            return 0 if number == 0 else self.numbers.get(number)
        return self.compiled.groupindex.get(name)


def _fail(pattern: str, message: str) -> re.error:
    return re.error(message, pattern)


def _scan(pattern: str) -> tuple[list[str | int], list[str | None]]:
    """Python pattern pieces (ints are .NET backreference numbers) and the capture groups
    in order of appearance (name, or None for an unnamed group)."""
    out: list[str | int] = []
    groups: list[str | None] = []
    pos, length, in_class = 0, len(pattern), False
    while pos < length:
        char = pattern[pos]
        if char == "\\":
            if pos + 1 >= length:
                raise _fail(pattern, "it ends with a single backslash")
            nxt = pattern[pos + 1]
            if in_class:
                out.append(char + nxt)
            elif nxt == "k" and pattern[pos + 2 : pos + 3] in ("<", "'"):
                close = pattern.find(">" if pattern[pos + 2] == "<" else "'", pos + 3)
                if close < 0:
                    raise _fail(pattern, "unclosed \\k<name>")
                name = pattern[pos + 3 : close]
                out.append(int(name) if name.isdigit() else f"(?P={name})")
                pos = close + 1
                continue
            elif nxt.isdigit() and nxt != "0":
                end = pos + 1
                while end < length and pattern[end].isdigit():
                    end += 1
                out.append(int(pattern[pos + 1 : end]))
                pos = end
                continue
            else:
                out.append({"z": r"\Z", "Z": r"(?=\n?\Z)"}.get(nxt, char + nxt))
            pos += 2
        elif in_class:
            if char == "-" and pattern[pos + 1 : pos + 2] == "[":
                raise _fail(pattern, "character class subtraction [a-z-[aeiou]] isn't supported")
            in_class = char != "]"
            out.append(char)
            pos += 1
        elif char == "[":
            in_class = True
            end = pos + 1
            if pattern[end : end + 1] == "^":
                end += 1
            if pattern[end : end + 1] == "]":
                end += 1  # a ] right after [ or [^ is a literal
            out.append(pattern[pos:end].replace("]", "\\]"))
            pos = end
        elif pattern.startswith(("(?<", "(?'"), pos) and pattern[pos + 3 : pos + 4] not in "=!":
            close = pattern.find(">" if pattern[pos + 2] == "<" else "'", pos + 3)
            name = pattern[pos + 3 : close] if close > 0 else ""
            if not name.isidentifier():
                raise _fail(
                    pattern,
                    f"unsupported group name {name!r} (balancing or numbered "
                    "groups aren't supported)",
                )
            groups.append(name)
            out.append(f"(?P<{name}>")
            pos = close + 1
        elif pattern.startswith("(?", pos) or char != "(":
            out.append(pattern[pos : pos + 2] if char == "(" else char)
            pos += 2 if char == "(" else 1
        else:
            groups.append(None)
            out.append(char)
            pos += 1
    if in_class:
        raise _fail(pattern, "unclosed [")
    return out, groups


def compile_dotnet(pattern: str) -> DotNetRegex:
    """The Python form of a .NET pattern (cached); raises EvaluationError."""
    try:
        return _translate(pattern)
    except re.error as error:
        raise EvaluationError(f"invalid regex {pattern!r}: {error.msg}") from None


def compile_regex(pattern: str) -> re.Pattern[str]:
    """A .NET regular expression (as Entra mappings write them) compiled for Python.

    For callers outside the expression language, e.g. scoping filters' REGEX MATCH; raises
    ``re.error`` if the pattern is invalid or uses a .NET feature that isn't supported.
    """
    return _translate(pattern).compiled


@functools.lru_cache(maxsize=512)
def _translate(pattern: str) -> DotNetRegex:
    pieces, groups = _scan(pattern)
    order = [i for i, name in enumerate(groups, 1) if name is None]
    order += [i for i, name in enumerate(groups, 1) if name is not None]
    numbers = {dotnet: python for dotnet, python in enumerate(order, 1)}
    parts: list[str] = []
    for piece in pieces:
        if isinstance(piece, int):
            if piece not in numbers:
                raise _fail(pattern, f"there is no group {piece} to refer back to")
            parts.append(f"(?:\\{numbers[piece]})")
        else:
            parts.append(piece)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set" FutureWarnings
            compiled = re.compile("".join(parts))
    except RecursionError:
        raise _fail(pattern, "it is nested too deeply") from None
    return DotNetRegex(pattern, compiled, numbers)


_REFERENCE = re.compile(r"\$(?:\$|\{([^}]*)\}|(\d+)|([&`'_]))")


def expander(regex: DotNetRegex, replacement: str) -> Expander | str:
    """A .NET replacement string as a callable (or a plain string if it has no $)."""
    if "$" not in replacement:
        return replacement
    parts: list[str | int] = []
    last = 0
    for ref in _REFERENCE.finditer(replacement):
        name, digits, special = ref.groups()
        index: int | str | None
        if ref.group() == "$$":
            index = "$"
        elif special:
            index = {"&": 0, "`": -1, "'": -2, "_": -3}[special]
        elif name is not None:
            index = regex.group_index(name)
        else:
            # .NET takes the longest run of digits that names an existing group.
            index, cut = None, len(digits)
            while cut and index is None:
                index = regex.group_index(digits[:cut])
                cut -= 1
            if index is not None:
                parts.append(replacement[last : ref.start()])
                parts.append(index)
                last = ref.start() + 2 + cut
                continue
        if index is None:
            continue  # not a group: .NET keeps the text as it is
        parts.append(replacement[last : ref.start()])
        parts.append(index)
        last = ref.end()
    parts.append(replacement[last:])
    pieces = tuple(part for part in parts if part != "")

    def expand(match: re.Match[str]) -> str:
        out: list[str] = []
        for part in pieces:
            if isinstance(part, str):
                out.append(part)
            elif part >= 0:
                out.append(match.group(part) or "")
            else:
                whole = match.string
                out.append({-1: whole[: match.start()], -2: whole[match.end() :]}.get(part, whole))
        return "".join(out)

    return expand

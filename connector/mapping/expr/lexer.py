"""Turns expression text into tokens.

One pass over the text with a position index; every error carries the 0-based offset of
the character that is wrong, so the caret in ``MappingError.detailed()`` lands on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from connector.errors import MappingError

from .tokens import Token, TokenKind

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_HEX = re.compile(r"&[Hh]([0-9A-Fa-f]+)")
_PARAMETER = re.compile(r"%([A-Za-z0-9_.\-]+)%\Z")
Emit = Callable[[Token], None]

_SINGLE = {"(": TokenKind.LPAREN, ")": TokenKind.RPAREN, ",": TokenKind.COMMA}
_OPERATORS = ("<>", "<=", ">=", "=", "<", ">")
# Things people type from other languages, with the fix.
_HINTS = {
    "!=": "use <> for 'not equal'",
    "==": "use a single = to compare",
    "&&": "there is no AND; nest IIF along the true branch",
    "||": "there is no OR; nest IIF along the false branch",
    "'": 'strings use double quotes: "text"',
    "\u201c": 'this is a curly quote; strings use straight double quotes: "text"',
    "\u201d": 'this is a curly quote; strings use straight double quotes: "text"',
    "&": "& is only used in VB hex numbers such as &HF; use Join or Append to concatenate",
    "+": "there is no arithmetic; use Join or Append to concatenate",
    "-": "there is no arithmetic; '-' may only start a negative number",
}


def _error(message: str, text: str, position: int) -> MappingError:
    return MappingError(message, expression=text, position=position)


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text``, ending with an EOF token; raises MappingError."""
    tokens: list[Token] = []
    append = tokens.append
    length = len(text)
    pos = 0
    while pos < length:
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        kind = _SINGLE.get(char)
        if kind is not None:
            append(Token(kind, char, pos, pos + 1))
            pos += 1
        elif char == '"':
            pos = _string(text, pos, append)
        elif char == "[":
            pos = _attribute(text, pos, append)
        elif match := _NAME.match(text, pos):
            append(Token(TokenKind.NAME, match.group(), pos, match.end()))
            pos = match.end()
        elif match := _NUMBER.match(text, pos):
            pos = _number(text, match, append)
        elif match := _HEX.match(text, pos):
            append(Token(TokenKind.NUMBER, str(int(match.group(1), 16)), pos, match.end()))
            pos = match.end()
        else:
            pos = _operator(text, pos, append)
    # The end is placed right after the last token, never after trailing white space, so
    # that a caret for "missing )" lands on a line that exists.
    end = len(text.rstrip())
    append(Token(TokenKind.EOF, "", end, end))
    return tokens


def _string(text: str, start: int, append: Emit) -> int:
    # Only \\ and \" are escapes (the spec's rule); any other backslash is kept as it is,
    # so regex text like "\d" survives even when the author forgot to double it.
    chars: list[str] = []
    pos = start + 1
    length = len(text)
    while pos < length:
        char = text[pos]
        if char == "\\" and pos + 1 < length and text[pos + 1] in '\\"':
            chars.append(text[pos + 1])
            pos += 2
        elif char == '"':
            append(Token(TokenKind.STRING, "".join(chars), start, pos + 1))
            return pos + 1
        else:
            chars.append(char)
            pos += 1
    raise _error(
        'this string is never closed; add the closing " (write \\" for a quote inside it)',
        text,
        start,
    )


def _attribute(text: str, start: int, append: Emit) -> int:
    close = text.find("]", start + 1)
    newline = text.find("\n", start + 1)
    if close < 0 or 0 <= newline < close:
        raise _error("this attribute name is never closed; add the closing ]", text, start)
    name = text[start + 1 : close]
    if not name:
        raise _error("empty attribute name []", text, start)
    if "[" in name:
        raise _error("attribute names can't contain [", text, start + 1 + name.index("["))
    if name.startswith("%") and name.endswith("%") and len(name) > 2:
        match = _PARAMETER.match(name)
        if not match:
            raise _error(
                "a parameter name [%NAME%] may only use letters, digits, '_', '.' and '-'",
                text,
                start,
            )
        append(Token(TokenKind.PARAMETER, match.group(1), start, close + 1))
    else:
        append(Token(TokenKind.ATTRIBUTE, name, start, close + 1))
    return close + 1


def _number(text: str, match: re.Match[str], append: Emit) -> int:
    end = match.end()
    if end < len(text) and (text[end].isalnum() or text[end] in "._"):
        raise _error(f"unexpected {text[end]!r} after the number", text, end)
    raw = match.group()
    # Integers are canonical ("007" is 7); decimals are kept as written.
    value = raw if "." in raw else str(int(raw))
    append(Token(TokenKind.NUMBER, value, match.start(), end))
    return end


def _operator(text: str, pos: int, append: Emit) -> int:
    two = text[pos : pos + 2]
    if two in _HINTS:
        raise _error(f"unexpected {two!r}: {_HINTS[two]}", text, pos)
    for operator in _OPERATORS:
        if text.startswith(operator, pos):
            append(Token(TokenKind.OPERATOR, operator, pos, pos + len(operator)))
            return pos + len(operator)
    char = text[pos]
    hint = _HINTS.get(char)
    message = f"unexpected character {char!r}"
    raise _error(f"{message}: {hint}" if hint else message, text, pos)

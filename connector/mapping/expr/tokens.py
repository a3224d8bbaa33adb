"""The tokens the lexer hands to the parser."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class TokenKind(enum.Enum):
    """What a token is; the value says how it is described in error messages."""

    NAME = "name"
    ATTRIBUTE = "attribute"
    PARAMETER = "parameter"
    STRING = "string"
    NUMBER = "number"
    LPAREN = "'('"
    RPAREN = "')'"
    COMMA = "','"
    OPERATOR = "operator"
    EOF = "end of the expression"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``value`` is decoded (string escapes resolved, numbers in decimal);
    ``start``/``end`` are 0-based offsets into the expression text."""

    kind: TokenKind
    value: str
    start: int
    end: int

    def describe(self) -> str:
        """How an error message names this token."""
        if self.kind is TokenKind.NAME:
            return f"name {self.value!r}"
        if self.kind is TokenKind.ATTRIBUTE:
            return f"attribute [{self.value}]"
        if self.kind is TokenKind.PARAMETER:
            return f"parameter [%{self.value}%]"
        if self.kind is TokenKind.STRING:
            return f'string "{self.value}"'
        if self.kind in (TokenKind.NUMBER, TokenKind.OPERATOR):
            return f"{self.kind.name.lower()} {self.value}"
        return str(self.kind.value)

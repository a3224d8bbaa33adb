"""Recursive-descent parser: tokens -> syntax tree.

Grammar (there is no arithmetic and no AND/OR, so precedence is trivial)::

    expression := operand [ COMPARISON operand ]
    operand    := NAME "(" [ argument { "," argument } ] ")"
                | NAME | ATTRIBUTE | PARAMETER | STRING | NUMBER
    argument   := expression | <nothing>          (an empty positional argument)

The parser only checks shape. Which names are functions, and how many arguments they take,
is the checker's job, so that it can report every such problem at once.
"""

from __future__ import annotations

from connector.errors import MappingError

from .nodes import Attribute, Call, Compare, Constant, Empty, Keyword, Node, Parameter
from .tokens import Token, TokenKind

#: Deeper nesting than this is certainly a mistake, and it keeps Python's stack safe.
MAX_DEPTH = 64


class Parser:
    """Parses one token list; use :func:`parse`."""

    def __init__(self, tokens: list[Token], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.index = 0
        self.depth = 0

    def error(self, message: str, position: int) -> MappingError:
        return MappingError(message, expression=self.text, position=position)

    def where(self, position: int) -> str:
        line = self.text.count("\n", 0, position) + 1
        column = position - (self.text.rfind("\n", 0, position) + 1) + 1
        return f"{line}:{column}"

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Node:
        if self.current.kind is TokenKind.EOF:
            # No position: there is no character to point at.
            raise MappingError("the expression is empty")
        node = self.expression()
        token = self.current
        if token.kind is TokenKind.RPAREN:
            raise self.error("unexpected ')': there is no '(' for it to close", token.start)
        if token.kind is not TokenKind.EOF:
            raise self.error(
                f"unexpected {token.describe()} after the end of the expression "
                "(a mapping is one expression; combine values with Join)",
                token.start,
            )
        return node

    def expression(self) -> Node:
        left = self.operand()
        token = self.current
        if token.kind is not TokenKind.OPERATOR:
            return left
        self.advance()
        right = self.operand()
        if self.current.kind is TokenKind.OPERATOR:
            raise self.error(
                "comparisons can't be chained; there is no AND/OR, so nest IIF instead",
                self.current.start,
            )
        return Compare(token.value, left, right, token.start)

    def operand(self) -> Node:
        token = self.advance()
        kind = token.kind
        if kind is TokenKind.ATTRIBUTE:
            return Attribute(token.value, token.start)
        if kind is TokenKind.PARAMETER:
            return Parameter(token.value, token.start)
        if kind in (TokenKind.STRING, TokenKind.NUMBER):
            return Constant(token.value, token.start)
        if kind is TokenKind.NAME:
            if self.current.kind is TokenKind.LPAREN:
                return self.call(token)
            return Keyword(token.value, token.start)
        if kind is TokenKind.EOF:
            raise self.error("the expression ends here, but a value was expected", token.start)
        if kind is TokenKind.LPAREN:
            raise self.error("unexpected '(': parentheses only follow a function name", token.start)
        raise self.error(f"unexpected {token.describe()}: a value was expected", token.start)

    def call(self, name: Token) -> Call:
        opener = self.advance()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"functions are nested more than {MAX_DEPTH} deep", name.start)
        args: list[Node] = []
        if self.current.kind is TokenKind.RPAREN:
            self.advance()
            self.depth -= 1
            return Call(name.value, (), name.start)
        while True:
            token = self.current
            if token.kind in (TokenKind.COMMA, TokenKind.RPAREN):
                args.append(Empty(token.start))
            elif token.kind is TokenKind.EOF:
                raise self.unclosed(name, opener, token)
            else:
                args.append(self.expression())
            token = self.advance()
            if token.kind is TokenKind.RPAREN:
                break
            if token.kind is TokenKind.EOF:
                raise self.unclosed(name, opener, token)
            if token.kind is not TokenKind.COMMA:
                raise self.error(
                    f"unexpected {token.describe()}: expected ',' or ')' "
                    f"in {name.value}( opened at {self.where(opener.start)}",
                    token.start,
                )
        self.depth -= 1
        return Call(name.value, tuple(args), name.start)

    def unclosed(self, name: Token, opener: Token, eof: Token) -> MappingError:
        return self.error(
            f"missing ')' to close {name.value}( opened at {self.where(opener.start)}",
            eof.start,
        )


def parse(tokens: list[Token], text: str) -> Node:
    """The syntax tree of ``text``; raises MappingError at the first syntax error."""
    return Parser(tokens, text).parse()

"""Error rendering: every error says where, and never crashes while saying it."""

from __future__ import annotations

import pytest

from connector.errors import GraphError, MappingError, Problem, SourceError


@pytest.mark.parametrize(
    ("expression", "position", "where", "line", "caret"),
    [
        ('Join(",", [a]', 13, "1:14", 'Join(",", [a]', " " * 13 + "^"),
        ("IIF(\n  [a] = ,\n  1)", 13, "2:9", "  [a] = ,", " " * 8 + "^"),
        ("Left([a], 1)\n", 13, "2:1", "", "^"),
        ("", 0, "1:1", "", "^"),
        ("A(\r\n[b]", 4, "2:1", "[b]", "^"),
        ("x", 99, "1:2", "x", " ^"),
    ],
)
def test_mapping_error_points_a_caret_at_the_spot(
    expression: str, position: int, where: str, line: str, caret: str
) -> None:
    error = MappingError("bad", file="m.yaml", rule="attributes.x", expression=expression,
                         position=position)
    text = error.detailed().split("\n")
    assert text[0] == f"m.yaml › attributes.x › {where}: bad"
    assert text[1] == f"    {line}"
    assert text[2] == f"    {caret}"


def test_mapping_error_lists_every_error() -> None:
    error = MappingError("2 problems", errors=[MappingError("a", rule="r1"),
                                               MappingError("b", rule="r2")])
    assert error.detailed() == "r1: a\n\nr2: b"


def test_other_errors_carry_their_context() -> None:
    assert SourceError("bad", file="f.csv", row=3, column="ID").detailed() == \
        "f.csv, row 3, column 'ID': bad"
    assert GraphError("refused", status=400, code="Request_BadRequest",
                      request_id="r-1").detailed() == \
        "refused (HTTP 400, code Request_BadRequest, request-id r-1)"
    assert str(Problem("empty key", file="f.csv", row=2, column="ID")) == \
        "f.csv, row 2, column 'ID': empty key"

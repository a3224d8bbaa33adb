"""One test per diagnostic: message, position and how it renders."""

from __future__ import annotations

import pytest

from connector.errors import EvaluationError, MappingError
from connector.mapping.expr import MAX_LENGTH, EvalContext, compile_expression


def compile_error(text: str) -> MappingError:
    with pytest.raises(MappingError) as caught:
        compile_expression(text)
    assert not isinstance(caught.value, EvaluationError)
    return caught.value


def caret_column(rendered: str) -> int:
    """0-based column of the caret line's ^ under the 4-space indent."""
    caret = next(line for line in rendered.splitlines() if line.strip() == "^")
    return caret.index("^") - 4


def test_unknown_function_suggests_the_right_case() -> None:
    error = compile_error('Join("-", toLower([a]))')
    assert error.message == (
        "unknown function 'toLower'; did you mean ToLower? (function names are case-sensitive)"
    )
    assert error.position == 10
    assert (error.line, error.column) == (1, 11)


def test_unknown_function_suggests_a_similar_name() -> None:
    assert "did you mean NormalizeDiacritics?" in compile_error("NormaliseDiacritics([a])").message


def test_unknown_function_without_a_near_name() -> None:
    assert compile_error("Frobnicate([a])").message == "unknown function 'Frobnicate'"


def test_wrong_arity_names_the_signature() -> None:
    error = compile_error('Join("-", Mid([a], 1))')
    assert error.message == "Mid takes 3 arguments: Mid(source, start, length); got 2"
    assert error.position == 10


def test_all_function_problems_are_reported_together() -> None:
    text = 'Join("-", foo([a]), Left([b]), IIF([c], "x"))'
    error = compile_error(text)
    assert error.message == "3 problems in this expression"
    assert [e.position for e in error.errors] == [10, 20, 31]
    assert "unknown function 'foo'" in error.errors[0].message
    assert "Left takes 2 arguments" in error.errors[1].message
    assert "IIF takes 3 arguments" in error.errors[2].message
    rendered = error.detailed()
    assert rendered.count("^") == 3


def test_unterminated_string_points_at_its_opening_quote() -> None:
    text = 'Join("-", [a], "abc)'
    error = compile_error(text)
    assert "this string is never closed" in error.message
    assert error.position == text.index('"abc')
    assert caret_column(error.detailed()) == text.index('"abc')


def test_escaped_quote_does_not_close_a_string() -> None:
    error = compile_error('Join("-", "ab\\")')
    assert error.position == 10


def test_unexpected_token() -> None:
    error = compile_error('Join("-", [a] [b])')
    assert error.message == "unexpected attribute [b]: expected ',' or ')' in Join( opened at 1:5"
    assert error.position == 14


def test_unexpected_character() -> None:
    error = compile_error('Join("-", [a]; [b])')
    assert error.message == "unexpected character ';'"
    assert error.position == 13


def test_missing_closing_parenthesis() -> None:
    text = 'Join("-", Left([a], 2)'
    error = compile_error(text)
    assert error.message == "missing ')' to close Join( opened at 1:5"
    assert error.position == len(text)


def test_missing_closing_parenthesis_before_trailing_newlines() -> None:
    text = 'Join("-",\n  [a]\n\n'
    error = compile_error(text)
    assert (error.line, error.column) == (2, 6)
    assert "missing ')'" in error.detailed()


def test_extra_closing_parenthesis() -> None:
    error = compile_error("Left([a], 2))")
    assert error.message == "unexpected ')': there is no '(' for it to close"
    assert error.position == 12


def test_unclosed_attribute() -> None:
    error = compile_error('Join("-", [given Name, [b])')
    assert error.message == "attribute names can't contain ["
    error = compile_error('Join("-", [givenName')
    assert error.message == "this attribute name is never closed; add the closing ]"
    assert error.position == 10


def test_too_long() -> None:
    text = 'Join("", ' + ", ".join(['"x"'] * 3000) + ")"
    assert len(text) > MAX_LENGTH
    error = compile_error(text)
    assert error.message == f"the expression is {len(text):,} characters long; the limit is 10,000"
    assert error.position == MAX_LENGTH


def test_exactly_the_maximum_length_is_fine() -> None:
    text = '"' + "x" * (MAX_LENGTH - 2) + '"'
    assert compile_expression(text).evaluate({}, EvalContext()) == "x" * (MAX_LENGTH - 2)


def test_select_unique_value_nested() -> None:
    text = "ToLower(SelectUniqueValue([a], [b]))"
    error = compile_error(text)
    assert error.message == (
        "SelectUniqueValue must be the outermost function of the expression (it can't be nested)"
    )
    assert error.position == 8


def test_ignore_flow_in_an_iif_condition() -> None:
    error = compile_error('IIF(IsPresent(IgnoreFlowIfNullOrEmpty([c])), "a", "b")')
    assert "IgnoreFlowIfNullOrEmpty can't be used in an IIF condition" in error.message
    assert error.position == 14


def test_nesting_limit() -> None:
    text = "ToLower(" * 70 + "[a]" + ")" * 70
    error = compile_error(text)
    assert error.message == "functions are nested more than 64 deep"


def test_constant_arguments_that_always_fail() -> None:
    error = compile_error('Join("-", CDate("31.12.2020"))')
    assert error.message.startswith("this always fails: CDate: can't read '31.12.2020'")
    assert error.position == 10


def test_invalid_regex_points_at_the_pattern() -> None:
    text = 'Replace([a], , "(?<x>", , "", , )'
    error = compile_error(text)
    assert error.message.startswith("Replace: invalid regex '(?<x>'")
    assert error.position == text.index('"(?<x>')


def test_detailed_shows_line_column_and_caret_for_multiline_expressions() -> None:
    text = 'Join(",",\n    [givenName],\n    ToLowr([surname]))'
    error = compile_error(text).located(file="mappings/default.yaml", rule="displayName")
    assert (error.line, error.column) == (3, 5)
    lines = error.detailed().splitlines()
    assert lines[0] == (
        "mappings/default.yaml › displayName › 3:5: unknown function 'ToLowr'; "
        "did you mean ToLower? (function names are case-sensitive)"
    )
    assert lines[1] == "        ToLowr([surname]))"
    assert lines[2] == "        ^"


def test_evaluation_error_points_at_the_failing_call() -> None:
    text = 'Join("-",\n  CDate([hire]))'
    expression = compile_expression(text)
    with pytest.raises(EvaluationError) as caught:
        expression.evaluate({"hire": "soon"}, EvalContext())
    error = caught.value
    assert error.message.startswith("CDate: can't read 'soon' as a date")
    assert (error.line, error.column) == (2, 3)
    assert error.detailed().splitlines()[-1] == "      ^"


def test_evaluation_error_for_a_missing_parameter() -> None:
    expression = compile_expression('Join("@", [u], [%DOMAIN%])')
    with pytest.raises(EvaluationError) as caught:
        expression.evaluate({"u": "x"}, EvalContext(params={}))
    assert caught.value.message == "there is no mapping parameter 'DOMAIN'"
    assert caught.value.position == 15


def test_unexpected_python_errors_become_evaluation_errors() -> None:
    # A reader bug (a number where text belongs) must not escape as a bare TypeError.
    expression = compile_expression("ToLower([n])")
    with pytest.raises(EvaluationError) as caught:
        expression.evaluate({"n": 42}, EvalContext())  # type: ignore[dict-item]
    assert caught.value.message == "ToLower: expected text, got int"
    assert caught.value.position == 0


def test_empty_expression() -> None:
    error = compile_error("")
    assert error.message == "the expression is empty"
    assert error.detailed() == "the expression is empty"

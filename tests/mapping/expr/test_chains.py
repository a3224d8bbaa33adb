"""Calls the compiler runs its own way must give what the nested calls give: chains of
text steps (one closure for ``Replace(ToLower(NormalizeDiacritics(StripSpaces(x))))``),
Coalesce and two-part Join reading attributes themselves, and a mapping's "" read as null.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.errors import EvaluationError
from connector.mapping.expr import EvalContext, StubDirectory, compile_expression

CONTEXT = EvalContext(now=datetime(2026, 11, 26, 9, tzinfo=UTC), params={},
                      directory=StubDirectory())
UPN_CHAIN = ("Replace(ToLower(NormalizeDiacritics(StripSpaces([x]))), , \"[^a-z0-9'._-]\", , "
             "\"\", , )")
# Text with what the steps care about: spaces, case, diacritics composed and decomposed,
# Turkish dotted and dotless i, characters the regex removes.
TEXT = st.text(alphabet=st.sampled_from(list("aZ ß.-'_İıIiÉéäÆøŁ0\u0301\u0308ñ!@ ")),
               max_size=20)


def one_at_a_time(value: Any) -> Any:
    """The UPN chain's calls evaluated innermost first, each on the value the previous
    gave: what the chain must equal."""
    for call in ("StripSpaces([x])", "NormalizeDiacritics([x])", "ToLower([x])",
                 "Replace([x], , \"[^a-z0-9'._-]\", , \"\", , )"):
        value = compile_expression(call).evaluate({"x": value}, CONTEXT)
    return value


@given(TEXT)
def test_the_upn_chain_is_the_nested_calls_one_at_a_time(value: str) -> None:
    chain = compile_expression(UPN_CHAIN).evaluate({"x": value}, CONTEXT)
    assert chain == one_at_a_time(value)


@pytest.mark.parametrize("culture", ["", '"tr-TR"', '"en-US"', '"az"'])
@given(value=TEXT)
def test_case_chains_keep_their_culture(culture: str, value: str) -> None:
    suffix = f", {culture}" if culture else ""
    for outer, inner in (("ToLower", "ToUpper"), ("ToUpper", "ToLower")):
        text = f"{outer}({inner}(StripSpaces([x]){suffix}){suffix})"
        stepwise: Any = value
        for call in ("StripSpaces([x])", f"{inner}([x]{suffix})", f"{outer}([x]{suffix})"):
            stepwise = compile_expression(call).evaluate({"x": stepwise}, CONTEXT)
        assert compile_expression(text).evaluate({"x": value}, CONTEXT) == stepwise


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("", ""), (["Zoë O Brien"], "zoeobrien"), ([], None)])
def test_a_chain_passes_null_and_unwraps_a_list_of_one(value: Any, expected: Any) -> None:
    record = {} if value is None else {"x": value}
    assert compile_expression(UPN_CHAIN).evaluate(record, CONTEXT) == expected


def test_a_chain_on_several_values_fails_at_its_innermost_call() -> None:
    with pytest.raises(EvaluationError) as caught:
        compile_expression(UPN_CHAIN).evaluate({"x": ["a", "b"]}, CONTEXT)
    assert caught.value.message.startswith("StripSpaces: expected a single value")
    assert caught.value.position == UPN_CHAIN.index("StripSpaces")


@pytest.mark.parametrize("empty_is_null", [False, True])
@pytest.mark.parametrize("record", [
    {}, {"a": ""}, {"b": ""}, {"a": "", "b": ""}, {"a": "A"}, {"b": "B"},
    {"a": "A", "b": "B"}, {"a": ["", ""], "b": "B"}, {"a": ["A", "C"], "b": "B"},
    {"a": [], "b": ""},
])
def test_coalesce_and_join_of_attributes_are_the_general_calls(
    record: dict[str, Any], empty_is_null: bool
) -> None:
    # The general code runs when an argument is not a plain attribute: IIF(IsNull([a]),
    # [a], [a]) is [a] through a call. Reading "" as null is reading the record so.
    same = {name: f"IIF(IsNull([{name}]), [{name}], [{name}])" for name in "ab"}
    read = {k: (v or None) if empty_is_null else v for k, v in record.items()}
    for fast, general in (("Coalesce([a], [b])", f"Coalesce({same['a']}, {same['b']})"),
                          ('Join(".", [a], [b])', f'Join(".", {same["a"]}, {same["b"]})')):
        got = compile_expression(fast, empty_is_null=empty_is_null).evaluate(record, CONTEXT)
        assert got == compile_expression(general).evaluate(read, CONTEXT), fast


def test_a_mapping_reads_empty_attributes_as_null() -> None:
    record = {"Nick": "", "First": "Ann"}
    kept = compile_expression("IsNull([Nick])")
    mapping = compile_expression("IsNull([Nick])", empty_is_null=True)
    assert kept.evaluate(record, CONTEXT) == "False"
    assert mapping.evaluate(record, CONTEXT) == "True"
    assert compile_expression("Coalesce([Nick], [First])", empty_is_null=True).evaluate(
        record, CONTEXT) == "Ann"

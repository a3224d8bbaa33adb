"""Scoping filters: every operator's semantics from a table of cases, plus OR/AND."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from connector.mapping.scoping import (
    OPERATORS,
    compile_clause,
    compile_filters,
    explain_out_of_scope,
    normalise_operator,
)
from connector.mapping.spec import Clause, Filter

TABLE = yaml.safe_load((Path(__file__).parent / "scoping" / "cases.yaml").read_text("utf-8"))
TODAY = dt.date.fromisoformat(TABLE["today"])


@pytest.mark.parametrize("case", TABLE["cases"],
                         ids=[f"{c['operator']}-{i}" for i, c in enumerate(TABLE["cases"])])
def test_clause(case: dict[str, Any]) -> None:
    clause = compile_clause(Clause(attribute=case["attribute"], operator=case["operator"],
                                   value=case.get("value")))
    record = {k: (v if v != "" else None) for k, v in case["record"].items()}
    assert clause.holds(record, TODAY) is case["holds"], case.get("note", "")


def test_every_documented_operator_is_covered_by_the_table() -> None:
    covered = {normalise_operator(c["operator"]) for c in TABLE["cases"]}
    assert {normalise_operator(o) for o in OPERATORS} <= covered


def test_filters_or_clauses_and_with_an_explanation() -> None:
    filters, problems = compile_filters([
        Filter(name="sales staff", clauses=[
            Clause(attribute="Dept", operator="EQUALS", value="Sales"),
            Clause(attribute="Type", operator="EQUALS", value="Employee")]),
        Filter(name="contractors", clauses=[
            Clause(attribute="Type", operator="EQUALS", value="Contractor")]),
    ])
    assert problems == []
    assert explain_out_of_scope(filters, {"Dept": "Sales", "Type": "Employee"}, TODAY) is None
    assert explain_out_of_scope(filters, {"Dept": "HR", "Type": "Contractor"}, TODAY) is None
    reason = explain_out_of_scope(filters, {"Dept": "Sales", "Type": "Intern"}, TODAY)
    assert reason == ("out of scope — sales staff: Type EQUALS 'Employee' is false "
                      "(value 'Intern'); contractors: Type EQUALS 'Contractor' is false "
                      "(value 'Intern')")
    reason = explain_out_of_scope(filters, {"Type": "Intern"}, TODAY)
    assert reason is not None and "Dept EQUALS 'Sales' is false (value empty)" in reason


def test_bad_clauses_are_named_by_filter_and_position() -> None:
    _, problems = compile_filters([Filter(clauses=[
        Clause(attribute="A", operator="EQUALS"),
        Clause(attribute="B", operator="DATE_BEFORE", value="yesterday")])])
    assert problems == ["filter 1, clause 1: EQUALS needs a value",
                        "filter 1, clause 2: DATE BEFORE needs today, today+N, today-N or "
                        "yyyy-mm-dd, not 'yesterday'"]

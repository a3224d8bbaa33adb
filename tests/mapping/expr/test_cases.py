"""Runs every case in cases/*.yaml (the expression language's spec, as data).

A case file::

    given: {attribute: value, ...}      # record shared by the cases (optional)
    now: "2025-07-30T00:00:00Z"         # what Now() sees (optional)
    params: {NAME: value}               # mapping parameters (optional)
    domain: contoso.com                 # DefaultDomain() (optional)
    taken: [values already in use]      # for SelectUniqueValue (optional)
    cases:
      - expr: 'Left("John Doe", 3)'
        given: {...}                    # merged over the file's record; also now/params/...
        result: "Joh"                   # or: error / compile_error (substring of the
                                        # message), match (regex, full match), ignored: true,
                                        # ignored_object: true
        note: "why, where from"         # free text
        repeat: 20                      # evaluate this many times (random functions)
        references: [...]               # optional checks of the Expression's properties
        redacted: true
        uses_unique: true

Set EXPR_CASES=<file stem> to run one file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from connector.errors import EvaluationError, MappingError
from connector.mapping.expr import (
    IGNORE,
    IGNORE_OBJECT,
    EvalContext,
    StubDirectory,
    compile_expression,
)

CASES = Path(__file__).parent / "cases"
OUTCOMES = {"result", "error", "compile_error", "match", "ignored", "ignored_object"}
KEYS = OUTCOMES | {
    "expr",
    "given",
    "now",
    "params",
    "domain",
    "taken",
    "note",
    "repeat",
    "references",
    "parameters",
    "redacted",
    "uses_unique",
}
DEFAULT_NOW = "2025-07-30T00:00:00Z"


def _load() -> Iterator[Any]:
    only = os.environ.get("EXPR_CASES")
    for path in sorted(CASES.glob("*.yaml")):
        if only and path.stem != only:
            continue
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for index, case in enumerate(document["cases"]):
            yield pytest.param(document, case, id=f"{path.stem}::{index}")


def _record(document: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    record = {**(document.get("given") or {}), **(case.get("given") or {})}
    for name, value in record.items():
        ok = (
            value is None
            or isinstance(value, str)
            or (isinstance(value, list) and all(isinstance(item, str) for item in value))
        )
        assert ok, f"quote the value of {name!r} in the YAML: {value!r}"
    return record


def _context(document: dict[str, Any], case: dict[str, Any]) -> EvalContext:
    def pick(key: str, default: Any) -> Any:
        return case.get(key, document.get(key, default))

    now = datetime.fromisoformat(pick("now", DEFAULT_NOW).replace("Z", "+00:00"))
    directory = StubDirectory(pick("domain", "contoso.com"), set(pick("taken", [])))
    return EvalContext(now=now, params=pick("params", {}), directory=directory)


@pytest.mark.parametrize(("document", "case"), list(_load()))
def test_case(document: dict[str, Any], case: dict[str, Any]) -> None:
    assert set(case) <= KEYS, f"unknown keys {set(case) - KEYS}"
    outcomes = set(case) & OUTCOMES
    assert len(outcomes) == 1, f"a case needs exactly one of {sorted(OUTCOMES)}"
    if "compile_error" in case:
        with pytest.raises(MappingError) as caught:
            compile_expression(case["expr"])
        assert not isinstance(caught.value, EvaluationError)
        error = caught.value
        assert case["compile_error"] in f"{error.message}\n{error}"
        return
    expression = compile_expression(case["expr"])
    for flag in ("references", "parameters"):
        if flag in case:
            assert getattr(expression, flag) == frozenset(case[flag])
    for flag in ("redacted", "uses_unique"):
        if flag in case:
            assert getattr(expression, flag) is case[flag]
    record, context = _record(document, case), _context(document, case)
    for _ in range(case.get("repeat", 1)):
        if "error" in case:
            with pytest.raises(EvaluationError) as failed:
                expression.evaluate(record, context)
            assert case["error"] in str(failed.value)
            assert failed.value.position is not None
            continue
        value = expression.evaluate(record, context)
        if "ignored" in case:
            assert value is IGNORE
        elif "ignored_object" in case:
            assert value is IGNORE_OBJECT
        elif "match" in case:
            assert isinstance(value, str), value
            assert re.fullmatch(case["match"], value), value
        else:
            assert value == case["result"]
            assert type(value) is type(case["result"])

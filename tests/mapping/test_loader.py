"""Loading a mapping: every problem found at load time, all reported at once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from connector.errors import ConfigError, MappingError
from connector.mapping import StubDirectory, compile_mapping_text, load_mapping

NOW = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)

MINIMAL = """
source: {key: ID}
attributes:
  employeeId: {source: ID}
"""


def problems(text: str) -> list[MappingError]:
    with pytest.raises(MappingError) as info:
        compile_mapping_text(text, file="m.yaml")
    return info.value.errors or [info.value]


def test_minimal_mapping_compiles_with_defaults() -> None:
    mapping = compile_mapping_text(MINIMAL, file="m.yaml")
    assert mapping.key == "ID"
    assert mapping.matching == ("employeeId",)
    assert mapping.required_columns == ("ID",)
    assert mapping.scope == () and mapping.leaver is None and mapping.manager_column is None
    assert mapping.partial is False


def test_every_problem_is_reported_with_file_rule_and_caret() -> None:
    found = problems("""
source: {key: ID}
parameters: {domain: contoso.com}
attributes:
  employeeId: {source: ID}
  givenName: {expression: 'ToLowr([First])'}
  surname: {expression: 'Left([Last], 1, 2)'}
  displayName: {expression: 'Join(" ", [First]'}
  mail: {expression: 'Join("@", [Alias], [%domian%])'}
  manager: {source: Boss}
  jobTitel: {source: Title}
""")
    text = "\n".join(p.detailed() for p in found)
    assert len(found) == 6
    assert "m.yaml › attributes.givenName › 1:1" in text and "did you mean ToLower?" in text
    assert "m.yaml › attributes.surname" in text and "Left" in text
    assert "m.yaml › attributes.displayName › 1:18" in text
    assert "unknown parameter [%domian%]" in text
    assert "'manager' is read-only" in text and "manager:` section" in text
    assert "'jobTitel' is not a user property" in text and "did you mean 'jobTitle'" in text
    caret_lines = [line for line in text.splitlines() if line.strip() == "^"]
    assert caret_lines, "each expression problem draws a caret under its spot"


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("source: {key: ID}\nattributes:\n  employeeId: {source: ID, constant: x}\n",
         "exactly one of source, constant or expression (it has source, constant)"),
        ("source: {key: ID}\nattributes:\n  employeeId: {sorce: ID}\n", "unknown key"),
        ("source: {key: ID}\nattributes:\n  employeeId: {source: ID, apply: sometimes}\n",
         "'always' or 'on_create'"),
        ("source: {}\nattributes:\n  employeeId: {source: ID}\n", "Field required"),
        ("source: {key: ID}\nattributes: {}\n", "at least 1 item"),
        ("source: {key: ID}\nmatching: [mail]\nattributes:\n  employeeId: {source: ID}\n",
         "matching attribute 'mail' has no rule"),
        ("source: {key: ID}\nattributes:\n  employeeId: {source: ID, apply: on_create}\n",
         "must apply always"),
        ("source: {key: ID}\nscope:\n  - clauses: [{attribute: A, operator: LIKE, value: x}]\n"
         "attributes:\n  employeeId: {source: ID}\n", "unknown operator 'LIKE'"),
        ("source: {key: ID}\nscope:\n  - clauses: [{attribute: A, operator: REGEX MATCH, "
         "value: '(x'}]\nattributes:\n  employeeId: {source: ID}\n", "is not valid"),
        ("source: {key: ID}\nscope:\n  - clauses: [{attribute: A, operator: Greater_Than, "
         "value: ten}]\nattributes:\n  employeeId: {source: ID}\n", "compares integers"),
        ("source: {key: ID}\nscope:\n  - clauses: [{attribute: A, operator: IS NULL, "
         "value: x}]\nattributes:\n  employeeId: {source: ID}\n", "IS NULL takes no value"),
        ("source: {key: ID}\nleaver: {when: {}}\nattributes:\n  employeeId: {source: ID}\n",
         "exactly one of filters or expression"),
        ("source: {key: ID\nattributes: x\n", "YAML syntax error: a '{' opened at line 1"),
        ("- just\n- a list\n", "must be a YAML mapping"),
    ],
)
def test_shape_and_name_problems(yaml_text: str, expected: str) -> None:
    text = "\n".join(p.detailed() for p in problems(yaml_text))
    assert expected in text


def test_parameters_can_be_overridden_but_not_invented() -> None:
    text = MINIMAL.replace("attributes:", "parameters: {domain: contoso.com}\nattributes:")
    mapping = compile_mapping_text(text, params={"domain": "fabrikam.com"})
    assert mapping.params == {"domain": "fabrikam.com"}
    with pytest.raises(ConfigError, match="unknown parameter 'domian'.*its parameters: domain"):
        compile_mapping_text(text, params={"domian": "x"})


def test_yaml_scalars_become_text() -> None:
    text = MINIMAL + "  companyName: {constant: 2024}\n  accountEnabled: {constant: true}\n"
    mapping = compile_mapping_text(text + "parameters: {year: 2024}\n")
    context = mapping.context(now=NOW, directory=StubDirectory())
    assert mapping.rules["companyName"].evaluate({}, context) == "2024"
    assert mapping.rules["accountEnabled"].evaluate({}, context) == "True"
    assert mapping.params == {"year": "2024"}


def test_required_columns_come_from_every_rule_scope_leaver_and_manager() -> None:
    mapping = compile_mapping_text("""
source: {key: ID, optional_columns: [Nick]}
scope:
  - clauses: [{attribute: Type, operator: EQUALS, value: Employee}]
attributes:
  employeeId: {source: ID}
  givenName: {expression: 'Coalesce([Nick], [First])'}
  companyName: {constant: Contoso}
leaver:
  when: {expression: 'IIF([Status] = "Gone", "True", "False")'}
manager: {source: Boss}
""")
    assert mapping.required_columns == ("ID", "Boss", "First", "Status", "Type")
    assert mapping.optional_columns == ("Nick",)


def test_missing_mapping_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_mapping(tmp_path / "nope.yaml")


def test_managed_set_filters_name_graph_properties() -> None:
    mapping = compile_mapping_text(MINIMAL + "managed:\n  - clauses: [{attribute: companyName, "
                                   "operator: EQUALS, value: Contoso}]\n")
    assert [c.describe() for f in mapping.managed for c in f.clauses] == [
        "companyName EQUALS 'Contoso'"]
    text = "\n".join(p.detailed() for p in problems(
        MINIMAL + "managed:\n  - clauses: [{attribute: compnyName, operator: EQUALS, "
                  "value: x}]\n"))
    assert "did you mean 'companyName'" in text

"""The mapping's ``groups:`` section: compiled at load with every problem listed, and the
groups each record belongs to."""

from __future__ import annotations

import datetime as dt

import pytest

from connector.core.records import MappedRecord, Record
from connector.errors import MappingError
from connector.mapping import StubDirectory, compile_mapping_text
from connector.mapping.groups import slug

NOW = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)

BASE = """
source: {key: ID}
attributes:
  employeeId: {source: ID}
manager: {source: Boss}
"""

GROUPS = BASE + """
groups:
  marker: hr-
  rules:
    - name: departments
      value: '[Dept]'
      displayName: 'Dept - {value}'
      mailNickname: 'hr-dept-{value}'
      description: 'Everyone in {value}'
    - name: teams
      value: 'Split([Teams], ";")'
      displayName: 'Team {value}'
      mailNickname: 'hr-team-{value}'
    - name: contractors
      when:
        filters:
          - clauses: [{attribute: Type, operator: EQUALS, value: Contractor}]
      displayName: All contractors
      mailNickname: hr-contractors
      exclusive: true
    - name: managers
      managers: true
      displayName: People managers
      mailNickname: hr-managers
      remove_leavers: false
      delete_empty_after_days: 30
"""


def problems(text: str) -> list[str]:
    with pytest.raises(MappingError) as info:
        compile_mapping_text(text, file="m.yaml")
    return [f"{e.rule}: {e.message}" for e in (info.value.errors or [info.value])]


def memberships(text: str, rows: list[dict[str, str]]) -> tuple[dict[int, list[str]],
                                                               list[MappedRecord]]:
    mapping = compile_mapping_text(text, file="m.yaml")
    assert mapping.groups is not None
    context = mapping.context(now=NOW, directory=StubDirectory())
    records = [Record(n + 2, values) for n, values in enumerate(rows)]
    mapped = [mapping.map_record(r, context) for r in records]
    found = mapping.groups.memberships(list(zip(records, mapped, strict=True)), context)
    return {row: [g.nickname for g in groups] for row, groups in found.items()}, mapped


def test_groups_compile_into_rules_the_plan_reads() -> None:
    mapping = compile_mapping_text(GROUPS, file="m.yaml")
    assert mapping.groups is not None and mapping.groups.marker == "hr-"
    rules = {r.name: r for r in mapping.groups.group_rules}
    assert rules["departments"].declares("hr-dept-sales")
    assert not rules["departments"].declares("hr-dept-") and not rules["teams"].declares("hr-x")
    assert rules["contractors"].declares("HR-Contractors") and rules["contractors"].exclusive
    assert rules["managers"].remove_leavers is False
    assert rules["managers"].delete_empty_after_days == 30
    # Columns the group rules read are columns the source must have.
    assert {"Dept", "Teams", "Type", "Boss"} <= set(mapping.required_columns)


def test_each_record_gets_the_groups_of_its_values_filters_and_reports() -> None:
    rows = [{"ID": "1", "Dept": "Identity & Access", "Teams": "Red;Blue", "Type": "Employee"},
            {"ID": "2", "Dept": "Sales", "Teams": "", "Type": "Contractor", "Boss": "1"},
            {"ID": "3", "Dept": "", "Type": "Employee", "Boss": "1"}]
    found, _ = memberships(GROUPS, rows)
    assert found == {2: ["hr-dept-identity-access", "hr-team-red", "hr-team-blue",
                         "hr-managers"],
                     3: ["hr-dept-sales", "hr-contractors"]}


def test_records_share_one_group_object_per_value() -> None:
    rows = [{"ID": "1", "Dept": "Sales"}, {"ID": "2", "Dept": "Sales"}]
    mapping = compile_mapping_text(GROUPS, file="m.yaml")
    assert mapping.groups is not None
    context = mapping.context(now=NOW, directory=StubDirectory())
    records = [Record(n + 2, {"Teams": "", "Type": "", **v}) for n, v in enumerate(rows)]
    pairs = [(r, mapping.map_record(r, context)) for r in records]
    found = mapping.groups.memberships(pairs, context)
    assert found[2][0] is found[3][0]
    assert found[2][0].display_name == "Dept - Sales"
    assert found[2][0].description == "Everyone in Sales"


def test_a_rule_that_fails_on_a_record_makes_it_an_error() -> None:
    text = BASE + """
groups:
  marker: hr-
  rules:
    - name: cohorts
      value: 'FormatDateTime([Start], , "yyyy-MM-dd", "yyyy")'
      displayName: 'Cohort {value}'
      mailNickname: 'hr-cohort-{value}'
"""
    found, mapped = memberships(text, [{"ID": "1", "Start": "2024-02-30"},
                                       {"ID": "2", "Start": "2024-02-01"}])
    assert found == {3: ["hr-cohort-2024"]}
    assert mapped[0].status == "error"
    assert mapped[0].errors[0].reason.startswith("groups.cohorts: ")


def test_nicknames_are_slugs_within_graphs_64_characters() -> None:
    assert slug("Identity & Access") == "identity-access"
    assert slug("Ærø Ølstykke") == "aeroe-oelstykke"  # Entra's NormalizeDiacritics
    assert slug("FP&A") == "fp-a"
    assert len(slug("???")) == 8  # nothing usable left: a hash of the value
    long_value = "Department of " + "very " * 20 + "long names"
    found, _ = memberships(GROUPS, [{"ID": "1", "Dept": long_value + " A"},
                                    {"ID": "2", "Dept": long_value + " B"}])
    first, second = found[2][0], found[3][0]
    assert len(first) == len(second) == 64 and first != second
    assert first.startswith("hr-dept-department-of-very-very")


def test_every_problem_in_the_section_is_listed_at_load() -> None:
    found = problems(BASE.replace("manager: {source: Boss}\n", "") + """
groups:
  marker: "hr "
  rules:
    - name: a
      value: '[Dept'
      displayName: 'Dept'
      mailNickname: 'dept.{value}'
    - name: a
      displayName: 'Fixed {value}'
      mailNickname: 'hr-fixed'
      description: 'About {nothing}'
    - name: m
      managers: true
      displayName: Managers
      mailNickname: hr-managers
      colour: blue
""")
    assert found == [
        "groups.rules.2.colour: unknown key (misspelt?)",
    ]
    found = problems(BASE.replace("manager: {source: Boss}\n", "") + """
groups:
  marker: hr-
  rules:
    - name: a
      value: '[Dept'
      displayName: 'Dept'
      mailNickname: 'dept.{value}'
    - name: a
      displayName: 'Fixed {value}'
      mailNickname: 'hr-fixed'
      description: 'About {nothing}'
    - name: m
      managers: true
      displayName: Managers
      mailNickname: hr-managers
    - name: long
      value: '[Dept]'
      displayName: '{value}'
      mailNickname: 'hr-a-very-long-prefix-that-leaves-no-room-for-the-value-{value}'
""")
    assert found == [
        "groups.a.displayName: a rule with value: names its groups with {value}",
        "groups.a.mailNickname: 'dept.' holds characters a group mailNickname may not: '.'",
        "groups.a.mailNickname: must start with the marker 'hr-' (only groups with it are "
        "the connector's)",
        "groups.a.value: this attribute name is never closed; add the closing ]",
        "groups.a: two rules have this name",
        "groups.a.description: 'About {nothing}': the only placeholder is {value}, once",
        "groups.a.displayName: {value} needs a value: expression",
        "groups.m: managers: true needs the mapping's manager: section (who manages whom)",
        "groups.long.mailNickname: leaves too little of Graph's 64 characters for the value",
    ]
    assert problems(BASE + """
groups:
  marker: "hr "
  rules:
    - {name: x, displayName: X, mailNickname: "hr x"}
""")[0] == "groups.marker: marker: 'hr ' holds characters a group mailNickname may not: ' '"


def test_the_shipped_default_mapping_keeps_department_and_country_groups() -> None:
    from tests.helpers import ROOT

    text = (ROOT / "mappings" / "default.yaml").read_text("utf-8")
    found, _ = memberships(text, [{"EmployeeID": "000001", "FirstName": "Ana", "LastName": "Li",
                                   "Department": "FP&A", "CountryCode": "UK",
                                   "Status": "Active", "WorkerType": "Employee",
                                   "HireDate": "2020-01-01"}])
    assert found == {2: ["hr-dept-fp-a", "hr-country-gb"]}


def test_an_empty_cell_puts_nobody_in_a_group_as_a_missing_one_does() -> None:
    """Records are placed from their values as read: "" is null, as in the mapping's
    rules (no 'Dept - ' group, no team named by an empty part)."""
    placed, _ = memberships(GROUPS, [
        {"ID": "1", "Dept": "", "Teams": "", "Type": "", "Boss": ""},
        {"ID": "2", "Boss": ""},
        {"ID": "3", "Dept": "Sales", "Teams": "Red;", "Type": "Contractor", "Boss": ""}])
    assert placed.get(2, []) == placed.get(3, []) == []
    assert sorted(placed[4]) == ["hr-contractors", "hr-dept-sales", "hr-team-red"]

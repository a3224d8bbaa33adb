"""The mapping engine: desired users, defaults, on-create rules, leavers, errors."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from connector.core.records import MappedRecord, Record
from connector.mapping import StubDirectory, compile_mapping_text, nest, runner

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)

MAPPING = """
source: {key: ID, optional_columns: [Nick, Phone, Country]}
parameters: {domain: contoso.com}
scope:
  - name: staff
    clauses: [{attribute: Type, operator: NOT EQUALS, value: Intern}]
attributes:
  employeeId: {source: ID}
  givenName: {expression: 'Coalesce([Nick], [First])'}
  surname: {source: Last}
  displayName: {expression: 'Join(" ", Coalesce([Nick], [First]), [Last])'}
  userPrincipalName:
    apply: on_create
    expression: >-
      SelectUniqueValue(Join("@", ToLower(Join(".", [First], [Last])), [%domain%]),
                        Join("@", ToLower(Join(".", Mid([First], 1, 1), [Last])), [%domain%]))
  usageLocation: {source: Country, default: US}
  businessPhones: {source: Phone}
  mobilePhone: {expression: 'IgnoreFlowIfNullOrEmpty([Phone])'}
  employeeOrgData.division: {source: Division}
  employeeOrgData.costCenter: {constant: CC-1}
  employeeHireDate:
    expression: 'FormatDateTime([Hire], , "yyyy-MM-dd", "yyyy-MM-dd''T''HH:mm:ss''Z''")' 
  accountEnabled: {expression: 'IIF([Status] = "Active", "True", "False")'}
leaver:
  when:
    filters:
      - clauses: [{attribute: Status, operator: EQUALS, value: Gone}]
manager: {source: Boss}
"""


def record(row: int, **values: str) -> Record:
    base = {"ID": f"{row:03d}", "First": "Ann", "Last": "Lee", "Type": "Employee",
            "Status": "Active", "Hire": "2024-03-01", "Division": "R&D", "Boss": "001"}
    return Record(row=row, values={**base, **values})


def run(*records: Record, taken: set[str] | None = None) -> list[MappedRecord]:
    mapping = compile_mapping_text(MAPPING, file="m.yaml")
    context = mapping.context(now=NOW, directory=StubDirectory(taken=taken))
    return [mapping.map_record(r, context) for r in records]  # in order, as a run maps


def test_desired_user_in_graph_types() -> None:
    (mapped,) = run(record(2, Nick="Annie", Phone="+1 555 0100", Country="GB"))
    assert mapped.status == "mapped" and not mapped.errors
    assert mapped.attributes == {
        "employeeId": "002", "givenName": "Annie", "surname": "Lee", "displayName": "Annie Lee",
        "usageLocation": "GB", "businessPhones": ["+1 555 0100"], "mobilePhone": "+1 555 0100",
        "employeeOrgData.division": "R&D", "employeeOrgData.costCenter": "CC-1",
        "employeeHireDate": "2024-03-01T00:00:00Z", "accountEnabled": True,
    }
    assert mapped.on_create == {"userPrincipalName": "ann.lee@contoso.com"}
    assert mapped.defaults == {} and not mapped.empty
    assert mapped.manager_key == "001" and mapped.leaver is False
    assert nest(mapped.for_create())["employeeOrgData"] == {"division": "R&D",
                                                            "costCenter": "CC-1"}


def test_empty_values_defaults_and_ignored_attributes() -> None:
    (mapped,) = run(record(2))
    assert mapped.defaults == {"usageLocation": "US"}  # a default applies on create only
    assert "usageLocation" not in mapped.attributes
    assert list(mapped.empty) == ["businessPhones"]  # empty without a default: the plan decides
    assert "mobilePhone" not in mapped.attributes and "mobilePhone" not in mapped.empty


def test_two_people_with_the_same_name_get_different_upns() -> None:
    first, second, third = run(record(2), record(3), record(4), taken={"A.LEE@contoso.com"})
    assert first.on_create["userPrincipalName"] == "ann.lee@contoso.com"
    assert second.status == "error"
    assert "ann.lee@contoso.com" in second.errors[0].reason
    assert "a.lee@contoso.com" in second.errors[0].reason
    assert third.status == "error"


def test_out_of_scope_records_are_skipped_with_the_reason() -> None:
    (mapped,) = run(record(2, Type="Intern"))
    assert mapped.status == "skipped"
    assert mapped.reason == "out of scope — staff: Type NOT EQUALS 'Intern' is false " \
        "(value 'Intern')"
    assert mapped.attributes == {}


def test_a_failing_rule_is_a_record_error_naming_rule_row_and_key() -> None:
    good, bad, worse = run(record(2), record(3, Hire="03/01/2024"),
                           record(4, Country="United Kingdom", First="Bo"))
    assert good.status == "mapped"
    assert bad.status == "error"
    (problem,) = bad.errors
    assert (problem.row, problem.column, problem.key) == (3, "employeeHireDate", "003")
    assert "does not match the date format" in problem.reason
    assert worse.status == "error"
    assert "usageLocation must be a two-letter ISO 3166-1 code" in worse.errors[0].reason
    assert worse.attributes["surname"] == "Lee"  # the other rules still ran


def test_leavers_are_flagged() -> None:
    leaver, active = run(record(2, Status="Gone"), record(3))
    assert leaver.leaver is True and leaver.status == "mapped"
    assert leaver.attributes["accountEnabled"] is False
    assert active.leaver is False


@pytest.mark.parametrize(("limit", "sample"), [(5, 10_000), (10_000, 50), (10_000, 10_000)])
def test_memoised_rules_give_the_same_results_whatever_the_cache_does(
    monkeypatch: pytest.MonkeyPatch, limit: int, sample: int
) -> None:
    # A full cache, a cache switched off for low reuse, and a plain cache must all agree.
    monkeypatch.setattr(runner, "MEMO_LIMIT", limit)
    monkeypatch.setattr(runner, "MEMO_SAMPLE", sample)
    records = [record(i, Hire=f"20{i % 30:02d}-01-0{1 + i % 9}",
                      Status="Active" if i % 3 else "Leave") for i in range(2, 400)]
    mapped = run(*records)
    assert [m.attributes["employeeHireDate"] for m in mapped] == [
        f"20{i % 30:02d}-01-0{1 + i % 9}T00:00:00Z" for i in range(2, 400)]
    assert [m.attributes["accountEnabled"] for m in mapped] == [
        bool(i % 3) for i in range(2, 400)]


@pytest.mark.parametrize(("value", "problem"), [
    ("x" * 65, "givenName holds at most 64 characters"),
])
def test_graph_length_limits_are_checked(value: str, problem: str) -> None:
    (mapped,) = run(record(2, First=value))
    assert any(problem in p.reason for p in mapped.errors)


def test_a_record_edited_in_place_is_mapped_from_its_new_values() -> None:
    # Records are read without a copy, and calls several rules share are computed once
    # a record: mapping the same values again after an edit must not answer from before.
    mapping = compile_mapping_text(MAPPING, file="m.yaml")
    context = mapping.context(now=NOW, directory=StubDirectory())
    row = record(2, Nick="Annie")
    first = mapping.map_record(row, context)
    row.values["Nick"] = ""
    second = mapping.map_record(row, context)
    assert (first.attributes["givenName"], first.attributes["displayName"]) == (
        "Annie", "Annie Lee")
    assert (second.attributes["givenName"], second.attributes["displayName"]) == (
        "Ann", "Ann Lee")
    assert row.values["Nick"] == ""  # read, never changed


def test_repeated_column_values_share_one_string_until_a_column_proves_distinct(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "SHARE_LIMIT", 5)
    monkeypatch.setattr(runner, "CHECK_EVERY", 10)
    # Each record gets its own string objects, as a reader makes them.
    records = [record(i, Division="".join(["R&", "D"]), Last="".join(["Lee", str(i)]))
               for i in range(2, 60)]
    mapped = run(*records)
    divisions = {id(m.attributes["employeeOrgData.division"]) for m in mapped}
    assert len(divisions) == 1
    assert [m.attributes["surname"] for m in mapped] == [f"Lee{i}" for i in range(2, 60)]


def test_create_rules_later_give_what_mapping_at_once_gives() -> None:
    mapping = compile_mapping_text(MAPPING, file="m.yaml")
    rows = [record(2), record(3, Nick="Bo", Phone="+1 555 0100"), record(4, First="Al"),
            record(5, Type="Intern"), record(6, Country="GB")]
    together = mapping.context(now=NOW, directory=StubDirectory())
    at_once = [mapping.map_record(r, together) for r in rows]
    context = mapping.context(now=NOW, directory=StubDirectory())
    later = [mapping.map_record(r, context, create_rules=False) for r in rows]
    for mapped in later:
        if mapped.status == "mapped":
            mapping.finish_create(None, mapped, context)
    assert later == at_once


def test_generated_rules_keep_names_and_columns_as_data() -> None:
    """Rules run as generated Python; a column name holding a line break and code is still
    only a name (the code would raise if it ran, and the text shows it only as a repr)."""
    column = "Dept\nraise SystemExit('ran')"
    text = yaml.safe_dump({"source": {"key": "ID"}, "attributes": {
        "employeeId": {"source": "ID"}, "department": {"source": column}}})
    mapping = compile_mapping_text(text, file="m.yaml")
    context = mapping.context(now=NOW, directory=StubDirectory())
    mapped = mapping.map_record(Record(row=2, values={"ID": "1", column: " Sales "}), context)
    assert mapped.status == "mapped" and not mapped.errors
    assert mapped.attributes["department"] == " Sales "
    source = mapping._runs[-1].source
    assert "department" in source and "\nraise" not in source

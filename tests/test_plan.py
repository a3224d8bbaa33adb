"""The plan: every action decided from desired against current users, purely."""

from __future__ import annotations

import datetime as dt
from typing import Any

from connector.core.plan import Plan, Policy, build_plan, match_users
from connector.core.plan.safety import Thresholds, check_safety
from connector.core.records import MappedRecord
from connector.errors import Problem

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
POLICY = Policy(matching=("employeeId",), prehire_days=14)


def desired(row: int, key: str, *, manager: str | None = None, leaver: bool = False,
            status: str = "mapped", **attributes: Any) -> MappedRecord:
    values = {"employeeId": key, "displayName": f"User {key}", "accountEnabled": True,
              "jobTitle": "Engineer", **attributes}
    return MappedRecord(row=row, key=key, status=status,  # type: ignore[arg-type]
                        attributes={k: v for k, v in values.items() if v is not None},
                        on_create={"userPrincipalName": f"u{key}@contoso.com"},
                        leaver=leaver, manager_key=manager)


def user(uid: str, key: str | None, *, enabled: bool = True, manager: str | None = None,
         **attributes: Any) -> dict[str, Any]:
    return {"id": uid, "employeeId": key, "displayName": f"User {key}", "accountEnabled": enabled,
            "jobTitle": "Engineer", "userPrincipalName": f"u{key}@contoso.com",
            "manager": manager, **attributes}


def plan_for(records: list[MappedRecord], current: list[dict[str, Any]],
             policy: Policy = POLICY) -> Plan:
    matches, problems = match_users(records, current, policy.matching)
    return build_plan(records, current, matches, policy=policy, now=NOW,
                      match_problems=problems)


def actions(plan: Plan) -> list[tuple[str, str]]:
    return [(c.action, c.key) for c in plan.changes]


def test_first_load_creates_everyone_then_sets_managers() -> None:
    plan = plan_for([desired(2, "1"), desired(3, "2", manager="1")], [])
    assert actions(plan) == [("create", "1"), ("create", "2"), ("manager", "2")]
    create = plan.changes[0]
    assert create.body["userPrincipalName"] == "u1@contoso.com"
    assert create.attributes["jobTitle"] == (None, "Engineer")
    manager = plan.changes[2]
    assert (manager.manager_key, manager.manager_id) == ("1", None)  # id known after create


def test_unchanged_input_plans_nothing() -> None:
    plan = plan_for([desired(2, "1"), desired(3, "2", manager="1")],
                    [user("a", "1"), user("b", "2", manager="a")])
    assert actions(plan) == [("unchanged", "1"), ("unchanged", "2")]
    assert plan.writes == []


def test_update_writes_only_what_differs_and_compares_as_graph_stores() -> None:
    record = desired(2, "1", jobTitle="Lead", employeeHireDate="2024-03-01T00:00:00Z",
                     businessPhones=["+1 555"], **{"employeeOrgData.division": "R&D"})
    del record.attributes["displayName"]
    record.empty = ["mobilePhone", "displayName"]  # Graph cannot clear displayName
    current = user("a", "1", employeeHireDate="2024-03-01T00:00:00+00:00",
                   businessPhones=["+1 555"], mobilePhone="+1 777", displayName="Old",
                   employeeOrgData={"division": "Sales", "costCenter": "CC-9"})
    (change,) = plan_for([record], [current]).changes
    assert change.action == "update"
    assert change.attributes == {"jobTitle": ("Engineer", "Lead"),
                                 "employeeOrgData.division": ("Sales", "R&D"),
                                 "mobilePhone": ("+1 777", None)}
    assert change.body == {"jobTitle": "Lead", "mobilePhone": None,
                           "employeeOrgData": {"division": "R&D", "costCenter": "CC-9"}}


def test_leavers_are_disabled_never_created_and_never_deleted_by_default() -> None:
    plan = plan_for([desired(2, "1", leaver=True, accountEnabled=False),
                     desired(3, "2", leaver=True, accountEnabled=False),
                     desired(4, "3", leaver=True, accountEnabled=False)],
                    [user("a", "1"), user("c", "3", enabled=False)])
    assert actions(plan) == [("disable", "1"), ("skipped", "2"), ("unchanged", "3")]
    assert plan.changes[0].body == {"accountEnabled": False}
    assert plan.changes[1].reason == "leaver with no account: not created"


def test_leavers_are_deleted_after_the_grace_period_when_the_mapping_says_so() -> None:
    record = desired(2, "1", leaver=True, accountEnabled=False,
                     employeeLeaveDateTime="2026-10-01T23:59:59Z")
    policy = Policy(delete_after_days=30)
    current = [user("a", "1", enabled=False, employeeLeaveDateTime="2026-10-01T23:59:59Z")]
    assert actions(plan_for([record], current, policy)) == [("delete", "1")]
    record.attributes["employeeLeaveDateTime"] = "2026-11-01T23:59:59Z"
    current[0]["employeeLeaveDateTime"] = "2026-11-01T23:59:59Z"
    assert actions(plan_for([record], current, policy)) == [("unchanged", "1")]


def test_missing_from_a_full_export_is_disabled_but_not_from_a_partial_feed() -> None:
    current = [user("a", "1"), user("b", "2"), user("c", None, userPrincipalName="admin@x"),
               user("d", "4", enabled=False)]
    plan = plan_for([desired(2, "1")], current)
    assert actions(plan) == [("unchanged", "1"), ("disable", "2")]
    assert plan.changes[1].reason == "not in the HR export (a full export)"
    assert plan.managed == 3  # users whose matching attribute is set
    partial = plan_for([desired(2, "1")], current, Policy(full_export=False))
    assert actions(partial) == [("unchanged", "1")]


def test_a_record_in_error_leaves_its_user_alone() -> None:
    bad = MappedRecord(row=2, key="2", status="error",
                       errors=[Problem("key '2' is used on 2 rows", row=2, key="2")])
    plan = plan_for([desired(3, "1"), bad], [user("a", "1"), user("b", "2")])
    assert actions(plan) == [("unchanged", "1"), ("error", "2"), ("held", "2")]
    held = plan.changes[2]
    assert (held.user_id, held.held, held.attributes) == ("b", None, {})
    assert "key 2 is on row 2 with errors" in (held.reason or "")
    assert plan.writes == []


def test_rehire_enables_and_out_of_scope_disables() -> None:
    skipped = MappedRecord(row=3, key="2", status="skipped", reason="out of scope — staff")
    plan = plan_for([desired(2, "1"), skipped], [user("a", "1", enabled=False), user("b", "2")])
    assert actions(plan) == [("enable", "1"), ("disable", "2")]
    assert plan.changes[0].reason == "rehire: the same key is back"
    assert plan.changes[1].reason == "out of scope — staff"


def test_prehires_are_created_only_within_the_window() -> None:
    soon = desired(2, "1", accountEnabled=False, employeeHireDate="2026-12-10T00:00:00Z")
    later = desired(3, "2", accountEnabled=False, employeeHireDate="2026-12-11T00:00:00Z")
    plan = plan_for([soon, later], [])
    assert actions(plan) == [("create", "1"), ("skipped", "2")]
    assert plan.changes[1].reason == ("pre-hire starting 2026-12-11: created on 2026-11-27, "
                                      "14 days before")


def test_managers_change_clear_and_warn() -> None:
    records = [desired(2, "1"), desired(3, "2", manager="1"), desired(4, "3", manager="9"),
               desired(5, "4", manager="4"), desired(6, "5", manager="6"),
               desired(7, "6", manager="5"), desired(8, "7")]
    current = [user("a", "1", manager="b"), user("b", "2"), user("c", "3"), user("d", "4"),
               user("e", "5"), user("f", "6"), user("g", "7", manager="a")]
    plan = plan_for(records, current)
    managers = [(c.key, c.manager_key, c.manager_id, c.attributes["manager"])
                for c in plan.changes if c.action == "manager"]
    assert managers == [("1", None, None, ("2", None)), ("2", "1", "a", (None, "1")),
                        ("7", None, None, ("1", None))]
    reasons = sorted(w.reason for w in plan.warnings)
    assert any("loop (5 -> 6 -> 5)" in r or "loop (6 -> 5 -> 6)" in r for r in reasons)
    assert any("'9' matches no record" in r for r in reasons)
    assert any("their own manager" in r for r in reasons)


def test_ambiguous_matches_are_record_errors() -> None:
    plan = plan_for([desired(2, "1"), desired(3, "1")], [user("a", "1")])
    assert actions(plan) == [("unchanged", "1"), ("error", "1")]
    assert "matches the same user as row 2" in (plan.changes[1].reason or "")
    plan = plan_for([desired(2, "1")], [user("a", "1"), user("b", "1")])
    assert plan.changes[0].action == "error"
    assert "2 users have employeeId '1'" in (plan.changes[0].reason or "")


def test_matching_precedence_falls_back_to_the_next_attribute() -> None:
    record = desired(2, "1")
    current = [user("a", None, userPrincipalName="U1@contoso.com")]
    policy = Policy(matching=("employeeId", "userPrincipalName"))
    record.attributes["userPrincipalName"] = "u1@contoso.com"
    (change,) = plan_for([record], current, policy).changes
    assert (change.action, change.user_id) == ("update", "a")
    assert change.attributes["employeeId"] == (None, "1")


def test_safety_thresholds() -> None:
    current = [user(str(i), str(i)) for i in range(100)]
    records = [desired(i + 2, str(i)) for i in range(85)]
    plan = plan_for(records, current)
    assert plan.count("disable") == 15
    assert check_safety(plan, Thresholds()) == [
        "15 disables/deletes are 15.0% of the 100 managed users, over the limit of 10% "
        "(--max-disables-percent)"]
    assert check_safety(plan, Thresholds(max_disable_percent=20)) == []
    assert any("exceed the limit of 10" in r for r in
               check_safety(plan, Thresholds(max_disables=10, max_disable_percent=50)))
    truncated = plan_for(records[:30], current)
    assert any("truncated" in r for r in check_safety(truncated, Thresholds(
        max_disables=1000, max_disable_percent=100, max_change_percent=100)))
    first_load = plan_for(records, [])
    assert check_safety(first_load, Thresholds()) == []  # creates never count


def test_a_managed_set_from_the_mapping_keeps_everyone_else_untouched() -> None:
    def contoso_only(user: dict[str, Any]) -> bool:
        return user.get("companyName") == "Contoso"

    policy = Policy(managed=contoso_only)  # type: ignore[arg-type]
    current = [user("a", "1", companyName="Contoso"), user("b", "2", companyName="Fabrikam"),
               user("c", "3", companyName="Fabrikam")]
    plan = plan_for([desired(2, "1", jobTitle="Lead"), desired(3, "2", jobTitle="Lead")],
                    current, policy)
    # "3" is missing from the export but outside the managed set: not disabled; "2" matches
    # a user outside the set: reported, not updated.
    assert actions(plan) == [("update", "1"), ("skipped", "2")]
    assert "outside the mapping's managed set" in (plan.changes[1].reason or "")
    assert plan.managed == 1


def test_a_manager_without_a_user_is_named_for_what_it_is() -> None:
    out_of_scope = desired(3, "20", status="skipped")
    out_of_scope.reason = "out of scope — employees only: WorkerType EQUALS 'Employee' is false"
    records = [desired(2, "1", manager="20"), out_of_scope,
               desired(4, "2", manager="21"), desired(5, "21", leaver=True),
               desired(6, "3", manager="22"),
               desired(7, "22", employeeHireDate="2027-06-01T00:00:00Z"),
               desired(8, "4", manager="99")]
    plan = plan_for(records, [])
    reasons = {w.key: w.reason for w in plan.warnings}
    assert reasons["1"] == ("manager key '20' names a record that is out of scope (employees "
                            "only: WorkerType EQUALS 'Employee' is false), with no user; the "
                            "manager is not set")
    assert reasons["2"] == ("manager key '21' names a leaver (row 5), who has no user; the "
                            "manager is not set")
    assert reasons["3"].startswith("manager key '22' names row 7, which has no user yet "
                                   "(pre-hire starting 2027-06-01")
    assert reasons["4"] == "manager key '99' matches no record and no user; the manager is " \
                           "not set"

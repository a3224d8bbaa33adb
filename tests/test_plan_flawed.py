"""A flawed row never causes a write to someone else, and the plan never edits its input."""

from __future__ import annotations

import copy

from connector.core.plan import Policy, build_plan, match_users
from connector.core.records import MappedRecord
from connector.errors import Problem
from tests.test_plan import NOW, POLICY, actions, desired, plan_for, user


def error_row(row: int, key: str, reason: str) -> MappedRecord:
    return MappedRecord(row=row, key=key, status="error",
                        errors=[Problem(reason, row=row, key=key or None)])


def people(count: int) -> list[dict[str, object]]:
    return [user(f"u{i}", str(i)) for i in range(1, count + 1)]


def test_a_blank_key_holds_every_disable_for_absence() -> None:
    # Row 4 is person 3 with the key left blank: person 3 looks missing, and so does 4
    # (really gone). Neither is disabled: who row 4 is cannot be known.
    records = [desired(2, "1"), desired(3, "2"), error_row(4, "", "empty key")]
    plan = plan_for(records, people(4))
    assert actions(plan) == [("unchanged", "1"), ("unchanged", "2"), ("error", ""),
                             ("held", "3"), ("held", "4")]
    assert plan.writes == []
    held = plan.changes[3]
    assert held.held == "disable" and held.body == {}
    assert held.attributes == {"accountEnabled": (True, False)}
    assert held.reason == (
        "not in the HR export (a full export); held: row 4 with no usable key (blank or "
        "repeated) could be this person, so nobody is disabled for being missing "
        "(--allow-absent-disables allows it for one run)")


def test_the_operator_can_allow_absence_disables_for_one_run() -> None:
    records = [desired(2, "1"), desired(3, "2"), error_row(4, "", "empty key")]
    plan = plan_for(records, people(4), Policy(allow_absent_disables=True))
    assert actions(plan) == [("unchanged", "1"), ("unchanged", "2"), ("error", ""),
                             ("disable", "3"), ("disable", "4")]


def test_a_key_mistyped_as_someone_elses_disables_nobody() -> None:
    # Person 3's row carries person 2's key: validation rejects both rows. Person 2 is
    # left alone (their key is on rows with errors); person 3 looks missing but is held.
    dup = "key '2' is used on 2 rows (3, 4)"
    records = [desired(2, "1"), error_row(3, "2", dup), error_row(4, "2", dup)]
    plan = plan_for(records, people(3))
    assert actions(plan) == [("unchanged", "1"), ("error", "2"), ("error", "2"),
                             ("held", "2"), ("held", "3")]
    assert [c.held for c in plan.changes[3:]] == [None, "disable"]
    assert "key 2 is on rows 3 and 4 with errors" in (plan.changes[3].reason or "")
    assert "rows 3 and 4 with no usable key" in (plan.changes[4].reason or "")
    assert plan.writes == []


def test_a_row_with_a_good_key_and_a_bad_date_holds_only_its_own_user() -> None:
    records = [desired(2, "1"), error_row(3, "2", "'31/02' is not a date")]
    plan = plan_for(records, people(3))
    assert actions(plan) == [("unchanged", "1"), ("error", "2"), ("held", "2"),
                             ("disable", "3")]
    assert [c.key for c in plan.writes] == ["3"]


def test_manager_links_a_flawed_row_would_cause_are_held() -> None:
    # 2 is on a row with errors; 3 names 2 as manager (held), 4 names 1 and has 2 as
    # manager today (a change away from 2: that is 4's own row, so it goes through).
    records = [desired(2, "1"), error_row(3, "2", "bad date"), desired(4, "3", manager="2"),
               desired(5, "4", manager="1"), desired(6, "5", manager="2")]
    current = [user("u1", "1"), user("u2", "2"), user("u3", "3"), user("u4", "4", manager="u2"),
               user("u5", "5", manager="u2")]
    plan = plan_for(records, current)
    links = [(c.action, c.key, c.held, c.manager_key) for c in plan.changes
             if "manager" in c.attributes]
    assert links == [("held", "3", "manager", "2"), ("manager", "4", None, "1")]
    assert "manager 2 is on row 3 with errors" in (plan.changes[-2].reason or "")
    # 5 keeps manager 2: nothing to write, nothing held.
    assert all(c.key != "5" for c in plan.changes if c.action in ("manager", "held"))


def test_a_new_hire_naming_a_manager_on_a_row_with_errors_is_created_without_the_link() -> None:
    records = [error_row(2, "1", "bad date"), desired(3, "2", manager="1")]
    plan = plan_for(records, [])
    assert actions(plan) == [("error", "1"), ("create", "2"), ("held", "2")]
    assert plan.changes[2].held == "manager" and plan.changes[2].manager_id is None
    assert not [w for w in plan.warnings if "'1'" in w.reason]


def test_a_good_row_that_reaches_a_held_user_another_way_is_held() -> None:
    # Matching by employeeId then UPN: row 3 (key 9) finds user u2 by UPN, but u2's own
    # key 2 is on row 2 with errors: u2 is left alone, whatever reaches it.
    policy = Policy(matching=("employeeId", "userPrincipalName"))
    row = desired(3, "9", jobTitle="Lead", userPrincipalName="u2@contoso.com")
    plan = plan_for([error_row(2, "2", "bad date"), row], [user("u2", "2")], policy)
    assert actions(plan) == [("error", "2"), ("held", "9")]
    held = plan.changes[1]
    assert held.held == "update" and held.user_id == "u2"
    assert held.attributes["employeeId"] == ("2", "9")
    assert plan.writes == []


def test_a_partial_feed_still_leaves_flawed_rows_users_alone() -> None:
    plan = plan_for([error_row(2, "1", "bad date")], people(2), Policy(full_export=False))
    assert actions(plan) == [("error", "1"), ("held", "1")]


def test_the_plan_never_edits_the_records_or_users_it_is_given() -> None:
    # Match problems become error changes in the plan; the records keep their status.
    records = [desired(2, "1"), desired(3, "1", manager="1"), desired(4, "2"),
               error_row(5, "3", "bad date"), desired(6, "4", manager="2")]
    current = [user("a", "1"), user("b", "2"), user("c", "2"), user("d", "3")]
    before = (copy.deepcopy(records), copy.deepcopy(current))
    matches, problems = match_users(records, current, POLICY.matching)
    plan = build_plan(records, current, matches, policy=POLICY, now=NOW,
                      match_problems=problems)
    assert (records, current) == before
    assert [r.status for r in records] == ["mapped", "mapped", "mapped", "error", "mapped"]
    assert actions(plan)[:5] == [("unchanged", "1"), ("error", "1"), ("error", "2"),
                                 ("error", "3"), ("create", "4")]
    assert [p.reason for p in plan.errors] == [
        "matches the same user as row 2", "2 users have employeeId '2'; fix the tenant so "
        "it names one user", "bad date"]
    # Users b and c share key 2, now on a row with errors, and d's key 3 is on one: all
    # left alone; 4's link to manager 2 is held.
    assert sorted(c.user_id or "" for c in plan.changes if c.action == "held"
                  and c.held is None) == ["b", "c", "d"]
    assert [(c.key, c.held) for c in plan.changes if c.action == "held" and c.held] == [
        ("4", "manager")]

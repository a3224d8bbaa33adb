"""The pure group plan (``connector.core.plan.groups``): who joins and leaves which owned
group, what is never touched, and what is only reported."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from connector.core.plan import Plan, Policy, build_plan, match_users
from connector.core.plan.group_model import (
    DesiredGroup,
    GroupChange,
    GroupLedger,
    GroupRule,
    TenantGroup,
)
from connector.core.plan.groups import GroupInputs, plan_groups
from connector.core.plan.safety import Thresholds, check_safety
from connector.core.records import MappedRecord
from connector.errors import Problem

NOW = dt.datetime(2026, 11, 26, 9, tzinfo=dt.UTC)
DEPTS = GroupRule("departments", "hr-dept-", per_value=True)
MARKER = "hr-"


def dept(value: str, rule: GroupRule = DEPTS) -> DesiredGroup:
    slug = value.lower().replace(" ", "-")
    return DesiredGroup(f"{rule.prefix}{slug}", f"Dept - {value}", f"Everyone in {value}",
                        rule, value)


def record(row: int, key: str, *, status: str = "mapped", leaver: bool = False,
           errors: Sequence[Problem] = ()) -> MappedRecord:
    attrs = {"employeeId": key, "displayName": f"Person {key}",
             "userPrincipalName": f"p{key}@contoso.com"}
    return MappedRecord(row=row, key=key, status=status,  # type: ignore[arg-type]
                        attributes=attrs if status == "mapped" else {}, leaver=leaver,
                        errors=list(errors))


def user(key: str, *, enabled: bool = True) -> dict[str, Any]:
    return {"id": f"u-{key}", "employeeId": key, "displayName": f"Person {key}",
            "userPrincipalName": f"p{key}@contoso.com", "accountEnabled": enabled}


def owned(value: str, members: Sequence[str], *, gid: str | None = None,
          **extra: Any) -> TenantGroup:
    group = dept(value)
    return TenantGroup(gid or f"g-{group.nickname}", group.display_name, group.nickname,
                       group.description, members=frozenset(members), **extra)


def plan_for(records: Sequence[MappedRecord], users: Sequence[dict[str, Any]],
             memberships: dict[int, tuple[DesiredGroup, ...]], tenant: Sequence[TenantGroup],
             *, ledger: GroupLedger | None = None, rules: Sequence[GroupRule] = (DEPTS,),
             named: dict[str, TenantGroup] | None = None, policy: Policy | None = None,
             today: dt.date | None = None) -> Plan:
    policy = policy or Policy()
    matches, problems = match_users(records, users, policy.matching)
    plan = build_plan(records, users, matches, policy=policy, now=NOW, match_problems=problems)
    inputs = GroupInputs(MARKER, rules, memberships, tenant, named or {},
                         ledger or GroupLedger())
    plan_groups(plan, records, users, inputs, policy=policy, today=today or NOW.date())
    return plan


def of(plan: Plan, action: str) -> list[GroupChange]:
    return [c for c in plan.groups if c.action == action]


def pairs(plan: Plan, action: str) -> set[tuple[str, str | None]]:
    return {(c.group, c.member_key) for c in of(plan, action)}


def test_first_load_creates_each_group_once_and_adds_new_and_existing_people() -> None:
    records = [record(2, "1"), record(3, "2"), record(4, "3")]
    sales, data = dept("Sales"), dept("Data")
    plan = plan_for(records, [user("3")], {2: (sales,), 3: (sales,), 4: (data,)}, [])
    creates = of(plan, "create")
    assert [c.group for c in creates] == ["Dept - Data", "Dept - Sales"]
    assert creates[1].body == {"displayName": "Dept - Sales", "mailNickname": "hr-dept-sales",
                               "description": "Everyone in Sales", "mailEnabled": False,
                               "securityEnabled": True, "groupTypes": []}
    assert pairs(plan, "add") == {("Dept - Sales", "1"), ("Dept - Sales", "2"),
                                  ("Dept - Data", "3")}
    existing = next(c for c in of(plan, "add") if c.member_key == "3")
    assert existing.member_id == "u-3" and existing.group_id is None
    new = next(c for c in of(plan, "add") if c.member_key == "1")
    assert new.member_id is None and "a new user" in (new.reason or "")


def test_unchanged_membership_plans_nothing() -> None:
    records = [record(2, "1"), record(3, "2")]
    plan = plan_for(records, [user("1"), user("2")], {2: (dept("Sales"),), 3: (dept("Sales"),)},
                    [owned("Sales", ["u-1", "u-2"])],
                    ledger=GroupLedger({"g-hr-dept-sales": {"u-1", "u-2"}}))
    assert plan.groups == [] and plan.warnings == []


def test_a_mover_leaves_one_group_and_joins_the_other_in_one_plan() -> None:
    records = [record(2, "1"), record(3, "2")]
    ledger = GroupLedger({"g-hr-dept-sales": {"u-1", "u-2"}})
    plan = plan_for(records, [user("1"), user("2")], {2: (dept("Data"),), 3: (dept("Sales"),)},
                    [owned("Sales", ["u-1", "u-2"]), owned("Data", [])], ledger=ledger)
    assert pairs(plan, "add") == {("Dept - Data", "1")}
    assert pairs(plan, "remove") == {("Dept - Sales", "1")}
    removal = of(plan, "remove")[0]
    assert removal.member_id == "u-1" and removal.group_id == "g-hr-dept-sales"
    assert removal.reason == "moved: HR data now puts them in 'Dept - Data'"


def test_a_member_the_connector_did_not_add_stays_with_a_warning() -> None:
    records = [record(2, "1")]
    plan = plan_for(records, [user("1")], {2: (dept("Data"),)},
                    [owned("Sales", ["u-1"]), owned("Data", [])])
    assert of(plan, "remove") == [] and pairs(plan, "add") == {("Dept - Data", "1")}
    assert any("did not add them, so they stay (1)" in w.reason for w in plan.warnings)


def test_an_exclusive_rule_removes_anyone_hr_data_does_not_put_there() -> None:
    rule = GroupRule("departments", "hr-dept-", per_value=True, exclusive=True)
    group = dept("Sales", rule)
    tenant = [TenantGroup("g1", "Dept - Sales", "hr-dept-sales",
                          members=frozenset({"u-1", "u-2", "admin", "nested"}),
                          kinds={"nested": "#microsoft.graph.group"})]
    users = [user("1"), user("2"), {"id": "admin", "userPrincipalName": "admin@contoso.com"}]
    plan = plan_for([record(2, "1"), record(3, "2")], users, {2: (group,)}, tenant,
                    rules=(rule,))
    removed = {c.member_id: c.reason for c in of(plan, "remove")}
    assert set(removed) == {"u-2", "admin", "nested"}
    assert removed["admin"].startswith("a user hr-connector does not manage")
    assert removed["nested"].startswith("a group,")


def test_leavers_leave_their_groups_unless_the_rule_keeps_them() -> None:
    keeps = GroupRule("countries", "hr-country-", per_value=True, remove_leavers=False)
    country = DesiredGroup("hr-country-es", "Country - ES", None, keeps, "ES")
    tenant = [owned("Sales", ["u-1", "u-2"]),
              TenantGroup("g-es", "Country - ES", "hr-country-es", members=frozenset({"u-1"}))]
    ledger = GroupLedger({"g-hr-dept-sales": {"u-1", "u-2"}, "g-es": {"u-1"}})
    records = [record(2, "1", leaver=True), record(3, "2")]
    plan = plan_for(records, [user("1"), user("2")],
                    {2: (dept("Sales"), country), 3: (dept("Sales"),)}, tenant, ledger=ledger,
                    rules=(DEPTS, keeps))
    assert pairs(plan, "remove") == {("Dept - Sales", "1")}
    assert of(plan, "remove")[0].reason == "leaver: leaves the groups of rule departments"


def test_people_missing_from_a_full_export_leave_but_not_from_a_partial_feed() -> None:
    tenant = [owned("Sales", ["u-1", "u-2"])]
    ledger = GroupLedger({"g-hr-dept-sales": {"u-1", "u-2"}})
    users = [user("1"), user("2")]
    full = plan_for([record(2, "1")], users, {2: (dept("Sales"),)}, tenant, ledger=ledger)
    assert pairs(full, "remove") == {("Dept - Sales", "2")}
    assert "not in the HR export" in (of(full, "remove")[0].reason or "")
    partial = plan_for([record(2, "1")], users, {2: (dept("Sales"),)}, tenant, ledger=ledger,
                       policy=Policy(full_export=False))
    assert partial.groups == []


def test_a_row_without_a_usable_key_holds_removals_for_absence() -> None:
    tenant = [owned("Sales", ["u-1", "u-2"])]
    ledger = GroupLedger({"g-hr-dept-sales": {"u-1", "u-2"}})
    bad = record(3, "", status="error", errors=[Problem("the key is empty", row=3)])
    plan = plan_for([record(2, "1"), bad], [user("1"), user("2")], {2: (dept("Sales"),)},
                    tenant, ledger=ledger)
    assert of(plan, "remove") == []
    held = of(plan, "held")
    assert [(c.member_key, c.held) for c in held] == [("2", "remove")]
    assert "could be this person" in (held[0].reason or "")


def test_a_user_whose_key_is_on_a_row_with_errors_is_left_alone() -> None:
    tenant = [owned("Sales", ["u-1"])]
    rows = [record(2, "1", status="error", errors=[Problem("bad date", row=2)])]
    plan = plan_for(rows, [user("1")], {}, tenant,
                    ledger=GroupLedger({"g-hr-dept-sales": {"u-1"}}))
    assert plan.groups == []


def test_a_group_with_the_marker_that_no_rule_declares_is_reported_never_changed() -> None:
    old = TenantGroup("g-old", "Old team", "hr-team-old", members=frozenset({"u-1"}))
    plan = plan_for([record(2, "1")], [user("1")], {}, [old],
                    ledger=GroupLedger({"g-old": {"u-1"}}))
    assert [(c.action, c.group) for c in plan.groups] == [("kept", "Old team")]
    assert plan.groups[0].reason == "no rule declares it any more: left as it is (1 members)"
    assert plan.group_info is not None and plan.group_info.ledger.added == {"g-old": {"u-1"}}


def test_a_same_named_group_without_the_marker_is_a_clash_never_touched() -> None:
    theirs = TenantGroup("g-theirs", "Dept - Sales", "sales-team")
    plan = plan_for([record(2, "1")], [user("1")], {2: (dept("Sales"),)}, [],
                    named={"dept - sales": theirs})
    assert [c.action for c in plan.groups] == ["error"]
    assert "without the hr- marker (mailNickname sales-team, id g-theirs)" in (
        plan.groups[0].reason or "")


def test_a_marked_group_the_connector_cannot_own_is_an_error() -> None:
    m365 = TenantGroup("g-m", "Dept - Sales", "hr-dept-sales", security_enabled=False,
                       mail_enabled=True, group_types=("Unified",), members=None)
    plan = plan_for([record(2, "1")], [user("1")], {2: (dept("Sales"),)}, [m365])
    assert [c.action for c in plan.groups] == ["error"]
    assert "groupTypes Unified" in (plan.groups[0].reason or "")


def test_a_group_renamed_by_its_rule_is_updated() -> None:
    tenant = [TenantGroup("g1", "Sales dept", "hr-dept-sales", "old text",
                          members=frozenset({"u-1"}))]
    plan = plan_for([record(2, "1")], [user("1")], {2: (dept("Sales"),)}, tenant)
    update = of(plan, "update")
    assert [c.body for c in update] == [{"displayName": "Dept - Sales",
                                         "description": "Everyone in Sales"}]
    assert update[0].attributes["displayName"] == ("Sales dept", "Dept - Sales")


def test_an_emptied_group_is_kept_or_deleted_after_its_grace_period() -> None:
    tenant = [owned("Sales", [])]
    kept = plan_for([record(2, "1")], [user("1")], {}, tenant)
    assert [(c.action, c.reason) for c in kept.groups] == [
        ("kept", "empty since 2026-11-26: kept (the rule keeps emptied groups)")]
    assert kept.group_info is not None
    assert kept.group_info.ledger.empty_since == {"g-hr-dept-sales": NOW.date()}
    rule = GroupRule("departments", "hr-dept-", per_value=True, delete_empty_after_days=30)
    since = GroupLedger(empty_since={"g-hr-dept-sales": dt.date(2026, 10, 1)})
    gone = plan_for([record(2, "1")], [user("1")], {}, tenant, rules=(rule,), ledger=since)
    assert [c.action for c in gone.groups] == ["delete"]
    early = plan_for([record(2, "1")], [user("1")], {}, tenant, rules=(rule,), ledger=since,
                     today=dt.date(2026, 10, 20))
    assert "deleted on 2026-10-31 unless it has members again" in (early.groups[0].reason or "")


def test_a_deleted_user_is_left_to_graph() -> None:
    rows = [record(2, "1", leaver=True)]
    rows[0].attributes["employeeLeaveDateTime"] = "2026-01-01T23:59:59Z"
    plan = plan_for(rows, [user("1", enabled=False)], {}, [owned("Sales", ["u-1"])],
                    ledger=GroupLedger({"g-hr-dept-sales": {"u-1"}}),
                    policy=Policy(delete_after_days=30))
    assert plan.count("delete") == 1 and of(plan, "remove") == []


def test_safety_counts_member_removals_per_group() -> None:
    members = [f"u-{n}" for n in range(40)]
    users = [user(str(n)) for n in range(40)]
    records = [record(n + 2, str(n)) for n in range(40)]
    memberships = {n + 2: (dept("Sales") if n < 25 else dept("Data"),) for n in range(40)}
    plan = plan_for(records, users, memberships, [owned("Sales", members), owned("Data", [])],
                    ledger=GroupLedger({"g-hr-dept-sales": set(members)}))
    assert len(of(plan, "remove")) == 15 and len(of(plan, "add")) == 15
    reasons = check_safety(plan, Thresholds())
    assert reasons == ["15 members removed from 'Dept - Sales' are 37.5% of its 40 members, "
                       "over the limit of 30% (--max-member-removals-percent)"]
    assert check_safety(plan, Thresholds(max_member_removal_percent=40)) == []
    assert check_safety(plan, Thresholds(max_member_removals=10,
                                         max_member_removal_percent=100)) == [
        "15 members removed from 'Dept - Sales' exceed the limit of 10 "
        "(--max-member-removals)"]


def test_values_that_give_one_nickname_share_its_group_with_a_warning() -> None:
    first = DesiredGroup("hr-dept-r-d", "Dept - R&D", None, DEPTS, "R&D")
    second = DesiredGroup("hr-dept-r-d", "Dept - R D", None, DEPTS, "R D")
    plan = plan_for([record(2, "1"), record(3, "2")], [], {2: (first,), 3: (second,)}, [])
    assert [c.group for c in of(plan, "create")] == ["Dept - R&D"]
    assert pairs(plan, "add") == {("Dept - R&D", "1"), ("Dept - R&D", "2")}
    assert "the values 'R D', 'R&D' all give the group mailNickname hr-dept-r-d" in (
        plan.warnings[0].reason)

"""The safety thresholds count what can lose something that is there today, per user."""

from __future__ import annotations

from typing import Any

import pytest

from connector.core.plan import Change, Plan, Policy
from connector.core.plan.safety import Thresholds, check_safety, counted, dangerous
from tests.test_plan import desired, plan_for, user
from tests.test_plan_flawed import error_row


def org(count: int) -> list[Any]:
    """``count`` people, each managed by the one before (a chain), as HR records."""
    return [desired(i + 2, str(i), manager=str(i - 1) if i else None) for i in range(count)]


def test_a_first_load_of_any_size_counts_nothing() -> None:
    plan = plan_for(org(1500), [])
    assert (plan.count("create"), plan.count("manager")) == (1500, 1499)
    assert counted(plan) == (0, 0)
    assert check_safety(plan, Thresholds()) == []


@pytest.mark.parametrize("done", [0.1, 0.5, 0.9, 1.0])
def test_a_rerun_after_a_first_load_that_stopped_part_way_counts_nothing(done: float) -> None:
    # The users created so far exist, with or without their manager link.
    records = org(1500)
    created = int(1500 * done)
    current = [user(f"u{i}", str(i), manager=f"u{i - 1}" if i and i % 2 else None)
               for i in range(created)]
    plan = plan_for(records, current)
    assert plan.count("create") == 1500 - created
    assert plan.count("manager") > 0
    assert counted(plan) == (0, 0)
    assert check_safety(plan, Thresholds()) == []


def change(action: str, **attributes: tuple[Any, Any]) -> Change:
    return Change(action=action, key="1", user_id="u1", attributes=dict(attributes))  # type: ignore[arg-type]


@pytest.mark.parametrize(("item", "counts"), [
    (change("create", jobTitle=(None, "Lead")), False),
    (change("update", jobTitle=(None, "Lead")), False),             # filling an empty value
    (change("update", businessPhones=([], ["+1 555"])), False),     # an empty list is empty
    (change("update", mobilePhone=("", "+1 555")), False),
    (change("update", jobTitle=("Engineer", "Lead")), True),        # overwriting
    (change("update", mobilePhone=("+1 777", None)), True),         # clearing
    (change("update", jobTitle=(None, "Lead"), city=("Oslo", "Bergen")), True),
    (change("manager", manager=(None, "2")), False),                # setting a missing one
    (change("manager", manager=("3", "2")), True),                  # replacing
    (change("manager", manager=("3", None)), True),                 # clearing
    (change("disable", accountEnabled=(True, False)), True),
    (change("delete"), True),
    (change("enable", accountEnabled=(False, True)), True),         # lets someone back in
    (change("held", accountEnabled=(True, False)), False),          # never written
    (change("unchanged"), False),
], ids=lambda v: v if isinstance(v, bool) else f"{v.action}-{','.join(v.attributes)}")
def test_what_counts(item: Change, counts: bool) -> None:
    assert dangerous(item) is counts
    assert counted(Plan([item], managed=1, records=1))[1] == int(counts)


def test_users_count_once_not_per_attribute_or_change() -> None:
    changes = [change("update", jobTitle=("A", "B"), city=("X", "Y"), department=("C", "D")),
               change("manager", manager=("3", "2")),
               Change(action="disable", key="2", user_id="u2",
                      attributes={"accountEnabled": (True, False), "jobTitle": ("A", "B")})]
    assert counted(Plan(changes, managed=2, records=2)) == (1, 2)


def test_max_changes_counts_users_with_dangerous_changes_only() -> None:
    current = [user(f"u{i}", str(i), manager="u0" if i else None) for i in range(100)]
    # 40 people move from manager 0 to 1 (dangerous); the 60 others get a value that was
    # empty (not counted, however many).
    moves = range(2, 42)
    records = [desired(i + 2, str(i), manager=("1" if i in moves else "0") if i else None,
                       officeLocation=None if i in moves else "Oslo")
               for i in range(100)]
    plan = plan_for(records, current)
    assert plan.count("manager") == 40 and plan.count("update") == 60
    assert counted(plan) == (0, 40)
    assert check_safety(plan, Thresholds()) == [
        "40 existing users changed (values overwritten or cleared, managers replaced, "
        "disabled, enabled or deleted) are 40.0% of the 100 managed users, over the limit of "
        "30% (--max-changes-percent)"]
    assert check_safety(plan, Thresholds(max_change_percent=40)) == []
    assert check_safety(plan, Thresholds(max_changes=39, max_change_percent=100)) == [
        "40 existing users changed (values overwritten or cleared, managers replaced, "
        "disabled, enabled or deleted) exceed the limit of 39 (--max-changes)"]


def test_held_disables_do_not_count_but_allowed_ones_do() -> None:
    current = [user(f"u{i}", str(i)) for i in range(100)]
    records = [*(desired(i + 2, str(i)) for i in range(80)), error_row(90, "", "empty key")]
    held = plan_for(records, current)
    assert held.count("held") == 20 and counted(held) == (0, 0)
    assert check_safety(held, Thresholds()) == []
    allowed = plan_for(records, current, Policy(allow_absent_disables=True))
    assert counted(allowed) == (20, 20)
    assert any("--max-disables-percent" in r for r in check_safety(allowed, Thresholds()))

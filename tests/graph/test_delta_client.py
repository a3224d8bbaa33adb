"""Delta reads through the client (graph.md §4.6): a full round, rounds of changes applied to
a copy of the users, and a copy kept that way that agrees with a plain list read."""

from __future__ import annotations

from typing import Any

import pytest

from connector.errors import GraphError
from connector.graph import Operation, apply_round, token_refused
from connector.graph.delta import item_of
from connector.sandbox import SandboxConfig
from tests.graph.helpers import Tenant, make_tenant, user_body

SELECT = ["displayName", "jobTitle", "department", "businessPhones"]


def normal(users: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Users by id, with Graph's empty values as None (a list read says [] where a delta
    item leaves out a collection never set)."""
    return {u["id"]: {k: (None if v in ([], "") else v) for k, v in u.items()} for u in users}


def create(tenant: Tenant, count: int, first: int = 0) -> list[str]:
    results = tenant.graph.execute([
        Operation("create", body=user_body(n, f"E{n:05d}"), match=("employeeId", f"E{n:05d}"),
                  ref=f"E{n:05d}") for n in range(first, first + count)])
    assert all(r.ok for r in results)
    return [r.user_id or "" for r in results]


def test_a_copy_kept_by_delta_agrees_with_a_full_list_read() -> None:
    tenant = make_tenant(SandboxConfig.for_tests(default_page_size=40))
    graph = tenant.graph
    ids = create(tenant, 120)
    assert all(r.ok for r in graph.execute(
        [Operation("set_manager", ids[n], manager_id=ids[n % 7]) for n in range(7, 120)]))
    full = graph.read_delta(SELECT)
    assert full.full and full.pages == 4  # 123 users at 40 a page
    copy: dict[str, dict[str, Any]] = {}
    apply_round(copy, full.items)
    assert normal(list(copy.values())) == normal(graph.list_users(SELECT))

    graph.execute([Operation("update", ids[n], {"jobTitle": f"Role {n}", "department": "R&D"})
                   for n in range(10, 20)]
                  + [Operation("update", ids[20], {"jobTitle": None})]
                  + [Operation("set_manager", ids[n], manager_id=ids[3]) for n in range(30, 35)]
                  + [Operation("clear_manager", ids[n]) for n in range(40, 43)]
                  + [Operation("delete", ids[1])])  # manager of 16 users: their links go
    ids += create(tenant, 5, first=500)
    graph.execute([Operation("set_manager", ids[-1], manager_id=ids[2])])
    graph.execute([Operation("update", ids[n], {"mobilePhone": "+1 555"})  # not selected
                   for n in range(50, 60)])
    changes = graph.read_delta(SELECT, delta_link=full.delta_link)
    assert not changes.full and changes.delta_link != full.delta_link
    changed = {user_id for user_id, _ in changes.items}
    assert ids[55] not in changed  # only the selected properties are tracked (§4.6)
    applied = apply_round(copy, changes.items)
    assert applied.removed == 1 and ids[1] not in copy
    # Reports of the deleted user: links dropped with it, but for those whose own item
    # (an update) already said so.
    reports = {ids[n] for n in range(8, 120, 7) if not 10 <= n < 20}
    assert applied.unlinked == reports
    assert normal(list(copy.values())) == normal(graph.list_users(SELECT))
    assert copy[ids[-1]]["manager"] == ids[2] and copy[ids[41]]["manager"] is None

    quiet = graph.read_delta(SELECT, delta_link=changes.delta_link)
    assert quiet.items == [] and quiet.pages == 1


def test_items_removed_links_replays_and_items_without_an_id() -> None:
    fields = ["displayName"]
    assert item_of({"id": "a", "@removed": {"reason": "changed"}}, fields) == ("a", None)
    assert item_of({"displayName": "x"}, fields) is None
    _, user = item_of({"id": "a", "manager@delta": [
        {"id": "old", "@removed": {"reason": "deleted"}}]}, fields) or ("", None)
    assert user == {"displayName": None, "id": "a", "manager": None}
    copy = {"a": {"id": "a", "displayName": "A", "manager": "b"},
            "b": {"id": "b", "displayName": "B", "manager": None}}
    replayed = [item_of(raw, fields) for raw in (
        {"id": "a", "displayName": "A1"},  # no manager@delta: the link stays
        {"id": "c", "displayName": "C", "manager@delta": [{"id": "b"}]},
        {"id": "a", "displayName": "A2"},  # a replay: the last one wins
        {"id": "b", "@removed": {"reason": "deleted"}})]
    applied = apply_round(copy, [item for item in replayed if item is not None])
    assert copy == {"a": {"id": "a", "displayName": "A2", "manager": None},
                    "c": {"id": "c", "displayName": "C", "manager": None}}
    assert (applied.changed, applied.removed, applied.unlinked) == (3, 1, {"a", "c"})


def test_an_expired_token_is_recognised_and_a_foreign_link_refused() -> None:
    tenant = make_tenant()
    graph = tenant.graph
    full = graph.read_delta(SELECT)
    tenant.config.delta_token_lifetime_s = 60
    tenant.clock.now += 61
    with pytest.raises(GraphError) as expired:
        graph.read_delta(SELECT, delta_link=full.delta_link)
    assert expired.value.status == 410 and expired.value.code == "syncStateNotFound"
    assert token_refused(expired.value)
    assert "deltatoken" not in str(expired.value).lower()  # the token stays out of messages
    with pytest.raises(ValueError, match="not point at this client's Graph"):
        graph.read_delta(SELECT, delta_link="https://elsewhere.example/v1.0/users/delta?x")

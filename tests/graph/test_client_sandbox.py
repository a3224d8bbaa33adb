"""The client against the sandbox tenant in-process (real msal and httpx, the public URLs
routed to the app, graph.md §7.2), with the sandbox's throttling, lag and fault knobs."""

from __future__ import annotations

from collections import Counter

import pytest

from connector.graph import Operation
from connector.sandbox import SandboxConfig
from tests.graph.helpers import Tenant, make_tenant, user_body


def creates(first: int, count: int) -> list[Operation]:
    return [Operation("create", body=user_body(n, f"E{n:05d}"),
                      match=("employeeId", f"E{n:05d}"), ref=f"E{n:05d}")
            for n in range(first, first + count)]


def no_duplicates(tenant: Tenant, expected: int) -> None:
    counts = Counter(u.get("employeeId") for u in tenant.stored() if u.get("employeeId"))
    assert len(counts) == expected and set(counts.values()) == {1}


def test_list_users_pages_with_managers_and_base_fields() -> None:
    tenant = make_tenant(page_size=100)
    graph = tenant.graph
    results = graph.execute(creates(0, 247))
    assert all(r.ok for r in results)
    boss = results[0].user_id
    assert boss is not None
    managed = graph.execute([Operation("set_manager", r.user_id, manager_id=boss,
                                       ref=r.operation.ref) for r in results[1:50]])
    assert all(r.ok for r in managed)
    before = tenant.app.state.stats["requests"]
    users = graph.list_users(["displayName", "department"])
    assert tenant.app.state.stats["requests"] - before == 3  # 250 users at 100 a page
    assert len(users) == 250 and len({u["id"] for u in users}) == 250
    assert {"id", "employeeId", "accountEnabled", "userPrincipalName", "displayName",
            "department", "manager"} == set(users[0])
    assert Counter(u["manager"] for u in users) == Counter({None: 201, boss: 49})
    plain = graph.list_users(["displayName"], with_manager=False)
    assert len(plain) == 250 and "manager" not in plain[0]


def test_list_users_reads_250_users_with_their_managers_at_100_a_page() -> None:
    """Graph serves at most 100 users a page with $expand whatever $top says (known issue
    13635): the client asks for 999 and follows the nextLinks to every user's manager."""
    tenant = make_tenant()
    graph = tenant.graph
    assert graph.page_size == 999
    created = graph.execute(creates(0, 247))
    ids = [r.user_id or "" for r in created]
    assert all(r.ok for r in created) and all(ids)
    wanted = {ids[n]: ids[(n * 7) % 13] for n in range(13, 247)}  # many different managers
    links = graph.execute([Operation("set_manager", user, manager_id=boss)
                           for user, boss in wanted.items()])
    assert all(r.ok for r in links)
    before = tenant.app.state.stats["requests"]
    users = graph.list_users(["displayName"])
    assert tenant.app.state.stats["requests"] - before == 3  # 250 users: 100, 100, 50
    assert len(users) == 250 and len({u["id"] for u in users}) == 250
    managers = {u["id"]: u["manager"] for u in users}
    assert {user: managers[user] for user in wanted} == wanted
    assert all(managers[user] is None for user in managers if user not in wanted)


def test_list_users_survives_empty_pages() -> None:
    tenant = make_tenant(SandboxConfig.for_tests(empty_page_every_n=2), page_size=20)
    assert all(r.ok for r in tenant.graph.execute(creates(0, 60)))
    assert len(tenant.graph.list_users(["displayName"])) == 63


def test_execute_creates_updates_disables_and_managers() -> None:
    tenant = make_tenant()
    graph = tenant.graph
    created = graph.execute(creates(0, 30))
    ids = [r.user_id or "" for r in created]
    assert all(r.ok and r.status == 201 for r in created) and all(ids)
    second = [Operation("update", ids[n], {"jobTitle": f"Role {n}", "department": "R&D"},
                        ref=f"E{n:05d}") for n in range(10)]
    second += [Operation("disable", ids[n], ref=f"E{n:05d}") for n in range(10, 15)]
    second += [Operation("set_manager", ids[n], manager_id=ids[0], ref=f"E{n:05d}")
               for n in range(15, 30)]
    second += [Operation("delete", ids[29], ref="E00029")]  # after its manager op
    assert all(r.ok for r in graph.execute(second))
    assert all(r.ok for r in graph.execute([Operation("clear_manager", ids[15])]))
    stored = {u["id"]: u for u in tenant.stored()}
    assert stored[ids[3]]["jobTitle"] == "Role 3" and stored[ids[3]]["department"] == "R&D"
    assert [stored[i]["accountEnabled"] for i in ids[10:15]] == [False] * 5
    assert stored[ids[15]]["_managerId"] is None and stored[ids[16]]["_managerId"] == ids[0]
    assert ids[29] not in stored
    assert graph.get_user(ids[3], ["jobTitle"])["jobTitle"] == "Role 3"


def test_throttling_at_a_small_write_quota_everything_succeeds() -> None:
    config = SandboxConfig.for_tests(throttle_enabled=True, write_quota=20, write_window_s=2.0,
                                     retry_after_decimal=True)
    tenant = make_tenant(config)
    results = tenant.graph.execute(creates(0, 120))
    assert all(r.ok for r in results), [(r.attempts, str(r.error)) for r in results if not r.ok]
    assert tenant.app.state.stats["throttled"] > 0
    updates = [Operation("update", r.user_id, {"jobTitle": "x"}) for r in results]
    updated = tenant.graph.execute(updates)
    assert all(r.ok for r in updated), [(r.attempts, str(r.error)) for r in updated if not r.ok]
    no_duplicates(tenant, 120)


def test_forced_throttling_of_batch_items_and_outer_424() -> None:
    config = SandboxConfig.for_tests(throttle_next=25, throttle_next_retry_after_s=2,
                                     batch_throttled_outer_status=424)
    tenant = make_tenant(config, max_concurrency=1)  # fake time: keep the order exact
    results = tenant.graph.execute(creates(0, 40))
    assert all(r.ok for r in results)
    # Each of the 25 throttled items was sent once more (20 in the first batch, then the
    # first 5 of them again in the second), after the 2 s Retry-After.
    assert sum(r.attempts for r in results) == 40 + 25
    assert sum(tenant.clock.slept) >= 4.0
    no_duplicates(tenant, 40)


@pytest.mark.parametrize("lag", [{"replication_lag_requests": 2},
                                 {"replication_lag_ms": 4000}])
def test_replication_lag_is_retried_never_recreated(lag: dict[str, int]) -> None:
    tenant = make_tenant(SandboxConfig.for_tests(**lag))
    created = tenant.graph.execute(creates(0, 25))
    assert all(r.ok for r in created)
    ids = [r.user_id for r in created]
    ops = [Operation("set_manager", i, manager_id=ids[0]) for i in ids[1:]]
    ops += [Operation("update", ids[0], {"jobTitle": "Boss"})]
    results = tenant.graph.execute(ops)
    assert all(r.ok for r in results) and max(r.attempts for r in results) > 1
    no_duplicates(tenant, 25)
    assert sum(1 for u in tenant.stored() if u["_managerId"] == ids[0]) == 24


@pytest.mark.parametrize("faults", [
    {"fault_every_n": 4, "fault_after_commit": True},
    {"fault_every_n": 5, "fault_status": 504},
    {"drop_every_n": 2, "drop_after_commit": True},
    {"drop_every_n": 3, "drop_after_commit": True, "replication_lag_ms": 3000},
    {"fault_probability": 0.2, "fault_after_commit": True, "fault_retry_after_s": 1.5},
])
def test_server_errors_and_dropped_connections_leave_no_duplicates(
        faults: dict[str, object]) -> None:
    tenant = make_tenant(SandboxConfig.for_tests(**faults))
    results = tenant.graph.execute(creates(0, 50))
    assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok]
    no_duplicates(tenant, 50)
    stored_ids = {u["id"] for u in tenant.stored()}
    assert {r.user_id for r in results} <= stored_ids
    updates = [Operation("update", r.user_id, {"jobTitle": "After"}) for r in results]
    assert all(r.ok for r in tenant.graph.execute(updates))
    assert sum(1 for u in tenant.stored() if u.get("jobTitle") == "After") == 50


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_create_answered_5xx_after_commit_is_found_by_a_quoted_lookup(status: int) -> None:
    """The lookup's filter escapes the quote in O'Neil (§4.2) and finds the user the
    failed POST did create: one user, and the id Graph gave it."""
    tenant = make_tenant(SandboxConfig.for_tests(fault_status=status, fault_next=1,
                                                 fault_after_commit=True))
    op = Operation("create", body=user_body("q", "O'Neil-1"), match=("employeeId", "O'Neil-1"),
                   ref="O'Neil-1")
    result = tenant.graph.run(op)
    stored = tenant.by_employee_id("O'Neil-1")
    assert result.ok and len(stored) == 1 and result.user_id == stored[0]["id"]
    assert tenant.app.state.stats["faults"] == 1


def test_single_requests_with_dropped_connections_and_lag() -> None:
    tenant = make_tenant(SandboxConfig.for_tests(drop_every_n=2, drop_after_commit=True,
                                                 replication_lag_requests=1))
    graph = tenant.graph
    boss = graph.create_user(user_body(1, "E1"), match=("employeeId", "E1"))
    worker = graph.create_user(user_body(2, "E2"), match=("employeeId", "E2"))
    graph.set_manager(worker, boss)
    graph.update_user(worker, {"department": "Ops"})
    graph.clear_manager(worker)
    graph.update_user(worker, {"accountEnabled": False})
    no_duplicates(tenant, 2)
    stored = {u["id"]: u for u in tenant.stored()}
    assert stored[worker]["department"] == "Ops" and stored[worker]["accountEnabled"] is False
    assert stored[worker]["_managerId"] is None


def test_pacing_uses_the_write_quota_without_paying_for_many_429s() -> None:
    """Graph's write rate (3,000 per 150 s = 20/s) with a 10 s bucket, in fake time; one
    batch in flight keeps the run deterministic. Throttled calls still cost quota (§6.3), so
    a client that keeps sending while throttled gets far less than the quota."""
    config = SandboxConfig.for_tests(throttle_enabled=True, write_quota=200,
                                     write_window_s=10.0)
    tenant = make_tenant(config, max_concurrency=1)
    start = tenant.clock()
    results = tenant.graph.execute(creates(0, 600))
    elapsed = tenant.clock() - start
    assert all(r.ok for r in results)
    allowed = 200 + 20.0 * elapsed  # the bucket plus the refill over the run
    assert 600 / allowed >= 0.9
    assert tenant.app.state.stats["throttled"] <= 60
    no_duplicates(tenant, 600)

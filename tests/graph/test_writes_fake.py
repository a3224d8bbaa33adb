"""Writes against a small stateful fake (httpx.MockTransport) with scripted failures: the
exact sequences a real tenant only produces by bad luck. Time is fake; nothing sleeps."""

from __future__ import annotations

import logging

import httpx
import pytest

from connector.errors import FatalGraphError, RetriableGraphError
from connector.graph import BearerAuth, GraphClient, Operation, OperationResult, RetryPolicy
from tests.graph.fake_graph import FakeGraph, Fault, fake_client
from tests.graph.helpers import PASSWORD, FakeClock, user_body


def client_for(fake: FakeGraph, clock: FakeClock | None = None,
               **options: object) -> tuple[GraphClient, FakeClock]:
    clock = clock or FakeClock()
    options.setdefault("policy", RetryPolicy(seed=1))
    graph = GraphClient(fake_client(fake), sleep=clock.sleep, clock=clock, wall_clock=clock,
                        **options)  # type: ignore[arg-type]
    return graph, clock


def create(index: int) -> Operation:
    return Operation("create", body=user_body(index, f"E{index}"),
                     match=("employeeId", f"E{index}"), ref=f"E{index}")


def employee_ids(fake: FakeGraph) -> list[str]:
    return sorted(u["employeeId"] for u in fake.users.values())


# --- single requests -----------------------------------------------------------------------
def test_429_with_retry_after_2_on_call_3_waits_2_seconds() -> None:
    fake = FakeGraph()
    user = fake.add_user(displayName="A")
    fake.op_faults[3] = Fault(429, {"Retry-After": "2"})
    graph, clock = client_for(fake)
    for n in range(4):
        graph.update_user(user, {"jobTitle": f"T{n}"})
    assert clock.slept == [2.0]
    assert fake.users[user]["jobTitle"] == "T3" and len(fake.operations) == 5


def test_timeout_after_the_create_was_committed_finds_the_user_instead_of_recreating() -> None:
    fake = FakeGraph()
    fake.http_faults[1] = Fault(exception=httpx.ReadTimeout, after_commit=True)
    graph, _ = client_for(fake)
    result = graph.run(create(1))
    assert result.ok and result.user_id in fake.users
    assert employee_ids(fake) == ["E1"]
    assert fake.operations == ["POST /users", "GET /users"]  # looked up, never re-POSTed


def test_connection_refused_before_sending_is_simply_retried() -> None:
    fake = FakeGraph()
    fake.http_faults[1] = Fault(exception=httpx.ConnectError)
    graph, _ = client_for(fake)
    assert graph.run(create(1)).ok
    assert fake.operations == ["POST /users"] and employee_ids(fake) == ["E1"]


def test_503_after_commit_then_lag_then_conflict_resolves_to_the_one_user() -> None:
    """The create ran but answered 503; the lookup does not see it yet (lag), so the client
    POSTs again, gets ObjectConflict on userPrincipalName, and looks it up until found."""
    fake = FakeGraph()
    fake.op_faults[1] = Fault(503, after_commit=True)
    real_handle = fake.handle
    hidden = {"lookups": 2}

    def lagging_lists(method: str, path: str, query: dict[str, str], body: object,
                      rid: str) -> tuple[int, dict[str, str], object]:
        if method == "GET" and path == "/users" and hidden["lookups"] > 0:
            hidden["lookups"] -= 1
            return 200, {}, {"value": []}
        return real_handle(method, path, query, body, rid)

    fake.handle = lagging_lists  # type: ignore[method-assign]
    graph, _ = client_for(fake)
    result = graph.run(create(1))
    assert result.ok and employee_ids(fake) == ["E1"]
    assert fake.operations == ["POST /users", "GET /users", "POST /users", "GET /users",
                               "GET /users"]
    assert result.user_id == next(iter(fake.users))


def test_a_genuine_conflict_is_not_hidden() -> None:
    fake = FakeGraph()
    fake.add_user(userPrincipalName="tuser1@contoso.com", employeeId="OTHER")
    graph, _ = client_for(fake)
    result = graph.run(create(1))
    assert not result.ok and result.status == 400 and result.attempts == 1
    assert isinstance(result.error, FatalGraphError)
    assert "already exists" in result.error.message and result.error.code == "Request_BadRequest"


def test_an_unknown_outcome_without_a_match_is_not_retried() -> None:
    fake = FakeGraph()
    fake.http_faults[1] = Fault(exception=httpx.ReadTimeout, after_commit=True)
    graph, _ = client_for(fake)
    result = graph.run(Operation("create", body={"displayName": "no upn"}, ref="X"))
    assert not result.ok and "may have been applied" in str(result.error)
    assert fake.operations == ["POST /users"]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize(("after_commit", "calls"), [
    (True, ["POST /users", "GET /users"]),  # it was created: found, not re-POSTed
    (False, ["POST /users", "GET /users", "POST /users"]),  # it was not: POSTed again
])
def test_a_5xx_on_create_is_looked_up_then_retried(status: int, after_commit: bool,
                                                   calls: list[str]) -> None:
    fake = FakeGraph()
    fake.op_faults[1] = Fault(status, after_commit=after_commit)
    graph, _ = client_for(fake)
    result = graph.run(create(1))
    assert result.ok and fake.operations == calls and employee_ids(fake) == ["E1"]


@pytest.mark.parametrize("status", [500, 502, 504])
def test_idempotent_writes_are_retried_after_500_502_504(status: int) -> None:
    fake = FakeGraph()
    boss, worker = fake.add_user(), fake.add_user()
    fake.op_faults.update({1: Fault(status, after_commit=True), 3: Fault(status),
                           5: Fault(status, after_commit=True)})
    graph, _ = client_for(fake)
    graph.update_user(worker, {"jobTitle": "Lead"})
    graph.set_manager(worker, boss)
    graph.clear_manager(worker)
    assert fake.users[worker]["jobTitle"] == "Lead" and worker not in fake.managers
    assert len(fake.operations) == 6


def test_a_create_answered_503_five_times_still_succeeds() -> None:
    """The lookups between the re-POSTs found nothing: they are not failures, so they do
    not eat the attempt budget (they used to: a create then had half the budget of an
    update and failed after its fifth 503, the flaky sync test's mechanism)."""
    fake = FakeGraph()
    fake.op_faults.update({n: Fault(503, {"Retry-After": "1"}) for n in (1, 3, 5, 7, 9)})
    graph, clock = client_for(fake)
    result = graph.run(create(1))
    assert result.ok and employee_ids(fake) == ["E1"]
    assert fake.operations == ["POST /users", "GET /users"] * 5 + ["POST /users"]
    assert result.attempts == 11 and [s for s in clock.slept if s] == [1.0] * 5


def test_a_create_gives_up_after_max_attempts_failures() -> None:
    fake = FakeGraph()
    fake.op_faults.update({n: Fault(503) for n in range(1, 50, 2)})
    graph, _ = client_for(fake, policy=RetryPolicy(max_attempts=3, seed=1))
    result = graph.run(create(1))
    assert not result.ok and result.status == 503 and employee_ids(fake) == []
    assert isinstance(result.error, RetriableGraphError)
    assert fake.operations == ["POST /users", "GET /users"] * 2 + ["POST /users"]


def test_retries_stop_at_max_attempts_with_a_retriable_error() -> None:
    fake = FakeGraph()
    user = fake.add_user()
    fake.op_faults.update({n: Fault(503) for n in range(1, 50)})
    graph, clock = client_for(fake, policy=RetryPolicy(max_attempts=4, seed=1))
    result = graph.run(Operation("update", user, {"jobTitle": "x"}, ref="E9"))
    assert not result.ok and result.attempts == 4 and len(clock.slept) == 3
    assert isinstance(result.error, RetriableGraphError)
    assert result.error.status == 503 and "update user E9" in result.error.message


def test_retries_stop_at_max_wait_seconds() -> None:
    fake = FakeGraph()
    user = fake.add_user()
    fake.op_faults.update({n: Fault(429, {"Retry-After": "30"}) for n in range(1, 50)})
    graph, clock = client_for(fake, policy=RetryPolicy(max_attempts=100,
                                                       max_wait_seconds=100.0))
    assert not graph.run(Operation("update", user, {"jobTitle": "x"})).ok
    assert sum(clock.slept) <= 100.0 and len(clock.slept) == 3


def test_a_404_from_a_user_just_created_is_replication_lag() -> None:
    fake = FakeGraph()
    fake.lag_next_creates = 3
    graph, _ = client_for(fake)
    manager = graph.create_user(user_body(1, "E1"), match=("employeeId", "E1"))
    report = graph.create_user(user_body(2, "E2"), match=("employeeId", "E2"))
    graph.update_user(report, {"jobTitle": "x"})
    graph.set_manager(report, manager)  # the manager lags too
    assert fake.managers == {report: manager} and len(fake.users) == 2
    assert fake.operations.count("POST /users") == 2


def test_a_404_from_an_unknown_user_is_believed_at_once() -> None:
    fake = FakeGraph()
    graph, _ = client_for(fake)
    result = graph.run(Operation("update", "3f1c0c55-0000-0000-0000-000000000000", {"x": 1}))
    assert not result.ok and result.status == 404 and result.attempts == 1
    assert result.error is not None and result.error.code == "Request_ResourceNotFound"


def test_clearing_a_manager_that_is_not_set_is_done() -> None:
    fake = FakeGraph()
    user = fake.add_user()
    graph, _ = client_for(fake)
    graph.clear_manager(user)
    assert graph.run(Operation("disable", user)).ok
    assert fake.users[user]["accountEnabled"] is False


# --- batches -------------------------------------------------------------------------------
def test_batch_items_are_matched_by_id_not_position() -> None:
    fake = FakeGraph()  # answers every batch in reverse order
    graph, _ = client_for(fake)
    results = graph.execute([create(n) for n in range(5)])
    assert [r.operation.ref for r in results] == [f"E{n}" for n in range(5)]
    for result in results:
        assert result.ok and result.user_id is not None
        assert fake.users[result.user_id]["employeeId"] == result.operation.ref


def test_at_most_20_per_batch_and_an_isolated_429_holds_back_only_its_item() -> None:
    fake = FakeGraph()
    fake.op_faults[7] = Fault(429, {"Retry-After": "3"})
    graph, clock = client_for(fake, max_concurrency=1)
    results = graph.execute([create(n) for n in range(45)])
    assert all(r.ok for r in results) and len(fake.users) == 45
    # The others go on at once; the throttled item goes again (alone, not its whole batch)
    # once its 3 s have passed.
    assert fake.batch_sizes == [20, 20, 5, 1] and fake.operations.count("POST /users") == 46
    assert results[6].attempts == 2 and clock.now - 1_800_000_000.0 == pytest.approx(3.0)
    assert [r.attempts for r in results].count(2) == 1 and graph.pacer.rate is None


def test_a_wholly_throttled_batch_holds_every_batch_for_the_retry_after() -> None:
    fake = FakeGraph()
    fake.op_faults.update({n: Fault(429, {"Retry-After": "3"}) for n in range(1, 21)})
    graph, clock = client_for(fake, max_concurrency=1)
    results = graph.execute([create(n) for n in range(45)])
    assert all(r.ok for r in results) and len(fake.users) == 45
    # The quota looks spent: nothing is sent for 3 s, then the pacer spaces the items.
    assert fake.batch_sizes[0] == 20 and graph.pacer.rate is not None
    assert clock.now - 1_800_000_000.0 >= 3.0 and fake.operations.count("POST /users") == 65


def test_a_failed_batch_is_retried_whole_and_creates_are_looked_up_first() -> None:
    fake = FakeGraph()
    fake.http_faults[1] = Fault(exception=httpx.RemoteProtocolError, after_commit=True)
    graph, _ = client_for(fake)
    ops = [create(n) for n in range(3)]
    users = [fake.add_user(employeeId=f"X{n}", userPrincipalName=f"x{n}@contoso.com")
             for n in range(2)]
    ops += [Operation("disable", u, ref=f"X{n}") for n, u in enumerate(users)]
    results = graph.execute(ops)
    assert all(r.ok for r in results)
    assert sorted(u["employeeId"] for u in fake.users.values()) == ["E0", "E1", "E2", "X0",
                                                                    "X1"]
    assert all(fake.users[u]["accountEnabled"] is False for u in users)
    second = fake.operations[5:]
    assert second.count("GET /users") == 3 and "POST /users" not in second


@pytest.mark.parametrize("status", [503, 504, 429])
def test_an_outer_retriable_status_retries_every_item(status: int) -> None:
    fake = FakeGraph()
    fake.http_faults[1] = Fault(status, {"Retry-After": "1"})
    graph, _ = client_for(fake)
    results = graph.execute([Operation("update", fake.add_user(), {"a": n}) for n in range(3)])
    assert all(r.ok and r.attempts == 2 for r in results)


def test_an_outer_424_is_read_item_by_item() -> None:
    fake = FakeGraph()
    fake.batch_outer_status = 424
    fake.op_faults[2] = Fault(429, {"Retry-After": "1"})
    graph, _ = client_for(fake)
    results = graph.execute([Operation("update", fake.add_user(), {"a": n}) for n in range(3)])
    assert all(r.ok for r in results) and [r.attempts for r in results] == [1, 2, 1]


def test_one_failure_does_not_stop_the_others_and_results_keep_graph_details() -> None:
    fake = FakeGraph()
    good = fake.add_user()
    seen: list[OperationResult] = []
    graph, _ = client_for(fake)
    results = graph.execute([Operation("update", "missing-id", {"a": 1}, ref="E404"),
                             Operation("update", good, {"a": 2}, ref="E200")],
                            on_result=seen.append)
    assert [r.ok for r in results] == [False, True] and len(seen) == 2
    error = results[0].error
    assert error is not None and error.code == "Request_ResourceNotFound"
    assert error.request_id == results[0].request_id == "op-1"  # the item's, not the batch's
    assert "update user E404" in error.message and results[0].status == 404


def test_operations_on_one_user_keep_their_order() -> None:
    fake = FakeGraph()
    user = fake.add_user()
    graph, _ = client_for(fake)
    graph.execute([Operation("update", user, {"jobTitle": f"T{n}"}) for n in range(5)]
                  + [Operation("disable", user)])
    assert fake.users[user]["jobTitle"] == "T4" and fake.users[user]["accountEnabled"] is False
    assert fake.batch_sizes == [1] * 6


def test_bodies_and_tokens_never_reach_logs_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeGraph()
    fake.op_faults[1] = Fault(503)
    fake.op_faults[2] = Fault(429, {"Retry-After": "1"})
    http = httpx.Client(transport=httpx.MockTransport(fake),
                        auth=BearerAuth(lambda: "very-secret-token"))
    clock = FakeClock()
    graph = GraphClient(http, sleep=clock.sleep, clock=clock, wall_clock=clock)
    with caplog.at_level(logging.DEBUG):
        results = graph.execute([create(1), create(2)])
        graph.run(Operation("update", "nobody", {"passwordProfile": {"password": PASSWORD}}))
    text = caplog.text + repr(results) + "".join(str(r.error) for r in results)
    assert PASSWORD not in text and "very-secret-token" not in text
    assert "throttled" in caplog.text


def test_a_401_refreshes_the_token_once() -> None:
    tokens = iter(["old", "new", "newer"])
    invalidated: list[str] = []
    seen: list[str] = []

    def app(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        ok = request.headers["Authorization"] == "Bearer new"
        return httpx.Response(200 if ok else 401, json={"value": []} if ok else {
            "error": {"code": "InvalidAuthenticationToken", "message": "expired"}})

    current = {"token": next(tokens)}

    def provider() -> str:
        return current["token"]

    def invalidate(token: str) -> None:
        invalidated.append(token)
        current["token"] = next(tokens)

    http = httpx.Client(transport=httpx.MockTransport(app),
                        auth=BearerAuth(provider, invalidate=invalidate))
    graph = GraphClient(http)
    assert graph.list_users([], with_manager=False) == []
    assert seen == ["Bearer old", "Bearer new"] and invalidated == ["old"]
    current["token"] = "stale"
    with pytest.raises(FatalGraphError) as caught:  # refreshed once, still 401: give up
        graph.list_users([], with_manager=False)
    assert caught.value.status == 401 and seen[-2:] == ["Bearer stale", "Bearer newer"]


def test_429s_are_bounded_by_time_not_by_attempts() -> None:
    fake = FakeGraph()
    user = fake.add_user()
    fake.op_faults.update({n: Fault(429, {"Retry-After": "1"}) for n in range(1, 11)})
    graph, clock = client_for(fake, policy=RetryPolicy(max_attempts=2, seed=1))
    result = graph.run(Operation("update", user, {"jobTitle": "x"}))
    assert result.ok and result.attempts == 11 and clock.slept == [1.0] * 10

"""The sandbox's knobs: throttling quotas (§6), replication lag (§8), injected faults, dropped
connections, latency, required credentials and the admin API."""

from __future__ import annotations

import time

import httpx
import pytest

from connector.sandbox import SandboxConfig, running_sandbox
from tests.sandbox.sandbox_helpers import GRAPH, SCOPE, FakeClock, Tenant, error_of, new_user


def _throttling(**changes: object) -> Tenant:
    return Tenant(SandboxConfig(throttle_enabled=True, **changes))  # type: ignore[arg-type]


# --- throttling (§6.1, §6.2) ---------------------------------------------------------------
def test_resource_unit_quota_429_with_retry_after_then_refills() -> None:
    tenant = _throttling(ru_quota_small=10, ru_window_s=10.0)
    # GET /users costs 2 RU: five fit into 10 RU, the sixth is throttled.
    statuses = [tenant.get("/users").status_code for _ in range(5)]
    assert statuses == [200] * 5
    throttled = tenant.get("/users")
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "2"  # 2 RU at 1 RU/s, charged debt included
    assert throttled.headers["x-ms-throttle-information"] == "ResourceUnitLimitExceeded"
    assert throttled.headers["x-ms-throttle-scope"] == (
        f"Tenant_Application/Read/hr-connector/{tenant.tenant_id}")
    assert error_of(throttled)["code"] == "TooManyRequests"
    tenant.clock.advance(10)  # a full window refills the bucket
    assert tenant.get("/users").status_code == 200


def test_resource_unit_costs_and_limit_percentage_headers() -> None:
    tenant = _throttling(ru_quota_small=10, ru_window_s=1000.0)
    assert tenant.get("/users").headers["x-ms-resource-unit"] == "2"
    assert tenant.get("/users?$select=id").headers["x-ms-resource-unit"] == "1"
    assert tenant.get("/users?$top=5").headers["x-ms-resource-unit"] == "1"
    assert tenant.get("/users?$expand=manager").headers["x-ms-resource-unit"] == "3"
    response = tenant.get("/users/nobody@contoso.com")
    assert response.headers["x-ms-resource-unit"] == "1"
    assert response.headers["x-ms-throttle-limit-percentage"] == "0.8"  # 8 of 10 RU used


def test_throttled_calls_still_accrue_usage() -> None:
    tenant = _throttling(ru_quota_small=4, ru_window_s=4.0)
    tenant.get("/users"), tenant.get("/users")
    assert tenant.get("/users").status_code == 429  # bucket now at -2
    tenant.clock.advance(2)  # back to 0 only: still not enough for 2 RU
    assert tenant.get("/users").status_code == 429
    tenant.clock.advance(6)
    assert tenant.get("/users").status_code == 200


def test_write_quota_429_write_limit() -> None:
    tenant = _throttling(write_quota=3, write_window_s=150.0)
    for i in range(3):
        assert tenant.post("/users", new_user(i)).status_code == 201
    throttled = tenant.post("/users", new_user(9))
    assert throttled.status_code == 429
    assert throttled.headers["x-ms-throttle-information"] == "WriteLimitExceeded"
    assert throttled.headers["x-ms-throttle-scope"].startswith("Tenant_Application/Write/")
    assert throttled.headers["retry-after"] == "50"  # one write per 50 s
    assert tenant.get("/users/tuser9@contoso.com").status_code == 404  # nothing written


def test_tenant_size_picks_the_quota() -> None:
    tenant = Tenant(SandboxConfig.for_tests(ru_quota_small=4, ru_quota_medium=1000,
                                            ru_window_s=1000.0))
    for i in range(47):  # 3 seeded + 47 = 50 users → medium tenant
        tenant.create(i)
    tenant.config.throttle_enabled = True
    assert all(tenant.get("/users").status_code == 200 for _ in range(10))
    tenant.config.tenant_size = "S"  # 4 RU: two more lists fit, the third does not
    assert [tenant.get("/users").status_code for _ in range(3)] == [200, 200, 429]


def test_batch_items_are_charged_and_throttled_individually() -> None:
    tenant = _throttling(ru_quota_small=5, ru_window_s=1000.0, batch_shuffle_responses=False)
    batch = {"requests": [{"id": str(i), "method": "GET", "url": "/users"} for i in range(4)]}
    response = tenant.post("/$batch", batch)
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["responses"]] == [200, 200, 429, 429]
    item = response.json()["responses"][2]
    assert "Retry-After" in item["headers"] and item["headers"]["x-ms-resource-unit"] == "2"
    tenant.config.batch_throttled_outer_status = 424
    assert tenant.post("/$batch", batch).status_code == 424


def test_retry_after_decimal_form() -> None:
    tenant = Tenant(SandboxConfig.for_tests(retry_after_decimal=True,
                                            throttle_next_retry_after_s=2.128))
    tenant.config.throttle_next = 1
    assert tenant.get("/users").headers["retry-after"] == "2.128"


def test_throttling_by_chance_is_seeded_and_isolated() -> None:
    """``throttle_probability``: 429s below the limits (§6.1), item by item in a batch."""
    def statuses(seed: int) -> list[int]:
        tenant = Tenant(SandboxConfig.for_tests(throttle_probability=0.25, seed=seed,
                                                throttle_next_retry_after_s=3))
        batch = {"requests": [{"id": str(n), "method": "GET", "url": "/users?$top=1"}
                              for n in range(20)]}
        responses = tenant.post("/$batch", batch).json()["responses"]
        throttled = [r for r in responses if r["status"] == 429]
        assert all(r["headers"]["Retry-After"] == "3" for r in throttled)
        return [r["status"] for r in sorted(responses, key=lambda r: int(r["id"]))]

    first = statuses(5)
    assert first == statuses(5) and first != statuses(6)  # the seed reproduces the draw
    assert 0 < first.count(429) < 20 and set(first) == {200, 429}
    assert Tenant(SandboxConfig.for_tests()).config.throttle_probability == 0.0  # off


# --- replication lag (§8) -------------------------------------------------------------------
def test_lag_by_time_hides_a_new_user_from_get_patch_and_lists() -> None:
    tenant = Tenant(SandboxConfig.for_tests(replication_lag_ms=500))
    user = tenant.create(1, employeeId="L1")
    assert tenant.get(f"/users/{user['id']}").status_code == 404
    assert tenant.patch(f"/users/{user['id']}", {"jobTitle": "x"}).status_code == 404
    assert tenant.get("/users?$filter=employeeId eq 'L1'").json()["value"] == []
    assert tenant.post("/users", new_user(1)).status_code == 400  # uniqueness is global
    tenant.clock.advance(0.5)
    assert tenant.get(f"/users/{user['id']}").status_code == 200
    assert len(tenant.get("/users?$filter=employeeId eq 'L1'").json()["value"]) == 1


def test_lag_by_requests_then_visible() -> None:
    tenant = Tenant(SandboxConfig.for_tests(replication_lag_requests=2))
    boss = tenant.create("boss")
    worker = tenant.create("worker")
    assert tenant.set_manager(worker["id"], boss["id"]).status_code == 404  # worker lags
    assert tenant.set_manager(worker["id"], boss["id"]).status_code == 404
    missing = tenant.set_manager(worker["id"], boss["id"])  # now the manager's turn
    assert missing.status_code == 404
    assert boss["id"] in error_of(missing)["message"]
    assert tenant.set_manager(worker["id"], boss["id"]).status_code == 404
    assert tenant.set_manager(worker["id"], boss["id"]).status_code == 204


def test_empty_pages_with_next_link() -> None:
    tenant = Tenant(SandboxConfig.for_tests(empty_page_every_n=2))
    for i in range(3):
        tenant.create(i)
    pages, link = [], "/users?$top=2&$select=id"
    while link:
        page = tenant.get(link).json()
        pages.append(len(page["value"]))
        link = page.get("@odata.nextLink")
    assert pages == [2, 0, 2, 0, 2]  # 6 users; every second page is empty but links on


def test_lag_jitter_is_seeded_and_bounded() -> None:
    def hidden_for(seed: int) -> list[float]:
        tenant = Tenant(SandboxConfig.for_tests(replication_lag_jitter_ms=1000, seed=seed))
        users = [tenant.create(i) for i in range(5)]
        return [tenant.app.state.lag[u["id"]].visible_at - tenant.clock.now for u in users
                if u["id"] in tenant.app.state.lag]
    first = hidden_for(1)
    assert first == hidden_for(1) and all(0 <= lag <= 1.0 for lag in first)


def test_public_base_url_is_echoed_in_links() -> None:
    tenant = Tenant(SandboxConfig.for_tests(public_base_url="https://graph.example.test"))
    body = tenant.get("/users?$top=1").json()
    assert body["@odata.context"] == "https://graph.example.test/v1.0/$metadata#users"
    assert body["@odata.nextLink"].startswith("https://graph.example.test/v1.0/users?")


# --- injected faults ------------------------------------------------------------------------
def test_fault_next_and_every_n() -> None:
    tenant = Tenant(SandboxConfig.for_tests(fault_next=2, fault_retry_after_s=3))
    first = tenant.get("/users")
    assert first.status_code == 503 and first.headers["retry-after"] == "3"
    assert error_of(first)["code"] == "serviceNotAvailable"
    assert tenant.get("/users").status_code == 503
    assert tenant.get("/users").status_code == 200
    tenant.config.update({"fault_every_n": 3, "fault_status": 500})
    tenant.app.faults.reset()
    assert [tenant.get("/users").status_code for _ in range(6)] == [200, 200, 500] * 2


def test_fault_probability_is_seeded() -> None:
    def run() -> list[int]:
        tenant = Tenant(SandboxConfig.for_tests(fault_probability=0.5, seed=7))
        return [tenant.get("/users").status_code for _ in range(20)]
    first = run()
    assert first == run() and {200, 503} <= set(first)


def test_fault_after_commit_hides_a_successful_create() -> None:
    tenant = Tenant(SandboxConfig.for_tests(fault_next=1, fault_after_commit=True))
    response = tenant.post("/users", new_user(1))
    assert response.status_code == 503
    assert tenant.get("/users/tuser1@contoso.com").status_code == 200
    again = tenant.post("/users", new_user(1))  # the re-POST sees the duplicate (§6.3)
    assert error_of(again)["details"] == [{"target": "userPrincipalName",
                                           "code": "ObjectConflict"}]


def test_dropped_connection_in_process_raises_remote_protocol_error() -> None:
    tenant = Tenant(SandboxConfig.for_tests(drop_next=1))
    with pytest.raises(httpx.RemoteProtocolError):
        tenant.get("/users")
    assert tenant.get("/users").status_code == 200
    tenant.config.drop_every_n = 3  # counts HTTP requests: two so far, so this one drops
    with pytest.raises(httpx.RemoteProtocolError):
        tenant.get("/users")
    tenant.config.drop_every_n = 0
    tenant.config.update({"drop_next": 1, "drop_after_commit": True})
    with pytest.raises(httpx.RemoteProtocolError):
        tenant.post("/users", new_user(1))
    assert tenant.get("/users/tuser1@contoso.com").status_code == 200


def test_dropped_connection_over_a_real_server() -> None:
    with running_sandbox(config=SandboxConfig.for_tests(), tls=False) as server, \
            httpx.Client(timeout=5) as client:
        token = client.post(server.token_endpoint, data={
            "grant_type": "client_credentials", "client_id": "a", "client_secret": "b",
            "scope": SCOPE}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        server.config.drop_next = 1
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(f"{server.graph_url}/users", headers=auth)
        # knobs over the admin API of the running server
        patched = client.patch(f"{server.base_url}/_sandbox/config", json={"fault_next": 1})
        assert patched.status_code == 200 and patched.json()["fault_next"] == 1
        assert client.get(f"{server.graph_url}/users", headers=auth).status_code == 503
        assert client.get(f"{server.graph_url}/users", headers=auth).status_code == 200
        bad = client.patch(f"{server.base_url}/_sandbox/config", json={"fault_status": 418})
        assert bad.status_code == 400
        assert client.get(f"{server.base_url}/_sandbox/stats").json()["drops"] == 1


def test_added_latency() -> None:
    tenant = Tenant(SandboxConfig.for_tests(latency_ms=60))
    started = time.perf_counter()
    tenant.get("/users")
    assert time.perf_counter() - started >= 0.06


# --- tokens and credentials (§7.4) ----------------------------------------------------------
def test_required_credentials_unknown_client_and_tenant() -> None:
    tenant = Tenant(SandboxConfig.for_tests(client_secrets={"hr-connector": "s3cret"},
                                            accept_any_tenant=False))
    unknown = tenant.token_response(client_id="someone-else")
    assert unknown.status_code == 400 and unknown.json()["error_codes"] == [700016]
    no_tenant = tenant.token_response(tenant="fabrikam.onmicrosoft.com")
    assert no_tenant.status_code == 400 and no_tenant.json()["error"] == "invalid_tenant"
    discovery = tenant.http.get("https://login.microsoftonline.com/fabrikam.onmicrosoft.com"
                                "/v2.0/.well-known/openid-configuration")
    assert discovery.status_code == 400 and discovery.json()["error_codes"] == [90002]
    by_domain = tenant.token_response(tenant="contoso.onmicrosoft.com")
    assert by_domain.status_code == 200


@pytest.mark.parametrize("scope", ["https://graph.microsoft.com/User.Read.All",
                                   "https://graph.microsoft.com/.default openid", ""])
def test_bad_scope_is_invalid_scope(scope: str) -> None:
    response = Tenant().token_response(scope=scope)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert response.json()["error_codes"] == [1002012]
    assert "Client credential flows must have a scope value with /.default suffixed" in \
        response.json()["error_description"]


def test_token_lifetime_and_expiry() -> None:
    clock = FakeClock()
    tenant = Tenant(SandboxConfig.for_tests(token_lifetime_s=60), clock)
    assert tenant.token_response().json()["expires_in"] == 60
    clock.advance(61)
    response = tenant.get("/users")
    assert response.status_code == 401
    assert error_of(response) | {"innerError": None} == {
        "code": "InvalidAuthenticationToken",
        "message": "Lifetime validation failed, the token is expired.", "innerError": None}
    tenant.token = tenant.get_token()
    assert tenant.get("/users").status_code == 200
    clock.advance(1)
    assert tenant.admin("POST", "/expire-tokens").status_code == 204
    assert tenant.get("/users").status_code == 401
    assert tenant.get("/users", token=tenant.get_token()).status_code == 200


def test_missing_or_foreign_token_is_401() -> None:
    tenant = Tenant()
    empty = tenant.http.get(f"{GRAPH}/users")
    assert empty.status_code == 401
    assert error_of(empty)["message"] == "Access token is empty."
    assert empty.headers["www-authenticate"].startswith("Bearer")
    forged = tenant.get("/users", token=tenant.token[:-4] + "AAAA")
    assert forged.status_code == 401
    assert error_of(forged)["code"] == "InvalidAuthenticationToken"


def test_token_fault_next_is_503() -> None:
    tenant = Tenant()
    tenant.config.token_fault_next = 1
    assert tenant.token_response().status_code == 503
    assert tenant.token_response().status_code == 200

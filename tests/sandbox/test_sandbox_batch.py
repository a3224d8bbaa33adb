"""$batch beyond the checklist (§5)."""

from __future__ import annotations

from typing import Any

import pytest

from connector.sandbox import SandboxConfig
from tests.sandbox.sandbox_helpers import GRAPH, Tenant, error_of, new_user

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def tenant() -> Tenant:
    return Tenant(SandboxConfig.for_tests(batch_shuffle_responses=False))


def run(tenant: Tenant, requests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    response = tenant.post("/$batch", {"requests": requests})
    assert response.status_code == 200, response.text
    return {item["id"]: item for item in response.json()["responses"]}


@pytest.mark.parametrize("payload", [
    {"requests": []},
    {"nope": 1},
    {"requests": [{"id": "1", "method": "GET"}]},
    {"requests": [{"id": "a", "method": "GET", "url": "/users"},
                  {"id": "A", "method": "GET", "url": "/users"}]},
    {"requests": [{"id": "1", "method": "POST", "url": "/users", "body": {"x": 1}}]},
    {"requests": [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"]}]},
    {"requests": [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["2"]},
                  {"id": "2", "method": "GET", "url": "/users", "dependsOn": ["1"]}]},
])
def test_malformed_batches_are_400(tenant: Tenant, payload: dict[str, Any]) -> None:
    response = tenant.post("/$batch", payload)
    assert response.status_code == 400
    assert error_of(response)["code"] == "BadRequest"


def test_sequential_chain_create_then_manager(tenant: Tenant) -> None:
    boss = tenant.create("boss")
    items = run(tenant, [
        {"id": "1", "method": "POST", "url": "/users", "body": new_user(1), "headers": JSON},
        {"id": "2", "method": "PUT", "url": "/users/tuser1@contoso.com/manager/$ref",
         "dependsOn": ["1"], "headers": JSON,
         "body": {"@odata.id": f"{GRAPH}/users/{boss['id']}"}},
        {"id": "3", "method": "GET", "url": "users/tuser1@contoso.com/manager?$select=id",
         "dependsOn": ["2"]},
    ])
    assert items["1"]["status"] == 201
    assert items["1"]["headers"]["Location"].endswith("Microsoft.DirectoryServices.User")
    assert items["2"] == {"id": "2", "status": 204, "headers": {
        "Cache-Control": "no-cache", "OData-Version": "4.0", "x-ms-resource-unit": "1"}}
    assert items["3"]["body"]["id"] == boss["id"]
    assert items["3"]["headers"]["Content-Type"].startswith("application/json")


def test_item_errors_methods_urls_and_advanced_headers(tenant: Tenant) -> None:
    tenant.create(1, employeeType="Employee")
    items = run(tenant, [
        {"id": "405", "method": "PUT", "url": "/users"},
        {"id": "abs", "method": "GET", "url": f"{GRAPH}/users"},
        {"id": "nested", "method": "POST", "url": "/$batch", "headers": JSON,
         "body": {"requests": []}},
        {"id": "plain", "method": "GET", "url": "/users?$filter=employeeType eq 'Employee'"
                                                "&$count=true"},
        {"id": "adv", "method": "GET", "url": "/users?$filter=employeeType eq 'Employee'"
                                              "&$count=true",
         "headers": {"ConsistencyLevel": "eventual"}},
    ])
    assert items["405"]["status"] == 405
    assert items["405"]["body"]["error"]["message"] == ("Specified HTTP method is not allowed "
                                                        "for the request target.")
    assert items["abs"]["status"] == 400 and items["nested"]["status"] == 400
    assert items["plain"]["status"] == 400
    assert items["adv"]["status"] == 200 and items["adv"]["body"]["@odata.count"] == 1


def test_item_faults_and_outer_method(tenant: Tenant) -> None:
    tenant.config.fault_next = 1
    items = run(tenant, [{"id": "1", "method": "GET", "url": "/users"},
                         {"id": "2", "method": "GET", "url": "/users", "dependsOn": ["1"]}])
    assert items["1"]["status"] == 503 and items["2"]["status"] == 424
    assert items["2"]["body"]["error"]["code"] == "FailedDependency"
    assert tenant.get("/$batch").status_code == 405

"""graph.md §9 "Minimal conformance checklist", one test (or parametrized group) per item.

Every request is raw HTTP against an in-process sandbox; expectations are the documented
status codes, bodies and headers (section numbers refer to graph.md)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from connector.sandbox import SandboxConfig
from tests.sandbox.sandbox_helpers import (
    ADVANCED,
    DEFAULT_SET,
    GRAPH,
    Tenant,
    error_of,
    new_user,
)


@pytest.fixture
def tenant() -> Tenant:
    return Tenant()


# --- 1. POST valid → 201 + default props + #users/$entity; duplicate UPN (any case) ---------
def test_c01_post_valid_user_201_default_properties_and_entity_context(tenant: Tenant) -> None:
    response = tenant.post("/users", new_user(1, givenName="Adele", surname="Vance",
                                              employeeId="E1"))
    assert response.status_code == 201
    body = response.json()
    assert body["@odata.context"] == f"{GRAPH}/$metadata#users/$entity"
    assert [k for k in body if k != "@odata.context"] == DEFAULT_SET
    assert body["businessPhones"] == [] and body["jobTitle"] is None and body["mail"] is None
    assert body["givenName"] == "Adele" and "employeeId" not in body  # not echoed (§2.1)
    assert re.fullmatch(r"[0-9a-f-]{36}", body["id"])
    assert response.headers["location"].endswith(
        f"/directoryObjects/{body['id']}/Microsoft.DirectoryServices.User")


def test_c01_duplicate_upn_in_any_case_is_object_conflict(tenant: Tenant) -> None:
    tenant.create(1)
    response = tenant.post("/users", new_user("x", userPrincipalName="TUSER1@Contoso.COM"))
    assert response.status_code == 400
    assert error_of(response) | {"innerError": None} == {
        "code": "Request_BadRequest",
        "message": "Another object with the same value for property userPrincipalName already "
                   "exists.",
        "innerError": None,
        "details": [{"target": "userPrincipalName", "code": "ObjectConflict"}],
    }


# --- 2. Each §2.3 row: code + message + details byte-for-byte; innerError on every error ------
def _without(key: str) -> dict[str, Any]:
    body = new_user(1)
    del body[key]
    return body


ROWS: list[tuple[str, dict[str, Any], int, str, str, str | None]] = [
    *[(f"required-{k}", _without(k), 400, "Request_BadRequest",
       f"Property {k} value is required but is empty or missing.", None)
      for k in ("accountEnabled", "displayName", "mailNickname", "userPrincipalName",
                "passwordProfile")],
    ("required-empty-displayName", new_user(1, displayName=""), 400, "Request_BadRequest",
     "Property displayName value is required but is empty or missing.", None),
    ("missing-password", new_user(1, passwordProfile={"forceChangePasswordNextSignIn": True}),
     400, "Request_BadRequest", "A password must be specified to create a new user.", None),
    ("unverified-domain", new_user(1, userPrincipalName="tuser1@fabrikam.com"), 400,
     "Request_BadRequest",
     "The domain portion of the userPrincipalName property is invalid. You must use one of the "
     "verified domain names in your organization.",
     '"details":[{"target":"userPrincipalName","code":"InvalidValue"}]'),
    ("upn-illegal-characters", new_user(1, userPrincipalName="t user1@contoso.com"), 400,
     "Request_BadRequest", "Property userPrincipalName is invalid.",
     '"details":[{"target":"userPrincipalName","code":"InvalidValue"}]'),
    ("upn-dot-before-at", new_user(1, userPrincipalName="tuser1.@contoso.com"), 400,
     "Request_BadRequest", "Property userPrincipalName is invalid.",
     '"details":[{"target":"userPrincipalName","code":"InvalidValue"}]'),
    ("upn-local-part-over-64", new_user(1, userPrincipalName="a" * 65 + "@contoso.com"), 400,
     "Request_BadRequest", "Property userPrincipalName is invalid.",
     '"details":[{"target":"userPrincipalName","code":"InvalidValue"}]'),
    ("invalid-mailNickname", new_user(1, mailNickname="naveen.mills,.jr."), 400,
     "Request_BadRequest",
     "Invalid value specified for property 'mailNickname' of resource 'User'.",
     '"details":[{"code":"InvalidValue","target":"mailNickname"}]'),
    ("password-complexity", new_user(1, passwordProfile={"password": "alllowercase"}), 400,
     "Request_BadRequest",
     "The specified password does not comply with password complexity requirements. Please "
     "provide a different password.", None),
    ("password-too-short", new_user(1, passwordProfile={"password": "Ab1!"}), 400,
     "Request_BadRequest",
     "The specified password does not comply with password complexity requirements. Please "
     "provide a different password.", None),
    ("password-contains-username", new_user(1, passwordProfile={"password": "Xtuser1#99"}), 400,
     "Request_BadRequest", "Password cannot contain username.", None),
    ("other-invalid-value", new_user(1, usageLocation="USA"), 400, "Request_BadRequest",
     "Invalid value specified for property 'usageLocation' of resource 'User'.",
     '"details":[{"code":"InvalidValue","target":"usageLocation"}]'),
    ("length-limit", new_user(1, employeeId="E" * 17), 400, "Request_BadRequest",
     "Invalid value specified for property 'employeeId' of resource 'User'.",
     '"details":[{"code":"InvalidValue","target":"employeeId"}]'),
    ("businessPhones-max-one", new_user(1, businessPhones=["1", "2"]), 400, "Request_BadRequest",
     "Invalid value specified for property 'businessPhones' of resource 'User'.",
     '"details":[{"code":"InvalidValue","target":"businessPhones"}]'),
    ("type-mismatch", new_user(1, accountEnabled="yes"), 400, "BadRequest",
     "Cannot convert a primitive value to the expected type 'Edm.Boolean'. See the inner "
     "exception for more details.", None),
    ("unknown-property", new_user(1, favouriteColour="blue"), 400, "Request_BadRequest",
     "Invalid property 'favouriteColour'.", None),
    ("read-only-property", new_user(1, id="00000000-0000-0000-0000-000000000001"), 400,
     "Request_BadRequest", "Property 'id' is read-only and cannot be set.", None),
    ("bad-date", new_user(1, employeeHireDate="2020-01-01"), 400, "BadRequest",
     "Cannot convert the literal '2020-01-01' to the expected type 'Edm.DateTimeOffset'.", None),
    ("unregistered-extension", new_user(1, extension_0123456789abcdef0123456789abcdef_x="v"),
     400, "Request_BadRequest", "The following extension properties are not available: "
     "extension_0123456789abcdef0123456789abcdef_x.", None),
]


@pytest.mark.parametrize(("body", "status", "code", "message", "details"),
                         [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_c02_validation_rows(tenant: Tenant, body: dict[str, Any], status: int, code: str,
                             message: str, details: str | None) -> None:
    response = tenant.post("/users", body)
    assert response.status_code == status
    error = error_of(response)
    assert (error["code"], error["message"]) == (code, message)
    if details is None:
        assert "details" not in error
    else:
        assert details in response.text  # key order as in the quoted payloads


def test_c02_federated_domain_without_immutable_id(tenant: Tenant) -> None:
    tenant.admin("POST", "/domains", json={"name": "fed.contoso.com", "federated": True})
    response = tenant.post("/users", new_user(1, userPrincipalName="tuser1@fed.contoso.com"))
    assert error_of(response)["message"] == "One or more properties contains invalid values."
    ok = tenant.post("/users", new_user(1, userPrincipalName="tuser1@fed.contoso.com",
                                        onPremisesImmutableId="aW1tdXRhYmxl"))
    assert ok.status_code == 201


def test_c02_insufficient_privileges_is_403() -> None:
    tenant = Tenant(SandboxConfig.for_tests(app_roles=["User.Read.All"]))
    response = tenant.post("/users", new_user(1))
    assert response.status_code == 403
    assert error_of(response)["code"] == "Authorization_RequestDenied"
    assert error_of(response)["message"] == "Insufficient privileges to complete the operation."


def test_c02_inner_error_echoes_client_request_id_or_request_id(tenant: Tenant) -> None:
    sent = tenant.post("/users", _without("displayName"),
                       headers={"client-request-id": "e70c5c1b-0000-4000-8000-000000000001"})
    inner = sent.json()["error"]["innerError"]
    assert inner["client-request-id"] == "e70c5c1b-0000-4000-8000-000000000001"
    assert sent.headers["client-request-id"] == "e70c5c1b-0000-4000-8000-000000000001"
    unsent = tenant.post("/users", _without("displayName"))
    inner = unsent.json()["error"]["innerError"]
    assert inner["client-request-id"] == inner["request-id"] == unsent.headers["request-id"]


# --- 3. PATCH → 204 empty; accountEnabled:false persists; employeeOrgData partial nulls -----
def test_c03_patch_204_disable_persists_and_org_data_is_replaced(tenant: Tenant) -> None:
    user = tenant.create(1, employeeOrgData={"division": "Sales", "costCenter": "CC1"})
    response = tenant.patch(f"/users/{user['id']}", {"accountEnabled": False})
    assert response.status_code == 204 and response.content == b""
    response = tenant.patch(f"/users/{user['id']}", {"employeeOrgData": {"division": "Ops"}})
    assert response.status_code == 204
    got = tenant.get(f"/users/{user['id']}?$select=accountEnabled,employeeOrgData").json()
    assert got["accountEnabled"] is False
    assert got["employeeOrgData"] == {"division": "Ops", "costCenter": None}


# --- 4. GET by id and by UPN (other case) → same user; unknown → 404 echoing the key --------
def test_c04_get_by_id_and_upn_in_other_case(tenant: Tenant) -> None:
    user = tenant.create(1)
    by_id = tenant.get(f"/users/{user['id']}")
    by_upn = tenant.get("/users/TUSER1@CONTOSO.COM")
    assert by_id.status_code == by_upn.status_code == 200
    assert by_id.json() == by_upn.json()
    assert by_id.json()["@odata.context"] == f"{GRAPH}/$metadata#users/$entity"
    selected = tenant.get(f"/users/{user['id']}?$select=displayName,employeeId").json()
    assert selected == {"@odata.context": f"{GRAPH}/$metadata#users(displayName,employeeId)"
                                          "/$entity",
                        "displayName": "Test User 1", "employeeId": None}


@pytest.mark.parametrize("key", ["6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0", "nobody@contoso.com",
                                 "not-a-guid"])
def test_c04_unknown_user_404_echoes_key(tenant: Tenant, key: str) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        response = tenant.request(method, f"/users/{key}",
                                  json={"jobTitle": "x"} if method == "PATCH" else None)
        assert response.status_code == 404
        error = error_of(response)
        assert error["code"] == "Request_ResourceNotFound"
        assert error["message"] == (f"Resource '{key}' does not exist or one of its queried "
                                    "reference-property objects are not present.")


# --- 5. Manager PUT → 204; GET manager → 200; none → 404 "Resource 'manager' …" -------------
def test_c05_manager_put_get_and_missing(tenant: Tenant) -> None:
    boss, worker = tenant.create("boss"), tenant.create("worker")
    assert tenant.set_manager(worker["id"], boss["id"]).status_code == 204
    got = tenant.get(f"/users/{worker['id']}/manager")
    assert got.status_code == 200
    assert got.json()["id"] == boss["id"]
    assert got.json()["@odata.type"] == "#microsoft.graph.user"
    missing = tenant.get(f"/users/{boss['id']}/manager")
    assert missing.status_code == 404
    error = error_of(missing)
    assert (error["code"], error["message"]) == (
        "Request_ResourceNotFound",
        "Resource 'manager' does not exist or one of its queried reference-property objects "
        "are not present.")


# --- 6. employeeId eq by default; employeeType eq needs advanced; in with 16 values ---------
def test_c06_filter_default_advanced_and_in_limit(tenant: Tenant) -> None:
    user = tenant.create(1, employeeId="E1", employeeType="Contractor")
    found = tenant.get("/users?$filter=employeeId eq 'E1'")
    assert found.status_code == 200 and [u["id"] for u in found.json()["value"]] == [user["id"]]
    plain = tenant.get("/users?$filter=employeeType eq 'Contractor'")
    assert plain.status_code == 400
    assert error_of(plain)["code"] == "Request_UnsupportedQuery"
    advanced = tenant.get("/users?$filter=employeeType eq 'Contractor'&$count=true",
                          headers=ADVANCED)
    assert advanced.status_code == 200 and advanced.json()["@odata.count"] == 1
    values = ",".join(f"'E{i}'" for i in range(1, 17))
    assert tenant.get(f"/users?$filter=employeeId in ({values})").status_code == 400
    assert error_of(tenant.get(f"/users?$filter=employeeId in ({values})"))["code"] == \
        "Request_UnsupportedQuery"
    fifteen = ",".join(f"'E{i}'" for i in range(1, 16))
    assert tenant.get(f"/users?$filter=employeeId in ({fifteen})").status_code == 200
    assert tenant.get(f"/users?$filter=employeeId in ({values})&$count=true",
                      headers=ADVANCED).status_code == 200


# --- 7. $top bounds; default 100/page; nextLink round-trips; ConsistencyLevel not carried ---
def test_c07_top_bounds(tenant: Tenant) -> None:
    assert tenant.get("/users?$top=999").status_code == 200
    response = tenant.get("/users?$top=1000")
    assert response.status_code == 400
    assert error_of(response)["message"] == ("Invalid page size specified: '1000'. Must be "
                                             "between 1 and 999 inclusive.")
    assert tenant.get("/users?$top=0").status_code == 400


def test_c07_default_page_100_and_next_link_round_trip(tenant: Tenant) -> None:
    for i in range(120):
        tenant.create(i, employeeId=f"P{i}")
    first = tenant.get("/users")
    assert len(first.json()["value"]) == 100
    link = first.json()["@odata.nextLink"]
    assert link.startswith(f"{GRAPH}/users?") and "$skiptoken=" in link
    seen = [u["id"] for u in first.json()["value"]]
    while link:
        page = tenant.get(link).json()
        seen += [u["id"] for u in page["value"]]
        link = page.get("@odata.nextLink")
    assert len(seen) == len(set(seen)) == 123  # 120 + the three seeded users
    # query options survive in the link; the skiptoken is opaque and tamper-evident
    page = tenant.get("/users?$select=id&$top=5").json()
    query = parse_qs(urlsplit(page["@odata.nextLink"]).query)
    assert query["$select"] == ["id"] and query["$top"] == ["5"]
    tampered = page["@odata.nextLink"].replace("$skiptoken=", "$skiptoken=x")
    assert tenant.get(tampered).status_code == 400


def test_c07_consistency_level_is_not_carried_by_next_link(tenant: Tenant) -> None:
    for i in range(3):
        tenant.create(i, employeeType="Employee")
    first = tenant.get("/users?$filter=employeeType eq 'Employee'&$count=true&$top=2",
                       headers=ADVANCED)
    body = first.json()
    assert body["@odata.count"] == 3 and len(body["value"]) == 2
    link = body["@odata.nextLink"]
    assert tenant.get(link).status_code == 400  # header not resent → advanced filter rejected
    second = tenant.get(link, headers=ADVANCED).json()
    assert len(second["value"]) == 1 and "@odata.count" not in second  # first page only


# --- 8. Delta initial → nextLink … deltaLink; changes; $deltatoken=latest; 410 reset ---------
def test_c08_delta_rounds_changes_latest_and_reset() -> None:
    tenant = Tenant(SandboxConfig.for_tests(default_page_size=2))
    a, b = tenant.create("a"), tenant.create("b")
    page = tenant.get("/users/delta?$select=displayName,jobTitle").json()
    assert page["@odata.context"] == f"{GRAPH}/$metadata#users(displayName,jobTitle)"
    ids: list[str] = []
    while "@odata.nextLink" in page:
        ids += [item["id"] for item in page["value"]]
        assert page["@odata.nextLink"].startswith(f"{GRAPH}/users/delta?$skiptoken=")
        page = tenant.get(page["@odata.nextLink"]).json()
    ids += [item["id"] for item in page["value"]]
    assert len(ids) == 5 and {a["id"], b["id"]} <= set(ids)
    delta_link = page["@odata.deltaLink"]
    assert delta_link.startswith(f"{GRAPH}/users/delta?$deltatoken=")
    # nothing changed → empty page + new deltaLink
    quiet = tenant.get(delta_link).json()
    assert quiet["value"] == [] and "@odata.deltaLink" in quiet
    # update a tracked property, change an untracked one, delete b
    tenant.patch(f"/users/{a['id']}", {"jobTitle": "Engineer"})
    tenant.patch(f"/users/{b['id']}", {"department": "Sales"})
    tenant.delete(f"/users/{b['id']}")
    changes = tenant.get(quiet["@odata.deltaLink"]).json()
    by_id = {item["id"]: item for item in changes["value"]}
    assert by_id[a["id"]] == {"displayName": "Test User a", "jobTitle": "Engineer",
                              "id": a["id"]}
    assert by_id[b["id"]] == {"id": b["id"], "@removed": {"reason": "changed"}}
    # $deltatoken=latest: only a deltaLink, no data
    latest = tenant.get("/users/delta?$deltatoken=latest").json()
    assert latest["value"] == [] and "@odata.deltaLink" in latest
    # reset switch → 410 Gone with a Location to start over
    tenant.config.delta_reset_next = 1
    gone = tenant.get(changes["@odata.deltaLink"])
    assert gone.status_code == 410
    assert gone.headers["location"].startswith(f"{GRAPH}/users/delta?")
    restart = tenant.get(gone.headers["location"])
    assert restart.status_code == 200 and restart.json()["value"]


# --- 9. $batch: ≤20, per-item status, out of order, dependsOn 424, per-item 429, outer 200 --
def test_c09_batch() -> None:
    tenant = Tenant(SandboxConfig.for_tests(seed=3))
    too_many = {"requests": [{"id": str(i), "method": "GET", "url": "/users"}
                             for i in range(21)]}
    assert tenant.post("/$batch", too_many).status_code == 400
    requests: list[dict[str, Any]] = [
        {"id": "1", "method": "POST", "url": "/users", "body": new_user(1),
         "headers": {"Content-Type": "application/json"}},
        {"id": "2", "method": "GET", "url": "/users/nobody@contoso.com"},
        {"id": "3", "method": "PATCH", "url": "/users/nobody@contoso.com", "dependsOn": ["2"],
         "body": {"jobTitle": "x"}, "headers": {"Content-Type": "application/json"}},
        *[{"id": str(i), "method": "GET", "url": f"users?$select=id&$top={i}"}
          for i in range(4, 12)],
    ]
    response = tenant.post("/$batch", {"requests": requests})
    assert response.status_code == 200
    items = {item["id"]: item for item in response.json()["responses"]}
    assert set(items) == {r["id"] for r in requests}
    assert [r["id"] for r in response.json()["responses"]] != [r["id"] for r in requests]
    assert items["1"]["status"] == 201 and items["1"]["body"]["displayName"] == "Test User 1"
    assert items["2"]["status"] == 404
    assert items["2"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert items["3"]["status"] == 424
    assert all(items[str(i)]["status"] == 200 for i in range(4, 12))
    # per-item 429 with Retry-After; the batch itself still answers 200
    tenant.config.throttle_next = 1
    throttled = tenant.post("/$batch", {"requests": [
        {"id": "a", "method": "GET", "url": "/users"},
        {"id": "b", "method": "GET", "url": "/users"}]})
    assert throttled.status_code == 200
    statuses = {item["id"]: item for item in throttled.json()["responses"]}
    assert statuses["a"]["status"] == 429 and statuses["b"]["status"] == 200
    assert statuses["a"]["headers"]["Retry-After"] == "1"
    assert statuses["a"]["body"]["error"]["code"] == "TooManyRequests"


# --- 10. Throttle switch → 429 per §6.2; token endpoint: discovery, 3599 s, invalid_client --
def test_c10_throttle_switch_429_shape(tenant: Tenant) -> None:
    tenant.config.throttle_next = 1
    response = tenant.get("/users")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"].startswith("application/json")
    assert "x-ms-throttle-scope" in response.headers
    body = response.json()
    assert list(body) == ["error"] and body["error"]["code"] == "TooManyRequests"
    assert body["error"]["message"] == "Please retry again later."
    inner = body["error"]["innerError"]
    assert set(inner) == {"code", "date", "message", "request-id", "status"}
    assert (inner["code"], inner["message"], inner["status"]) == ("429", "Please retry after",
                                                                  "429")
    assert tenant.get("/users").status_code == 200


def test_c10_token_endpoint_discovery_lifetime_and_invalid_client() -> None:
    tenant = Tenant(SandboxConfig.for_tests(client_secrets={"hr-connector": "s3cret"}))
    discovery = tenant.http.get(f"https://login.microsoftonline.com/{tenant.tenant_id}"
                                "/v2.0/.well-known/openid-configuration")
    assert discovery.status_code == 200
    config = discovery.json()
    assert config["token_endpoint"] == (f"https://login.microsoftonline.com/{tenant.tenant_id}"
                                        "/oauth2/v2.0/token")
    assert config["authorization_endpoint"].startswith("https://")
    ok = tenant.token_response()
    assert ok.status_code == 200
    assert {k: v for k, v in ok.json().items() if k != "access_token"} == {
        "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599}
    assert ok.json()["access_token"].startswith("eyJ")
    bad = tenant.token_response(secret="wrong")
    assert bad.status_code == 401
    body = bad.json()
    assert body["error"] == "invalid_client" and body["error_codes"] == [7000215]
    assert body["error_description"].startswith(
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
        "request is the client secret value, not the client secret ID, for a secret added to "
        "app 'hr-connector'.\r\nTrace ID: ")
    assert set(body) == {"error", "error_description", "error_codes", "timestamp", "trace_id",
                         "correlation_id", "error_uri"}
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z", body["timestamp"])
    assert body["error_uri"].endswith("code=7000215")

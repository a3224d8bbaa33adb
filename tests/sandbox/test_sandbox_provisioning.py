"""The sandbox's API-driven inbound provisioning, checked against the documented surface
(api-driven-inbound.md §1, §2, §9) with raw HTTP: nothing here uses the connector's client."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connector.sandbox import SandboxConfig
from tests.sandbox.sandbox_helpers import FakeClock, Tenant, error_of

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SCIM = {"Content-Type": "application/scim+json"}


def user(external: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"schemas": [CORE, ENTERPRISE], "externalId": external,
                            "userName": f"u{external}@contoso.com",
                            "displayName": f"User {external}", "active": True}
    data.update(extra)
    return data


def bulk(*users: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [BULK], "failOnErrors": None, "Operations": [
        {"method": "POST", "bulkId": u.get("externalId", "x"), "path": "/Users", "data": u}
        for u in users]}


@pytest.fixture
def tenant() -> Tenant:
    return Tenant(SandboxConfig.for_tests(provisioning_log_lag_s=0))


def url(tenant: Tenant) -> str:
    return tenant.app.provisioning.bulk_url("https://graph.microsoft.com/v1.0")


def upload(tenant: Tenant, body: Any, **kwargs: Any) -> Any:
    headers = kwargs.pop("headers", SCIM)
    return tenant.request("POST", url(tenant), headers=headers,
                          content=json.dumps(body).encode(), **kwargs)


def logs(tenant: Tenant, query: str = "") -> list[dict[str, Any]]:
    response = tenant.get("/auditLogs/provisioning" + query)
    assert response.status_code == 200, response.text
    return list(response.json()["value"])


def by_employee(tenant: Tenant) -> dict[str, dict[str, Any]]:
    from connector.sandbox.admin import user_record

    return {row.doc["employeeId"]: user_record(row) for row in tenant.app.state.store.scan()
            if row.doc.get("employeeId")}


def test_accepted_upload_is_202_empty_with_a_location_to_the_jobs_logs(tenant: Tenant) -> None:
    response = upload(tenant, bulk(user("E1")))
    assert response.status_code == 202 and response.content == b""
    job = tenant.app.provisioning.ids.job
    assert response.headers["Location"].endswith(
        f"/v1.0/auditLogs/provisioning/?$filter=jobid%20eq%20'{job}'")
    assert by_employee(tenant)["E1"]["accountEnabled"] is True


@pytest.mark.parametrize(("body", "headers", "reason"), [
    (bulk(user("E1")), {"Content-Type": "application/json"}, "Invalid Data Format"),
    ({"name": "John Doe"}, SCIM, "schemas must be"),
    (bulk(*[user(f"E{n}") for n in range(51)]), SCIM, "at most 50"),
    ({"schemas": [BULK], "Operations": []}, SCIM, "non-empty"),
    (bulk(user("E1"), user("E1")), SCIM, "bulkId must be a unique"),
    (bulk({"schemas": [CORE], "externalId": "E1"}), SCIM, "core and enterprise"),
    (bulk({"schemas": [CORE, ENTERPRISE], "userName": "a@contoso.com"}), SCIM, "externalId"),
])
def test_invalid_uploads_are_400_and_change_nothing(tenant: Tenant, body: Any,
                                                    headers: dict[str, str],
                                                    reason: str) -> None:
    response = upload(tenant, body, headers=headers)
    assert response.status_code == 400
    assert reason in error_of(response)["message"]
    assert by_employee(tenant) == {}


def test_every_endpoint_needs_its_permission() -> None:
    tenant = Tenant(SandboxConfig.for_tests(app_roles=["User.ReadWrite.All"]))
    job = url(tenant).removesuffix("/bulkUpload")
    assert upload(tenant, bulk(user("E1"))).status_code == 403
    assert tenant.get(job).status_code == 403
    assert tenant.get("/auditLogs/provisioning").status_code == 403


def test_rate_limit_is_40_per_5_seconds_and_a_throttled_call_counts() -> None:
    clock = FakeClock()
    tenant = Tenant(SandboxConfig.for_tests(provisioning_log_lag_s=0), clock=clock)
    answers = [upload(tenant, bulk(user(f"E{n}"))).status_code for n in range(41)]
    assert answers == [202] * 40 + [429]
    throttled = upload(tenant, bulk(user("X")))
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
    assert error_of(throttled)["code"] == "TooManyRequests"
    clock.advance(5.1)
    assert upload(tenant, bulk(user("Y"))).status_code == 202


def test_the_daily_quota_counts_24_hours() -> None:
    clock = FakeClock()
    tenant = Tenant(SandboxConfig.for_tests(bulk_daily_limit=3, provisioning_log_lag_s=0),
                    clock=clock)
    assert [upload(tenant, bulk(user(f"E{n}"))).status_code for n in range(4)] == [
        202, 202, 202, 429]
    refused = upload(tenant, bulk(user("E9")))
    assert int(refused.headers["Retry-After"]) > 20 * 3600  # the first one leaves in ~24 h
    clock.advance(24 * 3600 + 1)
    tenant.token = tenant.get_token()  # a day later, a new token
    assert upload(tenant, bulk(user("E10"))).status_code == 202


def test_missing_active_disables_and_manager_resolves_when_processed_first(
        tenant: Tenant) -> None:
    manager = user("M1")
    report = user("R1", **{ENTERPRISE: {"manager": {"value": "M1"}}})
    early = user("R2", **{ENTERPRISE: {"manager": {"value": "M3"}}})
    late = user("M3")
    assert upload(tenant, bulk(manager, report, early, late)).status_code == 202
    users = by_employee(tenant)
    assert users["R1"]["_managerId"] == users["M1"]["id"]
    assert users["R2"]["_managerId"] is None  # its manager came after it
    entry = {e["sourceIdentity"]["id"]: e for e in logs(tenant)}["R2"]
    assert entry["provisioningStatusInfo"]["status"] == "warning"
    assert entry["provisioningStatusInfo"]["errorInformation"]["errorCode"] == \
        "ReferenceResolutionFailed"
    without_active = {k: v for k, v in user("M1").items() if k != "active"}
    assert upload(tenant, bulk(without_active)).status_code == 202
    assert by_employee(tenant)["M1"]["accountEnabled"] is False  # I1
    last = logs(tenant)[-1]
    assert last["provisioningAction"] == "disable"
    assert {"displayName": "accountEnabled", "oldValue": "True", "newValue": "False"} in \
        last["modifiedProperties"]


def test_a_upn_in_a_domain_the_tenant_lacks_fails_with_entras_code(tenant: Tenant) -> None:
    upload(tenant, bulk(user("E1", userName="e1@fabrikam.example")))
    entry = logs(tenant)[0]
    info = entry["provisioningStatusInfo"]
    assert entry["provisioningAction"] == "create" and info["status"] == "failure"
    assert info["errorInformation"]["errorCode"] == "AzureActiveDirectoryInvalidUserPrincipalName"
    assert entry["modifiedProperties"] == [] and by_employee(tenant) == {}


def test_default_mapping_and_custom_extension_reach_the_user(tenant: Tenant) -> None:
    custom = "urn:ietf:params:scim:schemas:extension:hrconnector:1.0:User"
    data = user("E1", name={"givenName": "Ada", "familyName": "Lovelace"}, title="Head",
                nickName="ada.l", userType="Employee",
                addresses=[{"type": "work", "locality": "London", "country": "GB"}],
                phoneNumbers=[{"type": "work", "value": "+44 1"}, {"type": "mobile",
                                                                    "value": "+44 2"}],
                **{ENTERPRISE: {"department": "R&D", "division": "Eng", "costCenter": "C1",
                                "organization": "Contoso"},
                   custom: {"HireDate": "2024-03-01T00:00:00Z", "UsageLocation": "GB"}})
    data["schemas"] = [CORE, ENTERPRISE, custom]
    upload(tenant, bulk(data))
    got = by_employee(tenant)["E1"]
    assert (got["givenName"], got["surname"], got["jobTitle"], got["mailNickname"]) == (
        "Ada", "Lovelace", "Head", "ada.l")
    assert (got["city"], got["country"], got["businessPhones"], got["mobilePhone"]) == (
        "London", "GB", ["+44 1"], "+44 2")
    assert got["employeeOrgData"] == {"division": "Eng", "costCenter": "C1"}
    assert (got["department"], got["companyName"], got["employeeType"]) == (
        "R&D", "Contoso", "Employee")
    assert (got["employeeHireDate"], got["usageLocation"]) == ("2024-03-01T00:00:00Z", "GB")
    # userName and nickName apply on creation only; the rest on every upload
    upload(tenant, bulk({**data, "userName": "other@contoso.com", "title": "CTO"}))
    got = by_employee(tenant)["E1"]
    assert (got["userPrincipalName"], got["jobTitle"]) == ("uE1@contoso.com", "CTO")
    assert logs(tenant)[-1]["modifiedProperties"] == [
        {"displayName": "jobTitle", "oldValue": "Head", "newValue": "CTO"}]
    upload(tenant, bulk({**data, "title": "CTO"}))
    last = logs(tenant)[-1]
    assert last["provisioningStatusInfo"]["status"] == "skipped"  # nothing to change


def test_a_paused_job_keeps_uploads_until_it_starts_and_logs_nothing_meanwhile(
        tenant: Tenant) -> None:
    job_url = url(tenant).removesuffix("/bulkUpload")
    tenant.app.provisioning.set_status("Paused")
    assert tenant.get(job_url).json()["status"]["code"] == "Paused"
    assert upload(tenant, bulk(user("E1"))).status_code == 202
    assert logs(tenant) == [] and by_employee(tenant) == {}
    tenant.app.provisioning.set_status("Quarantine", "EncounteredQuarantineException")
    status = tenant.get(job_url).json()["status"]
    assert status["code"] == "Quarantine"
    assert status["quarantine"]["reason"] == "EncounteredQuarantineException"
    response = tenant.admin("POST", "/provisioning", json={"status": "Active"})
    assert response.json()["status"] == "Active"
    assert "E1" in by_employee(tenant) and len(logs(tenant)) == 1


def test_logs_appear_after_the_lag_filter_and_page() -> None:
    clock = FakeClock()
    tenant = Tenant(SandboxConfig.for_tests(provisioning_log_lag_s=300,
                                            provisioning_page_size=2), clock=clock)
    upload(tenant, bulk(*[user(f"E{n}") for n in range(5)]))
    assert logs(tenant) == []
    clock.advance(300)
    job = tenant.app.provisioning.ids.job
    seen: list[str] = []
    page = tenant.get(f"/auditLogs/provisioning?$filter=jobId eq '{job}' and "
                      "activityDateTime ge 2000-01-01T00:00:00Z").json()
    while True:
        seen += [e["sourceIdentity"]["id"] for e in page["value"]]
        if "@odata.nextLink" not in page:
            break
        page = tenant.get(page["@odata.nextLink"]).json()
    assert seen == [f"E{n}" for n in range(5)]
    assert [e["sourceIdentity"]["id"] for e in logs(
        tenant, "?$filter=sourceIdentity/id eq 'E3'")] == ["E3"]
    assert logs(tenant, "?$filter=jobId eq 'other'") == []
    assert logs(tenant, "?$filter=activityDateTime ge 2100-01-01T00:00:00Z") == []
    bad = tenant.get("/auditLogs/provisioning?$filter=nonsense eq 'x'")
    assert bad.status_code == 400


def test_beta_serves_the_provisioning_endpoints(tenant: Tenant) -> None:
    beta = url(tenant).replace("/v1.0/", "/beta/")
    response = tenant.request("POST", beta, headers=SCIM,
                              content=json.dumps(bulk(user("E1"))).encode())
    assert response.status_code == 202
    assert "/beta/auditLogs/provisioning/" in response.headers["Location"]


def test_schema_lists_the_api_attributes_and_the_mapping(tenant: Tenant) -> None:
    schema = tenant.get(url(tenant).replace("/bulkUpload", "/schema")).json()
    names = {a["name"] for d in schema["directories"] for o in d["objects"]
             for a in o["attributes"]}
    assert {"externalId", "active", 'addresses[type eq "work"].locality',
            f"{ENTERPRISE}:manager",
            "urn:ietf:params:scim:schemas:extension:hrconnector:1.0:User:HireDate"} <= names
    flows = {m["source"]["name"]: m for m in
             schema["synchronizationRules"][0]["objectMappings"][0]["attributeMappings"]}
    assert flows["userName"]["flowType"] == "ObjectAddOnly"
    assert flows["externalId"]["targetAttributeName"] == "employeeId"


def test_unknown_job_is_404(tenant: Tenant) -> None:
    wrong = url(tenant).replace("/jobs/API2AAD.", "/jobs/API2AD.")
    response = tenant.request("POST", wrong, headers=SCIM, content=b"{}")
    assert response.status_code == 404

"""User resource behaviour beyond the §9 checklist: PATCH semantics (§3.1), delete (§3.4),
manager $ref (§3.5), representations (§1, §8), routing errors and permissions."""

from __future__ import annotations

import pytest

from connector.sandbox import SandboxConfig
from tests.sandbox.sandbox_helpers import GRAPH, Tenant, error_of, new_user


@pytest.fixture
def tenant() -> Tenant:
    return Tenant()


def test_every_graph_response_carries_the_documented_headers(tenant: Tenant) -> None:
    response = tenant.get("/users", headers={"client-request-id": "abc"})
    assert response.headers["content-type"] == (
        "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
        "charset=utf-8")
    assert response.headers["odata-version"] == "4.0"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["client-request-id"] == "abc"
    assert len(response.headers["request-id"]) == 36
    assert "date" in response.headers and "x-ms-resource-unit" in response.headers


def test_patch_null_clears_and_omitted_keep(tenant: Tenant) -> None:
    user = tenant.create(1, jobTitle="Dev", department="IT", employeeHireDate="2020-01-01T09:00"
                         ":00+02:00")
    assert tenant.patch(f"/users/{user['id']}", {"jobTitle": None}).status_code == 204
    got = tenant.get(f"/users/{user['id']}?$select=jobTitle,department,employeeHireDate").json()
    assert got["jobTitle"] is None and got["department"] == "IT"
    assert got["employeeHireDate"] == "2020-01-01T07:00:00Z"  # stored as UTC with Z (§8)


@pytest.mark.parametrize(("body", "message"), [
    ({"displayName": None}, "Property displayName value is required but is empty or missing."),
    ({"displayName": ""}, "Property displayName value is required but is empty or missing."),
    ({"usageLocation": None},
     "Invalid value specified for property 'usageLocation' of resource 'User'."),
])
def test_patch_cannot_clear_required_or_non_nullable(tenant: Tenant, body: dict[str, object],
                                                     message: str) -> None:
    user = tenant.create(1, usageLocation="US")
    assert error_of(tenant.patch(f"/users/{user['id']}", body))["message"] == message


def test_patch_rename_checks_domain_and_uniqueness(tenant: Tenant) -> None:
    first, second = tenant.create(1), tenant.create(2)
    clash = tenant.patch(f"/users/{second['id']}", {"userPrincipalName": "TUser1@contoso.com"})
    assert error_of(clash)["details"] == [{"target": "userPrincipalName",
                                           "code": "ObjectConflict"}]
    foreign = tenant.patch(f"/users/{second['id']}", {"userPrincipalName": "x@fabrikam.com"})
    assert "verified domain" in error_of(foreign)["message"]
    same = tenant.patch(f"/users/{first['id']}", {"userPrincipalName": "TUSER1@contoso.com"})
    assert same.status_code == 204  # its own UPN in another case is no conflict


def test_patch_password_checks_complexity(tenant: Tenant) -> None:
    user = tenant.create(1)
    weak = tenant.patch(f"/users/{user['id']}", {"passwordProfile": {"password": "weakpass"}})
    assert error_of(weak)["message"].startswith("The specified password does not comply")
    relaxed = tenant.patch(f"/users/{user['id']}", {
        "passwordPolicies": "DisableStrongPassword", "passwordProfile": {"password": "weakpass"}})
    assert relaxed.status_code == 204
    profile = tenant.get(f"/users/{user['id']}?$select=passwordProfile").json()
    assert profile["passwordProfile"]["password"] is None  # never returned (§1.1)


def test_patch_of_synced_user_mastered_property_is_rejected(tenant: Tenant) -> None:
    synced = tenant.admin("POST", "/users", json={
        "userPrincipalName": "synced@contoso.com", "displayName": "Synced",
        "mailNickname": "synced", "accountEnabled": True, "onPremisesSyncEnabled": True}).json()
    response = tenant.patch(f"/users/{synced['id']}", {"jobTitle": "x"})
    assert error_of(response)["message"] == (
        "Unable to update the specified properties for on-premises mastered Directory Sync "
        "objects or objects currently undergoing migration.")
    assert tenant.patch(f"/users/{synced['id']}", {"usageLocation": "GB"}).status_code == 204


def test_admin_targets_are_protected(tenant: Tenant) -> None:
    admin = tenant.get("/users/MeganB@contoso.onmicrosoft.com").json()
    assert tenant.patch(f"/users/{admin['id']}", {"mobilePhone": "1"}).status_code == 403
    assert tenant.delete(f"/users/{admin['id']}").status_code == 403
    assert tenant.patch(f"/users/{admin['id']}", {"jobTitle": "CISO"}).status_code == 204


def test_delete_removes_from_get_and_lists_and_frees_upn(tenant: Tenant) -> None:
    user = tenant.create(1)
    response = tenant.delete(f"/users/{user['id']}")
    assert response.status_code == 204 and response.content == b""
    assert tenant.get(f"/users/{user['id']}").status_code == 404
    assert user["id"] not in {u["id"] for u in tenant.get("/users").json()["value"]}
    assert tenant.post("/users", new_user(1)).status_code == 201  # §3.4 [INF] "free"
    blocking = Tenant(SandboxConfig.for_tests(soft_deleted_upn_blocks=True))
    gone = blocking.create(1)
    blocking.delete(f"/users/{gone['id']}")
    assert blocking.post("/users", new_user(1)).status_code == 400


def test_manager_ref_get_delete_and_errors(tenant: Tenant) -> None:
    boss, worker = tenant.create("boss"), tenant.create("worker")
    by_directory_object = tenant.put(f"/users/{worker['id']}/manager/$ref",
                                     {"@odata.id": f"{GRAPH}/directoryObjects/{boss['id']}"})
    assert by_directory_object.status_code == 204
    ref = tenant.get(f"/users/{worker['id']}/manager/$ref").json()
    assert ref["@odata.id"] == f"{GRAPH}/directoryObjects/{boss['id']}/" \
                               "Microsoft.DirectoryServices.User"
    selected = tenant.get(f"/users/{worker['id']}/manager?$select=displayName").json()
    assert selected["displayName"] == "Test User boss" and "mail" not in selected
    unknown = tenant.set_manager(worker["id"], "6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0")
    assert unknown.status_code == 404
    assert "'6ea91a8d-e32e-41a1-b7bd-d2d185eed0e0'" in error_of(unknown)["message"]
    assert tenant.set_manager(worker["id"], worker["id"]).status_code == 400
    assert tenant.put(f"/users/{worker['id']}/manager/$ref", {}).status_code == 400
    assert tenant.put(f"/users/{worker['id']}/manager",
                      {"@odata.id": f"{GRAPH}/users/{boss['id']}"}).status_code == 405
    assert tenant.delete(f"/users/{worker['id']}/manager/$ref").status_code == 204
    assert tenant.get(f"/users/{worker['id']}/manager").status_code == 404
    assert tenant.delete(f"/users/{worker['id']}/manager/$ref").status_code == 404


def test_manager_of_deleted_manager_is_gone(tenant: Tenant) -> None:
    boss, worker = tenant.create("boss"), tenant.create("worker")
    tenant.set_manager(worker["id"], boss["id"])
    tenant.delete(f"/users/{boss['id']}")
    assert tenant.get(f"/users/{worker['id']}/manager").status_code == 404


def test_select_read_only_and_computed_properties(tenant: Tenant) -> None:
    user = tenant.create(1, mail="t1@contoso.com")
    got = tenant.get(f"/users/{user['id']}?$select=id,proxyAddresses,createdDateTime,"
                     "securityIdentifier,otherMails,onPremisesExtensionAttributes").json()
    assert got["proxyAddresses"] == ["SMTP:t1@contoso.com"]
    assert got["createdDateTime"].endswith("Z") and got["otherMails"] == []
    assert got["securityIdentifier"].startswith("S-1-12-1-")
    assert got["onPremisesExtensionAttributes"] is None
    duplicate_mail = tenant.post("/users", new_user(2, mail="T1@contoso.com"))
    assert error_of(duplicate_mail)["details"] == [{"target": "proxyAddresses",
                                                    "code": "ObjectConflict"}]


def test_single_object_only_properties(tenant: Tenant) -> None:
    user = tenant.create(1)
    assert tenant.get(f"/users/{user['id']}?$select=skills,aboutMe").status_code == 200
    listed = tenant.get("/users?$select=id,skills")
    assert listed.status_code == 501
    assert error_of(listed) | {"innerError": None} == {
        "code": "NotImplemented", "message": "This operation target is not yet supported.",
        "innerError": None}
    assert tenant.patch(f"/users/{user['id']}", {"aboutMe": "hi"}).status_code == 403


def test_extension_attributes_merge_and_directory_extensions() -> None:
    ext = "extension_0123456789abcdef0123456789abcdef_costCode"
    tenant = Tenant(SandboxConfig.for_tests(extension_properties=[ext]))
    user = tenant.create(1, onPremisesExtensionAttributes={"extensionAttribute1": "a"},
                         **{ext: "X1"})
    tenant.patch(f"/users/{user['id']}", {"onPremisesExtensionAttributes":
                                          {"extensionAttribute2": "b"}})
    got = tenant.get(f"/users/{user['id']}?$select=onPremisesExtensionAttributes,{ext}").json()
    assert got["onPremisesExtensionAttributes"] == {"extensionAttribute1": "a",
                                                    "extensionAttribute2": "b"}
    assert got[ext] == "X1"
    assert "extension_" not in str(tenant.get(f"/users/{user['id']}").json())
    bad = tenant.patch(f"/users/{user['id']}", {"onPremisesExtensionAttributes":
                                                {"extensionAttribute16": "x"}})
    assert bad.status_code == 400


def test_upn_key_forms(tenant: Tenant) -> None:
    # '$' is outside the documented UPN characters (§2.3), so such a user can only come from
    # elsewhere (here: the admin API); the /users('…') key form still has to find it (§3.2).
    assert tenant.post("/users", new_user("x", userPrincipalName="$odd@contoso.com")
                       ).status_code == 400
    odd = tenant.admin("POST", "/users", json={"userPrincipalName": "$odd@contoso.com",
                                               "displayName": "Odd"}).json()
    assert tenant.get("/users('$odd@contoso.com')").json()["id"] == odd["id"]
    guest = tenant.create("g", userPrincipalName="ann_fabrikam.com#EXT#@contoso.onmicrosoft.com")
    assert tenant.get("/users/ann_fabrikam.com%23EXT%23@contoso.onmicrosoft.com").json()[
        "id"] == guest["id"]


def test_unknown_segment_and_method(tenant: Tenant) -> None:
    response = tenant.get("/devices")
    assert response.status_code == 400
    assert error_of(response)["message"] == "Resource not found for the segment 'devices'."
    put = tenant.put("/users", {})
    assert put.status_code == 405
    assert error_of(put)["message"] == ("Specified HTTP method is not allowed for the request "
                                        "target.")


def test_invalid_json_body(tenant: Tenant) -> None:
    response = tenant.request("POST", "/users", content=b"{not json",
                              headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and error_of(response)["code"] == "BadRequest"


def test_lifecycle_and_account_roles() -> None:
    tenant = Tenant(SandboxConfig.for_tests(app_roles=["User.ReadWrite.All"]))
    user = tenant.create(1)
    leave = tenant.patch(f"/users/{user['id']}",
                         {"employeeLeaveDateTime": "2030-01-01T00:00:00Z"})
    assert leave.status_code == 403  # needs User-LifeCycleInfo.ReadWrite.All (§1.1)
    disable_only = Tenant(SandboxConfig.for_tests(
        app_roles=["User.EnableDisableAccount.All", "User.Read.All"]))
    target = disable_only.get("/users/svc-hrsync@contoso.onmicrosoft.com").json()
    assert disable_only.patch(f"/users/{target['id']}",
                              {"accountEnabled": False}).status_code == 204
    assert disable_only.patch(f"/users/{target['id']}", {"jobTitle": "x"}).status_code == 403

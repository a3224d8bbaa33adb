"""The sandbox's ``/groups`` against Microsoft's documentation (connector/sandbox/GROUPS.md),
over plain HTTP requests: nothing here uses the connector's Graph client."""

from __future__ import annotations

from typing import Any

from connector.sandbox import SandboxConfig
from tests.sandbox.sandbox_helpers import GRAPH, FakeClock, Tenant, error_of

ALREADY = ("One or more added object references already exist for the following modified "
           "properties: 'members'.")


def security_group(nickname: str = "hr-dept-sales", **extra: Any) -> dict[str, Any]:
    return {"displayName": "Dept - Sales", "mailNickname": nickname, "mailEnabled": False,
            "securityEnabled": True, "groupTypes": [], **extra}


def create_group(tenant: Tenant, **extra: Any) -> dict[str, Any]:
    response = tenant.post("/groups", security_group(**extra))
    assert response.status_code == 201, response.text
    return dict(response.json())


def bind(*ids: str) -> dict[str, list[str]]:
    return {"members@odata.bind": [f"{GRAPH}/directoryObjects/{i}" for i in ids]}


def test_create_returns_the_group_and_validates_like_graph() -> None:
    tenant = Tenant()
    group = create_group(tenant, description="Everyone in Sales")
    assert group["@odata.context"].endswith("/$metadata#groups/$entity")
    assert {group[k] for k in ("securityEnabled", "mailEnabled")} == {True, False}
    assert group["groupTypes"] == [] and group["description"] == "Everyone in Sales"
    missing = tenant.post("/groups", {"displayName": "X", "mailNickname": "x",
                                      "securityEnabled": True})
    assert missing.status_code == 400
    assert error_of(missing)["message"] == ("Property mailEnabled value is required but is "
                                            "empty or missing.")
    for nickname in ("hr.dept", "hr dept", "hr(x)", "é-team", "x" * 65):
        bad = tenant.post("/groups", security_group(nickname))
        assert bad.status_code == 400 and error_of(bad)["details"] == [
            {"code": "InvalidValue", "target": "mailNickname"}], nickname
    mail = tenant.post("/groups", security_group("hr-mail", mailEnabled=True))
    assert mail.status_code == 400 and "mail-enabled" in error_of(mail)["message"]
    taken = tenant.post("/groups", security_group("HR-DEPT-SALES"))
    assert taken.status_code == 400
    assert error_of(taken)["details"] == [{"target": "mailNickname", "code": "ObjectConflict"}]


def test_list_filters_on_the_marker_and_pages() -> None:
    tenant = Tenant()
    for n in range(5):
        create_group(tenant, nickname=f"hr-team-{n}")
    create_group(tenant, nickname="finance-team", displayName="Finance")
    query = "/groups?$filter=startswith(mailNickname,'HR-')&$select=id,mailNickname&$top=2"
    seen, url, pages = [], query, 0
    while url:
        body = tenant.get(url).json()
        seen += [g["mailNickname"] for g in body["value"]]
        assert all(set(g) == {"id", "mailNickname"} for g in body["value"])
        url, pages = body.get("@odata.nextLink"), pages + 1
    assert seen == [f"hr-team-{n}" for n in range(5)] and pages == 3
    named = tenant.get("/groups?$filter=displayName in ('Finance','Nobody')").json()["value"]
    assert [g["mailNickname"] for g in named] == ["finance-team"]


def test_filters_graph_does_not_support_by_default_are_refused() -> None:
    tenant = Tenant()
    wide = "','".join(str(n) for n in range(16))
    for query, text in (
            (f"displayName in ('{wide}')", "Too many child clauses"),
            ("createdDateTime ge 2020-01-01T00:00:00Z", "Unsupported or invalid query filter"),
            ("not(mailEnabled eq true)", "required parameters might be missing")):
        response = tenant.get(f"/groups?$filter={query}")
        assert response.status_code == 400, query
        assert text in error_of(response)["message"]
    assert tenant.get("/groups?$select=nope").status_code == 400


def test_members_bind_up_to_twenty_all_or_nothing() -> None:
    tenant = Tenant()
    group = create_group(tenant)
    users = [tenant.create(n)["id"] for n in range(25)]
    path = f"/groups/{group['id']}"
    too_many = tenant.patch(path, bind(*users[:21]))
    assert too_many.status_code == 400
    assert error_of(too_many)["message"] == "A resource cannot contain more than 20 link changes."
    assert tenant.patch(path, bind(*users[:20])).status_code == 204
    again = tenant.patch(path, bind(users[19], users[20]))
    assert again.status_code == 400 and error_of(again)["message"] == ALREADY
    gone = tenant.patch(path, bind(users[21], "00000000-0000-0000-0000-00000000dead"))
    assert gone.status_code == 404
    assert error_of(gone)["code"] == "Request_ResourceNotFound"
    members = tenant.get(f"{path}/members?$select=id&$top=999").json()["value"]
    assert [m["id"] for m in members] == users[:20]  # neither failed PATCH added anyone
    assert {m["@odata.type"] for m in members} == {"#microsoft.graph.user"}


def test_members_ref_add_and_remove_and_the_missing_ref_trap() -> None:
    tenant = Tenant()
    group = create_group(tenant)
    alice, bob = tenant.create("a")["id"], tenant.create("b")["id"]
    path = f"/groups/{group['id']}/members"
    link = {"@odata.id": f"{GRAPH}/directoryObjects/{alice}"}
    assert tenant.post(f"{path}/$ref", link).status_code == 204
    twice = tenant.post(f"{path}/$ref", link)
    assert twice.status_code == 400 and error_of(twice)["message"] == ALREADY
    assert tenant.delete(f"{path}/{alice}/$ref").status_code == 204
    not_member = tenant.delete(f"{path}/{alice}/$ref")
    assert not_member.status_code == 404
    # Without /$ref Graph deletes the member object itself (GROUPS.md, [G-DEL-M]).
    assert tenant.post(f"{path}/$ref", {"@odata.id": f"{GRAPH}/users/{bob}"}).status_code == 204
    assert tenant.delete(f"{path}/{bob}").status_code == 204
    assert tenant.get(f"/users/{bob}").status_code == 404


def test_member_pages_hold_up_to_999() -> None:
    tenant = Tenant()
    group = create_group(tenant)
    users = [tenant.create(n)["id"] for n in range(45)]
    for start in range(0, 45, 20):
        assert tenant.patch(f"/groups/{group['id']}", bind(*users[start:start + 20])
                            ).status_code == 204
    first = tenant.get(f"/groups/{group['id']}/members").json()
    assert len(first["value"]) == 45 and "@odata.nextLink" not in first
    small = tenant.get(f"/groups/{group['id']}/members?$select=id&$top=20").json()
    assert len(small["value"]) == 20 and "$skiptoken=" in small["@odata.nextLink"]
    rest = tenant.get(small["@odata.nextLink"]).json()
    assert [m["id"] for m in rest["value"]] == users[20:40]
    big = tenant.get(f"/groups/{group['id']}/members?$top=1000")
    assert big.status_code == 400 and "between 1 and 999" in error_of(big)["message"]
    # A deleted user is no longer a member.
    assert tenant.delete(f"/users/{users[0]}").status_code == 204
    assert len(tenant.get(f"/groups/{group['id']}/members?$top=999").json()["value"]) == 44


def test_groups_work_inside_batch_and_need_group_permissions() -> None:
    tenant = Tenant()
    group = create_group(tenant)
    alice = tenant.create("a")["id"]
    batch = {"requests": [
        {"id": "1", "method": "PATCH", "url": f"/groups/{group['id']}",
         "headers": {"Content-Type": "application/json"}, "body": bind(alice)},
        {"id": "2", "method": "GET", "url": "/groups?$filter=mailNickname eq 'hr-dept-sales'"},
        {"id": "3", "method": "DELETE", "url": f"/groups/{group['id']}/members/nobody/$ref"}]}
    answers = {r["id"]: r for r in tenant.post("/$batch", batch).json()["responses"]}
    assert answers["1"]["status"] == 204 and answers["3"]["status"] == 404
    assert answers["2"]["body"]["value"][0]["id"] == group["id"]
    reader = Tenant(SandboxConfig.for_tests(app_roles=["User.ReadWrite.All"]))
    denied = reader.post("/groups", security_group())
    assert denied.status_code == 403 and error_of(denied)["code"] == "Authorization_RequestDenied"


def test_a_new_group_lags_like_a_new_user() -> None:
    clock = FakeClock()
    tenant = Tenant(SandboxConfig.for_tests(replication_lag_ms=2000), clock=clock)
    group = create_group(tenant)
    alice = tenant.create("a")["id"]
    clock.advance(3)  # the user is replicated; the group is created now
    fresh = create_group(tenant, nickname="hr-fresh")
    early = tenant.patch(f"/groups/{fresh['id']}", bind(alice))
    assert early.status_code == 400
    assert error_of(early)["message"] == ("The source resource object or one of the objects "
                                          "being referenced do not exist.")
    clock.advance(3)
    assert tenant.patch(f"/groups/{fresh['id']}", bind(alice)).status_code == 204
    assert tenant.delete(f"/groups/{group['id']}").status_code == 204
    assert tenant.get(f"/groups/{group['id']}").status_code == 404


def test_reset_removes_every_group() -> None:
    tenant = Tenant()
    create_group(tenant)
    assert tenant.admin("POST", "/reset").status_code == 200
    assert tenant.get("/groups").json()["value"] == []

"""/users/delta beyond the checklist (§4.6)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connector.sandbox import SandboxConfig
from tests.sandbox.sandbox_helpers import GRAPH, Tenant, error_of


def finish_round(tenant: Tenant, url: str, **kwargs: Any) -> tuple[list[dict[str, Any]], str]:
    """Follow nextLinks to the deltaLink; (all items, deltaLink)."""
    items: list[dict[str, Any]] = []
    page = tenant.get(url, **kwargs).json()
    items += page["value"]
    while "@odata.nextLink" in page:
        page = tenant.get(page["@odata.nextLink"], **kwargs).json()
        items += page["value"]
    return items, page["@odata.deltaLink"]


def test_initial_round_omits_unset_and_deleted_and_later_pages_drop_the_select() -> None:
    tenant = Tenant(SandboxConfig.for_tests(default_page_size=2))
    gone = tenant.create("gone")
    tenant.delete(f"/users/{gone['id']}")
    kept = tenant.create("kept", jobTitle="Dev")
    first = tenant.get("/users/delta?$select=displayName,jobTitle,department").json()
    second = tenant.get(first["@odata.nextLink"]).json()
    assert second["@odata.context"] == f"{GRAPH}/$metadata#users"
    items, _ = finish_round(tenant, "/users/delta?$select=displayName,jobTitle,department")
    by_id = {item["id"]: item for item in items}
    assert gone["id"] not in by_id
    assert by_id[kept["id"]] == {"displayName": "Test User kept", "jobTitle": "Dev",
                                 "id": kept["id"]}  # department never set → omitted


def test_changes_to_null_minimal_and_purge() -> None:
    tenant = Tenant()
    user, other = tenant.create("a", jobTitle="Dev"), tenant.create("b")
    _, link = finish_round(tenant, "/users/delta")
    tenant.patch(f"/users/{user['id']}", {"jobTitle": None, "surname": "Ng"})
    assert tenant.admin("DELETE", f"/users/{other['id']}").status_code == 204
    minimal = tenant.get(link, headers={"Prefer": "return=minimal"}).json()["value"]
    by_id = {item["id"]: item for item in minimal}
    assert by_id[user["id"]] == {"jobTitle": None, "surname": "Ng", "id": user["id"]}
    assert by_id[other["id"]] == {"id": other["id"], "@removed": {"reason": "deleted"}}
    full = {item["id"]: item for item in tenant.get(link).json()["value"]}
    assert full[user["id"]]["displayName"] == "Test User a"
    assert full[user["id"]]["jobTitle"] is None


def test_filter_by_ids_and_unsupported_options() -> None:
    tenant = Tenant()
    a, b = tenant.create("a"), tenant.create("b")
    query = quote(f"id eq '{a['id']}' or id eq '{b['id']}'")
    items, link = finish_round(tenant, f"/users/delta?$filter={query}&$select=displayName")
    assert {item["id"] for item in items} == {a["id"], b["id"]}
    tenant.create("c")
    tenant.patch(f"/users/{a['id']}", {"displayName": "A2"})
    assert [item["id"] for item in tenant.get(link).json()["value"]] == [a["id"]]
    other = tenant.get("/users/delta?$filter=" + quote("displayName eq 'x'"))
    assert error_of(other)["code"] == "Request_UnsupportedQuery"
    for option in ("$top=5", "$orderby=displayName", "$expand=manager"):
        assert error_of(tenant.get(f"/users/delta?{option}"))["code"] == \
            "Request_UnsupportedQuery"


def test_manager_delta_annotation() -> None:
    tenant = Tenant()
    boss, worker = tenant.create("boss"), tenant.create("worker")
    _, link = finish_round(tenant, "/users/delta?$select=displayName,manager")
    tenant.set_manager(worker["id"], boss["id"])
    items = tenant.get(link).json()["value"]
    assert items == [{"displayName": "Test User worker", "id": worker["id"], "manager@delta": [
        {"@odata.type": "#microsoft.graph.user", "id": boss["id"]}]}]


def test_bad_and_expired_tokens() -> None:
    tenant = Tenant()
    _, link = finish_round(tenant, "/users/delta")
    assert tenant.get(link.replace("$deltatoken=", "$deltatoken=zz")).status_code == 400
    tenant.clock.advance(7 * 24 * 3600 + 1)
    tenant.token = tenant.get_token()  # the access token expired too
    expired = tenant.get(link)
    assert expired.status_code == 410
    assert error_of(expired)["code"] == "syncStateNotFound"
    assert expired.headers["location"] == f"{GRAPH}/users/delta?$deltatoken="


def test_lagging_user_arrives_in_a_later_round() -> None:
    tenant = Tenant(SandboxConfig.for_tests(replication_lag_ms=1000))
    _, link = finish_round(tenant, "/users/delta")
    user = tenant.create("late")
    page = tenant.get(link).json()
    assert page["value"] == []
    tenant.clock.advance(1)
    arrived = tenant.get(page["@odata.deltaLink"]).json()["value"]
    assert [item["id"] for item in arrived] == [user["id"]]


def test_a_long_changes_round_reports_each_user_once_across_pages() -> None:
    tenant = Tenant(SandboxConfig.for_tests(default_page_size=10))
    users = [tenant.create(n) for n in range(25)]
    _, link = finish_round(tenant, "/users/delta?$select=displayName,jobTitle")
    for user in users:  # twice each, interleaved: one item per user, at its last change
        tenant.patch(f"/users/{user['id']}", {"jobTitle": "One"})
    for user in reversed(users):
        tenant.patch(f"/users/{user['id']}", {"jobTitle": "Two"})
    tenant.patch(f"/users/{users[0]['id']}", {"department": "Not selected"})
    items, _ = finish_round(tenant, link)
    assert sorted(item["id"] for item in items) == sorted(u["id"] for u in users)
    assert {item["jobTitle"] for item in items} == {"Two"}


def test_a_reset_tenant_ends_its_delta_tokens() -> None:
    tenant = Tenant()
    tenant.create("before")
    _, link = finish_round(tenant, "/users/delta?$select=displayName")
    assert tenant.admin("POST", "/reset").status_code in (200, 204)
    tenant.token = tenant.get_token()
    gone = tenant.get(link)
    assert gone.status_code == 410 and error_of(gone)["code"] == "syncStateNotFound"
    items, fresh = finish_round(tenant, "/users/delta?$select=displayName")
    assert len(items) == 3  # the seed again
    assert tenant.get(fresh).json()["value"] == []

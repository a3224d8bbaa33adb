"""SQLite state: runs build on each other; reset and list_users; the seeded tenant."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.sandbox import default_state_path, list_users, reset
from tests.sandbox.sandbox_helpers import Tenant


def test_state_tokens_and_links_survive_a_new_app(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    first = Tenant(state_path=db)
    boss, worker = first.create("boss"), first.create("worker", employeeId="W1")
    first.set_manager(worker["id"], boss["id"])
    page = first.get("/users/delta").json()
    delta_link = page["@odata.deltaLink"]
    next_link = first.get("/users?$top=2").json()["@odata.nextLink"]
    old_token, tenant_id = first.token, first.tenant_id
    first.app.state.store.close()

    second = Tenant(state_path=db)
    assert second.tenant_id == tenant_id
    assert second.get("/users/tuserworker@contoso.com", token=old_token).status_code == 200
    assert second.get(f"/users/{worker['id']}/manager").json()["id"] == boss["id"]
    assert second.get(next_link).status_code == 200
    assert second.post("/users", {**second.get(f"/users/{boss['id']}").json()}).status_code \
        == 400  # read-only properties in the body; the UPN is taken anyway
    second.patch(f"/users/{boss['id']}", {"jobTitle": "Director"})
    changed = second.get(delta_link).json()["value"]
    assert [item["id"] for item in changed] == [boss["id"]]
    second.app.state.store.close()


def test_reset_and_list_users(tmp_path: Path) -> None:
    db = tmp_path / "state" / "sandbox.db"
    tenant = Tenant(state_path=db)
    tenant.create(1, employeeId="E1")
    tenant_id = tenant.tenant_id
    tenant.app.state.store.close()
    users = list_users(db)
    assert [u["userPrincipalName"] for u in users][-1] == "tuser1@contoso.com"
    reset(db)
    seeded = list_users(db)
    assert len(seeded) == 3 and all("employeeId" not in u for u in seeded)
    assert Tenant(state_path=db).tenant_id == tenant_id  # the tenant itself survives reset


def test_seeded_tenant_and_admin_reset() -> None:
    tenant = Tenant()
    users = tenant.get("/users?$select=userPrincipalName,jobTitle,employeeId").json()["value"]
    assert sorted(u["userPrincipalName"] for u in users) == [
        "MeganB@contoso.onmicrosoft.com", "NestorW@contoso.onmicrosoft.com",
        "svc-hrsync@contoso.onmicrosoft.com"]
    assert [u["jobTitle"] for u in users].count("IT Administrator") == 2
    assert all(u["employeeId"] is None for u in users)
    domains = tenant.admin("GET", "/tenant").json()["domains"]
    assert {(d["name"], d["isVerified"], d["isInitial"]) for d in domains} == {
        ("contoso.onmicrosoft.com", True, True), ("contoso.com", True, False)}
    tenant.create(1)
    assert tenant.admin("POST", "/reset").status_code == 200
    assert len(tenant.get("/users").json()["value"]) == 3
    raw = tenant.admin("GET", "/users").json()["value"]
    assert sum(1 for u in raw if u.get("_sandboxAdmin")) == 2


def test_default_state_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_state_path() == tmp_path / ".hr-connector" / "sandbox.db"

"""Accounts, configurations, HR files and sign-in steps shared by the upload page's tests."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import httpx
import yaml
from starlette.applications import Starlette

from connector.config import load_config
from connector.run.tenant import sandbox_path
from connector.sandbox import SyncASGITransport, list_users
from connector.web.app import create_app
from connector.web.auth import hash_password
from connector.web.limits import Limits
from tests.helpers import ROOT, export_bytes, sample_export

MAPPING = ROOT / "mappings" / "default.yaml"
SEEDED = 3  # the sandbox's two IT admins and its service account

#: name -> (password, roles). "sam" may both upload and approve.
ACCOUNTS: dict[str, tuple[str, list[str]]] = {
    "ulla": ("uploader password 1", ["uploader"]),
    "arne": ("approver password 1", ["approver"]),
    "ada": ("admin password 1", ["admin"]),
    "sam": ("two hats password 1", ["uploader", "approver"]),
}


@functools.cache
def password_hash(name: str) -> str:
    """A real scrypt hash, made cheap (N=2^10) so that tests stay fast."""
    return hash_password(ACCOUNTS[name][0], n=2**10, r=8, p=1)


def write_config(folder: Path, **serve: Any) -> Path:
    """A configuration in ``folder``: the sample mapping, state in ``folder/state``, every
    account of ``ACCOUNTS``; ``serve``, ``policies=`` and ``tenant=`` override settings."""
    policies = serve.pop("policies", {})
    tenant = serve.pop("tenant", "sandbox")
    data = {
        "version": 1,
        "tenant": tenant,
        "mapping": str(MAPPING),
        "paths": {"state": str(folder / "state")},
        "policies": policies,
        "serve": {"accounts": [{"name": name, "password_hash": password_hash(name),
                                "roles": roles} for name, (_, roles) in ACCOUNTS.items()],
                  **serve},
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "hr-connector.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def make_app(folder: Path, *, limits: Limits | None = None, **serve: Any) -> Starlette:
    """The upload page configured by ``write_config`` (and ``limits``)."""
    return create_app(load_config(write_config(folder, **serve)), limits=limits)


def client_of(app: Starlette, *, base_url: str = "http://testserver") -> httpx.Client:
    """A client of ``app`` served in-process (the sandbox's synchronous ASGI transport);
    redirects are not followed."""
    return httpx.Client(transport=SyncASGITransport(app), base_url=base_url,
                        follow_redirects=False)


def make_client(folder: Path, *, base_url: str = "http://testserver",
                **serve: Any) -> httpx.Client:
    """A client of an app configured by ``write_config``, served in-process."""
    return client_of(make_app(folder, **serve), base_url=base_url)


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: httpx.Client, name: str, password: str | None = None) -> httpx.Response:
    """Sign in through the form, as a browser does."""
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"csrf": token, "name": name,
                                       "password": password or ACCOUNTS[name][0]})


def sign_out(client: httpx.Client) -> None:
    """Sign out through the page bar's form."""
    token = csrf_of(client.get("/").text)
    assert client.post("/logout", data={"csrf": token}).status_code == 303


def upload(client: httpx.Client, name: str, content: bytes, *,
           csrf: str | None = None) -> httpx.Response:
    """POST a file as the upload form does; the token is the page's unless given."""
    token = csrf if csrf is not None else csrf_of(client.get("/uploads/new").text)
    return client.post("/uploads", data={"csrf": token}, files={"file": (name, content)})


def upload_id(response: httpx.Response) -> str:
    """The id of the upload a POST /uploads redirected to."""
    assert response.status_code == 303, response.text
    return response.headers["location"].rsplit("/", 1)[1]


def post_button(client: httpx.Client, upload: str, action: str) -> httpx.Response:
    """Press a button of an upload's page (approve, reject, review)."""
    token = csrf_of(client.get(f"/uploads/{upload}").text)
    return client.post(f"/uploads/{upload}/{action}", data={"csrf": token})




def with_duplicate(path: Path) -> Path:
    """A copy of the sample whose third record repeats the first one's EmployeeID."""
    header, rows = sample_export()
    rows[2] = {**rows[2], "EmployeeID": rows[0]["EmployeeID"]}
    path.write_bytes(export_bytes(header, rows))
    return path


def without_column(path: Path, column: str = "LastName") -> Path:
    """A copy of the sample without one required column."""
    header, rows = sample_export()
    path.write_bytes(export_bytes([c for c in header if c != column], rows))
    return path


def users(state: Path) -> dict[str, dict[str, Any]]:
    """The sandbox tenant's users by employeeId (or UPN for the seeded ones)."""
    return {u.get("employeeId") or u["userPrincipalName"]: u
            for u in list_users(sandbox_path(state))}


def stored_uploads(state: Path) -> list[str]:
    """Every file and folder under the uploads folder (what a refusal must not leave),
    but for the empty staging folder itself."""
    root = state / "uploads"
    found = sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []
    return [name for name in found if name != ".incoming"]


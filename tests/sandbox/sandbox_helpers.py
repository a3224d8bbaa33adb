"""Helpers for the sandbox conformance tests: a controllable clock, an in-process tenant with a
raw HTTP client, and valid request bodies. Nothing here knows the connector's Graph client."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from connector.sandbox import SandboxConfig, create_app
from connector.sandbox.inprocess import sandbox_client

GRAPH = "https://graph.microsoft.com/v1.0"
SCOPE = "https://graph.microsoft.com/.default"
ADVANCED = {"ConsistencyLevel": "eventual"}
PASSWORD = "Xk7#pLm2!qRs"
DEFAULT_SET = ["businessPhones", "displayName", "givenName", "id", "jobTitle", "mail",
               "mobilePhone", "officeLocation", "preferredLanguage", "surname",
               "userPrincipalName"]
INNER_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


class FakeClock:
    """Epoch seconds that only move when told to."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def new_user(tag: str | int, **overrides: Any) -> dict[str, Any]:
    """A POST /users body that passes every documented rule."""
    body: dict[str, Any] = {
        "accountEnabled": True,
        "displayName": f"Test User {tag}",
        "mailNickname": f"tuser{tag}",
        "userPrincipalName": f"tuser{tag}@contoso.com",
        "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": True},
    }
    body.update(overrides)
    return body


class Tenant:
    """An in-process sandbox tenant reached over plain HTTP requests (httpx)."""

    def __init__(self, config: SandboxConfig | None = None, clock: FakeClock | None = None,
                 state_path: str | Path = ":memory:") -> None:
        self.clock = clock or FakeClock()
        self.app = create_app(state_path, config or SandboxConfig.for_tests(), clock=self.clock)
        self.http = sandbox_client(self.app)
        self.token = self.get_token()

    @property
    def config(self) -> SandboxConfig:
        return self.app.config

    @property
    def tenant_id(self) -> str:
        return self.app.state.tenant_id

    def token_response(self, *, client_id: str = "hr-connector", secret: str = "s3cret",
                       scope: str = SCOPE, tenant: str | None = None) -> httpx.Response:
        return self.http.post(
            f"https://login.microsoftonline.com/{tenant or self.tenant_id}/oauth2/v2.0/token",
            data={"client_id": client_id, "client_secret": secret, "scope": scope,
                  "grant_type": "client_credentials"})

    def get_token(self, **kwargs: Any) -> str:
        response = self.token_response(**kwargs)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                token: str | None = None, **kwargs: Any) -> httpx.Response:
        url = path if path.startswith("http") else GRAPH + path
        sent = {"Authorization": f"Bearer {token or self.token}", **(headers or {})}
        return self.http.request(method, url, headers=sent, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json=body, **kwargs)

    def patch(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, json=body, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, json=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def create(self, tag: str | int, **overrides: Any) -> dict[str, Any]:
        response = self.post("/users", new_user(tag, **overrides))
        assert response.status_code == 201, response.text
        return dict(response.json())

    def set_manager(self, user_id: str, manager_id: str) -> httpx.Response:
        return self.put(f"/users/{user_id}/manager/$ref",
                        {"@odata.id": f"{GRAPH}/users/{manager_id}"})

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, f"https://graph.microsoft.com/_sandbox{path}", **kwargs)


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The ``error`` object of a Graph error response, after checking the envelope (§2.2)."""
    body = response.json()
    assert set(body) == {"error"}, body
    error = dict(body["error"])
    inner = error["innerError"]
    assert INNER_DATE.match(inner["date"]), inner
    assert inner["request-id"] == response.headers["request-id"]
    if response.status_code != 429:
        assert inner["client-request-id"] == response.headers["client-request-id"]
    return error

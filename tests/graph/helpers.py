"""Shared pieces of the Graph client tests: a fake clock the client and the sandbox share,
an in-process sandbox tenant with a :class:`GraphClient` on it, and user bodies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from connector.graph import GraphClient, GraphSettings, MsalTokenProvider, RetryPolicy
from connector.sandbox import SandboxApp, SandboxConfig, SyncASGITransport, create_app
from tests.sandbox.sandbox_helpers import PASSWORD, new_user

__all__ = ["CLIENT_ID", "PASSWORD", "SECRET", "FakeClock", "Tenant", "make_tenant",
           "token_provider", "user_body"]

CLIENT_ID = "hr-connector-tests"
SECRET = "t0p-s3cret-value-42"


class FakeClock:
    """Seconds that move only when someone sleeps; callable as a clock."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)


def user_body(tag: str | int, employee_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """A valid POST /users body (the sandbox suite's, with an employeeId)."""
    if employee_id is not None:
        extra = {"employeeId": employee_id, **extra}
    return new_user(tag, **extra)


@dataclass
class Tenant:
    """An in-process sandbox and a GraphClient talking to it through real msal."""

    app: SandboxApp
    clock: FakeClock
    graph: GraphClient
    transport: httpx.BaseTransport
    settings: GraphSettings
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> SandboxConfig:
        return self.app.config

    def stored(self) -> list[dict[str, Any]]:
        """Users as the sandbox stores them (with ``_managerId``), bypassing Graph."""
        from connector.sandbox.admin import user_record

        store = self.app.state.store
        return [user_record(row) for row in store.scan(0, None)]

    def by_employee_id(self, employee_id: str) -> list[dict[str, Any]]:
        return [u for u in self.stored() if u.get("employeeId") == employee_id]


def make_tenant(config: SandboxConfig | None = None, *,
                transport_wrapper: Callable[[httpx.BaseTransport], httpx.BaseTransport]
                | None = None, **client_options: Any) -> Tenant:
    """A fresh tenant (throttling off unless ``config`` says otherwise), the client on the
    real public URLs routed in-process (graph.md §7.2 test wiring), time faked."""
    clock = FakeClock()
    app = create_app(config=config or SandboxConfig.for_tests(), clock=clock)
    transport: httpx.BaseTransport = SyncASGITransport(app)
    if transport_wrapper is not None:
        transport = transport_wrapper(transport)
    settings = GraphSettings(tenant_id=app.state.tenant_id, client_id=CLIENT_ID,
                             client_secret=SECRET)
    client_options.setdefault("policy", RetryPolicy(seed=7))
    graph = GraphClient.from_settings(settings, transport=transport, sleep=clock.sleep,
                                      clock=clock, wall_clock=clock, **client_options)
    return Tenant(app, clock, graph, transport, settings)


def token_provider(tenant: Tenant) -> MsalTokenProvider:
    """A second msal provider on the tenant (fresh cache)."""
    return MsalTokenProvider(tenant.settings, http=httpx.Client(transport=tenant.transport))

"""Which tenant a command talks to: the one configured in the environment, or the sandbox.

With ``AZURE_TENANT_ID``/``AZURE_CLIENT_ID`` and a credential set, commands use Microsoft
Graph (``connector.graph``). With none of them, they use the **sandbox tenant**: the
local Graph emulator (``connector.sandbox``) run in-process over its SQLite state in the
state directory, reached through the very same Graph client, msal token included. A half
configured tenant is an error rather than a silent fall-back to the sandbox.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.errors import ConfigError
from connector.graph import GraphClient, GraphSettings
from connector.run.history import state_dir

#: Where the in-process sandbox pretends to live. ``.invalid`` never resolves (RFC 2606),
#: so a request that escaped the in-process transport could reach nothing.
SANDBOX_ROOT = "https://sandbox.hr-connector.invalid"
SANDBOX_TENANT = "contoso.onmicrosoft.com"


@dataclass
class Tenant:
    """An open connection to a tenant: the Graph client and how to name it."""

    graph: GraphClient
    label: str
    is_sandbox: bool


def sandbox_path(state: Path) -> Path:
    """The sandbox tenant's database in the state directory."""
    return state / "sandbox.db"


def _any_set(environ: Mapping[str, str]) -> bool:
    names = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
             "AZURE_CLIENT_CERTIFICATE_PATH")
    return any(environ.get(name) for name in names)


@contextmanager
def open_tenant(
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    state: str | Path | None = None,
    sandbox_config: Any = None,
    max_concurrency: int = 4,
) -> Iterator[Tenant]:
    """Open the configured tenant, else the sandbox; closes what it opened."""
    env = os.environ if environ is None else environ
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    settings = GraphSettings.from_env(env, **given)
    if settings.configured or _any_set(env) or given:
        settings.require()  # names every missing variable
        with GraphClient.from_settings(settings, max_concurrency=max_concurrency) as graph:
            yield Tenant(graph, f"tenant {settings.tenant_id} via {settings.graph_url}", False)
        return
    # Imported here: only the sandbox path needs the emulator (and starlette).
    from connector.sandbox import SandboxConfig, SyncASGITransport, create_app

    folder = state_dir(state)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the state folder {folder}: {exc.strerror}") from None
    app = create_app(sandbox_path(folder), sandbox_config or SandboxConfig())
    settings = GraphSettings(
        tenant_id=SANDBOX_TENANT, client_id="hr-connector", client_secret="sandbox",  # noqa: S106
        authority_host=SANDBOX_ROOT, graph_url=SANDBOX_ROOT,
        scope="https://graph.microsoft.com/.default")
    with GraphClient.from_settings(settings, transport=SyncASGITransport(app),
                                   max_concurrency=max_concurrency) as graph:
        yield Tenant(graph, f"the sandbox tenant ({sandbox_path(folder)})", True)

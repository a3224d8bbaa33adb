"""Which tenant a command talks to: the one configured, or the sandbox.

``sync``: with ``AZURE_TENANT_ID``/``AZURE_CLIENT_ID`` and a credential set (or the same
options), Microsoft Graph (``connector.graph``); with none of them, the **sandbox tenant**:
the local Graph emulator (``connector.sandbox``) run in-process over its SQLite state in
the state directory, reached through the very same Graph client, msal token included. A
half configured tenant is an error rather than a silent fall-back to the sandbox.

A configuration file (``run``, ``serve``) always says which: ``tenant: sandbox``, or a
``tenant:`` section (``open_config_tenant``); the environment never switches it.

``HRC_SANDBOX_KNOBS`` (a JSON object of ``connector.sandbox.SandboxConfig`` fields, e.g.
``{"latency_ms": 50}``) sets the in-process sandbox's knobs, for demos and for tests that
need a slow or faulty tenant in a separate process; it never affects a real tenant.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.config import Config
from connector.errors import ConfigError
from connector.graph import GraphClient, GraphSettings
from connector.run.history import state_dir

#: Where the in-process sandbox pretends to live. ``.invalid`` never resolves (RFC 2606),
#: so a request that escaped the in-process transport could reach nothing.
SANDBOX_ROOT = "https://sandbox.hr-connector.invalid"
SANDBOX_TENANT = "contoso.onmicrosoft.com"
KNOBS_ENV = "HRC_SANDBOX_KNOBS"


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


def _knobs(env: Mapping[str, str]) -> dict[str, Any]:
    text = (env.get(KNOBS_ENV) or "").strip()
    if not text:
        return {}
    try:
        knobs = json.loads(text)
    except ValueError:
        knobs = None
    if not isinstance(knobs, dict):
        raise ConfigError(f"{KNOBS_ENV} must be a JSON object of sandbox knobs, such as "
                          '\'{"latency_ms": 50}\'')
    return knobs


@contextmanager
def open_tenant(
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    state: str | Path | None = None,
    sandbox_config: Any = None,
    max_concurrency: int = 4,
    sandbox: bool | None = None,
    names: Mapping[str, str] | None = None,
) -> Iterator[Tenant]:
    """Open a tenant; closes what it opened. ``sandbox=None``: the configured tenant, else
    the sandbox (``sync``); ``True``: the sandbox whatever the environment says;
    ``False``: the configured tenant or a ``ConfigError`` naming what is missing.
    ``names`` says how messages name the overrides (see ``GraphSettings.from_env``)."""
    env = os.environ if environ is None else environ
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if not sandbox:
        settings = GraphSettings.from_env(env, names=names, **given)
        if sandbox is False or settings.configured or _any_set(env) or given:
            settings.require()  # names every missing variable
            with GraphClient.from_settings(settings, max_concurrency=max_concurrency) as graph:
                yield Tenant(graph, f"tenant {settings.tenant_id} via {settings.graph_url}",
                             False)
            return
    # Imported here: only the sandbox path needs the emulator (and starlette).
    from connector.sandbox import SandboxConfig, SyncASGITransport, create_app

    folder = state_dir(state)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the state folder {folder}: {exc.strerror}") from None
    if sandbox_config is None:
        sandbox_config = SandboxConfig()
        try:
            sandbox_config.update(_knobs(env))
        except ValueError as exc:  # pydantic's ValidationError names the knob
            raise ConfigError(f"{KNOBS_ENV}: {exc}") from None
    app = create_app(sandbox_path(folder), sandbox_config)
    settings = GraphSettings(
        tenant_id=SANDBOX_TENANT, client_id="hr-connector", client_secret="sandbox",  # noqa: S106
        authority_host=SANDBOX_ROOT, graph_url=SANDBOX_ROOT,
        scope="https://graph.microsoft.com/.default")
    with GraphClient.from_settings(settings, transport=SyncASGITransport(app),
                                   max_concurrency=max_concurrency) as graph:
        yield Tenant(graph, f"the sandbox tenant ({sandbox_path(folder)})", True)


def open_config_tenant(config: Config, state: Path) -> AbstractContextManager[Tenant]:
    """The tenant a configuration names: ``tenant: sandbox`` or its ``tenant:`` section
    (never a fall-back: the configuration model requires one of them)."""
    entra = config.entra_tenant
    if entra is None:
        return open_tenant(state=state, sandbox=True)
    where = f" in {config.file}"
    return open_tenant(overrides=entra.settings_overrides(), state=state,
                       sandbox=False, names={"graph_url": "tenant.graph_url" + where,
                                             "authority_host": "tenant.authority_host" + where})

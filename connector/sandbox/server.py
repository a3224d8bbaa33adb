"""Running the sandbox: a blocking :func:`serve` (for ``hr-connector sandbox serve``), a
background :func:`running_sandbox` for tests and benchmarks, and the state helpers
:func:`reset` and :func:`list_users`.

The server binds loopback addresses only: the admin API is unauthenticated.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from connector.sandbox.serving import QuickStopServer, serve_in_thread

from .admin import user_record
from .app import SandboxApp, create_app
from .config import SandboxConfig, default_state_dir, default_state_path
from .group_store import GroupStore
from .provisioning import ProvisioningStore
from .state import Clock
from .store import Store
from .tls import ensure_tls_files

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class SandboxServer:
    """A running sandbox."""

    base_url: str  # e.g. "https://127.0.0.1:53211"
    app: SandboxApp
    ca_path: Path | None  # None when serving plain HTTP
    state_path: str

    @property
    def config(self) -> SandboxConfig:
        """The live configuration (changes apply to the next request)."""
        return self.app.config

    @property
    def tenant_id(self) -> str:
        """The tenant GUID."""
        return self.app.state.tenant_id

    @property
    def authority(self) -> str:
        """What to pass as msal's ``authority`` (with ``instance_discovery=False``)."""
        return f"{self.base_url}/{self.tenant_id}"

    @property
    def token_endpoint(self) -> str:
        """The client-credentials token endpoint."""
        return f"{self.authority}/oauth2/v2.0/token"

    @property
    def graph_url(self) -> str:
        """The Graph version root, ``{base_url}/v1.0``."""
        return f"{self.base_url}/v1.0"


def _check_host(host: str) -> None:
    if host not in _LOOPBACK:
        raise ValueError(f"the sandbox only binds loopback addresses, not {host!r}")


def _uvicorn_config(app: SandboxApp, host: str, port: int, tls_dir: Path | None,
                    log_level: str) -> tuple[uvicorn.Config, Path | None]:
    files = ensure_tls_files(tls_dir) if tls_dir is not None else None
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, http="h11", lifespan="off",
        access_log=False, date_header=False, server_header=False, timeout_graceful_shutdown=5,
        ssl_certfile=str(files.server_cert) if files else None,
        ssl_keyfile=str(files.server_key) if files else None,
    )
    return config, files.ca_cert if files else None


def _state_dir(state_path: str | Path) -> Path:
    return Path(state_path).expanduser().parent


@contextmanager
def running_sandbox(*, state_path: str | Path = ":memory:", config: SandboxConfig | None = None,
                    tls: bool = True, tls_dir: str | Path | None = None, port: int = 0,
                    clock: Clock | None = None,
                    log_level: str = "warning") -> Iterator[SandboxServer]:
    """Serve a sandbox from a background thread on 127.0.0.1 (a free port by default).

    TLS material goes to ``tls_dir`` (default: next to a file state, or a temporary folder
    for ``:memory:``); ``server.ca_path`` is the CA to trust.
    """
    app = create_app(state_path, config, clock=clock)
    scratch: Path | None = None
    if tls and tls_dir is None:
        if str(state_path) == ":memory:":
            scratch = Path(tempfile.mkdtemp(prefix="hr-sandbox-tls-"))
            tls_dir = scratch
        else:
            tls_dir = _state_dir(state_path)
    files = ensure_tls_files(Path(tls_dir)) if tls and tls_dir is not None else None
    scheme = "https" if tls else "http"
    try:
        with serve_in_thread(
            app, port=port, log_level=log_level, name="hr-connector-sandbox",
            certfile=str(files.server_cert) if files else None,
            keyfile=str(files.server_key) if files else None,
        ) as actual_port:
            yield SandboxServer(f"{scheme}://127.0.0.1:{actual_port}", app,
                                files.ca_cert if files else None, str(state_path))
    finally:
        app.state.store.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def serve(host: str = "127.0.0.1", port: int = 8443, *, state_path: str | Path | None = None,
          config: SandboxConfig | None = None, tls: bool = True,
          tls_dir: str | Path | None = None, log_level: str = "info",
          echo: Callable[[str], Any] = print) -> None:
    """Serve the sandbox until interrupted (blocking). Prints the URLs and the CA to trust."""
    _check_host(host)
    path = Path(state_path).expanduser() if state_path is not None else default_state_path()
    app = create_app(path, config)
    folder: Path | None = None
    if tls:
        folder = (Path(tls_dir).expanduser() if tls_dir is not None
                  else default_state_dir() if str(path) == ":memory:" else _state_dir(path))
    ucfg, ca_path = _uvicorn_config(app, host, port, folder, log_level)
    base = f"{'https' if tls else 'http'}://{host}:{port}"
    echo(f"sandbox tenant {app.state.tenant_id} (state: {path})")
    echo(f"  authority : {base}/{app.state.tenant_id}   (msal: instance_discovery=False)")
    echo(f"  graph     : {base}/v1.0")
    echo(f"  admin     : {base}/_sandbox/config")
    echo(f"  bulkUpload: {app.provisioning.bulk_url(base + '/v1.0')}")
    if ca_path is not None:
        echo(f"  CA        : {ca_path}")
        echo(f"  trust it  : export SSL_CERT_FILE={ca_path} REQUESTS_CA_BUNDLE={ca_path}")
    try:
        QuickStopServer(ucfg).run()
    finally:
        app.state.store.close()


def reset(state_path: str | Path | None = None) -> None:
    """Reseed the tenant at ``state_path`` (users, groups and change log; tenant id and
    secret stay) and give it a fresh provisioning job (active, no logs, the daily quota
    unused)."""
    store = Store(Path(state_path).expanduser() if state_path else default_state_path(),
                  clock_now=time.time())
    try:
        store.reset(time.time())
        ProvisioningStore(store).reset()
        GroupStore(store).reset()
    finally:
        store.close()


def provisioning_job(state_path: str | Path | None = None, *, root: str,
                     status: str | None = None, reason: str | None = None) -> dict[str, Any]:
    """The sandbox's provisioning job: its bulkUpload URL under the Graph root ``root``,
    its status, and uploads waiting for it. ``status`` sets it first (``Paused``,
    ``Quarantine`` with ``reason``, or ``Active``, which processes what waited)."""
    app = create_app(Path(state_path).expanduser() if state_path else default_state_path())
    try:
        provisioning = app.provisioning
        if status is not None:
            provisioning.set_status(status, reason, now=time.time())
        code, why = provisioning.store.status()
        return {"bulkUploadUrl": provisioning.bulk_url(f"{root.rstrip('/')}/v1.0"),
                "servicePrincipalId": provisioning.ids.service_principal,
                "jobId": provisioning.ids.job, "status": code, "reason": why,
                "staged": provisioning.store.staged_count()}
    finally:
        app.state.store.close()


def list_users(state_path: str | Path | None = None, *,
               include_deleted: bool = False) -> list[dict[str, Any]]:
    """The stored users (documents plus ``_managerId`` and ``_deleted``), in creation order."""
    store = Store(Path(state_path).expanduser() if state_path else default_state_path(),
                  clock_now=time.time())
    try:
        return [user_record(row) for row in store.scan(0, None, include_deleted=include_deleted)]
    finally:
        store.close()

"""The sandbox tenant: a local emulator of the Microsoft Graph ``/users`` and ``/groups``
surfaces and the identity platform's client-credentials flow, built from
``/work/shared/reference/graph.md`` (groups: ``GROUPS.md`` beside this file).

It is the connector's examiner: behaviour comes from Microsoft's documentation (section
numbers in comments), never from what a client sends. Quick start::

    from connector.sandbox import running_sandbox, SandboxConfig

    with running_sandbox(config=SandboxConfig(replication_lag_ms=200)) as sandbox:
        # trust sandbox.ca_path: SSL_CERT_FILE (httpx) and REQUESTS_CA_BUNDLE (msal/requests;
        # that variable, when set, overrides msal's own ``verify=`` argument)
        app = msal.ConfidentialClientApplication(
            "client-id", client_credential="secret", authority=sandbox.authority,
            instance_discovery=False)  # otherwise msal asks login.microsoftonline.com
        ...  # call sandbox.graph_url with the token

Or in-process with the real URLs: ``sandbox_client(create_app())`` (see :mod:`.inprocess`).
Nothing here imports the connector's own Graph client.
"""

from .app import SandboxApp, create_app
from .config import SandboxConfig, default_state_dir, default_state_path
from .group_store import list_groups
from .inprocess import SyncASGITransport, sandbox_client
from .server import SandboxServer, list_users, provisioning_job, reset, running_sandbox, serve
from .tls import TlsFiles, ensure_tls_files

__all__ = [
    "SandboxApp",
    "SandboxConfig",
    "SandboxServer",
    "SyncASGITransport",
    "TlsFiles",
    "create_app",
    "default_state_dir",
    "default_state_path",
    "ensure_tls_files",
    "list_groups",
    "list_users",
    "provisioning_job",
    "reset",
    "running_sandbox",
    "sandbox_client",
    "serve",
]

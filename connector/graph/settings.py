"""Where the tenant is and how to reach it: :class:`GraphSettings`.

Settings are read from the environment variables azure-identity uses (``AZURE_TENANT_ID``,
``AZURE_CLIENT_ID``, ``AZURE_CLIENT_SECRET``, ``AZURE_CLIENT_CERTIFICATE_PATH``,
``AZURE_CLIENT_CERTIFICATE_PASSWORD``, ``AZURE_AUTHORITY_HOST``) plus our own ``HRC_GRAPH_URL``
(the Graph root) and ``HRC_GRAPH_SCOPE``; command-line options override them. Secrets never
appear in a ``repr`` or a message.

TLS trust: ``SSL_CERT_FILE`` and ``REQUESTS_CA_BUNDLE`` (and ``SSL_CERT_DIR``) name the CAs to
trust for both Graph and the authority. :meth:`GraphSettings.ssl_context` builds one context
from them; msal is given an httpx-based HTTP client using the same context (see
:mod:`connector.graph.auth`), so ``REQUESTS_CA_BUNDLE`` cannot silently override it (graph.md
§7.2: with msal's own requests session that variable wins over ``verify=``).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from connector.errors import ConfigError

PUBLIC_AUTHORITY = "https://login.microsoftonline.com"
PUBLIC_GRAPH = "https://graph.microsoft.com"
GRAPH_VERSION = "v1.0"

#: Authority hosts msal knows itself (msal ``authority.WELL_KNOWN_AUTHORITY_HOSTS``, graph.md
#: §7.2); for any other host instance discovery is switched off, because msal would otherwise
#: ask the public ``login.microsoftonline.com`` about it.
KNOWN_AUTHORITY_HOSTS = frozenset({
    "login.microsoftonline.com", "login.microsoft.com", "login.windows.net", "sts.windows.net",
    "login.chinacloudapi.cn", "login.partner.microsoftonline.cn", "login.microsoftonline.de",
    "login-us.microsoftonline.com", "login.microsoftonline.us", "login.usgovcloudapi.net",
    "login.sovcloud-identity.fr", "login.sovcloud-identity.de", "login.sovcloud-identity.sg",
})

#: Environment variable of each field (the names in messages about missing settings).
ENV_NAMES: dict[str, str] = {
    "tenant_id": "AZURE_TENANT_ID",
    "client_id": "AZURE_CLIENT_ID",
    "client_secret": "AZURE_CLIENT_SECRET",
    "certificate_path": "AZURE_CLIENT_CERTIFICATE_PATH",
    "certificate_password": "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "authority_host": "AZURE_AUTHORITY_HOST",
    "graph_url": "HRC_GRAPH_URL",
    "scope": "HRC_GRAPH_SCOPE",
}
_CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")


def _https_root(value: str, variable: str) -> str:
    """``https://host[:port][/path]`` without a trailing slash, or a ConfigError."""
    text = value.strip()
    parts = urlsplit(text if "://" in text else f"https://{text}")  # a bare host is fine
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"{variable} must be an https URL such as "
                          f"'{PUBLIC_AUTHORITY}', not {value!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


def _graph_root(value: str, variable: str) -> str:
    """The Graph root, ``https://host[:port]``, from an absolute https URL whose path is at
    most the version (``/v1.0``); anything else is a ConfigError naming ``variable``. (A path
    would end up in the token scope, where Entra answers only ``invalid_scope``.)"""
    text = value.strip()
    parts = urlsplit(text)
    path = parts.path.rstrip("/")
    problem = None
    if parts.scheme != "https" or not parts.netloc:
        problem = "it is not an absolute https:// URL"
    elif not parts.hostname:
        problem = "it has no host name"
    elif parts.query or parts.fragment or parts.username or parts.password:
        problem = "it has a query, a fragment or a user name"
    elif path and path.lower() != "/" + GRAPH_VERSION:
        problem = (f"it has the path {path!r}; the connector adds /{GRAPH_VERSION} and the "
                   "rest itself")
    if problem:
        raise ConfigError(f"{variable} must be the Graph root, an https URL such as "
                          f"'{PUBLIC_GRAPH}' (optionally ending in /{GRAPH_VERSION}), not "
                          f"{value!r}: {problem}")
    return f"https://{parts.netloc}"


@dataclass(frozen=True)
class GraphSettings:
    """Connection settings of one tenant (build with :meth:`from_env`)."""

    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    certificate_path: str | None = None
    certificate_password: str | None = field(default=None, repr=False)
    authority_host: str = PUBLIC_AUTHORITY
    #: The Graph root (no version); the client appends ``/v1.0``.
    graph_url: str = PUBLIC_GRAPH
    #: Token scope; default ``{graph_url}/.default`` (§7.1). Set it when Graph is reached
    #: through another address than its resource identifier (a proxy, the sandbox).
    scope: str | None = None
    #: CA bundles to trust (from SSL_CERT_FILE / REQUESTS_CA_BUNDLE); empty = system default.
    ca_files: tuple[str, ...] = ()
    ca_dir: str | None = None
    #: Seconds before an HTTP request to Graph or the authority times out.
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "authority_host",
                           _https_root(self.authority_host, ENV_NAMES["authority_host"]))
        object.__setattr__(self, "graph_url",
                           _graph_root(self.graph_url, ENV_NAMES["graph_url"]))
        if self.timeout_s <= 0:
            raise ConfigError("the Graph timeout must be a positive number of seconds")

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, names: Mapping[str, str] | None = None,
                 **overrides: Any) -> GraphSettings:
        """Settings from ``environ`` (e.g. ``os.environ``), then ``overrides`` by field name.

        Empty variables count as unset, and so do overrides that are ``None`` (a command-line
        option that was not given), so the CLI can pass every option through unchanged.
        ``names`` says how messages name an override (``tenant.graph_url`` in a
        configuration file, say); by default its environment variable.
        """
        unknown = sorted(set(overrides) - {f.name for f in fields(cls)})
        if unknown:
            raise TypeError(f"unknown GraphSettings field(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, variable in ENV_NAMES.items():
            text = (environ.get(variable) or "").strip()
            if text:
                values[name] = text
        cas = tuple(dict.fromkeys(path for path in (
            (environ.get(v) or "").strip() for v in _CA_VARIABLES) if path))
        if cas:
            values["ca_files"] = cas
        if (environ.get("SSL_CERT_DIR") or "").strip():
            values["ca_dir"] = environ["SSL_CERT_DIR"].strip()
        given = {k: v for k, v in overrides.items() if v is not None}
        labels = {**ENV_NAMES, **(names or {})}
        if isinstance(given.get("graph_url"), str):
            _graph_root(given["graph_url"], labels["graph_url"])
        if isinstance(given.get("authority_host"), str):
            _https_root(given["authority_host"], labels["authority_host"])
        values.update(given)
        return cls(**values)

    # --- derived values ----------------------------------------------------------------------
    @property
    def configured(self) -> bool:
        """Whether a tenant is configured at all: tenant id, client id and a credential."""
        return bool(self.tenant_id and self.client_id
                    and (self.client_secret or self.certificate_path))

    def missing(self) -> list[str]:
        """Environment variables still needed before a token can be requested."""
        needed = [ENV_NAMES[n] for n in ("tenant_id", "client_id") if not getattr(self, n)]
        if not (self.client_secret or self.certificate_path):
            needed.append(f"{ENV_NAMES['client_secret']} or {ENV_NAMES['certificate_path']}")
        return needed

    def require(self) -> GraphSettings:
        """Self when configured; otherwise a :class:`ConfigError` naming what is missing."""
        missing = self.missing()
        if missing:
            raise ConfigError("Microsoft Graph is not configured: set " + ", ".join(missing))
        return self

    @property
    def authority(self) -> str:
        """The msal authority, ``{authority_host}/{tenant_id}``."""
        return f"{self.authority_host}/{self.tenant_id or 'organizations'}"

    @property
    def authority_is_known(self) -> bool:
        """Whether the authority host is one of Microsoft's clouds (msal may discover it)."""
        return (urlsplit(self.authority_host).hostname or "") in KNOWN_AUTHORITY_HOSTS

    @property
    def graph_base(self) -> str:
        """The version root requests go to, ``{graph_url}/v1.0``."""
        return f"{self.graph_url}/{GRAPH_VERSION}"

    @property
    def token_scope(self) -> str:
        """The client-credentials scope (``…/.default``, §7.1)."""
        return self.scope or f"{self.graph_url}/.default"

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying TLS context trusting ``ca_files``/``ca_dir`` (else the system store)."""
        context = ssl.create_default_context()
        if not (self.ca_files or self.ca_dir):
            return context
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies hostnames by default
        for path in self.ca_files:
            if not Path(path).is_file():
                raise ConfigError(f"the CA bundle {path} (SSL_CERT_FILE / REQUESTS_CA_BUNDLE) "
                                  "does not exist")
            try:
                context.load_verify_locations(cafile=path)
            except ssl.SSLError as error:
                raise ConfigError(f"the CA bundle {path} cannot be read: {error}") from error
        if self.ca_dir:
            context.load_verify_locations(capath=self.ca_dir)
        return context

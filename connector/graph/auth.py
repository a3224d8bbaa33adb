"""App-only tokens for Graph: msal's client-credentials flow (graph.md §7) behind an
``httpx.Auth``.

- :func:`load_certificate` turns a PEM (or PFX) file into msal's certificate credential
  (private key, SHA-1 thumbprint, public certificate), computed with ``cryptography``.
- :class:`MsalTokenProvider` wraps one ``ConfidentialClientApplication``; calling it returns
  an access token. msal's in-memory cache serves the same token until it is within 5 minutes
  of expiry (§7.3), so calling it before every request costs no token request.
- :class:`BearerAuth` sets ``Authorization: Bearer …`` and, on a 401, asks for a fresh token
  once and resends.

msal is given an httpx client (its ``http_client`` hook, §7.2) that trusts the same CAs as
the Graph client, so ``REQUESTS_CA_BUNDLE`` cannot override our trust settings and no
requests session is involved. Token errors become :class:`AuthError` with one clear message
per cause; the secret is never part of a message, a log line or a ``repr``.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import httpx
import msal
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from msal.exceptions import MsalServiceError

from connector.errors import AuthError, ConfigError

from .settings import ENV_NAMES, GraphSettings

log = logging.getLogger(__name__)

TokenProvider = Callable[[], str]

#: AADSTS codes with a known cause (§7.4; 90002/700016/500011 are Entra's own texts).
_CAUSES: dict[int, str] = {
    7000215: "the client secret is wrong (AZURE_CLIENT_SECRET must hold the secret's value, "
             "not its ID)",
    7000222: "the client secret has expired",
    7000218: "no client secret or certificate was sent",
    700027: "the certificate was not accepted (is it uploaded to the app registration?)",
    90002: "the tenant was not found (check AZURE_TENANT_ID and AZURE_AUTHORITY_HOST)",
    900023: "the tenant id is not valid (check AZURE_TENANT_ID)",
    700016: "the application was not found in the tenant (check AZURE_CLIENT_ID and "
            "AZURE_TENANT_ID)",
    1002012: "the scope is not valid: client credentials need '<resource>/.default' (check "
             "HRC_GRAPH_URL / HRC_GRAPH_SCOPE)",
    70011: "the scope is not valid: client credentials need '<resource>/.default' (check "
           "HRC_GRAPH_URL / HRC_GRAPH_SCOPE)",
    500011: "the resource of the scope is not known to the tenant (check HRC_GRAPH_URL / "
            "HRC_GRAPH_SCOPE)",
}


def load_certificate(path: str, password: str | None = None) -> dict[str, str]:
    """msal's certificate credential from a PEM (key + certificate) or PFX file.

    The key is decrypted here, so msal gets an unencrypted PEM in memory; the thumbprint is
    the certificate's SHA-1 (msal sends it as ``x5t``, §7.1).
    """
    variable = ENV_NAMES["certificate_path"]
    try:
        data = Path(path).expanduser().read_bytes()
    except OSError as error:
        raise ConfigError(f"{variable}: cannot read {path}: {error.strerror}") from None
    secret = password.encode() if password else None
    key: Any
    certificate: x509.Certificate | None
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, secret)
            certificate = x509.load_pem_x509_certificate(data)
        else:
            key, certificate, _ = pkcs12.load_key_and_certificates(data, secret)
    except (ValueError, TypeError) as error:
        # The cryptography message says "bad decrypt", "password was not given" etc.; it
        # never contains the password itself.
        raise ConfigError(f"{variable}: {path} holds no usable private key and certificate "
                          f"(wrong {ENV_NAMES['certificate_password']}?): {error}") from None
    if key is None or certificate is None:
        raise ConfigError(f"{variable}: {path} must hold both a private key and a certificate")
    return {
        "private_key": key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()).decode("ascii"),
        "thumbprint": certificate.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303
        "public_certificate": certificate.public_bytes(serialization.Encoding.PEM)
        .decode("ascii"),
    }


class MsalHttpClient:
    """The ``http_client`` msal wants (``get``/``post`` like requests), on httpx.

    msal puts a certificate's ``client_assertion`` into ``data`` as bytes, and httpx would
    form-encode those as ``b'…'`` (§7.2), so bytes are decoded first.
    """

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def get(self, url: str, params: Any = None, headers: Any = None,
            **kwargs: Any) -> httpx.Response:
        """GET for msal (discovery)."""
        return self._client.get(url, params=params, headers=headers, **_timeout(kwargs))

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None,
             **kwargs: Any) -> httpx.Response:
        """POST for msal (the token request)."""
        if isinstance(data, dict):
            data = {k: v.decode() if isinstance(v, bytes) else v for k, v in data.items()}
        return self._client.post(url, params=params, data=data, headers=headers,
                                 **_timeout(kwargs))

    def close(self) -> None:
        """Close the underlying client."""
        self._client.close()


def _timeout(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {"timeout": kwargs["timeout"]} if kwargs.get("timeout") is not None else {}


def _redact(text: str, *secrets: str | None) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


class MsalTokenProvider:
    """Calling it returns an app-only access token for Graph (msal cache first, §7.3).

    ``http`` is the httpx client msal talks through (default: one built from the settings'
    TLS trust and timeout); tests inject a client with an in-process transport. The msal
    application is built on first use, so construction never touches the network.
    """

    def __init__(self, settings: GraphSettings, *, http: httpx.Client | None = None) -> None:
        self._settings = settings.require()
        self._http = http or httpx.Client(verify=settings.ssl_context(),
                                          timeout=settings.timeout_s)
        self._app: Any = None
        self._lock = threading.Lock()
        self._last_token: str | None = None

    def __repr__(self) -> str:
        s = self._settings
        return (f"MsalTokenProvider(authority={s.authority!r}, client_id={s.client_id!r}, "
                f"scope={s.token_scope!r})")

    def _credential(self) -> str | dict[str, str]:
        s = self._settings
        if s.certificate_path:
            return load_certificate(s.certificate_path, s.certificate_password)
        assert s.client_secret is not None  # require() checked a credential is present
        return s.client_secret

    def _build(self) -> Any:
        s = self._settings
        try:
            return msal.ConfidentialClientApplication(
                s.client_id, client_credential=self._credential(), authority=s.authority,
                http_client=MsalHttpClient(self._http),
                # A custom authority must not be checked against the public cloud (§7.2).
                instance_discovery=None if s.authority_is_known else False)
        except ValueError as error:  # discovery 4xx: unknown tenant (§7.2)
            message = str(error)
            if "should consist of an https url" in message:
                raise ConfigError(f"AZURE_AUTHORITY_HOST: msal rejects the authority "
                                  f"{s.authority}") from None
            if "Discovery" not in message and "authority configuration" not in message:
                raise AuthError(f"cannot use the authority {s.authority}: "
                                f"{_redact(_first_line(message), s.client_secret)}") from None
            raise AuthError(f"token request failed for tenant {s.tenant_id!r} at "
                            f"{s.authority_host}: the tenant was not found (check "
                            "AZURE_TENANT_ID and AZURE_AUTHORITY_HOST)",
                            code="AADSTS90002") from None
        except (httpx.HTTPError, MsalServiceError) as error:
            raise self._unreachable(error) from None

    def _unreachable(self, error: httpx.HTTPError | MsalServiceError) -> AuthError:
        s = self._settings
        status: int | None = None
        if isinstance(error, httpx.HTTPStatusError):
            status = error.response.status_code
        elif isinstance(error, MsalServiceError):  # msal's replay of a remembered 5xx (§7.3)
            found = re.search(r"\b([45]\d\d)\b", str(error))
            status = int(found.group(1)) if found else None
        if status is not None or isinstance(error, MsalServiceError):
            return AuthError(f"the authority {s.authority_host} answered HTTP "
                             f"{status or 'error'}; try again later", status=status)
        return AuthError(f"cannot reach the authority {s.authority_host} "
                         f"({type(error).__name__}: {_redact(str(error), s.client_secret)})")

    def __call__(self) -> str:
        """An access token (from msal's cache while it has more than 5 minutes left)."""
        with self._lock:  # one token request even when several threads start at once
            if self._app is None:
                self._app = self._build()
            try:
                result = self._app.acquire_token_for_client(
                    scopes=[self._settings.token_scope])
            except (httpx.HTTPError, MsalServiceError) as error:
                raise self._unreachable(error) from None
            if "access_token" not in result:
                raise self._error(result)
            token = str(result["access_token"])
            if result.get("token_source") != "cache":
                log.debug("new Graph token for client %s", self._settings.client_id)
            self._last_token = token
            return token

    def close(self) -> None:
        """Close the HTTP client msal uses."""
        self._http.close()

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (Graph answered 401 to it) so the next call fetches a new one."""
        with self._lock:
            if self._app is None or token != self._last_token:
                return  # another thread already replaced it
            try:
                self._app.remove_tokens_for_client()
            except (httpx.HTTPError, ValueError):
                self._app = None  # a new application starts with an empty cache
            self._last_token = None

    def auth(self) -> BearerAuth:
        """A :class:`BearerAuth` that takes tokens from this provider."""
        return BearerAuth(self, invalidate=self.invalidate)

    def _error(self, result: dict[str, Any]) -> AuthError:
        s = self._settings
        codes = [int(c) for c in result.get("error_codes") or [] if str(c).isdigit()]
        cause = next((_CAUSES[c] for c in codes if c in _CAUSES), None)
        error = str(result.get("error") or "unknown_error")
        if cause is None:
            description = _first_line(str(result.get("error_description") or ""))
            cause = f"{error}: {description}" if description else error
        code = f"AADSTS{codes[0]}" if codes else error
        message = (f"token request failed for client {s.client_id!r} in tenant "
                   f"{s.tenant_id!r}: {cause}")
        return AuthError(_redact(message, s.client_secret, s.certificate_password), code=code,
                         request_id=result.get("correlation_id"))


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>`` from ``token_provider``; on a 401 it calls
    ``invalidate(token)`` (when given), takes a new token and resends once."""

    def __init__(self, token_provider: TokenProvider, *,
                 invalidate: Callable[[str], None] | None = None) -> None:
        self._provider = token_provider
        self._invalidate = invalidate

    def __repr__(self) -> str:
        return "BearerAuth()"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send with the current token; refresh once if Graph says 401."""
        token = self._provider()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        if self._invalidate is not None:
            self._invalidate(token)
        fresh = self._provider()
        if fresh == token:
            return  # nothing new to try
        log.debug("Graph answered 401; retrying once with a new token")
        request.headers["Authorization"] = f"Bearer {fresh}"
        yield request

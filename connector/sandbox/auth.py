"""The identity-platform side (§7): OIDC discovery, instance discovery, the client-credentials
token endpoint with AADSTS error shapes (§7.4), and bearer-token checks for Graph.

What msal 1.39 requests (read in ``msal/authority.py`` and ``msal/application.py``):

1. Instance discovery — only when the authority host is not a well-known Microsoft host and
   neither ``instance_discovery=False`` nor ``validate_authority=False`` is given. msal then
   calls ``https://login.microsoftonline.com/common/discovery/instance`` (the *public* host,
   whatever the authority), so against a local authority it must be disabled. It is also
   called after a failed token request (``_get_authority_aliases``) unless
   ``instance_discovery=False``. We still answer ``/{tenant}/discovery/instance`` for clients
   that point ``instance_discovery`` at the sandbox.
2. ``GET {authority}/v2.0/.well-known/openid-configuration`` — needs ``authorization_endpoint``
   and ``token_endpoint`` (https, at least one path segment; the tenant is taken from the
   token endpoint's first segment).
3. ``POST {token_endpoint}`` form: ``client_id``, ``grant_type=client_credentials``,
   ``scope``, ``client_secret`` (in the body; HTTP Basic is also accepted) or
   ``client_assertion`` + ``client_assertion_type``, ``client_info=1``.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from .config import GRAPH_APP_ID, GRAPH_RESOURCE
from .envelope import CIDict, Context, GraphError
from .state import SandboxState

_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_READ_ROLES = frozenset({"User.Read.All", "User.ReadWrite.All", "Directory.Read.All",
                         "Directory.ReadWrite.All"})
_WRITE_ROLES = frozenset({"User.ReadWrite.All", "Directory.ReadWrite.All"})


def known_tenant(state: SandboxState, tenant: str) -> bool:
    """Whether ``tenant`` names this tenant (id, a domain, or a multi-tenant alias)."""
    names = {state.tenant_id, "common", "organizations"}
    names |= {d["name"].lower() for d in state.store.domains()}
    return state.config.accept_any_tenant or tenant.lower() in names


def openid_configuration(state: SandboxState, base: str, tenant: str) -> dict[str, Any]:
    """OIDC discovery document; endpoints carry the tenant GUID like Entra's do (§7.2)."""
    tid = tenant if tenant.lower() in {"common", "organizations"} else state.tenant_id
    root = f"{base}/{tid}"
    return {
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                  "client_secret_basic"],
        "jwks_uri": f"{root}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/{state.tenant_id}/v2.0",
        "request_uri_parameter_supported": False,
        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
        "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "msgraph_host": "graph.microsoft.com",
    }


def instance_discovery(base: str, authorization_endpoint: str) -> dict[str, Any]:
    """Answer of ``/common/discovery/instance`` (the shape msal reads, §7.2)."""
    path = authorization_endpoint.split("://", 1)[-1].partition("/")[2]
    tenant = path.split("/")[0] or "common"
    host = base.split("://", 1)[-1]
    return {
        "tenant_discovery_endpoint": f"{base}/{tenant}/v2.0/.well-known/openid-configuration",
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    }


def aadsts_error(status: int, error: str, code: int, description: str, now: float,
                 correlation_id: str) -> tuple[int, dict[str, Any]]:
    """An identity-platform error body (§7.4): description + trace/correlation/timestamp."""
    trace_id = str(uuid.uuid4())
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return status, {
        "error": error,
        "error_description": f"AADSTS{code}: {description}\r\nTrace ID: {trace_id}\r\n"
                             f"Correlation ID: {correlation_id}\r\nTimestamp: {stamp}",
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


def unknown_tenant(tenant: str, now: float, correlation_id: str) -> tuple[int, dict[str, Any]]:
    """AADSTS90002 (shape of §7.4; code and text are Entra's, not quoted in graph.md)."""
    return aadsts_error(400, "invalid_tenant", 90002,
                        f"Tenant '{tenant}' not found. Check to make sure you have the correct "
                        "tenant ID and are signing into the correct cloud.", now, correlation_id)


def _credentials(form: dict[str, str], headers: CIDict) -> tuple[str, str | None, str | None]:
    client_id = form.get("client_id", "")
    secret = form.get("client_secret")
    basic = headers.get_ci("authorization") or ""
    if basic.lower().startswith("basic "):
        try:
            user, _, password = base64.b64decode(basic[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            user, password = "", ""
        client_id = client_id or user
        secret = secret or password
    assertion = form.get("client_assertion")
    if assertion is not None and form.get("client_assertion_type") != _ASSERTION_TYPE:
        assertion = None
    return client_id, secret, assertion


def _assertion_issuer(assertion: str) -> str | None:
    try:
        part = assertion.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (IndexError, ValueError, UnicodeDecodeError):
        return None
    return claims.get("iss") if isinstance(claims, dict) else None


def issue_token(state: SandboxState, tenant: str, raw_body: bytes, headers: CIDict,
                now: float) -> tuple[int, dict[str, Any]]:
    """The token endpoint: (status, JSON body) for a client-credentials request."""
    correlation = headers.get_ci("client-request-id") or str(uuid.uuid4())
    cfg = state.config
    if not known_tenant(state, tenant):
        return unknown_tenant(tenant, now, correlation)
    form = dict(parse_qsl(raw_body.decode("utf-8", "replace"), keep_blank_values=True))
    if form.get("grant_type") != "client_credentials":
        return aadsts_error(400, "unsupported_grant_type", 70003,
                            "The app requested an unsupported grant type.", now, correlation)
    client_id, secret, assertion = _credentials(form, headers)
    if not client_id:
        return aadsts_error(400, "invalid_request", 900144, "The request body must contain the "
                            "following parameter: 'client_id'.", now, correlation)
    if not secret and not assertion:
        return aadsts_error(401, "invalid_client", 7000218, "The request body must contain the "
                            "following parameter: 'client_assertion' or 'client_secret'.",
                            now, correlation)
    if cfg.client_secrets:
        if client_id not in cfg.client_secrets:
            return aadsts_error(
                400, "unauthorized_client", 700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant. You may "
                "have sent your authentication request to the wrong tenant.", now, correlation)
        # A client assertion's signature cannot be checked (no certificates are registered);
        # it must at least be issued by the client.
        good = (secret == cfg.client_secrets[client_id]) if secret else (
            _assertion_issuer(assertion or "") == client_id)
        if not good:
            return aadsts_error(
                401, "invalid_client", 7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                "the client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.", now, correlation)
    scopes = form.get("scope", "").split()
    resource = scopes[0][: -len("/.default")] if len(scopes) == 1 else ""
    if len(scopes) != 1 or not scopes[0].endswith("/.default"):
        return aadsts_error(
            400, "invalid_scope", 1002012,
            f"The provided value for scope {form.get('scope', '')} is not valid. Client "
            "credential flows must have a scope value with /.default suffixed to the resource "
            "identifier (application ID URI).", now, correlation)
    if resource.rstrip("/") not in {GRAPH_RESOURCE, GRAPH_APP_ID}:
        return aadsts_error(
            400, "invalid_resource", 500011,
            f"The resource principal named {resource} was not found in the tenant named "
            f"{tenant}.", now, correlation)
    lifetime = cfg.token_lifetime_s
    claims = {
        "aud": GRAPH_RESOURCE, "iss": f"https://sts.windows.net/{state.tenant_id}/",
        "iat": int(now), "nbf": int(now), "exp": int(now) + lifetime,
        "appid": client_id, "appidacr": "1" if secret else "2", "idtyp": "app",
        "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{client_id}")),
        "roles": list(cfg.app_roles), "sub": client_id, "tid": state.tenant_id,
        "uti": uuid.uuid4().hex[:22], "ver": "1.0",
        "xms_sandbox_iat": now,  # sub-second issue time, for tokens_not_before
    }
    return 200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                 "access_token": state.signer.jwt(claims)}


def _unauthorized(message: str, base: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message, headers={
        "WWW-Authenticate": f'Bearer realm="", authorization_uri="{base}/common/oauth2/'
                            f'authorize", client_id="{GRAPH_APP_ID}"'})


def authenticate(state: SandboxState, headers: CIDict, ctx: Context) -> None:
    """Check the bearer token of a Graph call and put its app id and roles into ``ctx``."""
    value = (headers.get_ci("authorization") or "").strip()
    scheme, _, token = value.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("Access token is empty.", ctx.base_url)  # [QA-TOK]
    claims = state.signer.verify_jwt(token)
    if claims is None or claims.get("aud") != GRAPH_RESOURCE:
        raise _unauthorized("Access token validation failure.", ctx.base_url)  # [INF] text
    issued = float(claims.get("xms_sandbox_iat", claims.get("iat", 0)))
    if float(claims.get("exp", 0)) <= ctx.now or issued < state.config.tokens_not_before:
        raise _unauthorized("Lifetime validation failed, the token is expired.", ctx.base_url)
    ctx.app_id = str(claims.get("appid", ""))
    ctx.roles = frozenset(claims.get("roles") or [])


def require_role(ctx: Context, *, write: bool, extra: frozenset[str] = frozenset()) -> None:
    """403 Authorization_RequestDenied unless the token carries a fitting app role."""
    allowed = (_WRITE_ROLES if write else _READ_ROLES) | extra
    if not ctx.roles & allowed:
        raise GraphError(403, "Authorization_RequestDenied",
                         "Insufficient privileges to complete the operation.")

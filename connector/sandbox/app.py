"""The sandbox ASGI application: Starlette routes for the identity platform (§7), Graph v1.0
(§2–§6, §8) and the admin API, plus the outer layer that can drop connections.

Dropped connections: the outermost ASGI layer remembers uvicorn's transport (reachable from
uvicorn's ``send`` callable); a dropped request aborts that transport without writing any
byte, so clients see "server disconnected without sending a response"
(``httpx.RemoteProtocolError``; over TLS possibly ``httpx.ReadError``). In-process (Starlette
``TestClient``, ``httpx.ASGITransport``) there is no transport; the app then raises
``httpx.RemoteProtocolError`` itself, which both test clients re-raise to the caller.
"""

from __future__ import annotations

import asyncio
import json
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .admin import admin_routes
from .auth import (
    authenticate,
    instance_discovery,
    issue_token,
    known_tenant,
    openid_configuration,
    unknown_tenant,
)
from .batch import handle_batch
from .config import SandboxConfig
from .envelope import JSON_CONTENT_TYPE, CIDict, Context, GraphError, GraphRequest, GraphResponse
from .faults import Faults
from .graph import Graph
from .provisioning import Provisioning
from .state import Clock, SandboxState
from .throttle import Throttle

_TRANSPORT_KEY = "hr_connector.sandbox.transport"
_GRAPH_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"]


class _Drop(Response):
    """Close the connection without any response."""

    def __init__(self) -> None:
        super().__init__(status_code=500)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = scope.get(_TRANSPORT_KEY)
        if not isinstance(transport, asyncio.BaseTransport):
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        if isinstance(transport, asyncio.WriteTransport):
            transport.abort()
        else:
            transport.close()
        # Let uvicorn see connection_lost before it would try a 500 of its own.
        for _ in range(5):
            await asyncio.sleep(0.01)


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status_code=status,
                    headers=headers, media_type="application/json; charset=utf-8")


class SandboxApp:
    """One sandbox tenant as an ASGI application (call it like any ASGI app)."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.throttle = Throttle(state)
        self.faults = Faults(state)
        self.graph = Graph(state, self.throttle, self.faults)
        self.provisioning = Provisioning(state)
        self.starlette = Starlette(routes=[
            *admin_routes(self),
            Route("/v1.0/{path:path}", self.graph_endpoint, methods=_GRAPH_METHODS),
            # beta only for the provisioning endpoints (CSV2SCIM posts to beta, §1).
            Route("/beta/{path:path}", self.graph_endpoint, methods=_GRAPH_METHODS),
            Route("/{tenant}/v2.0/.well-known/openid-configuration", self.discovery),
            Route("/{tenant}/discovery/instance", self.instance),
            Route("/{tenant}/discovery/v2.0/keys", self.keys),
            Route("/{tenant}/oauth2/v2.0/token", self.token, methods=["POST"]),
        ])

    @property
    def config(self) -> SandboxConfig:
        """The live configuration."""
        return self.state.config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            scope[_TRANSPORT_KEY] = transport
        await self.starlette(scope, receive, send)

    def reset(self) -> None:
        """Reseed the tenant and clear throttling, lag, fault counters and statistics."""
        self.state.store.reset(self.state.clock())
        self.graph.groups.store.reset()
        self.throttle.reset()
        self.faults.reset()
        with self.state.lock:
            self.state.lag.clear()
        self.state.stats.clear()
        self.provisioning.store.reset()

    # --- identity platform (§7) -------------------------------------------------------------
    async def discovery(self, request: Request) -> Response:
        """``GET /{tenant}/v2.0/.well-known/openid-configuration``."""
        tenant = request.path_params["tenant"]
        if not known_tenant(self.state, tenant):
            status, body = unknown_tenant(tenant, self.state.clock(),
                                          request.headers.get("client-request-id", ""))
            return _json(status, body)
        return _json(200, openid_configuration(self.state, _base_url(request), tenant))

    async def instance(self, request: Request) -> Response:
        """``GET /common/discovery/instance`` (only if a client points msal here, §7.2)."""
        endpoint = request.query_params.get("authorization_endpoint", "")
        return _json(200, instance_discovery(_base_url(request), endpoint))

    async def keys(self, request: Request) -> Response:
        """Signing keys: none (tokens are opaque to clients)."""
        return _json(200, {"keys": []})

    async def token(self, request: Request) -> Response:
        """``POST /{tenant}/oauth2/v2.0/token`` (client credentials, §7.2–§7.4)."""
        self.state.stats["token_requests"] += 1
        headers = CIDict(dict(request.headers))
        correlation = headers.get_ci("client-request-id") or ""
        out_headers = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache",
                       "client-request-id": correlation}
        cfg = self.state.config
        if cfg.token_fault_next > 0:
            cfg.token_fault_next -= 1
            return _json(503, {"error": "temporarily_unavailable",
                               "error_description": "AADSTS90033: A transient error has "
                                                    "occurred. Please try again."}, out_headers)
        status, body = issue_token(self.state, request.path_params["tenant"],
                                   await request.body(), headers, self.state.clock())
        return _json(status, body, out_headers)

    # --- Graph ------------------------------------------------------------------------------
    async def graph_endpoint(self, request: Request) -> Response:
        """Every ``/v1.0/...`` call: latency, drops, authentication, then the operation."""
        state = self.state
        state.stats["requests"] += 1
        ctx = Context.create(request.headers.get("client-request-id"), _base_url(request),
                             state.clock())
        delay = self.faults.latency_s()
        if delay > 0:
            await asyncio.sleep(delay)
        drop = self.faults.drop()
        if drop and not state.config.drop_after_commit:
            return _Drop()
        body = await request.body()
        req = GraphRequest(request.method, "/" + request.path_params["path"],
                           list(request.query_params.multi_items()),
                           CIDict(dict(request.headers)), body or None)
        try:
            authenticate(state, req.headers, ctx)
            version = request.url.path.split("/")[1]
            if Provisioning.handles(req.path):
                response = self.provisioning.execute(req, ctx, version)
            elif version != "v1.0":
                raise GraphError(400, "BadRequest", "The sandbox serves only the "
                                 "provisioning endpoints under /beta.")
            elif req.path.strip("/").lower() == "$batch":
                if req.method != "POST":
                    raise GraphError(405, "Request_BadRequest",
                                     "Specified HTTP method is not allowed for the request "
                                     "target.")
                response = handle_batch(self.graph, body, ctx)
            else:
                response = self.graph.execute(req, ctx)
        except GraphError as error:
            response = error.response(ctx)
        if drop:
            return _Drop()
        state.stats[f"status_{response.status}"] += 1
        return self.render(response, ctx)

    @staticmethod
    def render(response: GraphResponse, ctx: Context) -> Response:
        """Graph's response headers (§8) around a :class:`GraphResponse`."""
        headers = {"request-id": ctx.request_id, "client-request-id": ctx.client_request_id,
                   "Cache-Control": "no-cache", "Date": formatdate(ctx.now, usegmt=True),
                   **response.headers}
        if response.text is not None:
            headers.setdefault("Content-Type", "text/plain;charset=utf-8")
            return Response(response.text, response.status, headers)
        if response.status == 204 or response.body is None:
            return Response(status_code=response.status, headers=headers)
        headers["OData-Version"] = "4.0"
        headers["Content-Type"] = JSON_CONTENT_TYPE
        return Response(json.dumps(response.body, separators=(",", ":")), response.status,
                        headers)


def create_app(state_path: str | Path = ":memory:", config: SandboxConfig | None = None, *,
               clock: Clock | None = None) -> SandboxApp:
    """A sandbox app over the state at ``state_path`` (``:memory:`` for a throwaway tenant).

    ``clock`` (epoch seconds) lets tests drive throttling windows, lag and token expiry.
    """
    return SandboxApp(SandboxState.open(state_path, config, clock))


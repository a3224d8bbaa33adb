"""In-process wiring: a synchronous httpx transport that calls the sandbox app directly.

This is graph.md §7.2's "recommended test wiring": keep the real URLs
(``https://login.microsoftonline.com/{tenant}``, ``https://graph.microsoft.com/v1.0``) and route
them in-process. The sandbox routes by path only and builds its links from the request's host,
so both hosts can share one client::

    client = sandbox_client(app)
    msal.ConfidentialClientApplication(
        "id", client_credential="secret",
        authority=f"https://login.microsoftonline.com/{app.state.tenant_id}",
        http_client=client)          # login.microsoftonline.com: no instance discovery
    client.get("https://graph.microsoft.com/v1.0/users", headers=...)

httpx's own ``ASGITransport`` is async-only; this one runs each request on a private event
loop (so it must not be called from inside a running loop). App exceptions (e.g. a dropped
connection, ``httpx.RemoteProtocolError``) propagate to the caller.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx


class SyncASGITransport(httpx.BaseTransport):
    """Serve synchronous httpx requests from an ASGI app."""

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Run one request through the app and return the fully read response."""
        body = request.read()

        async def run() -> httpx.Response:
            inner_request = httpx.Request(request.method, request.url,
                                          headers=request.headers, content=body)
            response = await self._inner.handle_async_request(inner_request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers,
                                  content=content, request=request)

        return asyncio.run(run())


def sandbox_client(app: Any, base_url: str = "https://graph.microsoft.com",
                   **kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` whose every request is answered in-process by ``app``."""
    return httpx.Client(transport=SyncASGITransport(app), base_url=base_url, **kwargs)

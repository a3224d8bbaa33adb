"""Serving an ASGI app from a background thread on a free loopback port.

The sandbox tenant, the fakes of HR APIs and the upload page's browser tests all need a
real HTTP(S) server that starts fast and stops at once; this is the one way they get it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


class QuickStopServer(uvicorn.Server):
    """uvicorn, but stopping does not wait for idle keep-alive clients.

    A graceful TLS close waits for the peer's close_notify (up to 30 s), and pooled client
    connections (msal's session, httpx pools, a browser) never send one while idle.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
        await super().shutdown(sockets)


@contextmanager
def serve_in_thread(
    app: Any, *, port: int = 0, certfile: str | None = None, keyfile: str | None = None,
    log_level: str = "warning", name: str = "hr-connector-server", start_timeout: float = 15,
) -> Iterator[int]:
    """Serve ``app`` on 127.0.0.1 (a free port by default) until the block ends; yields
    the port. HTTPS when ``certfile``/``keyfile`` are given."""
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # is TCP, and without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    actual = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=actual, log_level=log_level, http="h11", lifespan="off",
        access_log=False, date_header=False, server_header=False, timeout_graceful_shutdown=5,
        ssl_certfile=certfile, ssl_keyfile=keyfile)
    server = QuickStopServer(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name,
                              daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.01)
    try:
        yield actual
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()

"""How long a client may take and how many uploads run at once: slow clients cannot hold
the upload page.

* **Request line and headers**: at most ``header_seconds`` from a request's first byte
  (or from the connection's opening) to the end of its headers, and at most
  ``max_header_bytes``; enforced by the server's protocol (``connector.web.server``),
  answered ``408`` / ``400`` and the connection closed.
* **Request body**: a form's body must arrive within ``body_seconds`` of the request,
  an upload's within ``upload_seconds`` (``BodyDeadline``, an ASGI middleware); past it
  the request is answered ``408`` and the connection closed, whatever the pace.
* **Uploads at once**: at most ``uploads`` uploads are received and checked at the same
  time (``UploadSlots``); one more is answered ``503`` with ``Retry-After``, before any
  of its body is read.
* **Connections**: at most ``connections`` at once (uvicorn's ``limit_concurrency``:
  ``503`` beyond); an idle keep-alive connection is closed after
  ``keep_alive_seconds``.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UPLOAD_PATH = "/uploads"
_TIMEOUT_PAGE = (b"408 Request Timeout: the request took too long to arrive, so it was "
                 b"not processed. Try again.\n")


@dataclass(frozen=True)
class Limits:
    """The upload page's time and concurrency limits (``hr-connector serve`` options)."""

    header_seconds: float = 10.0
    body_seconds: float = 30.0
    upload_seconds: float = 300.0
    uploads: int = 4
    connections: int = 100
    keep_alive_seconds: int = 5
    max_header_bytes: int = 16 * 1024


class BodyTimeout(Exception):
    """The request body did not arrive in time."""


class BodyDeadline:
    """Answers ``408`` (and closes the connection) when a request's body is not all there
    within its deadline: ``upload_seconds`` for ``POST /uploads``, ``body_seconds`` for
    everything else. The deadline counts from the request's start, so a body trickled a
    byte at a time is cut off as surely as one that stalls."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["method"] == "POST" and scope["path"] == UPLOAD_PATH
        seconds = self.limits.upload_seconds if upload else self.limits.body_seconds
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        started = False

        async def timed_receive() -> Message:
            try:
                return await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise BodyTimeout from None

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, timed_receive, watched_send)
        except BodyTimeout:
            if started:  # nothing sensible left to say; uvicorn closes the connection
                raise
            await send({"type": "http.response.start", "status": 408, "headers": [
                (b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close"),
                (b"content-length", str(len(_TIMEOUT_PAGE)).encode("ascii"))]})
            await send({"type": "http.response.body", "body": _TIMEOUT_PAGE})


class UploadSlots:
    """At most ``size`` uploads at once in this process (thread-safe, never waits)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._used = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Take a slot; False when all are taken."""
        with self._lock:
            if self._used >= self.size:
                return False
            self._used += 1
            return True

    def give_back(self) -> None:
        """Free a slot taken by ``take``."""
        with self._lock:
            self._used = max(0, self._used - 1)

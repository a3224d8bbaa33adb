"""Serving the upload page with uvicorn, with every limit of ``connector.web.limits`` and
proxy trust set explicitly (never from uvicorn's defaults or its environment variables).

* **Proxy headers** (``X-Forwarded-For``, ``X-Forwarded-Proto``) are believed only from
  the addresses given (``forwarded_allow_ips``; none by default). Otherwise the client's
  address is the connection's: one client cannot rotate addresses to escape sign-in
  throttling, nor claim HTTPS.
* **Headers in time**: uvicorn bounds idle keep-alive connections but not a request head
  trickled a byte at a time, so the HTTP protocol here (``TimedH11Protocol``, uvicorn's
  h11 protocol) closes a connection whose request line and headers are not complete
  within ``header_seconds``, answering ``408``, and one that keeps sending a body nobody
  reads any more (after a refusal) for longer than that.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from connector.web.limits import Limits

_TIMEOUT_TEXT = b"The request took too long to arrive and was dropped.\n"
_TIMEOUT = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s"
            % (len(_TIMEOUT_TEXT), _TIMEOUT_TEXT))


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for request heads (and for draining a body
    nobody reads after the response). ``header_seconds`` is set by ``protocol_for``."""

    header_seconds = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._draining = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """A new connection: its first request head must arrive in time."""
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        """Bytes arrived: a head still incomplete keeps (or starts) its deadline; once a
        request is complete, the application's own limits take over."""
        super().data_received(data)
        if self.transport.is_closing():
            self._disarm()
        elif self.conn.their_state is h11.IDLE:
            if self._deadline is None or self._draining:
                self._arm()
        elif not self._draining:
            self._disarm()

    def on_response_complete(self) -> None:
        """Answered: a request body still arriving is drained for a bounded time only."""
        super().on_response_complete()
        if self.conn.their_state is h11.SEND_BODY and not self.transport.is_closing():
            self._arm(draining=True)

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection closed: nothing left to time."""
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, *, draining: bool = False) -> None:
        self._disarm()
        self._draining = draining
        self._deadline = self.loop.call_later(self.header_seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._draining = False

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.conn.their_state is h11.IDLE and self.conn.our_state is h11.IDLE:
            self.transport.write(_TIMEOUT)  # no response started: say why
        self.transport.close()


def protocol_for(limits: Limits) -> type[TimedH11Protocol]:
    """The protocol class with ``limits``' header deadline (uvicorn instantiates it)."""
    return type("TimedH11Protocol", (TimedH11Protocol,),
                {"header_seconds": limits.header_seconds})


def server_config(app: Any, *, host: str, port: int, limits: Limits,
                  forwarded_allow_ips: str = "", certfile: str | None = None,
                  keyfile: str | None = None, log_level: str = "info") -> uvicorn.Config:
    """uvicorn's configuration for the upload page: limits, proxy trust (only
    ``forwarded_allow_ips``, comma-separated; empty: none), HTTPS when given a
    certificate."""
    trusted = [ip.strip() for ip in forwarded_allow_ips.split(",") if ip.strip()]
    return uvicorn.Config(
        app, host=host, port=port, http=protocol_for(limits), ws="none", lifespan="off",
        proxy_headers=bool(trusted), forwarded_allow_ips=trusted,
        limit_concurrency=limits.connections, timeout_keep_alive=limits.keep_alive_seconds,
        h11_max_incomplete_event_size=limits.max_header_bytes,
        ssl_certfile=certfile, ssl_keyfile=keyfile, server_header=False,
        log_level=log_level)

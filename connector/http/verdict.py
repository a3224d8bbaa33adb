"""The one judgement of an HTTP answer: :func:`classify` turns a response, or the exception
a send raised, into a :class:`Verdict` — success, retry, verify, or fatal.

Statuses (Graph's SDKs and graph.md §6.3 for 429/503/504; 500/502 added for requests that
can safely be repeated, as urllib3's and most HTTP clients' retry lists do):

=====================  ==========================  ===================================
answer                 idempotent request          non-idempotent request (a create)
=====================  ==========================  ===================================
2xx                    success                     success
429                    retry (never applied)       retry (never applied)
500, 502, 503, 504     retry                       verify (it may have been applied)
connection refused,    retry (never sent)          retry (never sent)
connect/pool timeout
read/write timeout,    retry                       verify
dropped connection
anything else          fatal                       fatal
=====================  ==========================  ===================================

"verify" means: the request may have changed something, so sending it again could do it
twice; the caller first finds out whether it was applied (Graph's create lookup) and only
then sends it again — a caller with no way to check treats it as fatal.

Idempotent: GET, and writes that set a state rather than add one (PATCH of properties, PUT
or DELETE of a reference, DELETE of an object: doing them twice leaves the same result).
The caller says which; the classifier does not guess from the method, because a POST can
be a read (an HR API's search endpoint) and a PATCH can be an append elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import httpx

from .retry_after import parse_retry_after

Kind = Literal["success", "retry", "verify", "fatal"]

#: Answered without being carried out: throttled (graph.md §6.3, "repeat while 429").
THROTTLED = 429
#: Server-side failures after which the request may or may not have been applied (§6.3:
#: "a 5xx/timeout after a create may have succeeded").
SERVER_FAILURES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class Verdict:
    """What an answer (or a transport failure) means for the request that got it."""

    kind: Kind
    status: int | None = None
    #: Seconds the server asked us to wait (``Retry-After``), if it said.
    retry_after: float | None = None
    #: The request reached the server and may have been carried out (5xx, timeouts and
    #: dropped connections after sending).
    maybe_applied: bool = False
    #: ``HTTP 503`` or the exception's class name, for messages.
    reason: str = ""

    @property
    def ok(self) -> bool:
        """2xx."""
        return self.kind == "success"

    @property
    def retriable(self) -> bool:
        """Worth another try later (after verifying, for ``verify``)."""
        return self.kind in ("retry", "verify")

    @property
    def throttled(self) -> bool:
        """A 429: the server refused to do it now (counted apart from failures)."""
        return self.status == THROTTLED


def classify(subject: httpx.Response | BaseException, *, idempotent: bool = True,
             now: float | None = None) -> Verdict:
    """The verdict on ``subject``; ``idempotent`` says whether the request may be sent
    twice. ``now`` (epoch seconds) resolves an HTTP-date ``Retry-After`` (default: the
    system's time)."""
    unsure: Kind = "retry" if idempotent else "verify"
    if isinstance(subject, httpx.Response):
        status = subject.status_code
        reason = f"HTTP {status}"
        if 200 <= status < 300:
            return Verdict("success", status, reason=reason)
        retry_after = parse_retry_after(subject.headers.get("Retry-After"), now=now)
        if status == THROTTLED:
            return Verdict("retry", status, retry_after, reason=reason)
        if status in SERVER_FAILURES:
            return Verdict(unsure, status, retry_after, maybe_applied=True, reason=reason)
        return Verdict("fatal", status, retry_after, reason=reason)
    name = type(subject).__name__
    # Never sent: the connection could not be made, or the pool had no free connection.
    if isinstance(subject, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return Verdict("retry", reason=name)
    # Sent (at least partly), answer lost: dropped connection, read/write timeout.
    if isinstance(subject, httpx.TimeoutException | httpx.NetworkError
                  | httpx.RemoteProtocolError):
        return Verdict(unsure, maybe_applied=True, reason=name)
    return Verdict("fatal", maybe_applied=isinstance(subject, httpx.TransportError),
                   reason=name)

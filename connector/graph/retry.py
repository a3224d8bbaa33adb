"""What to do with a Graph answer: :func:`classify` (the one place responses and transport
errors are judged), ``Retry-After`` parsing, the backoff :class:`RetryPolicy`, and the
:class:`~connector.errors.GraphError` built from an error envelope (graph.md §2.2).

Retriable (graph.md §6.3, the Graph SDKs' defaults): 429, 503, 504, connection errors and
timeouts. 500 and 502 are fatal: the SDKs do not retry them and §6.3 lists only 429/503/504;
a create answered 500/502 is still checked by its matching attribute before it is reported
(it "may have succeeded", §6.3). Everything else (400, 401 after the token refresh, 403,
404, 409 …) is fatal.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from connector.errors import FatalGraphError, GraphError, RetriableGraphError
from connector.http.retry import parse_retry_after

Kind = Literal["success", "retriable", "fatal"]

RETRIABLE_STATUSES = frozenset({429, 503, 504})
#: Statuses after which a write may or may not have been applied (§6.3).
UNKNOWN_OUTCOME_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class Outcome:
    """The verdict on one answer (or transport failure)."""

    kind: Kind
    status: int | None = None
    #: Seconds the server asked us to wait (``Retry-After``), if it said.
    retry_after: float | None = None
    #: The request reached the server and a write may have been applied (timeouts and
    #: dropped connections after sending, 5xx): a create must be looked up before a re-POST.
    maybe_applied: bool = False
    reason: str = ""

    @property
    def ok(self) -> bool:
        """2xx."""
        return self.kind == "success"

    @property
    def retriable(self) -> bool:
        """Worth trying again later."""
        return self.kind == "retriable"


def classify(subject: httpx.Response | BaseException, *, now: float | None = None) -> Outcome:
    """Success, retriable or fatal, for a response or the exception a send raised.

    ``now`` (epoch seconds) resolves an HTTP-date ``Retry-After``; default: the wall clock.
    """
    if isinstance(subject, httpx.Response):
        status = subject.status_code
        reason = f"HTTP {status}"
        if 200 <= status < 300:
            return Outcome("success", status, reason=reason)
        retry_after = parse_retry_after(subject.headers.get("Retry-After"), now=now)
        maybe = status in UNKNOWN_OUTCOME_STATUSES
        kind: Kind = "retriable" if status in RETRIABLE_STATUSES else "fatal"
        return Outcome(kind, status, retry_after, maybe, reason)
    name = type(subject).__name__
    # Never sent: the connection could not be made, or the pool had no free connection.
    if isinstance(subject, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return Outcome("retriable", reason=name)
    # Sent (at least partly), answer lost: dropped connection, read/write timeout.
    if isinstance(subject, httpx.TimeoutException | httpx.NetworkError
                  | httpx.RemoteProtocolError):
        return Outcome("retriable", maybe_applied=True, reason=name)
    return Outcome("fatal", maybe_applied=isinstance(subject, httpx.TransportError), reason=name)


@dataclass(frozen=True)
class ErrorInfo:
    """The parts of Graph's error envelope a client acts on (§2.2)."""

    code: str | None
    message: str
    request_id: str | None
    detail_codes: tuple[tuple[str, str], ...] = ()  # (target, code) of error.details[]

    def has_detail(self, code: str, target: str | None = None) -> bool:
        """Whether ``error.details`` holds ``code`` (for ``target``, when given)."""
        return any(c == code and (target is None or t == target) for t, c in self.detail_codes)


def error_info(response: httpx.Response) -> ErrorInfo:
    """Read the error envelope; every key is optional (older payloads lack some, §2.2)."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    inner = error.get("innerError") or error.get("innererror") or {}
    inner = inner if isinstance(inner, dict) else {}
    # innerError first: inside a $batch it names the item, the header only the batch call;
    # on a plain response both are the same (§2.2).
    request_id = inner.get("request-id") or response.headers.get("request-id")
    details = tuple(
        (str(d.get("target") or ""), str(d.get("code") or ""))
        for d in error.get("details") or [] if isinstance(d, dict))
    code = error.get("code")
    message = error.get("message")
    return ErrorInfo(str(code) if code else None,
                     str(message) if message else response.reason_phrase or "",
                     str(request_id) if request_id else None, details)


def graph_error(subject: httpx.Response | BaseException, context: str,
                outcome: Outcome | None = None) -> GraphError:
    """A :class:`RetriableGraphError` or :class:`FatalGraphError` for a failed call.

    ``context`` names the operation and the user key (never a request body); Graph's
    ``error.code``, ``error.message`` and ``request-id`` are kept.
    """
    outcome = outcome or classify(subject)
    cls = RetriableGraphError if outcome.retriable else FatalGraphError
    if isinstance(subject, httpx.Response):
        info = error_info(subject)
        return cls(f"{context}: {info.message}", status=subject.status_code, code=info.code,
                   request_id=info.request_id)
    return cls(f"{context}: {outcome.reason or type(subject).__name__} ({subject})")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds and pacing of retries.

    A retry waits the server's ``Retry-After`` when given (§6.3), else an exponential
    backoff with full jitter: ``uniform(0, min(cap, base * 2**(attempt-1)))``. An operation
    gives up after ``max_attempts`` failed sends, or when the next wait would end more than
    ``max_total_seconds`` after its first send. Throttled sends (429) count only against
    the time: §6.3 says to wait and "repeat while 429". ``seed`` makes the jitter
    reproducible.
    """

    max_attempts: int = 8
    max_total_seconds: float = 600.0
    base: float = 1.0
    cap: float = 60.0
    seed: int | None = None
    #: How long a user this client created may answer 404 before the 404 is believed
    #: (replication lag, §8: 15–30 s observed, up to 1–2 min).
    replication_lag_seconds: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.max_total_seconds < 0 or self.base < 0 or self.cap < 0:
            raise ValueError("RetryPolicy needs max_attempts >= 1 and non-negative times")

    def rng(self) -> random.Random:
        """The jitter source (seeded when ``seed`` is set)."""
        return random.Random(self.seed)  # noqa: S311 (jitter, not cryptography)

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter exponential backoff before retry number ``attempt`` (1-based)."""
        ceiling = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        return rng.uniform(0.0, ceiling)

    def delay(self, attempt: int, outcome: Outcome, rng: random.Random) -> float:
        """Seconds to wait before the next try: ``Retry-After`` if given, else backoff."""
        if outcome.retry_after is not None:
            return outcome.retry_after
        return self.backoff(attempt, rng)

    def allows(self, attempts: int, elapsed: float, delay: float) -> bool:
        """Whether another try fits: fewer than ``max_attempts`` counted sends so far (429s
        not counted), and the wait ends within ``max_total_seconds`` of the first send."""
        return attempts < self.max_attempts and elapsed + delay <= self.max_total_seconds

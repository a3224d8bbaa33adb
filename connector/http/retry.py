"""When to try again and how long to wait: :class:`RetryPolicy`, and
:func:`send_with_retries`, the loop every sequential caller uses (Graph's reads, the HR API
readers). Graph's ``$batch`` items use the same policy step by step (their state machine
sends each try inside some later batch, so they cannot block in a loop).

A retry waits the server's ``Retry-After`` when given (graph.md §6.3), else an exponential
backoff ``base * 2**(n-1)`` capped at ``cap``, with full jitter (``uniform(0, that)``)
unless switched off. A call gives up after ``max_attempts`` *failed* answers, or when the
next wait would take the time it has spent past ``max_wait_seconds``. Throttled answers
(429) are not failures: the server said "not now", and §6.3 says to wait and "repeat while
429", so they count against the time only.

No retry library (tenacity, backoff, stamina) is used: what is specific here — the verdict
with "maybe applied", ``Retry-After``, the per-item stepping of batches, time injected for
tests — is most of the code, and the generic loop left over is a dozen lines.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from .verdict import Verdict, classify

Subject = httpx.Response | BaseException


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds and pacing of retries (see the module docstring)."""

    #: Failed answers (429s not counted) of one call before it gives up.
    max_attempts: int = 8
    #: Seconds one call may spend waiting to try again (Graph items: since the first send).
    max_wait_seconds: float = 600.0
    base: float = 1.0
    cap: float = 60.0
    #: Full jitter on the backoff (spreads clients and batch items that failed together).
    jitter: bool = True
    #: Makes the jitter reproducible.
    seed: int | None = None

    def __post_init__(self) -> None:
        if (self.max_attempts < 1 or self.max_wait_seconds < 0 or self.base < 0
                or self.cap < 0):
            raise ValueError("RetryPolicy needs max_attempts >= 1 and non-negative times")

    def rng(self) -> random.Random:
        """The jitter source (seeded when ``seed`` is set)."""
        return random.Random(self.seed)  # noqa: S311 (jitter, not cryptography)

    def backoff(self, retry: int, rng: random.Random) -> float:
        """The wait before retry number ``retry`` (1-based) when the server named none."""
        ceiling = float(min(self.cap, self.base * 2 ** max(0, retry - 1)))
        return rng.uniform(0.0, ceiling) if self.jitter else ceiling

    def delay(self, retry: int, verdict: Verdict, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry``: ``Retry-After``, else backoff."""
        if verdict.retry_after is not None:
            return verdict.retry_after
        return self.backoff(retry, rng)

    def allows(self, failures: int, spent: float, delay: float) -> bool:
        """Whether another try fits: fewer than ``max_attempts`` failed answers so far, and
        waiting ``delay`` more keeps the time spent within ``max_wait_seconds``."""
        return failures < self.max_attempts and spent + delay <= self.max_wait_seconds


@dataclass
class Retried:
    """How a call with retries ended: its last answer and that answer's verdict."""

    subject: Subject
    verdict: Verdict
    #: Requests sent, and seconds waited between them.
    sends: int = 0
    waited: float = 0.0
    #: Why retrying stopped while the answer was still retriable (None otherwise).
    gave_up: str | None = None

    @property
    def response(self) -> httpx.Response:
        """The successful response (only when ``verdict.ok``)."""
        assert isinstance(self.subject, httpx.Response) and self.verdict.ok
        return self.subject


def send_with_retries(send: Callable[[], httpx.Response], policy: RetryPolicy, *,
                      idempotent: bool = True, sleep: Callable[[float], None] = time.sleep,
                      wall_clock: Callable[[], float] | None = None,
                      rng: random.Random | None = None, spent: float = 0.0,
                      on_retry: Callable[[Verdict, float], None] | None = None) -> Retried:
    """Call ``send`` until an answer is not worth retrying or the policy gives up.

    ``send`` performs one request (an ``httpx.HTTPError`` it raises is judged like an
    answer; anything else propagates). A non-idempotent request that may have been applied
    ("verify") is not sent again: the caller decides what to do. ``spent`` is time already
    counted against ``max_wait_seconds`` (a caller whose budget spans several calls);
    ``wall_clock`` resolves HTTP-date ``Retry-After`` values; ``on_retry`` hears each
    retry's verdict and wait before the sleep.
    """
    rng = rng or policy.rng()
    outcome = Retried(httpx.RemoteProtocolError("not sent"), Verdict("fatal"))
    retries = failures = 0
    while True:
        outcome.sends += 1
        try:
            outcome.subject = send()
        except httpx.HTTPError as error:
            outcome.subject = error
        outcome.verdict = verdict = classify(outcome.subject, idempotent=idempotent,
                                             now=wall_clock() if wall_clock else None)
        if verdict.kind != "retry":
            return outcome
        retries += 1
        failures += not verdict.throttled
        delay = policy.delay(retries, verdict, rng)
        if failures >= policy.max_attempts:
            outcome.gave_up = f"gave up after {outcome.sends} attempts"
            return outcome
        if not policy.allows(failures, spent + outcome.waited, delay):
            outcome.gave_up = (f"waiting {delay:g} s more would pass the "
                               f"{policy.max_wait_seconds:g} s limit")
            return outcome
        if on_retry is not None:
            on_retry(verdict, delay)
        sleep(delay)
        outcome.waited += delay

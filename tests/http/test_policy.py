"""The one HTTP policy: classify() as a table (idempotent or not), Retry-After parsing, the
backoff and its bounds, and the retry loop over an httpx.MockTransport."""

from __future__ import annotations

import random
from email.utils import formatdate

import httpx
import pytest

from connector.http import RetryPolicy, classify, parse_retry_after, send_with_retries

NOW = 1_800_000_000.0
REQUEST = httpx.Request("GET", "https://graph.microsoft.com/v1.0/users")


def response(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers or {})


# (answer, kind for an idempotent request, kind for one that is not, Retry-After, maybe applied)
TABLE = [
    (response(200), "success", "success", None, False),
    (response(201), "success", "success", None, False),
    (response(204), "success", "success", None, False),
    (response(202), "success", "success", None, False),
    (response(429, {"Retry-After": "10"}), "retry", "retry", 10.0, False),
    (response(429, {"Retry-After": "2.128"}), "retry", "retry", 2.128, False),
    (response(429, {"Retry-After": formatdate(NOW + 30, usegmt=True)}), "retry", "retry",
     30.0, False),
    (response(429, {"Retry-After": formatdate(NOW - 30, usegmt=True)}), "retry", "retry",
     0.0, False),
    (response(429), "retry", "retry", None, False),
    (response(429, {"Retry-After": "soon"}), "retry", "retry", None, False),
    (response(503, {"Retry-After": "3"}), "retry", "verify", 3.0, True),
    (response(503), "retry", "verify", None, True),
    (response(504), "retry", "verify", None, True),
    (response(500), "retry", "verify", None, True),
    (response(502), "retry", "verify", None, True),
    (response(501), "fatal", "fatal", None, False),
    (response(400), "fatal", "fatal", None, False),
    (response(401), "fatal", "fatal", None, False),
    (response(403), "fatal", "fatal", None, False),
    (response(404), "fatal", "fatal", None, False),
    (response(409), "fatal", "fatal", None, False),
    (response(302), "fatal", "fatal", None, False),
    (httpx.ConnectError("refused", request=REQUEST), "retry", "retry", None, False),
    (httpx.ConnectTimeout("slow", request=REQUEST), "retry", "retry", None, False),
    (httpx.PoolTimeout("busy", request=REQUEST), "retry", "retry", None, False),
    (httpx.ReadTimeout("slow", request=REQUEST), "retry", "verify", None, True),
    (httpx.WriteTimeout("slow", request=REQUEST), "retry", "verify", None, True),
    (httpx.ReadError("reset", request=REQUEST), "retry", "verify", None, True),
    (httpx.RemoteProtocolError("Server disconnected", request=REQUEST), "retry", "verify",
     None, True),
    (httpx.UnsupportedProtocol("ftp", request=REQUEST), "fatal", "fatal", None, True),
    (httpx.DecodingError("bad gzip", request=REQUEST), "fatal", "fatal", None, False),
    (ValueError("not HTTP"), "fatal", "fatal", None, False),
]


@pytest.mark.parametrize(("subject", "idempotent_kind", "other_kind", "delay", "maybe"),
                         TABLE)
def test_classify(subject: httpx.Response | BaseException, idempotent_kind: str,
                  other_kind: str, delay: float | None, maybe: bool) -> None:
    for idempotent, kind in ((True, idempotent_kind), (False, other_kind)):
        verdict = classify(subject, idempotent=idempotent, now=NOW)
        assert (verdict.kind, verdict.retry_after, verdict.maybe_applied) == (
            kind, pytest.approx(delay) if delay is not None else None, maybe)
        assert verdict.ok is (kind == "success")
        assert verdict.retriable is (kind in ("retry", "verify"))
        assert verdict.throttled is (isinstance(subject, httpx.Response)
                                     and subject.status_code == 429)


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("", None), ("  ", None), ("0", 0.0), ("1", 1.0), ("120", 120.0),
    (" 7 ", 7.0), ("2.128", 2.128), ("-3", 0.0), ("nan", None), ("inf", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past
    (formatdate(NOW + 90, usegmt=True), 90.0), ("next tuesday", None),
])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    parsed = parse_retry_after(value, now=NOW)
    assert parsed == (pytest.approx(expected) if expected is not None else None)


def test_backoff_is_full_jitter_capped_and_seeded() -> None:
    policy = RetryPolicy(base=1.0, cap=8.0, seed=3)
    first = [policy.backoff(n, policy.rng()) for n in range(1, 8)]
    again = [policy.backoff(n, policy.rng()) for n in range(1, 8)]
    assert first == again  # a seed reproduces the schedule
    rng = random.Random(0)
    for retry in range(1, 12):
        ceiling = min(8.0, 2 ** (retry - 1))
        samples = [policy.backoff(retry, rng) for _ in range(200)]
        assert all(0.0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8  # the whole range is used (full jitter)
    plain = RetryPolicy(base=1.0, cap=8.0, jitter=False)
    assert [plain.backoff(n, rng) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_retry_after_wins_over_backoff_and_bounds_hold() -> None:
    policy = RetryPolicy(max_attempts=3, max_wait_seconds=20.0)
    verdict = classify(response(429, {"Retry-After": "5"}))
    assert policy.delay(1, verdict, random.Random(1)) == 5.0
    assert policy.allows(1, 0.0, 5.0) and policy.allows(2, 15.0, 5.0)
    assert not policy.allows(3, 0.0, 1.0)  # failures exhausted
    assert not policy.allows(1, 16.0, 5.0)  # would pass max_wait_seconds
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


class Script:
    """An httpx transport answering from a list (an exception class is raised)."""

    def __init__(self, *answers: int | tuple[int, dict[str, str]] | type[Exception]) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.client = httpx.Client(transport=httpx.MockTransport(self))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, type):
            raise answer("injected")
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        return httpx.Response(status, headers=headers)

    def send(self) -> httpx.Response:
        return self.client.get("https://hr.example/people")


def test_the_loop_retries_until_success_waiting_retry_after_or_backoff() -> None:
    script = Script((429, {"Retry-After": "3"}), 503, httpx.ReadTimeout, 500, 200)
    slept: list[float] = []
    heard: list[str] = []
    outcome = send_with_retries(script.send, RetryPolicy(jitter=False), sleep=slept.append,
                                on_retry=lambda verdict, _: heard.append(verdict.reason))
    assert outcome.verdict.ok and outcome.response.status_code == 200
    assert slept == [3.0, 2.0, 4.0, 8.0]  # the 429's Retry-After, then 2**(n-1) backoff
    assert outcome.sends == 5 and outcome.waited == 17.0 and outcome.gave_up is None
    assert heard == ["HTTP 429", "HTTP 503", "ReadTimeout", "HTTP 500"]


def test_the_loop_stops_at_a_fatal_answer_or_an_unverified_write() -> None:
    fatal = send_with_retries(Script(404).send, RetryPolicy(), sleep=pytest.fail)
    assert fatal.verdict.kind == "fatal" and fatal.sends == 1 and fatal.gave_up is None
    unsure = send_with_retries(Script(503).send, RetryPolicy(), idempotent=False,
                               sleep=pytest.fail)
    assert unsure.verdict.kind == "verify" and unsure.sends == 1  # the caller must check


def test_the_loop_counts_failures_not_throttles_and_bounds_the_wait() -> None:
    throttled = Script(*[(429, {"Retry-After": "1"})] * 6)
    outcome = send_with_retries(throttled.send, RetryPolicy(max_attempts=2),
                                sleep=lambda _: None)
    assert outcome.verdict.ok and throttled.calls == 7  # 429s count against time only
    failing = Script(*[503] * 10)
    outcome = send_with_retries(failing.send, RetryPolicy(max_attempts=3),
                                sleep=lambda _: None)
    assert failing.calls == 3 and outcome.gave_up == "gave up after 3 attempts"
    slow = Script(*[(503, {"Retry-After": "20"})] * 10)
    outcome = send_with_retries(slow.send, RetryPolicy(max_wait_seconds=50.0),
                                sleep=lambda _: None, spent=5.0)
    assert slow.calls == 3 and outcome.waited == 40.0  # 5 + 20 + 20, and 20 more is > 50
    assert outcome.gave_up == "waiting 20 s more would pass the 50 s limit"

"""classify(), Retry-After parsing, the backoff policy and GraphError contents, as tables."""

from __future__ import annotations

import random
from email.utils import formatdate

import httpx
import pytest

from connector.errors import FatalGraphError, RetriableGraphError
from connector.graph import RetryPolicy, classify, error_info, graph_error, parse_retry_after

NOW = 1_800_000_000.0
REQUEST = httpx.Request("GET", "https://graph.microsoft.com/v1.0/users")


def response(status: int, headers: dict[str, str] | None = None,
             body: object = None) -> httpx.Response:
    return httpx.Response(status, headers=headers or {}, json=body)


@pytest.mark.parametrize(("subject", "kind", "delay", "maybe_applied"), [
    (response(200), "success", None, False),
    (response(201), "success", None, False),
    (response(204), "success", None, False),
    (response(202), "success", None, False),
    (response(429, {"Retry-After": "10"}), "retriable", 10.0, False),
    (response(429, {"Retry-After": "2.128"}), "retriable", 2.128, False),
    (response(429, {"Retry-After": formatdate(NOW + 30, usegmt=True)}), "retriable", 30.0,
     False),
    (response(429, {"Retry-After": formatdate(NOW - 30, usegmt=True)}), "retriable", 0.0,
     False),
    (response(429), "retriable", None, False),
    (response(429, {"Retry-After": "soon"}), "retriable", None, False),
    (response(503, {"Retry-After": "3"}), "retriable", 3.0, True),
    (response(503), "retriable", None, True),
    (response(504), "retriable", None, True),
    (response(500), "fatal", None, True),
    (response(502), "fatal", None, True),
    (response(400), "fatal", None, False),
    (response(401), "fatal", None, False),
    (response(403), "fatal", None, False),
    (response(404), "fatal", None, False),
    (response(409), "fatal", None, False),
    (httpx.ConnectError("refused", request=REQUEST), "retriable", None, False),
    (httpx.ConnectTimeout("slow", request=REQUEST), "retriable", None, False),
    (httpx.PoolTimeout("busy", request=REQUEST), "retriable", None, False),
    (httpx.ReadTimeout("slow", request=REQUEST), "retriable", None, True),
    (httpx.WriteTimeout("slow", request=REQUEST), "retriable", None, True),
    (httpx.ReadError("reset", request=REQUEST), "retriable", None, True),
    (httpx.RemoteProtocolError("Server disconnected", request=REQUEST), "retriable", None,
     True),
    (httpx.UnsupportedProtocol("ftp", request=REQUEST), "fatal", None, True),
    (ValueError("not HTTP"), "fatal", None, False),
])
def test_classify(subject: httpx.Response | BaseException, kind: str, delay: float | None,
                  maybe_applied: bool) -> None:
    outcome = classify(subject, now=NOW)
    assert (outcome.kind, outcome.retry_after, outcome.maybe_applied) == (
        kind, pytest.approx(delay) if delay is not None else None, maybe_applied)


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
    for attempt in range(1, 12):
        ceiling = min(8.0, 2 ** (attempt - 1))
        samples = [policy.backoff(attempt, rng) for _ in range(200)]
        assert all(0.0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8  # the whole range is used (full jitter)


def test_retry_after_wins_over_backoff_and_bounds_hold() -> None:
    policy = RetryPolicy(max_attempts=3, max_total_seconds=20.0)
    outcome = classify(response(429, {"Retry-After": "5"}))
    assert policy.delay(1, outcome, random.Random(1)) == 5.0
    assert policy.allows(1, 0.0, 5.0) and policy.allows(2, 15.0, 5.0)
    assert not policy.allows(3, 0.0, 1.0)  # attempts exhausted
    assert not policy.allows(1, 16.0, 5.0)  # would end after max_total_seconds
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


@pytest.mark.parametrize(("headers", "inner", "expected_id"), [
    ({"request-id": "from-header"}, {"request-id": "from-inner"}, "from-inner"),
    ({"request-id": "from-header"}, {}, "from-header"),
    ({}, {"request-id": "from-inner"}, "from-inner"),
    ({}, {}, None),
])
def test_graph_error_keeps_code_message_and_request_id(
        headers: dict[str, str], inner: dict[str, str], expected_id: str | None) -> None:
    body = {"error": {"code": "Request_BadRequest", "message": "Property x is invalid.",
                      "innerError": inner,
                      "details": [{"target": "userPrincipalName", "code": "ObjectConflict"}]}}
    error = graph_error(response(400, headers, body), "create user E1")
    assert isinstance(error, FatalGraphError)
    assert (error.status, error.code, error.request_id) == (400, "Request_BadRequest",
                                                           expected_id)
    assert error.message == "create user E1: Property x is invalid."
    assert error_info(response(400, headers, body)).has_detail("ObjectConflict",
                                                                "userPrincipalName")


def test_graph_error_for_throttling_and_transport_failures() -> None:
    throttled = response(429, {"Retry-After": "2"}, {"error": {
        "code": "TooManyRequests", "message": "Please retry again later.",
        "innerError": {"code": "429", "request-id": "r-429", "status": "429"}}})
    error = graph_error(throttled, "update user E2")
    assert isinstance(error, RetriableGraphError)
    assert (error.code, error.request_id) == ("TooManyRequests", "r-429")
    dropped = graph_error(httpx.RemoteProtocolError("gone", request=REQUEST), "list users")
    assert isinstance(dropped, RetriableGraphError)
    assert "RemoteProtocolError" in dropped.message
    odd = graph_error(httpx.Response(502, text="<html>bad gateway</html>"), "list users")
    assert isinstance(odd, FatalGraphError) and odd.code is None
    assert odd.message == "list users: Bad Gateway"

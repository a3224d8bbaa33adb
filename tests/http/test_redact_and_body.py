"""Redaction of URLs and secrets, and bodies read with a ceiling (streamed, never whole)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import httpx
import pytest

from connector.http import read_capped, redact_url, scrub


def test_redact_url_drops_user_info_and_secret_query_values() -> None:
    url = "https://user:pass@hr.example/v1/people?api_key=abc&page=2&access_token=t&x=1"
    shown = redact_url(url)
    assert shown == "https://hr.example/v1/people?api_key=***&page=2&access_token=***&x=1"
    assert redact_url("https://hr.example/people") == "https://hr.example/people"


def test_scrub_replaces_every_secret() -> None:
    assert scrub("token t0k3n and t0k3n, key k", ["t0k3n", "", "k3y"]) == (
        "token *** and ***, key k")


class Endless(httpx.SyncByteStream):
    """A body that never ends; counts what was read from it."""

    def __init__(self) -> None:
        self.served = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        while True:
            self.served += 65536
            yield b"x" * 65536

    def close(self) -> None:
        self.closed = True


def test_an_endless_body_is_abandoned_at_the_cap() -> None:
    stream = Endless()
    client = httpx.Client(transport=httpx.MockTransport(
        lambda request: httpx.Response(200, stream=stream)))
    answer = client.send(client.build_request("GET", "https://hr.example/p"), stream=True)
    assert read_capped(answer, 1_000_000) is None
    assert stream.closed and stream.served <= 1_000_000 + 65536


@pytest.mark.parametrize(("size", "ok"), [(1000, True), (1001, False)])
def test_the_cap_counts_the_decoded_body(size: int, ok: bool) -> None:
    packed = gzip.compress(b"{" + b" " * (size - 2) + b"}")
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(
        200, headers={"Content-Encoding": "gzip"}, content=packed)))
    answer = client.send(client.build_request("GET", "https://hr.example/p"), stream=True)
    read = read_capped(answer, 1000)
    assert (read is not None) is ok
    if read is not None:
        assert read.json() == {} and read.request.url == "https://hr.example/p"


def test_an_announced_length_over_the_cap_is_refused_unread() -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(
        200, headers={"Content-Length": "5000"}, stream=httpx.ByteStream(b"x" * 5000))))
    answer = client.send(client.build_request("GET", "https://hr.example/p"), stream=True)
    assert read_capped(answer, 4999) is None and answer.is_closed

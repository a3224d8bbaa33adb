"""Slow clients cannot hold the server, and proxy headers count only from trusted proxies:
the upload page served by uvicorn with its own settings (``connector.web.server``), on
127.0.0.1, probed with raw sockets that trickle bytes.

Bounds are injected short (1 s); each probe trickles for longer than the bound and checks
that the server cut it off (408 and the connection closed) before the trickle was done.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.sandbox import ensure_tls_files
from connector.web.limits import Limits
from connector.web.throttle import SignInThrottle
from tests.helpers import SAMPLE_CSV
from tests.web.servers import served
from tests.web.test_web_auth import ManualTimer
from tests.web.web_helpers import csrf_of, make_app, sign_in, stored_uploads, upload

SHORT = Limits(header_seconds=1, body_seconds=1, upload_seconds=1, uploads=1)
TRICKLE = 0.2  # seconds between bytes: 40 bytes take 8 s, far beyond every bound


@pytest.fixture
def page(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    app = make_app(tmp_path, limits=SHORT)
    with served(app, limits=SHORT) as port:
        yield app, f"http://127.0.0.1:{port}"


def trickle(port: int, head: bytes, slow: bytes) -> tuple[bytes, int]:
    """Send ``head`` at once, then ``slow`` a byte at a time until the server answers or
    closes; returns what it answered and how many slow bytes went out."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        sock.settimeout(TRICKLE)
        answer = b""
        sent = 0
        for byte in slow:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                chunk = None
            if chunk is not None:  # an answer, or b"" once closed
                answer += chunk
                break
            try:
                sock.sendall(bytes([byte]))
            except OSError:  # closed under us
                break
            sent += 1
        sock.settimeout(10)
        try:
            while chunk := sock.recv(65536):  # the rest, until the server closes
                answer += chunk
        except ConnectionResetError:
            # The server closed with our trickled bytes unread, so its kernel reset the
            # connection: what it answered before that is what counts.
            pass
        return answer, sent


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def test_a_request_head_trickled_slowly_is_dropped(page: tuple[Any, str]) -> None:
    _, base = page
    answer, sent = trickle(port_of(base), b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                           b"X-Slow: " + b"a" * 32 + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert sent < 42  # cut off mid-header


def test_a_connection_that_never_sends_is_closed(page: tuple[Any, str]) -> None:
    _, base = page
    with socket.create_connection(("127.0.0.1", port_of(base)), timeout=10) as sock:
        assert sock.recv(65536).startswith(b"HTTP/1.1 408 ")  # before the 10 s timeout
        assert sock.recv(65536) == b""


def test_a_sign_in_body_trickled_slowly_is_cut_off_with_408(page: tuple[Any, str]) -> None:
    _, base = page
    head = (b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
            b"application/x-www-form-urlencoded\r\nContent-Length: 40\r\n\r\n")
    answer, sent = trickle(port_of(base), head, b"name=" + b"x" * 35)
    assert answer.startswith(b"HTTP/1.1 408 ") and b"connection: close" in answer.lower()
    assert sent < 40


@contextmanager
def _signed_in(base: str) -> Iterator[tuple[httpx.Client, str]]:
    with httpx.Client(base_url=base) as client:
        assert sign_in(client, "ulla").status_code == 303
        yield client, csrf_of(client.get("/uploads/new").text)


def _upload_head(client: httpx.Client, token: str, length: int) -> tuple[bytes, bytes]:
    """A multipart upload's head and the start of its body, to send the rest slowly."""
    boundary = "slowboundary"
    start = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{token}'
             f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
             f'filename="slow.csv"\r\n\r\n').encode()
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    head = (f"POST /uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(start) + length}\r\n\r\n").encode()
    return head, start


def test_an_upload_trickled_slowly_is_cut_off_and_nothing_is_kept(
    page: tuple[Any, str], tmp_path: Path,
) -> None:
    app, base = page
    with _signed_in(base) as (client, token):
        head, start = _upload_head(client, token, 40)
        answer, sent = trickle(port_of(base), head + start, b"EmployeeID\n" + b"1\n" * 14 + b"x")
    assert answer.startswith(b"HTTP/1.1 408 ") and sent < 40
    assert stored_uploads(tmp_path / "state") == []
    assert app.state.web.uploading.take()  # the upload's slot was given back


def _wait_for(condition: Any) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the server never got there"
        time.sleep(0.01)


def test_uploads_beyond_the_limit_get_503_with_retry_after(tmp_path: Path) -> None:
    limits = Limits(uploads=1, upload_seconds=60)
    app = make_app(tmp_path, limits=limits)
    slots = app.state.web.uploading
    with served(app, limits=limits) as port:
        base = f"http://127.0.0.1:{port}"
        with _signed_in(base) as (client, token), \
                socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
            head, start = _upload_head(client, token, 10_000)
            slow.sendall(head + start + b"EmployeeID\n")  # and the rest never comes
            _wait_for(lambda: not slots.take() or slots.give_back())  # it holds the slot
            refused = upload(client, "employees.csv", SAMPLE_CSV.read_bytes(), csrf=token)
            assert refused.status_code == 503 and refused.headers["retry-after"] == "30"
            assert "Too many uploads at once" in refused.text
            slow.close()  # the slow upload gives up: its slot comes back
            _wait_for(lambda: slots.take() and (slots.give_back() or True))
            assert upload(client, "employees.csv", SAMPLE_CSV.read_bytes(),
                          csrf=token).status_code == 303
    assert len([p for p in stored_uploads(tmp_path / "state") if "/" not in p]) == 1


def _failures(base: str, *, forwarded_for: list[str], proto: str = "http") -> list[int]:
    """Wrong passwords for ulla, each claiming another client address."""
    statuses = []
    with httpx.Client(base_url=base) as client:
        for address in forwarded_for:
            token = csrf_of(client.get("/login").text)
            statuses.append(client.post("/login", headers={
                "X-Forwarded-For": address, "X-Forwarded-Proto": proto},
                data={"csrf": token, "name": "ulla", "password": "guess"}).status_code)
    return statuses


ROTATING = [f"10.0.0.{n}" for n in range(1, 7)]


def test_forwarded_headers_are_ignored_unless_the_proxy_is_trusted(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    app.state.web.throttle = SignInThrottle(timer=ManualTimer())
    with served(app) as port:  # the default: no proxy trusted
        base = f"http://127.0.0.1:{port}"
        # Rotating X-Forwarded-For does not escape throttling: the address is the peer's.
        assert _failures(base, forwarded_for=ROTATING) == [401, 401, 401, 429, 429, 429]
        response = httpx.get(f"{base}/login", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in response.headers
        assert "secure" not in response.headers["set-cookie"].lower()
    app = make_app(tmp_path / "proxied")
    app.state.web.throttle = SignInThrottle(timer=ManualTimer())
    with served(app, forwarded_allow_ips="127.0.0.1") as port:  # behind a proxy here
        base = f"http://127.0.0.1:{port}"
        assert _failures(base, forwarded_for=ROTATING) == [401] * 6  # each a client
        response = httpx.get(f"{base}/login", headers={"X-Forwarded-Proto": "https"})
        assert response.headers["strict-transport-security"] == "max-age=31536000"
        assert "; secure" in response.headers["set-cookie"].lower()


def test_hsts_when_serving_https_directly(tmp_path: Path) -> None:
    tls = ensure_tls_files(tmp_path / "tls")
    app = make_app(tmp_path)
    with served(app, certfile=str(tls.server_cert), keyfile=str(tls.server_key)) as port:
        trust = ssl.create_default_context(cafile=str(tls.ca_cert))
        response = httpx.get(f"https://127.0.0.1:{port}/login", verify=trust)
        assert response.status_code == 200
        assert response.headers["strict-transport-security"] == "max-age=31536000"
        assert "; secure" in response.headers["set-cookie"].lower()

"""The generic REST reader: every paging and auth style against small stateful
``httpx.MockTransport`` apps, retries with a recording sleep, loop detection, flattening,
and messages that never carry a secret."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.errors import ConfigError, SourceError
from connector.http import redact_url
from connector.readers.apis.auth import ApiKeyAuth, BasicAuth, BearerAuth, Secret, TokenAuth
from connector.readers.apis.generic import flatten
from connector.readers.apis.paging import json_path
from connector.readers.apis.presets import open_api_source
from connector.readers.base import Reader

BASE = "https://hr.example.test"
TOKEN = "tok-3c9f1b7a55e2"
CLIENT_SECRET = "cs-8e1d44f0c2b9"
NOW = 1_800_000_000.0
Handler = Callable[[httpx.Request], httpx.Response]


def plain(value: Any) -> str:
    """Secrets as written, for tests (the default resolver refuses plain text)."""
    return str(value)


def read(settings: dict[str, Any], handler: Handler, **kwargs: Any) -> Reader:
    return open_api_source("generic", {"url": f"{BASE}/people", **settings},
                           transport=httpx.MockTransport(handler), secrets=plain, **kwargs)


def ids(reader: Reader) -> list[str]:
    return [record.values["id"] for record in reader.records()]


class People:
    """``count`` people served in pages of ``size`` in the paging ``style`` asked for."""

    def __init__(self, count: int = 7, size: int = 3, style: str = "offset",
                 cap: int | None = None) -> None:
        self.people = [{"id": n, "name": f"person {n}"} for n in range(1, count + 1)]
        self.size = size
        self.style = style
        self.cap = cap
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        query = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        if self.style == "offset":
            limit = min(int(query["limit"]), self.cap or 10**6)
            start = int(query["offset"])
            return httpx.Response(200, json={"items": self.people[start:start + limit],
                                             "meta": {"total": len(self.people)}})
        start = int(query.get("after", query.get("from", "0")))
        page = self.people[start:start + self.size]
        following = start + self.size if start + self.size < len(self.people) else None
        if self.style == "next_link":
            link = f"/people?from={following}" if following is not None else None
            return httpx.Response(200, json={"data": page, "@odata.nextLink": link})
        if self.style == "link_header":
            headers = ({"Link": f'<{BASE}/people?from={following}>; rel="next"'}
                       if following is not None else {})
            return httpx.Response(200, json=page, headers=headers)
        cursor = str(following) if following is not None else None
        return httpx.Response(200, json={"result": {"items": page}, "next": cursor})


# --- paging -----------------------------------------------------------------------------

def test_next_link_in_the_body_is_followed_relative_to_the_page() -> None:
    app = People(style="next_link")
    reader = read({"records_path": "data",
                   "paging": {"type": "next_link", "path": "@odata.nextLink"}}, app)
    assert ids(reader) == ["1", "2", "3", "4", "5", "6", "7"]
    assert [r.row for r in reader.records()] == [1, 2, 3, 4, 5, 6, 7]  # across pages
    assert str(app.requests[1].url) == f"{BASE}/people?from=3"


def test_link_header_next_is_followed() -> None:
    app = People(style="link_header")
    reader = read({"paging": {"type": "link_header"}}, app)
    assert ids(reader) == [str(n) for n in range(1, 8)] and len(app.requests) == 3


def test_offset_paging_stops_on_the_total_even_when_the_server_caps_the_page() -> None:
    app = People(count=7, cap=2)
    reader = read({"records_path": "items", "paging": {
        "type": "offset", "page_size": 5, "total_path": "meta.total"}}, app)
    assert ids(reader) == [str(n) for n in range(1, 8)]
    assert [r.url.params["offset"] for r in app.requests] == ["0", "2", "4", "6"]


@pytest.mark.parametrize(("count", "requests"), [(7, 3), (6, 3)])
def test_offset_paging_without_a_total_stops_on_a_short_or_empty_page(
    count: int, requests: int
) -> None:
    app = People(count=count)
    reader = read({"records_path": "items", "paging": {
        "type": "offset", "page_size": 3, "offset_param": "offset", "limit_param": "limit"}},
        app)
    assert len(ids(reader)) == count and len(app.requests) == requests


def test_cursor_paging_sends_the_cursor_back() -> None:
    app = People(style="cursor")
    reader = read({"records_path": "result.items",
                   "paging": {"type": "cursor", "param": "after", "path": "next"}}, app)
    assert ids(reader) == [str(n) for n in range(1, 8)]
    assert [r.url.params.get("after") for r in app.requests] == [None, "3", "6"]


def test_a_cursor_handed_out_twice_is_a_loop() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": [{"id": request.url.params.get("c", "0")}],
                                         "next": "same"})

    with pytest.raises(SourceError, match="round in a circle.*cursor twice"):
        read({"records_path": "items", "paging": {"type": "cursor", "param": "c",
                                                  "path": "next"}}, handler)


def test_a_next_link_handed_out_twice_is_a_loop() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("p", "0"))
        link = f"/people?p={page % 2 + 1}"  # 1 -> 2 -> 1 ...
        return httpx.Response(200, json={"data": [{"id": page}], "next": link})

    with pytest.raises(SourceError, match="same next link twice"):
        read({"records_path": "data", "paging": {"type": "next_link", "path": "next"}},
             handler)


def test_a_server_that_ignores_the_offset_is_caught_as_a_repeated_page() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": [{"id": 1}, {"id": 2}]})

    with pytest.raises(SourceError, match="page 2 .* repeats page 1"):
        read({"records_path": "items", "paging": {"type": "offset", "page_size": 2}},
             handler)


def test_a_next_link_to_another_host_is_not_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [{"id": 1}],
                                         "next": "https://evil.example.test/people?p=2"})

    with pytest.raises(SourceError, match="another host.*credentials"):
        read({"records_path": "data", "auth": {"type": "bearer", "token": TOKEN},
              "paging": {"type": "next_link", "path": "next"}}, handler)


def test_max_pages_stops_an_endless_list() -> None:
    app = People(count=50, style="cursor", size=1)
    with pytest.raises(SourceError, match="more than 4 pages"):
        read({"records_path": "result.items", "max_pages": 4,
              "paging": {"type": "cursor", "param": "after", "path": "next"}}, app)


# --- records and columns ----------------------------------------------------------------

def test_flattening_rules() -> None:
    several: set[str] = set()
    flat = flatten({
        "id": 40, "rate": 1.5, "active": True, "left": False, "note": None, "name": "Zoë",
        "address": {"city": "Oslo", "geo": {"lat": 59.9}}, "extra": {},
        "tags": ["a", None, 3, True], "none": [],
        "jobs": [{"title": "CTO", "since": "2020"}, {"title": "Dev"}],
        "matrix": [[1, 2], [3]],
    }, several)
    assert flat == {
        "id": "40", "rate": "1.5", "active": "true", "left": "false", "note": "",
        "name": "Zoë", "address.city": "Oslo", "address.geo.lat": "59.9", "extra": "",
        "tags": "a; 3; true", "none": "", "jobs.0.title": "CTO", "jobs.0.since": "2020",
        "matrix": "[[1,2],[3]]"}
    assert several == {"jobs"}


def test_columns_are_the_union_in_first_seen_order_and_missing_values_are_empty() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[
            {"id": "1", "name": "A", "jobs": [{"t": "x"}, {"t": "y"}]},
            {"id": "2", "mail": "b@example.test", "name": "B"}])

    reader = read({}, handler)
    assert reader.format == "api" and reader.header_row == 0
    assert reader.columns == ["id", "name", "jobs.0.t", "mail"]
    records = list(reader.records())
    assert records[1].values == {"id": "2", "name": "B", "jobs.0.t": "", "mail": "b@example.test"}
    assert [w.reason for w in reader.warnings] == [
        "'jobs' held several objects in some records; only the first is read (columns jobs.0.*)"]


def test_json_path_handles_dotted_keys_and_indexes() -> None:
    body = {"@odata.nextLink": "x", "a": {"b.c": {"d": 1}}, "l": [{"id": 7}]}
    assert json_path(body, "@odata.nextLink") == "x"
    assert json_path(body, "a.b.c.d") == 1
    assert json_path(body, "l.0.id") == 7
    assert json_path(body, "l.3.id") is None and json_path(body, "nope") is None
    assert json_path(body, "") is body


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.text(max_size=5), children, max_size=3), max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=5), json_values, max_size=5))
def test_flatten_gives_text_for_any_json_object(item: dict[str, Any]) -> None:
    flat = flatten(item)
    assert all(isinstance(v, str) for v in flat.values())
    assert {k.split(".")[0] for k in flat} <= set(item) | {k.split(".")[0] for k in item}


# --- auth -------------------------------------------------------------------------------

def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def one_person_if(check: Callable[[httpx.Request], bool]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if not check(request):
            return httpx.Response(401)
        return httpx.Response(200, json=[{"id": 1}])
    return handler


@pytest.mark.parametrize(("auth", "check"), [
    ({"type": "bearer", "token": TOKEN},
     lambda r: r.headers["Authorization"] == f"Bearer {TOKEN}"),
    ({"type": "basic", "username": "svc", "password": TOKEN},
     lambda r: r.headers["Authorization"] == basic("svc", TOKEN)),
    ({"type": "api_key", "key": TOKEN, "header": "X-Api-Token"},
     lambda r: r.headers.get("X-Api-Token") == TOKEN and "Authorization" not in r.headers),
    ({"type": "api_key", "key": TOKEN}, lambda r: r.headers.get("X-API-Key") == TOKEN),
])
def test_fixed_credential_styles(auth: dict[str, Any],
                                 check: Callable[[httpx.Request], bool]) -> None:
    assert ids(read({"auth": auth}, one_person_if(check))) == ["1"]


class OAuthServer:
    """A token endpoint (client credentials, form-encoded) and a paged API."""

    def __init__(self, lifetime: int = 3600) -> None:
        self.lifetime = lifetime
        self.issued: list[str] = []
        self.valid: set[str] = set()
        self.token_posts: list[dict[str, list[str]]] = []
        #: False: tokens are issued but refused by the API (a broken identity provider).
        self.honour_tokens = True

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            form = parse_qs(request.content.decode())
            self.token_posts.append(form)
            if form.get("client_secret") != [CLIENT_SECRET]:
                return httpx.Response(401, json={"error": "invalid_client"})
            token = f"access-{len(self.issued) + 1}"
            self.issued.append(token)
            if self.honour_tokens:
                self.valid.add(token)
            return httpx.Response(200, json={"access_token": token, "token_type": "Bearer",
                                             "expires_in": self.lifetime})
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.valid:
            return httpx.Response(401)
        page = int(request.url.params.get("p", "1"))
        link = f"/people?p={page + 1}" if page < 3 else None
        return httpx.Response(200, json={"data": [{"id": page}], "next": link})


def oauth_settings(secret: str = CLIENT_SECRET) -> dict[str, Any]:
    return {"records_path": "data", "paging": {"type": "next_link", "path": "next"},
            "auth": {"type": "oauth2", "token_url": f"{BASE}/oauth/token",
                     "client_id": "hr-reader", "client_secret": secret, "scope": "hr.read"}}


def test_oauth2_token_is_fetched_once_and_reused_across_pages() -> None:
    server = OAuthServer()
    assert ids(read(oauth_settings(), server)) == ["1", "2", "3"]
    assert server.issued == ["access-1"]
    assert server.token_posts[0] == {"grant_type": ["client_credentials"],
                                     "client_id": ["hr-reader"],
                                     "client_secret": [CLIENT_SECRET], "scope": ["hr.read"]}


def test_oauth2_token_is_renewed_when_it_expires() -> None:
    now = [0.0]

    def handler(request: httpx.Request) -> httpx.Response:
        now[0] += 400  # each call takes a while: the 600 s token runs out mid-read
        return server(request)

    server = OAuthServer(lifetime=600)
    assert ids(read(oauth_settings(), handler, clock=lambda: now[0])) == ["1", "2", "3"]
    assert len(server.issued) == 2


def test_oauth2_renews_once_on_401_then_believes_it() -> None:
    server = OAuthServer()
    auth = TokenAuth(f"{BASE}/oauth/token", {"client_secret": Secret(CLIENT_SECRET)})
    with httpx.Client(transport=httpx.MockTransport(server), auth=auth) as client:
        assert client.get(f"{BASE}/people").status_code == 200
        server.valid.clear()  # revoked
        assert client.get(f"{BASE}/people").status_code == 200
        assert server.issued == ["access-1", "access-2"]
        server.valid.clear()
        server.honour_tokens = False
        assert client.get(f"{BASE}/people").status_code == 401  # one renewal, not a loop
        assert len(server.issued) == 3


def test_a_refused_client_secret_names_the_token_url_but_not_the_secret() -> None:
    wrong = "cs-wrong-77aa"
    with pytest.raises(SourceError) as caught:
        read(oauth_settings(secret=wrong), OAuthServer())
    message = caught.value.detailed()
    assert "HTTP 401" in message and f"POST {BASE}/oauth/token" in message
    assert wrong not in message and wrong not in repr(caught.value)


def test_auth_objects_do_not_show_their_secrets() -> None:
    shown = " ".join(repr(a) for a in (
        BearerAuth(Secret(TOKEN)), BasicAuth(Secret("u"), Secret(TOKEN)),
        ApiKeyAuth("X-Key", Secret(TOKEN)),
        TokenAuth(f"{BASE}/t", {"client_secret": Secret(TOKEN)}), Secret(TOKEN)))
    assert TOKEN not in shown and str(Secret(TOKEN)) == "***"


# --- retries ----------------------------------------------------------------------------

class Flaky:
    """Answers the scripted statuses first, then one person."""

    def __init__(self, *answers: tuple[int, dict[str, str]] | type[Exception]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, type):
                raise answer("connection refused")
            return httpx.Response(answer[0], headers=answer[1], json={"error": "busy"})
        return httpx.Response(200, json=[{"id": 1}])


@pytest.mark.parametrize(("answers", "waits"), [
    ([(429, {"Retry-After": "2"})], [2.0]),
    ([(503, {"Retry-After": "0.5"}), (504, {})], [0.5, 2.0]),
    ([(429, {"Retry-After": formatdate(NOW + 30, usegmt=True)})], [30.0]),
    ([(429, {"Retry-After": formatdate(NOW - 30, usegmt=True)})], [0.0]),
    ([(429, {}), (429, {"Retry-After": "soon"}), (503, {})], [1.0, 2.0, 4.0]),
    ([httpx.ConnectError, httpx.ReadTimeout], [1.0, 2.0]),
    ([(500, {}), (502, {})], [1.0, 2.0]),  # every request here reads: 5xx are retried
])
def test_throttling_and_outages_are_retried_waiting_what_the_server_says(
    answers: list[Any], waits: list[float]
) -> None:
    sleeps: list[float] = []
    app = Flaky(*answers)
    reader = read({}, app, sleep=sleeps.append, wall_clock=lambda: NOW)
    assert ids(reader) == ["1"] and sleeps == waits and app.calls == len(waits) + 1


def test_retries_stop_after_max_attempts() -> None:
    sleeps: list[float] = []
    app = Flaky(*[(503, {"Retry-After": "1"})] * 10)
    with pytest.raises(SourceError, match=r"HTTP 503 Service Unavailable from GET .*/people; "
                                          r"gave up after 3 attempts"):
        read({"max_attempts": 3}, app, sleep=sleeps.append)
    assert app.calls == 3 and sleeps == [1.0, 1.0]


def test_429s_are_bounded_by_time_not_attempts() -> None:
    sleeps: list[float] = []
    app = Flaky(*[(429, {"Retry-After": "1"})] * 4)
    reader = read({"max_attempts": 2}, app, sleep=sleeps.append)
    assert ids(reader) == ["1"] and app.calls == 5 and sleeps == [1.0] * 4


def test_retries_stop_before_waiting_past_the_time_limit() -> None:
    sleeps: list[float] = []
    app = Flaky((503, {"Retry-After": "20"}), (503, {"Retry-After": "3600"}))
    with pytest.raises(SourceError, match="waiting 3600 s more would pass the 60 s limit"):
        read({"max_wait_seconds": 60}, app, sleep=sleeps.append)
    assert sleeps == [20.0]


# --- errors -----------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "words"), [
    (401, "credentials were refused"), (403, "not allowed"), (404, "no such resource"),
    (500, "HTTP 500 Internal Server Error"), (400, "HTTP 400 Bad Request")])
def test_http_errors_name_status_and_url_and_never_the_secret(status: int, words: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        # A careless server echoing the credential must not get it into our message.
        return httpx.Response(status, json={"error": f"bad {request.headers['Authorization']}"})

    sleeps: list[float] = []
    with pytest.raises(SourceError) as caught:
        read({"url": f"{BASE}/people?api_key={TOKEN}&dept=7",
              "auth": {"type": "bearer", "token": TOKEN}}, handler, sleep=sleeps.append)
    message = caught.value.detailed()
    assert f"HTTP {status}" in message and words in message
    assert len(sleeps) == (4 if status == 500 else 0)  # a 500 was retried, then reported
    assert f"GET {BASE}/people?api_key=***&dept=7" in message
    assert TOKEN not in message and TOKEN not in repr(caught.value)


def test_secrets_the_server_echoes_are_scrubbed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [1], "next": None}, headers={})

    with pytest.raises(SourceError) as caught:
        read({"url": f"{BASE}/{TOKEN}/people", "auth": {"type": "bearer", "token": TOKEN},
              "records_path": "data"}, handler)
    assert "record 1 is not a JSON object" in caught.value.detailed()

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="not json", headers={"Content-Type": "text/plain"})

    with pytest.raises(SourceError) as caught:
        read({"url": f"{BASE}/{TOKEN}/people", "auth": {"type": "bearer", "token": TOKEN}},
             echo)
    assert "is not JSON (text/plain)" in caught.value.message
    assert TOKEN not in caught.value.message


def test_a_redirect_is_reported_not_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"Location": "https://new.example.test/people"})

    with pytest.raises(SourceError, match="redirected to https://new.example.test/people"):
        read({}, handler)


@pytest.mark.parametrize(("body", "path", "words"), [
    ({"items": []}, "items", "returned no records"),
    ({"items": {}}, "items", "no list of records at 'items'"),
    ({"items": []}, "", "records_path is not set"),
])
def test_unusable_answers(body: Any, path: str, words: str) -> None:
    with pytest.raises(SourceError, match=words):
        read({"records_path": path}, lambda request: httpx.Response(200, json=body))


def test_redact_url() -> None:
    assert redact_url("https://u:p@h.test/x?token=1&a=2&client_secret=3") == \
        "https://h.test/x?token=***&a=2&client_secret=***"


# --- settings ---------------------------------------------------------------------------

@pytest.mark.parametrize(("settings_", "words"), [
    ({"url": f"{BASE}/x", "pagesize": 5}, r"unknown setting\(s\) pagesize"),
    ({"url": f"{BASE}/x", "paging": {"type": "offset", "page_sise": 5}},
     r"paging: unknown setting\(s\) page_sise"),
    ({"url": f"{BASE}/x", "paging": {"type": "pages"}}, "type must be one of none"),
    ({"url": "ftp://x"}, "url must be an http or https URL"),
    ({}, "url is required"),
    ({"url": f"{BASE}/x", "timeout": "soon"}, "timeout must be a number"),
    ({"url": f"{BASE}/x", "auth": {"type": "oauth2", "client_id": "a",
                                   "client_secret": {"env": "X"}}}, "token_url is required"),
])
def test_bad_settings_are_config_errors_before_any_request(settings_: dict[str, Any],
                                                           words: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request may be made")

    with pytest.raises(ConfigError, match=words):
        open_api_source("generic", settings_, transport=httpx.MockTransport(handler),
                        secrets=lambda value: "resolved")


def test_secrets_are_references_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        return httpx.Response(200, json=[{"id": 1}])

    transport = httpx.MockTransport(handler)
    with pytest.raises(ConfigError, match="auth: token must not be written") as caught:
        open_api_source("generic", {"url": BASE, "auth": {"type": "bearer", "token": TOKEN}},
                        transport=transport)
    assert TOKEN not in caught.value.message
    monkeypatch.setenv("HR_TOKEN", TOKEN)
    reader = open_api_source("generic", {"url": BASE, "auth": {
        "type": "bearer", "token": {"env": "HR_TOKEN"}}}, transport=transport)
    assert ids(reader) == ["1"]
    monkeypatch.delenv("HR_TOKEN")
    with pytest.raises(ConfigError, match="HR_TOKEN .* is not set"):
        open_api_source("generic", {"url": BASE, "auth": {
            "type": "bearer", "token": {"env": "HR_TOKEN"}}}, transport=transport)


def test_an_unknown_preset_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown API preset 'workday'"):
        open_api_source("workday", {})


def test_a_post_api_gets_its_body_and_params() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"rows": [{"id": 1}]})

    reader = read({"method": "POST", "body": {"report": "all"}, "params": {"v": 2},
                   "headers": {"X-Tenant": "acme"}, "records_path": "rows"}, handler)
    assert ids(reader) == ["1"]
    assert seen[0].method == "POST" and json.loads(seen[0].content) == {"report": "all"}
    assert seen[0].url.params["v"] == "2" and seen[0].headers["X-Tenant"] == "acme"
    assert seen[0].headers["Accept"] == "application/json"


# --- bounded memory -----------------------------------------------------------------------

class EndlessPage(httpx.SyncByteStream):
    """A JSON list that never ends (an API ignoring the page size, say)."""

    def __init__(self) -> None:
        self.served = 0

    def __iter__(self) -> Iterator[bytes]:
        yield b"["
        while True:
            self.served += 1
            yield b'{"id": 1, "name": "' + b"x" * 8000 + b'"},'


def test_a_page_larger_than_the_cap_is_refused_without_reading_it_whole() -> None:
    stream = EndlessPage()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Type": "application/json"},
                              stream=stream)

    with pytest.raises(SourceError) as caught:
        read({"url": f"{BASE}/people?token={TOKEN}", "max_page_mb": 1}, handler)
    message = caught.value.detailed()
    assert f"GET {BASE}/people?token=***" in message and "larger than 1 MB" in message
    assert "max_page_mb" in message and TOKEN not in message
    assert stream.served * 8000 < 1.1 * 1024 * 1024  # stopped at the cap


def test_a_page_within_the_cap_is_read() -> None:
    body = [{"id": n, "name": "x" * 100} for n in range(50)]  # about 6 kB
    reader = read({"max_page_mb": 0.01}, lambda request: httpx.Response(200, json=body))
    assert len(ids(reader)) == 50
    with pytest.raises(SourceError, match="larger than 0.001 MB"):
        read({"max_page_mb": 0.001}, lambda request: httpx.Response(200, json=body))
    with pytest.raises(ConfigError, match="max_page_mb must be at least"):
        read({"max_page_mb": 0}, lambda request: httpx.Response(200, json=body))


# --- stopping early -----------------------------------------------------------------------

def _links_next(request: httpx.Request) -> httpx.Response:
    """Seven people, three a page, the next page at ``links.next`` (a relative URL)."""
    start = int(request.url.params.get("from", "0"))
    people = [{"id": n} for n in range(1, 8)][start:start + 3]
    following = f"/people?from={start + 3}" if start + 3 < 7 else None
    return httpx.Response(200, json={"data": people, "links": {"next": following},
                                     "meta": {"total": 7}})


def test_a_configured_next_link_at_links_next_reads_every_page(tmp_path: Path) -> None:
    from connector.config import load_config

    config = tmp_path / "hr-connector.yaml"
    config.write_text(f"""
tenant: sandbox
source:
  api:
    preset: generic
    settings:
      url: {BASE}/people
      records_path: data
      paging: {{type: next_link, path: links.next}}
""", encoding="utf-8")
    api = load_config(config).source.api  # type: ignore[union-attr]
    assert api is not None and api.settings["paging"]["path"] == "links.next"
    reader = open_api_source(api.preset, api.settings,
                             transport=httpx.MockTransport(_links_next))
    assert ids(reader) == [str(n) for n in range(1, 8)]


@pytest.mark.parametrize(("paging", "sign"), [
    (None, "links.next is set"),
    ({"type": "none"}, "links.next is set"),
    ({"type": "next_link", "path": "links.next.href"}, "links.next is set"),
    ({"type": "cursor", "param": "after", "path": "meta.cursor"}, "links.next is set"),
])
def test_stopping_while_the_answer_says_there_is_more_is_refused(
        paging: dict[str, Any] | None, sign: str) -> None:
    settings: dict[str, Any] = {"records_path": "data"}
    if paging is not None:
        settings["paging"] = paging
    with pytest.raises(SourceError) as caught:
        read(settings, _links_next)
    message = caught.value.message
    assert "paging stopped after page 1 (3 records)" in message
    assert sign in message and "refusing a partial export" in message


def test_a_total_larger_than_what_was_read_is_refused() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": [{"id": 1}, {"id": 2}],
                                         "meta": {"total_count": 5}})

    with pytest.raises(SourceError, match=r"meta.total_count says 5 records"):
        read({"records_path": "items"}, answer)


def test_a_link_header_the_settings_ignore_is_refused() -> None:
    app = People(style="link_header")
    with pytest.raises(SourceError, match=r'a Link header with rel="next"'):
        read({}, app)


def test_an_offset_page_capped_below_page_size_is_caught_by_the_total() -> None:
    app = People(count=7, cap=2)  # the server gives 2 where 5 were asked: looks like the end
    with pytest.raises(SourceError, match=r"meta.total says 7 records"):
        read({"records_path": "items", "paging": {"type": "offset", "page_size": 5}}, app)


def test_empty_signs_of_more_are_the_end() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": [{"id": 1}], "next": None, "has_more": False,
                                         "links": {"next": ""}, "meta": {"total": 1}})

    assert ids(read({"records_path": "data"}, answer)) == ["1"]

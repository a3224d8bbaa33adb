"""Paging by @odata.nextLink (verbatim, loop detection) and the $filter builders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from connector.errors import FatalGraphError
from connector.graph import GraphClient, eq_filter, iter_pages, odata_string

BASE = "https://graph.microsoft.com/v1.0"


class Pages:
    """A fetcher over canned pages keyed by URL; records what it was asked for."""

    def __init__(self, pages: dict[str, dict[str, Any]]) -> None:
        self.pages = pages
        self.asked: list[str] = []

    def __call__(self, url: str, params: Mapping[str, str] | None) -> dict[str, Any]:
        self.asked.append(url)
        return self.pages[url]


def test_follows_next_links_verbatim_until_none() -> None:
    odd = f"{BASE}/users?$top=2&$skiptoken=X%274453707%27&$select=id,displayName"
    pages = Pages({
        f"{BASE}/users": {"value": [{"id": "1"}, {"id": "2"}], "@odata.nextLink": odd},
        odd: {"value": [{"id": "3"}]},
    })
    assert [u["id"] for page in iter_pages(pages, f"{BASE}/users", {"$top": "2"})
            for u in page] == ["1", "2", "3"]
    assert pages.asked == [f"{BASE}/users", odd]


def test_next_link_is_sent_byte_for_byte() -> None:
    link = (f"{BASE}/users?%24select=id&%24top=1&%24skiptoken=eyJhIjox%2BfQ.AbC-_x%3D%3D"
            "&odd=%27quoted%27")
    seen: list[str] = []

    def app(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if len(seen) == 1:
            return httpx.Response(200, json={"value": [{"id": "a"}], "@odata.nextLink": link})
        return httpx.Response(200, json={"value": [{"id": "b"}]})

    client = GraphClient(httpx.Client(transport=httpx.MockTransport(app)))
    assert [u["id"] for u in client.list_users([], with_manager=False)] == ["a", "b"]
    assert seen[1] == link


@pytest.mark.parametrize("pages", [
    {  # A -> B -> A
        "start": {"value": [{"id": "1"}], "@odata.nextLink": "A"},
        "A": {"value": [{"id": "2"}], "@odata.nextLink": "B"},
        "B": {"value": [{"id": "3"}], "@odata.nextLink": "A"},
    },
    {  # a page with items pointing at itself
        "start": {"value": [{"id": "1"}], "@odata.nextLink": "A"},
        "A": {"value": [{"id": "2"}], "@odata.nextLink": "A"},
    },
    {  # an empty page pointing at itself forever
        "start": {"value": [], "@odata.nextLink": "A"},
        "A": {"value": [], "@odata.nextLink": "A"},
    },
])
def test_a_link_followed_twice_is_a_loop(pages: dict[str, dict[str, Any]]) -> None:
    fetch = Pages(pages)
    with pytest.raises(FatalGraphError, match="paging loop") as caught:
        for _ in iter_pages(fetch, "start", {}):
            pass
    assert caught.value.code == "PagingLoop"
    assert len(fetch.asked) <= 6


def test_an_empty_page_may_ask_to_be_read_again() -> None:
    """§4.4: a page can hold zero items and still have a nextLink (the sandbox's
    empty_page_every_n answers with the same link); a few such repeats are not a loop."""
    calls = {"A": 0}

    class Flaky(Pages):
        def __call__(self, url: str, params: Mapping[str, str] | None) -> dict[str, Any]:
            if url == "A":
                calls["A"] += 1
                if calls["A"] < 3:
                    return {"value": [], "@odata.nextLink": "A"}
            return super().__call__(url, params)

    fetch = Flaky({"start": {"value": [{"id": "1"}], "@odata.nextLink": "A"},
                   "A": {"value": [{"id": "2"}]}})
    assert [u["id"] for p in iter_pages(fetch, "start", {}) for u in p] == ["1", "2"]


def test_a_page_without_value_is_an_error() -> None:
    with pytest.raises(FatalGraphError, match="no 'value'"):
        list(iter_pages(Pages({"start": {"error": "?"}}), "start", {}))


@pytest.mark.parametrize(("value", "literal"), [
    ("plain", "'plain'"), ("O'Brien", "'O''Brien'"), ("''", "''''''"), ("", "''"),
    ("a,b (c)", "'a,b (c)'"),
])
def test_odata_string_doubles_quotes(value: str, literal: str) -> None:
    assert odata_string(value) == literal


def test_filters() -> None:
    assert eq_filter("employeeId", "E'1") == "employeeId eq 'E''1'"
    assert eq_filter("employeeOrgData/costCenter", "X") == "employeeOrgData/costCenter eq 'X'"
    for bad in ["employeeId eq 'x' or true", "a b", "", "x)", "1abc"]:
        with pytest.raises(ValueError, match="property name"):
            eq_filter(bad, "v")

"""Paging for HR REST APIs: one small object per style, each deciding the next request
from the page it was given (no I/O here), each refusing to go round in circles.

- :class:`NoPaging` — one request holds everything (BambooHR directory and reports).
- :class:`BodyLinkPaginator` — the next page's URL is in the body (``links.next.href``,
  ``@odata.nextLink``); relative links are resolved against the page's URL.
- :class:`LinkHeaderPaginator` — the next page's URL is the ``Link`` header's ``rel="next"``.
- :class:`OffsetPaginator` — ``offset``/``limit`` parameters; stops on a total read from the
  body, else on a short or empty page.
- :class:`CursorPaginator` — a cursor read from the body is sent back as a parameter.

Loop detection: a next link, cursor or offset that was already requested raises
``SourceError`` (a server that hands out the same cursor forever would otherwise keep a
nightly run busy until someone notices). A next link to another host is refused too: the
request would carry our credentials there.

Stopping early: when paging ends, :func:`more_exists` looks at the last answer for the
usual signs that more records exist (a next link, cursor or ``has_more`` flag at a
well-known place, a ``Link: rel="next"`` header, or a total larger than what was read).
A reader that stops while the API says there is more is refused: read as a full export,
a first page alone would disable everyone on the others.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urljoin

import httpx

from connector.errors import SourceError


def json_path(data: Any, path: str) -> Any:
    """The value at a dotted ``path`` (``data``, ``result.items``, ``items.0.id``), or None.

    An empty path is the document itself. A key that itself holds dots (``@odata.nextLink``)
    is found too: at each level the longest run of path parts that names a key wins.
    """
    if not path:
        return data
    parts = path.split(".")
    return _walk(data, parts)


def _walk(data: Any, parts: list[str]) -> Any:
    if not parts:
        return data
    if isinstance(data, dict):
        for end in range(len(parts), 0, -1):
            key = ".".join(parts[:end])
            if key in data:
                return _walk(data[key], parts[end:])
        return None
    if isinstance(data, list) and parts[0].isdigit():
        index = int(parts[0])
        return _walk(data[index], parts[1:]) if index < len(data) else None
    return None


@dataclass(frozen=True)
class PageRequest:
    """One page's request: the URL and the query parameters added to it."""

    url: str
    params: tuple[tuple[str, str], ...] = ()

    def with_param(self, name: str, value: str) -> PageRequest:
        """This request with ``name`` set to ``value`` (replacing any earlier value)."""
        kept = tuple((k, v) for k, v in self.params if k != name)
        return replace(self, params=(*kept, (name, value)))

    def full_url(self) -> httpx.URL:
        """The URL with the parameters merged into its query (httpx's ``params=`` would
        replace the query a next link carries)."""
        url = httpx.URL(self.url)
        return url.copy_merge_params(list(self.params)) if self.params else url

    def describe(self) -> str:
        """The full URL as text, for messages."""
        return str(self.full_url())


class Paginator(ABC):
    """Decides each next request from the last page; remembers what it has asked for."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def first(self, request: PageRequest) -> PageRequest:
        """The first request (a paginator may add its parameters)."""
        return request

    @abstractmethod
    def next_request(self, current: PageRequest, response: httpx.Response, body: Any,
                     count: int) -> PageRequest | None:
        """The request for the page after ``current`` (whose body held ``count`` records),
        or None when ``current`` was the last page."""

    def own_paths(self) -> frozenset[str]:
        """Paths in the body this paginator reads itself (``more_exists`` skips them)."""
        return frozenset()

    def _remember(self, token: str, what: str) -> None:
        """Loop detection: the same next link, cursor or offset twice is an error."""
        if token in self._seen:
            raise SourceError(f"paging went round in a circle: the API handed out the same "
                              f"{what} twice ({token}); stopped instead of reading forever")
        self._seen.add(token)


class NoPaging(Paginator):
    """Everything comes in one answer."""

    def next_request(self, current: PageRequest, response: httpx.Response, body: Any,
                     count: int) -> PageRequest | None:
        return None


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


class _LinkPaginator(Paginator):
    what = "next link"

    def _follow(self, current: PageRequest, response: httpx.Response,
                link: Any) -> PageRequest | None:
        if link is None or link == "":
            return None
        if not isinstance(link, str):
            raise SourceError(f"the next-page link in the answer from {response.request.url} "
                              "is not text")
        target = httpx.URL(urljoin(str(response.request.url), link))
        if not _same_origin(target, response.request.url):
            raise SourceError(f"the next-page link points to another host ({target.host}); "
                              "not followed, as the request would carry our credentials there")
        self._remember(str(target), self.what)
        # The link carries the whole query: the first request's parameters are not re-added.
        return PageRequest(str(target))

    def first(self, request: PageRequest) -> PageRequest:
        self._seen.add(request.describe())
        return request


class BodyLinkPaginator(_LinkPaginator):
    """The next page's URL at ``path`` in the body; absent, null or empty ends the list."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def next_request(self, current: PageRequest, response: httpx.Response, body: Any,
                     count: int) -> PageRequest | None:
        return self._follow(current, response, json_path(body, self.path))

    def own_paths(self) -> frozenset[str]:
        return frozenset({self.path})


class LinkHeaderPaginator(_LinkPaginator):
    """The next page's URL in the ``Link: <...>; rel="next"`` header (RFC 8288)."""

    def next_request(self, current: PageRequest, response: httpx.Response, body: Any,
                     count: int) -> PageRequest | None:
        return self._follow(current, response, response.links.get("next", {}).get("url"))

    def own_paths(self) -> frozenset[str]:
        return frozenset({_LINK_HEADER})


class OffsetPaginator(Paginator):
    """``offset``/``limit`` parameters.

    With ``total_path`` the body says how many records there are, and paging stops once
    the offset reaches it (or on an empty page); the offset moves by the records received,
    so a server that caps the page size below ``page_size`` still gives every record.
    Without a total, a page with fewer than ``page_size`` records is the last: set
    ``page_size`` no larger than the API's maximum, or a capped page looks like the end.
    """

    def __init__(self, *, offset_param: str = "offset", limit_param: str = "limit",
                 page_size: int = 100, start: int = 0, total_path: str | None = None) -> None:
        super().__init__()
        self.offset_param = offset_param
        self.limit_param = limit_param
        self.page_size = page_size
        self.start = start
        self.total_path = total_path
        self._offset = start

    def first(self, request: PageRequest) -> PageRequest:
        self._offset = self.start
        self._remember(str(self._offset), "offset")
        return (request.with_param(self.limit_param, str(self.page_size))
                .with_param(self.offset_param, str(self._offset)))

    def next_request(self, current: PageRequest, response: httpx.Response, body: Any,
                     count: int) -> PageRequest | None:
        if count == 0:
            return None
        self._offset += count
        if self.total_path is not None:
            total = as_integer(json_path(body, self.total_path))
            if total is None:
                raise SourceError(f"the answer from {response.request.url} has no total at "
                                  f"{self.total_path!r}")
            if self._offset - self.start >= total:
                return None
        elif count < self.page_size:
            return None
        self._remember(str(self._offset), "offset")
        return current.with_param(self.offset_param, str(self._offset))

    def own_paths(self) -> frozenset[str]:
        return frozenset({self.total_path} if self.total_path else ())


class CursorPaginator(Paginator):
    """A cursor at ``path`` in the body, sent back as the ``param`` query parameter;
    absent, null or empty ends the list."""

    def __init__(self, *, param: str, path: str) -> None:
        super().__init__()
        self.param = param
        self.path = path

    def next_request(self, current: PageRequest, response: httpx.Response, body: Any,
                     count: int) -> PageRequest | None:
        cursor = json_path(body, self.path)
        if cursor is None or cursor == "":
            return None
        if isinstance(cursor, dict | list):
            raise SourceError(f"the cursor at {self.path!r} in the answer from "
                              f"{response.request.url} is not a value")
        text = str(cursor).lower() if isinstance(cursor, bool) else str(cursor)
        self._remember(text, "cursor")
        return current.with_param(self.param, text)

    def own_paths(self) -> frozenset[str]:
        return frozenset({self.path})


_LINK_HEADER = "Link header"
#: Where APIs put the next page (a URL, a path or a cursor), or a flag that one exists.
NEXT_PATHS = ("next", "nextLink", "@odata.nextLink", "next_page_url", "nextPageUrl",
              "nextPageToken", "next_cursor", "nextCursor", "has_more", "hasMore",
              "links.next", "links.next.href", "_links.next.href", "paging.next",
              "pagination.next", "pagination.next_url", "meta.next", "meta.next_cursor",
              "meta.nextCursor", "meta.page.nextCursor", "meta.has_more",
              "response_metadata.next_cursor")
#: Where APIs say how many records there are in all.
TOTAL_PATHS = ("total", "totalCount", "total_count", "count_total", "@odata.count",
               "meta.total", "meta.total_count", "meta.totalCount", "pagination.total",
               "paging.total", "metadata.total_elements", "page.totalElements")


def more_exists(response: httpx.Response, body: Any, read: int,
                ignore: frozenset[str] = frozenset()) -> str | None:
    """What in the last answer says more records exist than the ``read`` ones, or None.
    Paths in ``ignore`` (the paginator's own) are not looked at."""
    if _LINK_HEADER not in ignore and response.links.get("next", {}).get("url"):
        return "a Link header with rel=\"next\""
    if not isinstance(body, dict):
        return None
    for path in NEXT_PATHS:
        value = json_path(body, path)
        if path in ignore or value is None or value is False or value == "":
            continue
        if isinstance(value, str | int) or value is True:
            return f"{path} is {value!r}" if path.endswith("more") else f"{path} is set"
    for path in TOTAL_PATHS:
        total = as_integer(json_path(body, path))
        if path not in ignore and total is not None and total > read:
            return f"{path} says {total} records"
    return None


def as_integer(value: Any) -> int | None:
    """An integer from a JSON number or numeric text (APIs send totals either way)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None

"""Collections page by page (graph.md §4.4) and the OData ``$filter`` the client builds
(§4.2: ``attribute eq 'value'``, the create lookup).

``@odata.nextLink`` is followed exactly as returned (it carries every query option plus an
opaque ``$skiptoken``; never rebuilt) until a page has none. Loop detection: a link that
was already followed means the server is sending us in circles, and we stop with a
:class:`~connector.errors.FatalGraphError` instead of reading the same users forever. One
exception, because "a page can hold zero items and still have a nextLink" (§4.4): an
*empty* page whose nextLink is the link just read means "nothing here yet, ask again"; that
is allowed a few times in a row (``max_empty_repeats``), never for a page with items.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from connector.errors import FatalGraphError

#: Largest page Graph serves for ``/users`` (§4.1).
MAX_PAGE_SIZE = 999

_PROPERTY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)?$")

#: ``fetch(url, params)`` returns one page's JSON body; ``params`` only on the first call.
PageFetcher = Callable[[str, Mapping[str, str] | None], Mapping[str, Any]]


def odata_string(value: str) -> str:
    """An OData string literal: single quotes, a quote inside doubled (§4.2)."""
    return "'" + value.replace("'", "''") + "'"


def property_name(name: str) -> str:
    """``name`` if it is a plain property (or ``complex/sub``) name; ValueError otherwise,
    so a caller's attribute can never inject filter syntax."""
    if not _PROPERTY.match(name):
        raise ValueError(f"not a Graph property name: {name!r}")
    return name


def eq_filter(attribute: str, value: str) -> str:
    """``attribute eq 'value'``."""
    return f"{property_name(attribute)} eq {odata_string(value)}"


def iter_pages(fetch: PageFetcher, url: str, params: Mapping[str, str] | None = None, *,
               max_empty_repeats: int = 3) -> Iterator[list[dict[str, Any]]]:
    """The ``value`` list of every page, following ``@odata.nextLink`` verbatim."""
    for body in iter_bodies(fetch, url, params, max_empty_repeats=max_empty_repeats):
        yield [v for v in body["value"] if isinstance(v, dict)]


def iter_bodies(fetch: PageFetcher, url: str, params: Mapping[str, str] | None = None, *,
                max_empty_repeats: int = 3) -> Iterator[Mapping[str, Any]]:
    """Every page's whole body (its ``value`` checked to be a list), following
    ``@odata.nextLink`` verbatim; the last one holds whatever ends the collection (a
    delta round's ``@odata.deltaLink``)."""
    followed: set[str] = set()
    current, current_params = url, params
    empty_repeats = 0
    while True:
        body = fetch(current, current_params)
        values = body.get("value")
        if not isinstance(values, list):
            raise FatalGraphError(f"reading {_path(current)}: the page has no 'value' list")
        yield body
        link = body.get("@odata.nextLink")
        if not link:
            return
        if not isinstance(link, str):
            raise FatalGraphError(f"reading {_path(current)}: @odata.nextLink is not a string")
        if current_params is None:  # a nextLink we have now read (the first URL is ours)
            followed.add(current)
        if link in followed:
            empty_repeats = empty_repeats + 1 if (not values and link == current) else 0
            if not empty_repeats or empty_repeats > max_empty_repeats:
                raise FatalGraphError(
                    f"reading {_path(current)}: Graph returned a nextLink that was already "
                    "followed (paging loop)", code="PagingLoop")
        else:
            empty_repeats = 0
        current, current_params = link, None


def _path(url: str) -> str:
    """The path of a URL, without its query (which may carry filter values)."""
    return url.split("?", 1)[0]

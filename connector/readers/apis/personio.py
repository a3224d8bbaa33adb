"""The ``personio`` preset: employees from Personio's v1 API (peers-and-hr-data.md §3.2).

Settings
--------
====================  ==========  =======================================================
``client_id``         required    the API credential's id (text, or ``{env: NAME}``)
``client_secret``     required    secret: ``{env: NAME}`` or ``{file: PATH}``
``base_url``          https://api.personio.de   set it for a proxy or a local fake
``page_size``         100         ``limit`` per page, 1 to 100 (Personio's enforced
                                  maximum since 2025-01-31; more is refused here)
``attributes``        all         attribute names to ask for (``attributes[]``); ``id`` is
                                  always returned
``offset_mode``       auto        how ``offset`` is read: ``items`` (the first record, as
                                  the spec says), ``pages`` (a 1-based page number, as
                                  seen on other endpoints) or ``auto`` (see below)
``partner_id``        none        sent as ``X-Personio-Partner-ID``
``app_id``            none        sent as ``X-Personio-App-ID``
====================  ==========  =======================================================

plus ``timeout``, ``max_attempts``, ``max_wait_seconds``, ``max_page_mb`` and ``name``
(every preset).

Authentication: ``POST /v1/auth`` with the id and secret gives a token, used as a bearer
token until shortly before ``expires_in`` ends, and fetched again once on a 401.
Throttling (429, ``Retry-After`` assumed, none documented) is retried.

Paging and duplicates: pages are ``GET /v1/company/employees?limit=&offset=``. Personio's
own docs disagree on whether ``offset`` counts records or pages (§3.2), so records are
deduplicated by ``id`` and paging stops on ``metadata.total_pages``. With ``auto``,
offsets count records; when such a page brings nothing new while fewer than
``metadata.total_elements`` employees were read, the server reads offsets as page numbers,
and the remaining pages are asked for by number (a warning says so: set ``offset_mode:
pages`` to skip the probe). If, after all pages, fewer employees were read than
``total_elements`` says exist, the source is refused: a full export missing people would
disable them.

Columns: each attribute is unwrapped from ``{label, value, type, universal_id}`` to its
value, and named by its key (``first_name``, ``hire_date`` ...):

- ``supervisor`` (a nested Employee) is the supervisor's ``id``, the same text as their
  own ``id`` column, so a mapping can name the manager by it;
- ``department``, ``office`` and other nested objects are their ``name`` (else ``id``);
  ``cost_centers`` and other lists of objects are the names joined with ``"; "``;
- dates (``type: date``, or a midnight timestamp with an offset) are the **local date**:
  ``2014-11-09T00:00:00+01:00`` reads ``2014-11-09``. Personio sends a calendar date as
  midnight in the company's time zone; converting that to UTC would move every date in
  a zone east of Greenwich to the day before, hire dates included;
- numbers sent as text stay as sent (``"40"``);
- custom fields stay ``dynamic_<n>``: their labels are localised and can change in
  Personio's settings, while the id is stable, so a mapping keyed on the label would
  break silently. A warning lists each ``dynamic_<n>`` column with its label.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from typing import Any

from connector.http import redact_url
from connector.readers.apis.auth import Secret, TokenAuth
from connector.readers.apis.generic import ApiReader, HttpSession
from connector.readers.apis.paging import PageRequest, as_integer
from connector.readers.apis.presets import ApiContext, Connection, Settings

DEFAULT_BASE = "https://api.personio.de"
MAX_PAGE_SIZE = 100
#: Bound on requests in one read, whatever the metadata says (100 x 100 = 10,000 pages).
MAX_REQUESTS = 10_000
_MIDNIGHT = re.compile(r"\d{4}-\d{2}-\d{2}T00:00:00(\.0+)?([+-]\d{2}:\d{2}|Z)$")


def open_personio(settings: Settings, context: ApiContext) -> ApiReader:
    """Read Personio's employees (``open_api_source("personio", ...)``)."""
    base = (settings.text("base_url", DEFAULT_BASE) or DEFAULT_BASE).rstrip("/")
    fields: dict[str, str | Secret] = {
        "client_id": settings.secret("client_id", plain_allowed=True),
        "client_secret": settings.secret("client_secret")}
    page_size = settings.integer("page_size", MAX_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
    attributes = settings.text_list("attributes", [])
    mode = settings.choice("offset_mode", ("auto", "items", "pages"), "auto")
    connection = Connection.read(settings, context, f"personio ({redact_url(base)})")
    for name, header in (("partner_id", "X-Personio-Partner-ID"),
                         ("app_id", "X-Personio-App-ID")):
        value = settings.text(name)
        if value:
            connection.headers[header] = value
    auth = TokenAuth(f"{base}/v1/auth", fields, as_json=True,
                     token_path="data.token",  # noqa: S106 (a JSON path, not a secret)
                     expires_path="data.expires_in", clock=context.clock)
    params = (("limit", str(page_size)), *(("attributes[]", a) for a in attributes))
    request = PageRequest(f"{base}/v1/company/employees", params)

    def fetch(session: HttpSession, notes: list[str]) -> Iterable[Any]:
        labels: dict[str, str] = {}
        for employee in _employees(session, request, page_size, mode, notes):
            yield unwrap(employee, labels)
        if labels:
            notes.append("Personio custom fields are columns named by id: " + ", ".join(
                f"{column} = {label!r}" for column, label in sorted(labels.items())))

    hints = {401: "Personio refused the client id and secret",
             403: "the API credential may not read employees (check its access rights)"}
    return connection.read_all(settings, context, auth=auth, fetch=fetch, hints=hints)


def _employees(session: HttpSession, request: PageRequest, page_size: int, mode: str,
               notes: list[str]) -> Iterator[Any]:
    """Every employee once, paging as the module docstring says."""
    seen: set[str] = set()
    asked: set[tuple[bool, int]] = set()
    by_page = mode == "pages"
    offset = 1 if by_page else 0
    total: int | None = None
    for _ in range(MAX_REQUESTS):
        if (by_page, offset) in asked:  # a guard: the offsets below only move forward
            raise session.fail(f"paging went round in a circle at offset {offset}")
        asked.add((by_page, offset))
        page, pages, total = _page(session, request.with_param("offset", str(offset)))
        new = [employee for employee in page if _is_new(employee, seen)]
        yield from new
        if total is not None and len(seen) >= total:
            return
        if by_page:
            offset += 1
            more = bool(page) and (offset <= pages if pages is not None else
                                   bool(new) and len(page) >= page_size)
        else:
            offset += page_size
            more = bool(new) and (offset // page_size < pages if pages is not None else
                                  total is not None or len(page) >= page_size)
        if more:
            continue
        # Offsets counted as records found nothing new, or ran out before the total: the
        # server reads offset as a page number (page 1 was offset 0; "0 is read as 1").
        if mode == "auto" and not by_page and offset > page_size and (
                not new or (total is not None and len(seen) < total)):
            notes.append("Personio read 'offset' as a page number; the remaining pages "
                         "were asked for by number (offset_mode: pages skips this probe)")
            by_page, offset = True, 2
            continue
        break
    if total is not None and len(seen) < total:
        raise session.fail(f"Personio said {total} employees exist but paging gave "
                           f"{len(seen)}; refusing an incomplete export (missing people "
                           "would be disabled)")


def _is_new(employee: Any, seen: set[str]) -> bool:
    """False for an employee whose id was read before (records without an id are kept:
    the checks report their empty key)."""
    key = _id_of(employee)
    if key is None:
        return True
    if key in seen:
        return False
    seen.add(key)
    return True


def _page(session: HttpSession,
          request: PageRequest) -> tuple[list[Any], int | None, int | None]:
    """One page's employees, ``metadata.total_pages`` and ``total_elements``."""
    document = session.json(session.send("GET", request))
    if not isinstance(document, dict) or document.get("success") is False:
        error = document.get("error") if isinstance(document, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        raise session.fail(f"Personio refused {request.describe()}: "
                           f"{message or 'success is false'}")
    data = document.get("data")
    if not isinstance(data, list):
        raise session.fail(f"Personio's answer to {request.describe()} has no 'data' list")
    metadata = document.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    return (data, as_integer(metadata.get("total_pages")),
            as_integer(metadata.get("total_elements")))


def _id_of(employee: Any) -> str | None:
    attributes = employee.get("attributes") if isinstance(employee, dict) else None
    value = _plain(attributes.get("id")) if isinstance(attributes, dict) else None
    return None if value is None else str(value)


def _plain(attribute: Any) -> Any:
    """An attribute's value, whether wrapped in ``{label, value, ...}`` or not."""
    if isinstance(attribute, dict) and "value" in attribute and "label" in attribute:
        return attribute["value"]
    return attribute


def unwrap(employee: Any, labels: dict[str, str]) -> Any:
    """One Personio employee as ``{attribute: plain value}`` (rules in the module
    docstring); the labels of ``dynamic_<n>`` attributes are added to ``labels``. Anything
    not shaped like an employee is handed on as it is (the reader reports non-objects)."""
    attributes = employee.get("attributes") if isinstance(employee, dict) else None
    if not isinstance(attributes, dict):
        return employee
    out: dict[str, Any] = {}
    for key, attribute in attributes.items():
        if isinstance(attribute, dict) and "value" in attribute:
            label = attribute.get("label")
            if key.startswith("dynamic_") and isinstance(label, str):
                labels.setdefault(key, label)
            out[key] = _value(attribute["value"], attribute.get("type"))
        else:
            out[key] = _value(attribute, None)
    return out


def _value(value: Any, kind: Any) -> Any:
    if isinstance(value, str) and (kind == "date" or _MIDNIGHT.match(value)):
        return local_date(value)
    if isinstance(value, dict):
        return _object(value)
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return "; ".join(str(t) for t in (_object(v) for v in value) if t not in (None, ""))
    return value


def _object(value: dict[str, Any]) -> Any:
    """A nested Personio object: an Employee is its id, others their name (else id)."""
    attributes = value.get("attributes")
    if not isinstance(attributes, dict):
        return value
    if value.get("type") == "Employee" or "name" not in attributes:
        if "id" in attributes:
            return _plain(attributes["id"])
        return {k: _plain(v) for k, v in attributes.items()}
    return _plain(attributes["name"])


def local_date(value: str) -> str:
    """The calendar date of a Personio date, in the offset it was written with
    (``2014-11-09T00:00:00+01:00`` -> ``2014-11-09``); text that is no date stays as is."""
    try:
        return dt.datetime.fromisoformat(value).date().isoformat()
    except ValueError:
        return value

"""Reading HR records from a REST API: the HTTP session (the shared retry policy of
:mod:`connector.http`, bodies read with a ceiling, messages without secrets), page
fetching, and the reader that turns JSON objects into ``Record`` values. The generic
preset's settings are in :mod:`connector.readers.apis.presets`; BambooHR and Personio
have their own modules.

Records and columns
-------------------
Every JSON object in the records list becomes one record; ``row`` is its 1-based number
across all pages (there is no header row: ``header_row`` is 0). Values are flattened to
text:

- a nested object gives one column per leaf, named by its path: ``{"address": {"city":
  "Oslo"}}`` -> ``address.city``; an empty object gives ``address`` = "";
- a list of values is joined with ``"; "`` (nulls dropped): ``["a", "b"]`` -> ``a; b``;
- a list of objects keeps **only its first element**, flattened as ``name.0.field``
  (``cost_centers.0.name``), and the reader warns once per such column when a record had
  more than one; a list of lists is kept as compact JSON text;
- null is "" (HR exports cannot tell empty from absent either, and the mapping treats
  both as null); numbers are written as JSON writes them (``40``, ``1.5``); booleans stay
  JSON's ``true``/``false`` (not Python's ``True``): a mapping tests them with
  ``[active] = "true"`` or the ``IS TRUE`` scoping operator, which accepts either.

The columns are the union of every record's keys in first-seen order; a record lacking a
column reads "" there. Everything is fetched when the reader opens, because the checks
need the columns before the first record; an API answering with no records at all is a
``SourceError`` (a full export that is suddenly empty must not disable everyone).

Errors and retries
------------------
Every request here only reads (a ``POST`` is a search), so all are idempotent for
:func:`connector.http.classify`: 429, 500, 502, 503 and 504, connection failures and
timeouts are retried, waiting what ``Retry-After`` says (seconds, decimal seconds or an
HTTP date) or else an exponential backoff (1, 2, 4 … s, at most 60 s; no jitter: one
sequential reader has no crowd to spread), at most ``max_attempts`` failed answers of one
request (429s count against the time only) and ``max_wait_seconds`` of waiting in all.
Any other non-2xx answer is a ``SourceError`` naming the status, the method and the URL,
never a credential: URLs lose user info and the values of secret-looking query
parameters, and every message is scrubbed of the settings' secrets before it is raised.
Redirects are not followed: a 3xx is reported with its target, so the base URL can be
fixed rather than credentials sent somewhere new.

Memory stays bounded: each answer is streamed and refused with a ``SourceError`` naming
the URL once it passes ``max_page_mb`` (64 MB by default), before the rest is read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import count as counter
from typing import Any

import httpx

from connector.core.records import Record
from connector.errors import SourceError
from connector.http import (
    DEFAULT_MAX_BODY_BYTES,
    RetryPolicy,
    Verdict,
    read_capped,
    redact_url,
    scrub,
    send_with_retries,
)
from connector.readers.apis.auth import Secret
from connector.readers.apis.paging import PageRequest, Paginator, json_path, more_exists
from connector.readers.base import Reader


def reader_policy(max_attempts: int = 5, max_wait_seconds: float = 300.0) -> RetryPolicy:
    """The shared policy with the readers' bounds (settings ``max_attempts`` and
    ``max_wait_seconds``) and plain exponential waits."""
    return RetryPolicy(max_attempts=max_attempts, max_wait_seconds=max_wait_seconds,
                       jitter=False)


@dataclass
class HttpSession:
    """Sends requests with retries and turns failures into ``SourceError``.

    ``hints`` add a sentence to the message for a status (a preset knows what its 403
    means); ``secrets`` are scrubbed from every message, whatever put them there. The
    ``max_wait_seconds`` budget spans the whole session (every page of one read).
    """

    client: httpx.Client
    #: The source's name, for the errors' ``file``.
    name: str | None = None
    retry: RetryPolicy = field(default_factory=reader_policy)
    secrets: Sequence[Secret] = ()
    hints: Mapping[int, str] = field(default_factory=dict)
    #: Largest body accepted (bytes); a larger answer is refused before it is read whole.
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    sleep: Callable[[float], None] = time.sleep
    #: Resolves HTTP-date ``Retry-After`` values.
    wall_clock: Callable[[], float] = time.time
    #: Seconds waited in all, and how many sends were made (for reports and tests).
    waited: float = 0.0
    sends: int = 0

    def scrub(self, text: str) -> str:
        """``text`` with every known secret replaced by ``***``."""
        return scrub(text, (secret.reveal() for secret in self.secrets))

    def fail(self, message: str) -> SourceError:
        """A ``SourceError`` about this source with ``message`` scrubbed of secrets."""
        return SourceError(self.scrub(message),
                           file=self.scrub(self.name) if self.name else None)

    def send(self, method: str, request: PageRequest, *, body: Any = None) -> httpx.Response:
        """Send ``request`` until it succeeds, a fatal answer comes, or the policy gives up;
        the answer's body is read (at most ``max_body_bytes``)."""
        shown = f"{method} {redact_url(request.describe())}"

        def once() -> httpx.Response:
            sent = self.client.build_request(method, request.full_url(), json=body)
            answer = read_capped(self.client.send(sent, stream=True), self.max_body_bytes)
            if answer is None:
                raise self.fail(f"the answer to {shown} is larger than "
                                f"{_megabytes(self.max_body_bytes)} (max_page_mb); refused "
                                "without reading the rest")
            return answer

        def retrying(verdict: Verdict, delay: float) -> None:
            self.waited += delay

        outcome = send_with_retries(once, self.retry, sleep=self.sleep,
                                    wall_clock=self.wall_clock, spent=self.waited,
                                    on_retry=retrying)
        self.sends += outcome.sends
        subject = outcome.subject
        if outcome.verdict.ok:
            return outcome.response
        if isinstance(subject, httpx.Response):
            reason = self._status_message(subject)
        else:
            reason = f"{shown} failed: {type(subject).__name__}"
        if outcome.gave_up is None:
            raise self.fail(reason)
        raise self.fail(f"{reason}; {outcome.gave_up} (max_attempts, max_wait_seconds)")

    def _status_message(self, response: httpx.Response) -> str:
        status = response.status_code
        # The request that failed may be the token request an auth flow made.
        where = f"{response.request.method} {redact_url(response.request.url)}"
        text = f"HTTP {status} {response.reason_phrase} from {where}".rstrip()
        if response.is_redirect:
            target = response.headers.get("Location", "")
            text += f" (redirected to {redact_url(target) if target else 'nowhere'}; "
            text += "set the base URL to where it points)"
        hint = self.hints.get(status) or _GENERIC_HINTS.get(status)
        return f"{text}: {hint}" if hint else text

    def json(self, response: httpx.Response) -> Any:
        """The body as JSON; ``SourceError`` naming the URL when it is not."""
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no Content-Type")
            raise self.fail(f"the answer from {redact_url(response.request.url)} is not "
                            f"JSON ({kind})") from None


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.3g} MB"


_GENERIC_HINTS = {
    401: "the credentials were refused",
    403: "the credentials are not allowed to read this",
    404: "no such resource; check the URL",
}


def fetch_pages(session: HttpSession, request: PageRequest, paginator: Paginator, *,
                method: str = "GET", body: Any = None, records_path: str = "",
                max_pages: int = 10_000) -> Iterator[list[Any]]:
    """Yield each page's records list, following ``paginator`` to the last page.

    A page identical to the one before is a loop the paginator cannot see (a server
    ignoring the offset parameter, say) and raises ``SourceError``, as does going past
    ``max_pages`` and stopping while the last answer says more records exist
    (``paging.more_exists``).
    """
    current = paginator.first(request)
    previous: list[Any] | None = None
    read = 0
    for number in counter(1):
        response = session.send(method, current, body=body)
        document = session.json(response)
        items = json_path(document, records_path)
        where = redact_url(response.request.url)
        if not isinstance(items, list):
            at = f"at {records_path!r}" if records_path else "(records_path is not set)"
            raise session.fail(f"the answer from {where} has no list of records {at}")
        if items and items == previous:
            raise session.fail(f"page {number} ({where}) repeats page {number - 1}: the "
                               "API ignores the paging parameters; stopped")
        yield items
        read += len(items)
        following = paginator.next_request(current, response, document, len(items))
        if following is None:
            sign = more_exists(response, document, read, paginator.own_paths())
            if sign is not None:
                raise session.fail(
                    f"paging stopped after page {number} ({read} records) while the answer "
                    f"from {where} says there are more ({sign}); refusing a partial export "
                    "(check the paging settings)")
            return
        if number >= max_pages:
            raise session.fail(f"more than {max_pages} pages (max_pages); stopped at {where}")
        previous, current = items, following


def json_text(value: Any) -> str:
    """A JSON scalar as text: null "", booleans ``true``/``false``, numbers as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return str(value)


def flatten(item: Mapping[str, Any], several: set[str] | None = None) -> dict[str, str]:
    """One JSON object as ``column -> text`` (rules in the module docstring). Columns whose
    list held more than one object are added to ``several``."""
    out: dict[str, str] = {}
    for key, value in item.items():
        _flatten_into(out, str(key), value, several)
    return out


def _flatten_into(out: dict[str, str], name: str, value: Any, several: set[str] | None) -> None:
    if isinstance(value, dict):
        if not value:
            out[name] = ""
        for key, inner in value.items():
            _flatten_into(out, f"{name}.{key}", inner, several)
    elif isinstance(value, list):
        if all(not isinstance(v, dict | list) for v in value):
            out[name] = "; ".join(json_text(v) for v in value if v is not None)
        elif isinstance(value[0], dict):
            if len(value) > 1 and several is not None:
                several.add(name)
            _flatten_into(out, f"{name}.0", value[0], several)
        else:
            out[name] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        out[name] = json_text(value)


class ApiReader(Reader):
    """An HR API's records, already fetched: flattened to text, with the union of their
    keys as columns. ``items`` are JSON objects (a preset may have reshaped them)."""

    format = "api"

    def __init__(self, name: str, items: Iterable[Any]) -> None:
        super().__init__(name)
        self.header_row = 0  # no header: row numbers count records from 1
        several: set[str] = set()
        flat: list[dict[str, str]] = []
        columns: dict[str, None] = {}
        for number, item in enumerate(items, 1):
            if not isinstance(item, Mapping):
                raise SourceError(f"record {number} is not a JSON object but "
                                  f"{type(item).__name__}", file=name, row=number)
            values = flatten(item, several)
            columns.update(dict.fromkeys(values))
            flat.append(values)
        if not flat:
            raise SourceError("the API returned no records", file=name)
        self.columns = list(columns)
        self._records = [Record(row=number, values={c: values.get(c, "") for c in columns})
                         for number, values in enumerate(flat, 1)]
        for column in sorted(several):
            self.warn(f"{column!r} held several objects in some records; only the first is "
                      f"read (columns {column}.0.*)", column=column)

    def records(self) -> Iterator[Record]:
        """The records in the order the API gave them."""
        yield from self._records

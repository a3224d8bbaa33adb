"""HR API sources: :func:`open_api_source` builds a reader from a preset and its settings
(the ``source.api`` section of the configuration file), fetches every record and returns
it, ready for ``validate``, ``preview`` and ``sync`` like an opened file.

Presets: ``generic`` (below), ``bamboohr`` (:mod:`connector.readers.apis.bamboohr`) and
``personio`` (:mod:`connector.readers.apis.personio`); each module's docstring lists its
settings. How records become columns, retries and error messages:
:mod:`connector.readers.apis.generic`.

Secrets (tokens, passwords, API keys, client secrets) are written as ``{env: NAME}`` or
``{file: PATH}``, never as text in the settings; they are resolved when the source opens
and appear in no message, ``repr`` or log. An unknown setting is an error (a misspelt
``page_size`` must not silently become the default).

Settings of every preset
------------------------
=====================  =========  ======================================================
``timeout``            30         seconds to wait for one answer
``max_attempts``       5          failed answers of one request before giving up
                                  (5xx, timeouts; 429s count against the time only)
``max_wait_seconds``   300        seconds of ``Retry-After``/backoff waiting in all
``max_page_mb``        64         largest answer accepted, in MB; a larger one is
                                  refused without being read whole
``name``               (preset)   how messages and reports name the source
=====================  =========  ======================================================

The ``generic`` preset
----------------------
=====================  =========  ======================================================
``url``                required   the records' URL (http or https); credentials go in
                                  ``auth``, never in the URL (httpx logs URLs)
``method``             GET        ``GET`` or ``POST`` (the same for every page)
``params``             {}         query parameters, ``{name: value}``
``headers``            {}         extra request headers (not for secrets: use ``auth``)
``body``               none       the JSON body of a ``POST``
``records_path``       ""         dotted path to the records list (``data``,
                                  ``result.items``); "" when the answer is the list
``max_pages``          10000      stop with an error after this many pages
``auth``               none       one of the mappings below
``paging``             none       one of the mappings below
=====================  =========  ======================================================

``auth``:

- ``{type: bearer, token: SECRET}``
- ``{type: basic, username: TEXT, password: SECRET}``
- ``{type: api_key, key: SECRET, header: X-API-Key}`` (``header`` names the header)
- ``{type: oauth2, token_url: URL, client_id: TEXT, client_secret: SECRET, scope: TEXT}``
  — client credentials, posted as a form; the token is reused until shortly before
  ``expires_in`` runs out, and fetched again once on a 401 (``scope`` is optional).

``paging``:

- ``{type: none}`` — one request holds everything.
- ``{type: next_link, path: links.next.href}`` — the next page's URL in the body.
- ``{type: link_header}`` — the ``Link: <...>; rel="next"`` header.
- ``{type: offset, offset_param: offset, limit_param: limit, page_size: 100, start: 0,
  total_path: meta.total}`` — without ``total_path``, a short or empty page is the last.
- ``{type: cursor, param: cursor, path: meta.next_cursor}`` — the cursor at ``path`` is
  sent back as ``param`` until it is null or empty.

A next link or cursor seen twice, or a page repeating the one before, is an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from connector.errors import ConfigError
from connector.http import RetryPolicy, redact_url
from connector.readers.apis.auth import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    Secret,
    TokenAuth,
    resolve_secret,
)
from connector.readers.apis.generic import ApiReader, HttpSession, fetch_pages, reader_policy
from connector.readers.apis.paging import (
    BodyLinkPaginator,
    CursorPaginator,
    LinkHeaderPaginator,
    NoPaging,
    OffsetPaginator,
    PageRequest,
    Paginator,
)
from connector.readers.base import Reader

PRESETS = ("generic", "bamboohr", "personio")
USER_AGENT = "hr-connector"


class Settings:
    """Typed reads of one settings mapping. Each read ticks a key off; :meth:`finish`
    refuses the keys nobody read. Messages name the setting, never its value (a secret
    pasted into the wrong key must not be echoed)."""

    def __init__(self, values: Any, where: str, resolver: Callable[[Any], str],
                 secrets: list[Secret] | None = None) -> None:
        if not isinstance(values, Mapping):
            raise ConfigError(f"{where} must be a mapping of names to values")
        self.values = values
        self.where = where
        self.resolver = resolver
        #: Every secret resolved through these settings (shared with sub-sections).
        self.secrets: list[Secret] = [] if secrets is None else secrets
        self._read: set[str] = set()

    def error(self, name: str, problem: str) -> ConfigError:
        """A ``ConfigError`` about setting ``name``."""
        return ConfigError(f"{self.where}: {name} {problem}")

    def get(self, name: str) -> Any:
        """The raw value (None when absent), ticked off."""
        self._read.add(name)
        return self.values.get(name)

    def text(self, name: str, default: str | None = None) -> str | None:
        """A text setting."""
        value = self.get(name)
        if value is None:
            return default
        if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
            raise self.error(name, "must be non-empty text")
        return str(value)

    def required(self, name: str) -> str:
        """A text setting that must be given."""
        value = self.text(name)
        if value is None:
            raise self.error(name, "is required")
        return value

    def choice(self, name: str, options: Iterable[str], default: str) -> str:
        """One of ``options``."""
        allowed = list(options)
        value = self.text(name, default)
        if value not in allowed:
            raise self.error(name, "must be one of " + ", ".join(allowed))
        return value

    def number(self, name: str, default: float, *, minimum: float = 0.0,
               maximum: float | None = None, whole: bool = False) -> float:
        """A number within bounds (a whole number with ``whole``)."""
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or (
                whole and not float(value).is_integer()):
            raise self.error(name, "must be a " + ("whole number" if whole else "number"))
        if value < minimum or (maximum is not None and value > maximum):
            top = f" and at most {maximum:g}" if maximum is not None else ""
            raise self.error(name, f"must be at least {minimum:g}{top}")
        return float(value)

    def integer(self, name: str, default: int, *, minimum: int = 0,
                maximum: int | None = None) -> int:
        """A whole number within bounds."""
        return int(self.number(name, default, minimum=minimum,
                               maximum=None if maximum is None else float(maximum), whole=True))

    def boolean(self, name: str, default: bool) -> bool:
        """``true`` or ``false``."""
        value = self.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(name, "must be true or false")
        return value

    def text_list(self, name: str, default: list[str]) -> list[str]:
        """A list of texts."""
        value = self.get(name)
        if value is None:
            return list(default)
        if not isinstance(value, list) or not value or not all(
                isinstance(v, str) and v for v in value):
            raise self.error(name, "must be a non-empty list of names")
        return list(value)

    def text_map(self, name: str) -> dict[str, str]:
        """A ``{name: value}`` mapping of texts (headers, query parameters)."""
        value = self.get(name)
        if value is None:
            return {}
        if not isinstance(value, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str | int | float) and not isinstance(
                    v, bool) for k, v in value.items()):
            raise self.error(name, "must be a mapping of names to text values")
        return {k: str(v) for k, v in value.items()}

    def section(self, name: str) -> Settings | None:
        """A nested mapping, read with the same rules (None when absent)."""
        value = self.get(name)
        if value is None:
            return None
        return Settings(value, f"{self.where}.{name}", self.resolver, self.secrets)

    def secret(self, name: str, *, plain_allowed: bool = False) -> Secret:
        """A secret setting, resolved now; ``plain_allowed`` also takes text (an id)."""
        value = self.get(name)
        if value is None:
            raise self.error(name, "is required")
        if plain_allowed and isinstance(value, str) and value:
            resolved: Any = value
        else:
            try:
                resolved = self.resolver(value)
            except ConfigError as exc:
                raise self.error(name, exc.message) from None
        if not isinstance(resolved, str) or not resolved:
            raise self.error(name, "resolved to nothing")
        secret = Secret(resolved)
        self.secrets.append(secret)
        return secret

    def finish(self) -> None:
        """Refuse settings nobody read: a misspelt key must not fall back to a default."""
        unknown = sorted(str(k) for k in self.values if k not in self._read)
        if unknown:
            raise ConfigError(f"{self.where}: unknown setting(s) " + ", ".join(unknown)
                              + " (misspelt?)")


@dataclass(frozen=True)
class ApiContext:
    """What the caller injects: the transport (tests), the secret resolver, and the
    clocks and sleep the retries use."""

    transport: httpx.BaseTransport | None = None
    secrets: Callable[[Any], str] = resolve_secret
    sleep: Callable[[float], None] = time.sleep
    wall_clock: Callable[[], float] = time.time
    clock: Callable[[], float] = time.monotonic


@dataclass
class Connection:
    """The settings every preset shares, read: timeout, retries, body ceiling, the
    source's name."""

    name: str
    timeout: float
    retry: RetryPolicy
    max_body_bytes: int
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, settings: Settings, context: ApiContext, default_name: str) -> Connection:
        """Read the shared settings from ``settings``."""
        retry = reader_policy(
            max_attempts=settings.integer("max_attempts", 5, minimum=1, maximum=100),
            max_wait_seconds=settings.number("max_wait_seconds", 300.0))
        megabytes = settings.number("max_page_mb", 64.0, minimum=0.001)
        return cls(name=settings.text("name", default_name) or default_name,
                   timeout=settings.number("timeout", 30.0, minimum=0.1), retry=retry,
                   max_body_bytes=round(megabytes * 1024 * 1024))

    def read_all(self, settings: Settings, context: ApiContext, *, auth: httpx.Auth | None,
                 fetch: Callable[[HttpSession, list[str]], Iterable[Any]],
                 hints: Mapping[int, str] | None = None) -> ApiReader:
        """Open a client, fetch every record with ``fetch`` and return the reader; the
        notes ``fetch`` appends become the reader's warnings."""
        settings.finish()
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **self.headers}
        notes: list[str] = []
        with httpx.Client(transport=context.transport, timeout=self.timeout, headers=headers,
                          auth=auth, follow_redirects=False) as client:
            session = HttpSession(client, self.name, retry=self.retry, secrets=settings.secrets,
                                  hints=dict(hints or {}), max_body_bytes=self.max_body_bytes,
                                  sleep=context.sleep, wall_clock=context.wall_clock)
            reader = ApiReader(self.name, fetch(session, notes))
        for note in notes:
            reader.warn(session.scrub(note))
        return reader


def open_api_source(
    preset: str,
    settings: Mapping[str, Any],
    *,
    transport: httpx.BaseTransport | None = None,
    secrets: Callable[[Any], str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    wall_clock: Callable[[], float] = time.time,
    clock: Callable[[], float] = time.monotonic,
) -> Reader:
    """Fetch every record from an HR API and return the opened reader.

    ``preset`` is ``generic``, ``bamboohr`` or ``personio``; ``settings`` are that
    preset's (see the module docstrings). ``transport`` replaces the network (tests pass
    ``httpx.MockTransport`` or an in-process app); ``secrets`` turns a secret setting into
    its value (default: ``{env: NAME}`` / ``{file: PATH}``, plain text refused);
    ``sleep``, ``wall_clock`` and ``clock`` drive retries and token expiry.

    Raises ``ConfigError`` for bad settings (before any request) and ``SourceError`` when
    the API cannot be read.
    """
    # The presets import this module, so they are imported here, not at the top.
    from connector.readers.apis.bamboohr import open_bamboohr
    from connector.readers.apis.personio import open_personio

    context = ApiContext(transport=transport, secrets=secrets or resolve_secret, sleep=sleep,
                         wall_clock=wall_clock, clock=clock)
    openers: dict[str, Callable[[Settings, ApiContext], ApiReader]] = {
        "generic": open_generic, "bamboohr": open_bamboohr, "personio": open_personio}
    if preset not in openers:
        raise ConfigError(f"unknown API preset {preset!r}; use one of " + ", ".join(PRESETS))
    return openers[preset](Settings(settings, f"api settings ({preset})", context.secrets),
                           context)


def open_generic(settings: Settings, context: ApiContext) -> ApiReader:
    """The ``generic`` preset: any JSON REST API described by its settings."""
    url = settings.required("url")
    if httpx.URL(url).scheme not in ("http", "https"):
        raise settings.error("url", "must be an http or https URL")
    connection = Connection.read(settings, context, f"api {redact_url(url)}")
    connection.headers.update(settings.text_map("headers"))
    method = settings.choice("method", ("GET", "POST"), "GET")
    body = settings.get("body")
    records_path = settings.get("records_path") or ""
    if not isinstance(records_path, str):
        raise settings.error("records_path", "must be text (a dotted path)")
    max_pages = settings.integer("max_pages", 10_000, minimum=1)
    request = PageRequest(url, tuple(settings.text_map("params").items()))
    auth = _generic_auth(settings.section("auth"), context)
    paginator = _generic_paginator(settings.section("paging"))

    def fetch(session: HttpSession, notes: list[str]) -> Iterable[Any]:
        for page in fetch_pages(session, request, paginator, method=method, body=body,
                                records_path=records_path, max_pages=max_pages):
            yield from page

    return connection.read_all(settings, context, auth=auth, fetch=fetch)


def _generic_auth(section: Settings | None, context: ApiContext) -> httpx.Auth | None:
    if section is None:
        return None
    kind = section.choice("type", ("none", "bearer", "basic", "api_key", "oauth2"), "none")
    auth: httpx.Auth | None = None
    if kind == "bearer":
        auth = BearerAuth(section.secret("token"))
    elif kind == "basic":
        auth = BasicAuth(section.secret("username", plain_allowed=True),
                         section.secret("password"))
    elif kind == "api_key":
        auth = ApiKeyAuth(section.text("header", "X-API-Key") or "X-API-Key",
                          section.secret("key"))
    elif kind == "oauth2":
        fields: dict[str, str | Secret] = {
            "grant_type": "client_credentials",
            "client_id": section.secret("client_id", plain_allowed=True),
            "client_secret": section.secret("client_secret")}
        scope = section.text("scope")
        if scope:
            fields["scope"] = scope
        auth = TokenAuth(section.required("token_url"), fields, clock=context.clock)
    section.finish()
    return auth


def _generic_paginator(section: Settings | None) -> Paginator:
    if section is None:
        return NoPaging()
    kind = section.choice("type", ("none", "next_link", "link_header", "offset", "cursor"),
                          "none")
    paginator: Paginator
    if kind == "next_link":
        paginator = BodyLinkPaginator(section.required("path"))
    elif kind == "link_header":
        paginator = LinkHeaderPaginator()
    elif kind == "offset":
        paginator = OffsetPaginator(
            offset_param=section.text("offset_param", "offset") or "offset",
            limit_param=section.text("limit_param", "limit") or "limit",
            page_size=section.integer("page_size", 100, minimum=1),
            start=section.integer("start", 0), total_path=section.text("total_path"))
    elif kind == "cursor":
        paginator = CursorPaginator(param=section.required("param"),
                                    path=section.required("path"))
    else:
        paginator = NoPaging()
    section.finish()
    return paginator

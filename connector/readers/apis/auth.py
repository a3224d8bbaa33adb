"""Authentication for HR REST APIs, as ``httpx.Auth`` flows (sans-I/O: the client sends).

- :class:`BearerAuth` — a fixed token: ``Authorization: Bearer <token>``.
- :class:`BasicAuth` — HTTP basic (BambooHR: the API key as user name, ``x`` as password).
- :class:`ApiKeyAuth` — the key in a header whose name the API chooses (``X-API-Key`` ...).
- :class:`TokenAuth` — a token fetched from a token endpoint (OAuth2 client credentials,
  Personio's ``/v1/auth``), reused until shortly before it expires and fetched again once
  when the API answers 401.

Secrets travel as :class:`Secret`, whose ``repr`` and ``str`` never show the value, so an
auth object, a settings object or a traceback's locals cannot leak one into a log.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any

import httpx

from connector.config.model import resolve_setting
from connector.errors import SourceError
from connector.readers.apis.paging import json_path


class Secret:
    """A secret value that does not show itself: ``repr`` and ``str`` give ``***``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"


def resolve_secret(value: Any) -> str:
    """The default way a secret setting becomes its value: ``{env: NAME}`` or
    ``{file: PATH}`` (as everywhere in the configuration file); a secret written in
    the settings as plain text is refused, because configuration files get shared. A
    configured run resolves relative paths from its file's folder instead
    (``Config.secret_resolver``)."""
    return resolve_setting(value)


class BearerAuth(httpx.Auth):
    """A fixed bearer token."""

    def __init__(self, token: Secret) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(token=***)"


class BasicAuth(httpx.Auth):
    """HTTP basic authentication."""

    def __init__(self, username: Secret, password: Secret) -> None:
        self._username = username
        self._password = password

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        pair = f"{self._username.reveal()}:{self._password.reveal()}".encode()
        request.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        yield request

    def __repr__(self) -> str:
        return "BasicAuth(username=***, password=***)"


class ApiKeyAuth(httpx.Auth):
    """An API key sent in a header of the API's choosing."""

    def __init__(self, header: str, key: Secret) -> None:
        self.header = header
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self.header] = self._key.reveal()
        yield request

    def __repr__(self) -> str:
        return f"ApiKeyAuth(header={self.header!r}, key=***)"


class TokenAuth(httpx.Auth):
    """A bearer token from a token endpoint, reused until it is about to expire.

    ``fields`` are posted to ``url`` as a form (OAuth2 client credentials) or as JSON
    (Personio); the token and its lifetime in seconds are read at ``token_path`` and
    ``expires_path`` of the answer. A token is renewed ``margin`` seconds (at most a tenth
    of its lifetime) before it expires, and once when the API answers 401 with a token
    that was not fresh (revoked, or expired early); a second 401 is the API's answer.

    When the token endpoint itself refuses (401, 429 ...), that answer is handed to the
    caller as the response, so the one place that judges responses judges it too: a 429
    there is retried like any other, and a 401 is reported with the token URL.
    """

    requires_response_body = True

    def __init__(
        self,
        url: str,
        fields: Mapping[str, str | Secret],
        *,
        as_json: bool = False,
        token_path: str = "access_token",  # noqa: S107 (a JSON path, not a secret)
        expires_path: str = "expires_in",
        default_lifetime: float = 3600.0,
        margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._fields = dict(fields)
        self._as_json = as_json
        self._token_path = token_path
        self._expires_path = expires_path
        self._default_lifetime = default_lifetime
        self._margin = margin
        self._clock = clock
        self._token: Secret | None = None
        self._renew_at = 0.0
        #: How many tokens were fetched (tests check reuse).
        self.fetched = 0

    def __repr__(self) -> str:
        return f"TokenAuth(url={self.url!r}, credentials=***)"

    def _token_request(self) -> httpx.Request:
        values = {k: v.reveal() if isinstance(v, Secret) else v for k, v in self._fields.items()}
        headers = {"Accept": "application/json"}
        if self._as_json:
            return httpx.Request("POST", self.url, json=values, headers=headers)
        return httpx.Request("POST", self.url, data=values, headers=headers)

    def _accept(self, response: httpx.Response) -> bool:
        """Keep the token from a 2xx answer; False (the caller gets the answer) otherwise."""
        if not response.is_success:
            return False
        try:
            body = response.json()
        except ValueError:
            body = None
        token = json_path(body, self._token_path)
        if not isinstance(token, str) or not token:
            raise SourceError(f"the token endpoint {self.url} answered without a token "
                              f"(nothing at {self._token_path!r})")
        lifetime = json_path(body, self._expires_path)
        try:
            seconds = float(lifetime) if lifetime is not None else self._default_lifetime
        except (TypeError, ValueError):
            seconds = self._default_lifetime
        self._token = Secret(token)
        self._renew_at = self._clock() + seconds - min(self._margin, seconds / 10)
        self.fetched += 1
        return True

    def _authorize(self, request: httpx.Request) -> None:
        assert self._token is not None
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        fresh = False
        if self._token is None or self._clock() >= self._renew_at:
            if not self._accept((yield self._token_request())):
                return
            fresh = True
        self._authorize(request)
        response = yield request
        if response.status_code == 401 and not fresh:
            self._token = None
            if not self._accept((yield self._token_request())):
                return
            self._authorize(request)
            yield request

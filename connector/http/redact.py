"""What may be shown of a request: URLs without credentials, text without secrets."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote

import httpx

#: Query parameters whose values are hidden: a name containing one of these words.
SECRET_PARAMS = ("key", "token", "secret", "password", "signature", "sig", "auth", "code")


def redact_url(url: httpx.URL | str) -> str:
    """The URL for a message: no user info, secret-looking query values replaced."""
    parsed = httpx.URL(url)
    if parsed.userinfo:
        parsed = parsed.copy_with(username=None, password=None)
    query = parsed.query.decode("ascii", "replace")
    if not query:
        return str(parsed)
    parts = []
    for part in query.split("&"):
        name, equals, _ = part.partition("=")
        secret = any(word in unquote(name).lower() for word in SECRET_PARAMS)
        parts.append(f"{name}{equals}***" if secret and equals else part)
    return str(parsed.copy_with(query=None)) + "?" + "&".join(parts)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every non-empty value of ``secrets`` replaced by ``***``."""
    for value in secrets:
        if value:
            text = text.replace(value, "***")
    return text

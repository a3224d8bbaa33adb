"""The session cookie on requests and responses (signing and checking: ``auth``).

The cookie is ``HttpOnly`` (no script can read it), ``SameSite=Lax`` (never sent with
a form posted from another site; Lax rather than Strict so that following a link to an
upload from an e-mail finds the session instead of replacing it), ``Secure`` whenever
the page is served over HTTPS (directly, or behind a proxy uvicorn trusts), and expires
with the session.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from connector.config import Account
from connector.web.auth import Session, SessionCodec, password_fingerprint

COOKIE = "hrc_session"


@dataclass(frozen=True)
class Visitor:
    """Who is asking: their session (new when ``fresh``) and account, if signed in."""

    session: Session
    account: Account | None
    fresh: bool


def visitor(codec: SessionCodec, accounts: Mapping[str, Account], cookie: str | None) -> Visitor:
    """The visitor a cookie names. A session whose account is gone, or whose password has
    changed since it signed in, counts as no session."""
    session = codec.decode(cookie)
    if session is None:
        return Visitor(codec.new(), None, True)
    if session.user is None:
        return Visitor(session, None, False)
    account = accounts.get(session.user)
    if account is None or session.pwd != password_fingerprint(account.password_hash):
        return Visitor(codec.new(), None, True)
    return Visitor(session, account, False)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(response: Response, codec: SessionCodec, session: Session,
               request: Request) -> None:
    """Send ``session`` as the session cookie."""
    response.set_cookie(COOKIE, codec.encode(session), max_age=codec.lifetime, path="/",
                        httponly=True, samesite="lax", secure=_secure(request))


def clear_cookie(response: Response, request: Request) -> None:
    """Remove the session cookie (signing out)."""
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax",
                           secure=_secure(request))

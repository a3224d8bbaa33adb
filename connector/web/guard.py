"""What every request of the upload page goes through: who is asking, whether they may,
reading a posted form within a byte limit and checking its CSRF token, the security
headers (HSTS over HTTPS), and rendering a page from its template (``page``). The routes
(``app``) call these.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, cast

from starlette.datastructures import FormData, MutableHeaders
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connector.config import Account, Config
from connector.web import pages
from connector.web.auth import SessionCodec, csrf_ok, verify_password
from connector.web.limits import Limits, UploadSlots
from connector.web.session import COOKIE, Visitor, set_cookie, visitor
from connector.web.store import Upload, UploadStore
from connector.web.throttle import SignInLog, SignInThrottle
from connector.web.workflow import Refused, Workflow

FORM_LIMIT = 16 * 1024  # sign-in and button forms: a few short fields
_HEADERS = {"Content-Security-Policy": pages.CSP, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
            "Cross-Origin-Opener-Policy": "same-origin",
            "Cache-Control": "no-store"}  # pages hold HR data: keep them out of caches
#: Browsers keep to HTTPS for a year once they saw this over HTTPS (not for subdomains:
#: other services of the organisation are not ours to decide for).
HSTS = "max-age=31536000"
_FLASH_MAX = 1000  # one-time notices waiting for their page (bounded)
CSRF_REFUSAL = ("The form's security token is missing or out of date, so nothing was "
                "done. Go back, reload the page and try again.")


class _BodyTooLarge(Exception):
    pass


class SignInFirst(Exception):
    """A GET from someone not signed in: send them to the sign-in page, then back."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


@dataclass
class WebContext:
    """What every request needs: the configuration and the objects built from it."""

    config: Config
    accounts: dict[str, Account]
    sessions: SessionCodec
    throttle: SignInThrottle
    sign_ins: SignInLog
    store: UploadStore
    workflow: Workflow
    max_upload: int
    limits: Limits
    uploading: UploadSlots
    # scrypt takes tens of MiB per check: bound how many run at once.
    verifying: threading.BoundedSemaphore
    #: Origins besides the page's own that may post (the public URL behind a proxy that
    #: rewrites the Host header).
    origins: frozenset[str] = frozenset()
    #: One-time notices by session id, shown on the next page that session sees.
    flashes: OrderedDict[str, str] = field(default_factory=OrderedDict)
    _flash_lock: threading.Lock = field(default_factory=threading.Lock)

    def flash(self, sid: str, message: str) -> None:
        """Show ``message`` once, on the next page of the session ``sid``."""
        with self._flash_lock:
            self.flashes[sid] = message
            while len(self.flashes) > _FLASH_MAX:
                self.flashes.popitem(last=False)

    def take_flash(self, sid: str) -> str | None:
        """The notice waiting for ``sid``, once."""
        with self._flash_lock:
            return self.flashes.pop(sid, None)

    def check_password(self, account: Account | None, password: str) -> bool:
        """Whether ``password`` is ``account``'s; an unknown account costs the same time."""
        with self.verifying:
            if account is None:
                verify_password(password, next(iter(self.accounts.values())).password_hash)
                return False
            return verify_password(password, account.password_hash)


class SecurityHeaders:
    """Adds the security headers to every response that does not set its own, and
    ``Strict-Transport-Security`` to every response over HTTPS (served with a
    certificate, or behind a trusted proxy that says ``X-Forwarded-Proto: https``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if scope.get("scheme") == "https":
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def context(request: Request) -> WebContext:
    """The app's ``WebContext``."""
    return cast(WebContext, request.app.state.web)


def current_visitor(request: Request) -> Visitor:
    """Who is asking (signed in or not), from the session cookie."""
    ctx = context(request)
    return visitor(ctx.sessions, ctx.accounts, request.cookies.get(COOKIE))


def require(request: Request, roles: frozenset[str]) -> tuple[Visitor, Account]:
    """The signed-in account, if it has one of ``roles``; refuses otherwise."""
    seen = current_visitor(request)
    if seen.account is None:
        if request.method == "GET":
            raise SignInFirst(request.url.path)
        raise Refused(401, "Please sign in", "You are not signed in, or your session has "
                      "ended. Sign in and try again.")
    if not roles & set(seen.account.roles):
        raise Refused(403, "Not allowed", f"This needs one of the roles "
                      f"{', '.join(sorted(roles))}; your account has "
                      f"{', '.join(seen.account.roles)}.")
    return seen, seen.account


def page(request: Request, template: str, seen: Visitor, status: int = 200,
         **values: Any) -> HTMLResponse:
    """The page ``template`` (see ``pages``) for ``seen``, with the bar for who is signed
    in; it sets the cookie of a session that starts with it."""
    chrome: dict[str, Any] = {"user": None, "roles": (), "csrf": None, "flash": None}
    if seen.account is not None:
        chrome = {"user": seen.account.name, "roles": seen.account.roles,
                  "csrf": seen.session.csrf,
                  "flash": context(request).take_flash(seen.session.sid)}
    response = pages.TEMPLATES.TemplateResponse(request, template, {**chrome, **values},
                                                status_code=status)
    if seen.fresh:
        set_cookie(response, context(request).sessions, seen.session, request)
    return response


async def _limited(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _BodyTooLarge
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _BodyTooLarge
        yield chunk


async def read_form(request: Request, limit: int, *, files: int = 0) -> FormData:
    """The posted form, read through ``limit`` bytes; only this site may post."""
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin is not None and origin != own and origin not in context(request).origins:
        raise Refused(403, "Refused", "This form was sent from another site (behind a "
                      "proxy: pass the Host header on, or give serve --public-url).")
    kind = request.headers.get("content-type", "")
    stream = _limited(request, limit)
    try:
        if kind.startswith("multipart/form-data") and files:
            return await MultiPartParser(request.headers, stream, max_files=files,
                                         max_fields=8, max_part_size=8192).parse()
        if kind.startswith("application/x-www-form-urlencoded"):
            return await FormParser(request.headers, stream, max_fields=8,
                                    max_part_size=8192).parse()
    except MultiPartException as exc:
        raise Refused(400, "The form could not be read", exc.message) from None
    except ClientDisconnect:  # nobody is left to read the answer; nothing was kept
        raise Refused(400, "The form was cut off", "The browser stopped sending it. "
                      "Nothing was done.") from None
    except _BodyTooLarge:
        if not files:
            raise Refused(413, "The form is too large", "Nothing was done.") from None
        mb = context(request).config.serve.max_upload_mb
        raise Refused(413, "The file is too large",
                      f"Uploads may be at most {mb:g} MB (serve.max_upload_mb). Nothing was "
                      "kept.", back="/uploads/new") from None
    if not kind:  # no body at all: an empty form, refused for want of its token
        return FormData()
    raise Refused(415, "The form could not be read", "Send the form from the page.")


async def posted(request: Request, roles: frozenset[str], *, limit: int = FORM_LIMIT,
                 files: int = 0) -> tuple[Visitor, Account, FormData]:
    """A POST from a signed-in account with a role in ``roles`` and a valid CSRF token."""
    seen, account = require(request, roles)  # before reading any of the body
    form = await read_form(request, limit, files=files)
    token = form.get("csrf")
    if not csrf_ok(seen.session, token if isinstance(token, str) else None):
        await form.close()
        raise Refused(403, "Refused: security token", CSRF_REFUSAL)
    return seen, account, form


def find_upload(request: Request) -> Upload:
    """The upload the path names; 404 when there is none (or the id is malformed)."""
    upload = context(request).store.get(str(request.path_params["upload_id"]))
    if upload is None:
        raise Refused(404, "No such upload", "There is no upload with this address.")
    return upload


def see(path: str) -> RedirectResponse:
    """303 See Other: after a POST, the browser GETs ``path``."""
    return RedirectResponse(path, status_code=303)


_LOCAL_PATH = re.compile(r"/(?![/\\])[\w\-./?=&%~]*")


def safe_next(path: str | None) -> str:
    """Only a path on this site may follow a sign-in: ``/...``, never ``//host`` nor
    ``/\\host``, and no whitespace or control characters (browsers drop tabs in URLs,
    which would turn ``/<tab>/host`` into ``//host``)."""
    return path if path and _LOCAL_PATH.fullmatch(path) else "/"



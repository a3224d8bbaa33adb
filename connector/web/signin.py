"""Signing in and out of the upload page.

A sign-in is refused without checking the password while its account name and client
address must wait (``connector.web.throttle``: growing delays, never a lock a stranger
elsewhere can set off); a wrong password counts against that pair and that address, and
against the account's record of failed sign-ins, which its owner sees once at the next
successful sign-in. The client address is the connection's, or the one a proxy trusted
with ``--forwarded-allow-ips`` gives.
"""

from __future__ import annotations

import math

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from connector.web.auth import csrf_ok, password_fingerprint
from connector.web.guard import (
    CSRF_REFUSAL,
    FORM_LIMIT,
    context,
    current_visitor,
    page,
    posted,
    read_form,
    safe_next,
    see,
)
from connector.web.session import Visitor, clear_cookie, set_cookie
from connector.web.workflow import Refused

EVERYONE = frozenset({"uploader", "approver", "admin"})


def _login_page(request: Request, seen: Visitor, status: int = 200, *, name: str = "",
                next_path: str = "/", error: str | None = None,
                notice: str | None = None) -> Response:
    """The sign-in form; its token is the (anonymous) session's."""
    return page(request, "login.html", seen, status, token=seen.session.csrf, name=name,
                next_path=next_path, error=error, notice=notice)


async def login_form(request: Request) -> Response:
    """The sign-in page (and the anonymous session whose token its form carries)."""
    seen = current_visitor(request)
    if seen.account is not None:
        return see("/")
    notice = "You have signed out." if request.query_params.get("out") else None
    return _login_page(request, seen, notice=notice,
                       next_path=safe_next(request.query_params.get("next")))


def _seconds(wait: float) -> str:
    whole = max(1, math.ceil(wait))
    if whole < 120:
        return f"{whole} seconds"
    return f"{math.ceil(whole / 60)} minutes"


async def login(request: Request) -> Response:
    """Check a name and password; on success, a new session (never the old one's id)."""
    ctx = context(request)
    seen = current_visitor(request)
    form = await read_form(request, FORM_LIMIT)
    token = form.get("csrf")
    if seen.fresh or not csrf_ok(seen.session, token if isinstance(token, str) else None):
        raise Refused(403, "Refused: security token", CSRF_REFUSAL + " (Cookies must be "
                      "enabled for this site.)", back="/login")
    name, password = str(form.get("name") or "").strip(), str(form.get("password") or "")
    next_path = safe_next(str(form.get("next") or "/"))
    address = request.client.host if request.client else ""
    wait = ctx.throttle.wait(name, address)
    if wait:
        response = _login_page(request, seen, 429, name=name, next_path=next_path, error=(
            f"Too many failed sign-ins for this account from your address. Try again in "
            f"{_seconds(wait)}."))
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response
    account = ctx.accounts.get(name)
    if not await run_in_threadpool(ctx.check_password, account, password) or account is None:
        ctx.throttle.fail(name, address)
        if account is not None:
            await run_in_threadpool(ctx.sign_ins.failed, account.name, address)
        return _login_page(request, seen, 401, name=name, next_path=next_path,
                           error="Wrong account name or password.")
    ctx.throttle.succeed(name, address)
    notice = await run_in_threadpool(ctx.sign_ins.succeeded, account.name)
    ctx.sessions.revoke(seen.session)
    session = ctx.sessions.new(account.name, password_fingerprint(account.password_hash))
    if notice:
        ctx.flash(session.sid, notice)
    response = see(next_path)
    set_cookie(response, ctx.sessions, session, request)
    return response


async def logout(request: Request) -> Response:
    """End the session (kept revoked across restarts when sessions outlive them)."""
    seen, _, _ = await posted(request, EVERYONE)
    await run_in_threadpool(context(request).sessions.revoke, seen.session)
    response = see("/login?out=1")
    clear_cookie(response, request)
    return response

"""The HR upload page: a small server-rendered Starlette app (``hr-connector serve``).

Routes and who may use them (every other request is refused; roles come from the
configuration on every request, never from the cookie):

=======================================  ==========================================
GET  /login, POST /login                 anyone (POST needs the sign-in form's token)
POST /logout                             any signed-in account
GET  /favicon.svg, /favicon.ico          anyone: the icon
GET  /                                   uploader, approver, admin: the uploads
GET  /uploads/new, POST /uploads         uploader, admin
GET  /uploads/{id}                       uploader, approver, admin (``?action=&q=&page=``
                                         filter and page the dry run's diff)
GET  /uploads/{id}/runs/{run}            uploader, approver, admin: a run's whole report
GET  /uploads/{id}/runs/{run}/log        uploader, approver, admin: its provisioning log
GET  /uploads/{id}/result                uploader, approver, admin: the applied run
POST /uploads/{id}/review                approver, admin, or whoever uploaded it (a new
                                         dry run; "Check again" after an interrupted apply)
POST /uploads/{id}/approve               approver, admin; not their own upload unless
                                         serve.allow_self_approval is set
POST /uploads/{id}/reject                approver, admin (reject), or whoever uploaded it
                                         (withdraw)
GET  /admin                              admin
=======================================  ==========================================

Every POST must carry the session's CSRF token and, when the browser sends an Origin
header, come from this site; bodies are read through a byte limit and a deadline
(``connector.web.limits``), never buffered whole. Routes live in ``signin`` and
``views``; this module builds the app.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connector.config import Account, Config
from connector.errors import ConfigError
from connector.run.history import state_dir
from connector.run.outputs import check_folder
from connector.web import signin, views
from connector.web.approval import recover
from connector.web.auth import SessionCodec, parse_hash
from connector.web.guard import (
    SecurityHeaders,
    SignInFirst,
    WebContext,
    context,
    current_visitor,
    page,
    require,
    see,
)
from connector.web.limits import BodyDeadline, Limits, UploadSlots
from connector.web.pages import FAVICON
from connector.web.store import UploadStore
from connector.web.throttle import SignInLog, SignInThrottle
from connector.web.workflow import Refused, Workflow


def _accounts(config: Config) -> dict[str, Account]:
    accounts: dict[str, Account] = {}
    problems = []
    for account in config.serve.accounts:
        if account.name in accounts:
            problems.append(f"the account {account.name!r} is listed twice")
        if parse_hash(account.password_hash) is None:
            problems.append(f"the account {account.name!r} has a password_hash that is not "
                            "from `hr-connector serve hash-password`")
        accounts[account.name] = account
    if not accounts:
        problems.append("no accounts: add serve.accounts (see `hr-connector serve --help`)")
    if problems:
        raise ConfigError(f"{config.file}: the upload page cannot start: "
                          + "; ".join(problems))
    return accounts


def create_app(config: Config, *, state: Path | None = None, origins: Sequence[str] = (),
               limits: Limits | None = None) -> Starlette:
    """The upload page for ``config``; state (uploads, runs, sandbox, the page's own
    records in ``web/``) in ``state``, else ``paths.state``, else the default state
    directory. ``origins`` (``https://host``) may post besides the page's own.
    ``ConfigError`` when unusable. Uploads left being applied by a server that stopped
    are settled first (``approval.recover``)."""
    folder = state or config.paths.state or state_dir()
    limits = limits or Limits()
    accounts = _accounts(config)
    own = check_folder(folder / "web", "upload page's folder")
    secret = config.serve.session_secret
    store = UploadStore(folder / "uploads")
    store.remove_incoming()
    workflow = Workflow(config, folder, store)
    recover(workflow)
    ctx = WebContext(
        config=config, accounts=accounts,
        sessions=SessionCodec(secret.resolve().encode("utf-8") if secret else None,
                              revocations=own / "revoked-sessions.json"),
        throttle=SignInThrottle(), sign_ins=SignInLog(own / "sign-ins.json"),
        store=store, workflow=workflow,
        max_upload=int(config.serve.max_upload_mb * 1024 * 1024), limits=limits,
        uploading=UploadSlots(limits.uploads), verifying=threading.BoundedSemaphore(2),
        origins=frozenset(o.rstrip("/") for o in origins))
    get, post = ["GET"], ["POST"]
    routes = [
        Route("/login", signin.login_form, methods=get),
        Route("/login", signin.login, methods=post),
        Route("/logout", signin.logout, methods=post),
        Route("/favicon.svg", favicon, methods=get),
        Route("/favicon.ico", favicon, methods=get),
        Route("/", views.uploads_list, methods=get),
        Route("/uploads/new", views.upload_form, methods=get),
        Route("/uploads", views.upload_receive, methods=post),
        Route("/uploads/{upload_id}", views.upload_view, methods=get),
        Route("/uploads/{upload_id}/runs/{run_id}", views.run_report, methods=get),
        Route("/uploads/{upload_id}/runs/{run_id}/log", views.run_log, methods=get),
        Route("/uploads/{upload_id}/result", views.result_view, methods=get),
        Route("/uploads/{upload_id}/review", views.upload_review, methods=post),
        Route("/uploads/{upload_id}/approve", views.upload_approve, methods=post),
        Route("/uploads/{upload_id}/reject", views.upload_reject, methods=post),
        Route("/admin", admin, methods=get),
    ]
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        Refused: _refused, SignInFirst: _sign_in_first, HTTPException: _http_error}
    app = Starlette(routes=routes, exception_handlers=handlers, middleware=[
        Middleware(SecurityHeaders), Middleware(BodyDeadline, limits=limits)])
    app.state.web = ctx
    return app


# --- exception handlers -----------------------------------------------------------------

async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    seen = current_visitor(request)
    upload_id = request.path_params.get("upload_id")
    back = exc.back or (f"/uploads/{upload_id}" if upload_id and exc.status != 404 else None)
    response = page(request, "refusal.html", seen, exc.status, title=exc.title,
                    message=exc.message, back=back)
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInFirst)
    return see(f"/login?next={quote(exc.path)}" if exc.path != "/" else "/login")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    seen = current_visitor(request)
    return page(request, "refusal.html", seen, exc.status_code, title=f"{exc.status_code}",
                message=str(exc.detail), back=None)


# --- small pages ------------------------------------------------------------------------

async def favicon(request: Request) -> Response:
    """The page's icon (browsers ask for /favicon.ico whatever the page names)."""
    return Response(FAVICON, media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})


async def admin(request: Request) -> Response:
    """Accounts and roles (never their hashes) and the settings in force."""
    seen, _ = require(request, frozenset({"admin"}))
    ctx = context(request)
    config, flow, limits = ctx.config, ctx.workflow, ctx.limits
    settings = [("Configuration", config.file), ("State folder", flow.state),
                ("Mapping", flow.mapping.file), ("Tenant", config.entra_tenant.tenant_id
                                                 if config.entra_tenant
                                                 else "the sandbox tenant"),
                ("Self-approval", "allowed" if config.serve.allow_self_approval else "not "
                 "allowed"), ("Upload limit", f"{config.serve.max_upload_mb:g} MB"),
                ("Sessions", "end when the server restarts (no serve.session_secret)"
                 if ctx.sessions.ephemeral else "signed with serve.session_secret"),
                ("Read limits", f"headers {limits.header_seconds:g} s, forms "
                 f"{limits.body_seconds:g} s, uploads {limits.upload_seconds:g} s"),
                ("Concurrency", f"{limits.uploads} uploads, {limits.connections} "
                 "connections"),
                ("Policies", config.policies.model_dump_json())]
    accounts = [(a.name, a.roles) for a in ctx.accounts.values()]
    return page(request, "admin.html", seen, accounts=accounts, settings=settings)

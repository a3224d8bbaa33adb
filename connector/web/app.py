"""The HR upload page: a small server-rendered Starlette app (``hr-connector serve``).

Routes and who may use them (every other request is refused; roles come from the
configuration on every request, never from the cookie):

=======================================  ==========================================
GET  /login, POST /login                 anyone (POST needs the sign-in form's token)
POST /logout                             any signed-in account
GET  /                                   uploader, approver, admin: the uploads
GET  /uploads/new, POST /uploads         uploader, admin
GET  /uploads/{id}                       uploader, approver, admin
GET  /uploads/{id}/runs/{run}            uploader, approver, admin: a run's report
GET  /uploads/{id}/result                uploader, approver, admin: the applied run
POST /uploads/{id}/review                approver, admin, or whoever uploaded it
POST /uploads/{id}/approve               approver, admin; not their own upload unless
                                         serve.allow_self_approval is set
POST /uploads/{id}/reject                approver, admin, or whoever uploaded it
GET  /admin                              admin
=======================================  ==========================================

Every POST must carry the session's CSRF token and, when the browser sends an Origin
header, come from this site; bodies are read through a byte limit, never buffered whole.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from connector.config import Account, Config
from connector.errors import ConfigError, ConnectorError
from connector.report.html import CSP as REPORT_CSP
from connector.report.html import html_page
from connector.run.history import load_run, state_dir
from connector.web.auth import SessionCodec, Throttle, csrf_ok, parse_hash, password_fingerprint
from connector.web.guard import (
    CSRF_REFUSAL,
    FORM_LIMIT,
    SecurityHeaders,
    SignInFirst,
    WebContext,
    context,
    current_visitor,
    find_upload,
    page,
    posted,
    read_form,
    require,
    safe_next,
    see,
)
from connector.web.session import Visitor, clear_cookie, set_cookie
from connector.web.store import TooLarge, Upload, UploadStore, display_name
from connector.web.workflow import APPROVERS, UPLOADERS, Refused, Workflow

EVERYONE = frozenset({"uploader", "approver", "admin"})
MULTIPART_SLACK = 64 * 1024  # the upload form's other fields and part headers


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


def create_app(config: Config, *, state: Path | None = None,
               origins: Sequence[str] = ()) -> Starlette:
    """The upload page for ``config``; state (uploads, runs, sandbox) in ``state``, else
    ``paths.state``, else the default state directory. ``origins`` (``https://host``) may
    post besides the page's own. ``ConfigError`` when unusable."""
    folder = state or config.paths.state or state_dir()
    secret = config.serve.session_secret
    store = UploadStore(folder / "uploads")
    store.remove_incoming()
    ctx = WebContext(
        config=config, accounts=_accounts(config),
        sessions=SessionCodec(secret.resolve().encode("utf-8") if secret else None),
        throttle=Throttle(), store=store, workflow=Workflow(config, folder, store),
        max_upload=int(config.serve.max_upload_mb * 1024 * 1024),
        verifying=threading.BoundedSemaphore(2),
        origins=frozenset(o.rstrip("/") for o in origins))
    get, post = ["GET"], ["POST"]
    routes = [
        Route("/login", login_form, methods=get), Route("/login", login, methods=post),
        Route("/logout", logout, methods=post),
        Route("/", uploads_list, methods=get),
        Route("/uploads/new", upload_form, methods=get),
        Route("/uploads", upload_receive, methods=post),
        Route("/uploads/{upload_id}", upload_view, methods=get),
        Route("/uploads/{upload_id}/runs/{run_id}", run_report, methods=get),
        Route("/uploads/{upload_id}/result", result_view, methods=get),
        Route("/uploads/{upload_id}/review", upload_review, methods=post),
        Route("/uploads/{upload_id}/approve", upload_approve, methods=post),
        Route("/uploads/{upload_id}/reject", upload_reject, methods=post),
        Route("/admin", admin, methods=get),
    ]
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        Refused: _refused, SignInFirst: _sign_in_first, HTTPException: _http_error}
    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)],
                    exception_handlers=handlers)
    app.state.web = ctx
    return app


# --- exception handlers -----------------------------------------------------------------

async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    seen = current_visitor(request)
    upload_id = request.path_params.get("upload_id")
    back = exc.back or (f"/uploads/{upload_id}" if upload_id and exc.status != 404 else None)
    return page(request, "refusal.html", seen, exc.status, title=exc.title,
                message=exc.message, back=back)


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInFirst)
    return see(f"/login?next={quote(exc.path)}" if exc.path != "/" else "/login")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    seen = current_visitor(request)
    return page(request, "refusal.html", seen, exc.status_code, title=f"{exc.status_code}",
                message=str(exc.detail), back=None)


# --- sign-in ----------------------------------------------------------------------------

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
    key, client = name.casefold(), request.client.host if request.client else ""
    wait = max(ctx.throttle.wait(key), ctx.throttle_clients.wait(client))
    if wait:
        return _login_page(request, seen, 429, name=name, next_path=next_path, error=(
            f"Too many failed sign-ins. Try again in {int(wait // 60) + 1} minutes."))
    account = ctx.accounts.get(name)
    if not await run_in_threadpool(ctx.check_password, account, password) or account is None:
        ctx.throttle.fail(key)
        ctx.throttle_clients.fail(client)
        return _login_page(request, seen, 401, name=name, next_path=next_path,
                           error="Wrong account name or password.")
    ctx.throttle.clear(key)
    ctx.sessions.revoke(seen.session)
    session = ctx.sessions.new(account.name, password_fingerprint(account.password_hash))
    response = see(next_path)
    set_cookie(response, ctx.sessions, session, request)
    return response


async def logout(request: Request) -> Response:
    """End the session."""
    seen, _, _ = await posted(request, EVERYONE)
    context(request).sessions.revoke(seen.session)
    response = see("/login?out=1")
    clear_cookie(response, request)
    return response


# --- uploads ----------------------------------------------------------------------------

async def uploads_list(request: Request) -> Response:
    """Every upload with its status and who uploaded and approved it."""
    seen, account = require(request, EVERYONE)
    uploads = await run_in_threadpool(context(request).store.list)
    return page(request, "uploads.html", seen, uploads=uploads)


async def upload_form(request: Request) -> Response:
    """The form to upload a file."""
    seen, _ = require(request, UPLOADERS)
    ctx = context(request)
    return page(request, "upload_form.html", seen, max_mb=ctx.config.serve.max_upload_mb,
                mapping=str(ctx.workflow.mapping.file))


async def upload_receive(request: Request) -> Response:
    """Receive a file: store it under a generated name, check it, dry-run it."""
    ctx = context(request)
    _, account, form = await posted(request, UPLOADERS, files=1,
                                     limit=ctx.max_upload + MULTIPART_SLACK)
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            raise Refused(400, "No file", "Choose a CSV or XLSX file to upload.",
                          back="/uploads/new")
        try:
            staged = await run_in_threadpool(ctx.store.stage, file.file, ctx.max_upload)
        except TooLarge:
            raise Refused(413, "The file is too large", f"Uploads may be at most "
                          f"{ctx.config.serve.max_upload_mb:g} MB. Nothing was kept.",
                          back="/uploads/new") from None
        name = display_name(file.filename)
        upload = await run_in_threadpool(ctx.workflow.receive, staged, name, account.name)
    finally:
        await form.close()
    return see(f"/uploads/{upload.id}")


def _may_act(upload: Upload, account: Account) -> bool:
    return bool(APPROVERS & set(account.roles)) or upload.uploaded_by == account.name


async def upload_view(request: Request) -> Response:
    """One upload: its checks per row, its dry-run diff, approve and reject."""
    seen, account = require(request, EVERYONE)
    upload = find_upload(request)
    block = context(request).workflow.approval_block(upload, account)
    return page(
        request, "upload.html", seen, upload=upload,
        approve_block=None if block is None else block[1],
        can_reject=_may_act(upload, account) and upload.status in (
            "validated", "reviewed", "failed"),
        can_review=_may_act(upload, account) and upload.status in ("validated", "reviewed"),
        allow_absent_disables=context(request).config.policies.allow_absent_disables)


async def run_report(request: Request) -> Response:
    """The HTML report of one of this upload's runs, under the report's own strict CSP."""
    require(request, EVERYONE)
    upload = find_upload(request)
    run_id = str(request.path_params["run_id"])
    if run_id not in upload.run_ids:
        raise Refused(404, "No such run", "This upload has no run with this id.")
    report, _ = _load_run(request, run_id)
    return HTMLResponse(html_page(report), headers={
        "Content-Security-Policy": f"{REPORT_CSP}; frame-ancestors 'self'",
        "X-Frame-Options": "SAMEORIGIN"})


def _load_run(request: Request, run_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    try:
        return load_run(context(request).workflow.runs, run_id)
    except (ConfigError, OSError, ValueError):
        raise Refused(404, "Run not kept", f"The report of run {run_id} is no longer "
                      "kept (run history is pruned after retention.runs_days).") from None


async def result_view(request: Request) -> Response:
    """The applied run: its result, report and provisioning log."""
    seen, _ = require(request, EVERYONE)
    upload = find_upload(request)
    if upload.applied_run_id is None:
        raise Refused(404, "Not applied", "This upload has not been applied.")
    report, log = _load_run(request, upload.applied_run_id)
    return page(request, "result.html", seen, upload=upload, report=report, log=log)


async def upload_review(request: Request) -> Response:
    """Run the dry run again (after the tenant changed, say)."""
    _, account, _ = await posted(request, EVERYONE)
    upload = find_upload(request)
    if not _may_act(upload, account):
        raise Refused(403, "Not allowed", "Only approvers, admins and whoever uploaded the "
                      "file can run its dry run again.")
    await run_in_threadpool(context(request).workflow.review, upload.id, account.name)
    return see(f"/uploads/{upload.id}")


async def upload_approve(request: Request) -> Response:
    """Approve: apply the reviewed plan, if it is still the plan."""
    _, account, _ = await posted(request, APPROVERS)
    upload = find_upload(request)
    try:
        await run_in_threadpool(context(request).workflow.approve, upload.id, account)
    except ConnectorError as exc:
        raise Refused(502, "The run could not start", exc.detailed()) from None
    return see(f"/uploads/{upload.id}/result")


async def upload_reject(request: Request) -> Response:
    """Reject an upload (or, for whoever uploaded it, withdraw it)."""
    _, account, _ = await posted(request, EVERYONE)
    upload = find_upload(request)
    if not _may_act(upload, account):
        raise Refused(403, "Not allowed", "Only approvers, admins and whoever uploaded the "
                      "file can reject it.")
    await run_in_threadpool(context(request).workflow.reject, upload.id, account)
    return see(f"/uploads/{upload.id}")


async def admin(request: Request) -> Response:
    """Accounts and roles (never their hashes) and the settings in force."""
    seen, _ = require(request, frozenset({"admin"}))
    ctx = context(request)
    config, flow = ctx.config, ctx.workflow
    settings = [("Configuration", config.file), ("State folder", flow.state),
                ("Mapping", flow.mapping.file), ("Tenant", config.entra_tenant.tenant_id
                                                 if config.entra_tenant
                                                 else "the sandbox tenant"),
                ("Self-approval", "allowed" if config.serve.allow_self_approval else "not "
                 "allowed"), ("Upload limit", f"{config.serve.max_upload_mb:g} MB"),
                ("Sessions", "end when the server restarts (no serve.session_secret)"
                 if ctx.sessions.ephemeral else "signed with serve.session_secret"),
                ("Policies", config.policies.model_dump_json())]
    accounts = [(a.name, a.roles) for a in ctx.accounts.values()]
    return page(request, "admin.html", seen, accounts=accounts, settings=settings)

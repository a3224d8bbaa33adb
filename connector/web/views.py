"""The upload page's upload routes: the list, receiving a file, one upload (checks, dry
run, diff, apply attempts), its runs' reports and logs, review, approve, reject or
withdraw. Who may do what: ``connector.web.app``'s table."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from connector.config import Account
from connector.errors import ConnectorError
from connector.report.html import CSP as REPORT_CSP
from connector.report.html import html_page
from connector.run.trail import log_lines, run_entry
from connector.web.approval import approval_block, approve, settle, written_text
from connector.web.diff import DiffQuery, diff_view, group_changes, held_dangerous, with_groups
from connector.web.guard import context, find_upload, page, posted, require, see
from connector.web.signin import EVERYONE
from connector.web.store import TooLarge, Upload, display_name
from connector.web.workflow import APPROVERS, CLOSABLE, REVIEWABLE, UPLOADERS, Refused

MULTIPART_SLACK = 64 * 1024  # the upload form's other fields and part headers
LOG_PAGE = 200  # provisioning log lines a page


async def uploads_list(request: Request) -> Response:
    """Every upload with its status and who uploaded and approved it."""
    seen, _ = require(request, EVERYONE)
    flow = context(request).workflow
    uploads = await run_in_threadpool(lambda: [settle(flow, u) for u in flow.store.list()])
    return page(request, "uploads.html", seen, uploads=uploads)


async def upload_form(request: Request) -> Response:
    """The form to upload a file."""
    seen, _ = require(request, UPLOADERS)
    ctx = context(request)
    return page(request, "upload_form.html", seen, max_mb=ctx.config.serve.max_upload_mb,
                mapping=str(ctx.workflow.mapping.file))


async def upload_receive(request: Request) -> Response:
    """Receive a file: store it under a generated name, check it, dry-run it. At most
    ``Limits.uploads`` at once: one more is refused before its body is read."""
    ctx = context(request)
    require(request, UPLOADERS)  # strangers cannot take a slot
    if not ctx.uploading.take():
        raise Refused(503, "Too many uploads at once", f"{ctx.limits.uploads} uploads are "
                      "being received and checked right now. Try again in a minute.",
                      back="/uploads/new", retry_after=30)
    try:
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
    finally:
        ctx.uploading.give_back()
    return see(f"/uploads/{upload.id}")


def _may_act(upload: Upload, account: Account) -> bool:
    return bool(APPROVERS & set(account.roles)) or upload.uploaded_by == account.name


def _report(request: Request, run_id: str) -> dict[str, Any] | None:
    """A run's JSON report (an interrupted run's built from its log); None when pruned.
    ``run_id`` is one the upload names, never a path from the request."""
    path = context(request).workflow.runs / f"{run_id}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return run_entry(path, data) if isinstance(data, dict) else None


def _known_run(upload: Upload, run_id: str) -> str:
    if run_id not in upload.run_ids and run_id not in [a.get("run_id")
                                                        for a in upload.attempts]:
        raise Refused(404, "No such run", "This upload has no run with this id.")
    return run_id


def _not_kept(run_id: str) -> Refused:
    return Refused(404, "Run not kept", f"The report of run {run_id} is no longer kept "
                   "(run history is pruned after retention.runs_days).")


async def upload_view(request: Request) -> Response:
    """One upload: its checks per row, its dry run (counts, held disables, the diff a
    page at a time), its apply attempts, and what may be done."""
    seen, account = require(request, EVERYONE)
    flow = context(request).workflow
    upload = await run_in_threadpool(settle, flow, find_upload(request))
    block = approval_block(flow, upload, account)
    report = None
    if upload.review_run_id and upload.status != "applied":
        report = await run_in_threadpool(_report, request, upload.review_run_id)
    changes = (report or {}).get("changes") or []
    view = None if report is None else diff_view(
        with_groups(report), DiffQuery.from_params(request.query_params))
    own = upload.uploaded_by == account.name
    return page(
        request, "upload.html", seen, upload=upload, view=view,
        group_changes=group_changes(report or {}),
        held_dangerous=held_dangerous(changes) if upload.status == "reviewed" else [],
        approve_block=None if block is None else block[1],
        can_reject=_may_act(upload, account) and upload.status in CLOSABLE,
        close_label="Withdraw" if own else "Reject",
        can_review=_may_act(upload, account) and upload.status in REVIEWABLE,
        allow_absent_disables=context(request).config.policies.allow_absent_disables)


async def run_report(request: Request) -> Response:
    """The HTML report of one of this upload's runs, under the report's own strict CSP."""
    require(request, EVERYONE)
    run_id = _known_run(find_upload(request), str(request.path_params["run_id"]))
    report = await run_in_threadpool(_report, request, run_id)
    if report is None:
        raise _not_kept(run_id)
    if "changes" not in report:  # an interrupted run: its log is what there is
        return see(f"{request.url.path}/log")
    return HTMLResponse(html_page(report), headers={
        "Content-Security-Policy": f"{REPORT_CSP}; frame-ancestors 'none'"})


def _log_page(path: Path, page_number: int) -> list[dict[str, Any]]:
    """One page of a provisioning log (read line by line, never whole)."""
    start = (page_number - 1) * LOG_PAGE
    return list(itertools.islice(log_lines(path), start, start + LOG_PAGE))


async def run_log(request: Request) -> Response:
    """One of this upload's runs: its outcome and its provisioning log, a page at a time."""
    seen, _ = require(request, EVERYONE)
    upload = find_upload(request)
    run_id = _known_run(upload, str(request.path_params["run_id"]))
    report = await run_in_threadpool(_report, request, run_id)
    if report is None:
        raise _not_kept(run_id)
    wanted = request.query_params.get("page", "1")
    number = max(1, int(wanted)) if wanted.isdigit() and len(wanted) < 7 else 1
    path = context(request).workflow.runs / f"{run_id}.jsonl"
    total = await run_in_threadpool(lambda: sum(1 for _ in log_lines(path)))
    pages = max(1, math.ceil(total / LOG_PAGE))
    number = min(number, pages)
    lines = await run_in_threadpool(_log_page, path, number)
    return page(request, "log.html", seen, upload=upload, run_id=run_id, report=report,
                written=written_text(report), lines=lines, total=total, page=number,
                pages=pages, first=(number - 1) * LOG_PAGE + 1)


async def result_view(request: Request) -> Response:
    """The applied run: its result, and its changes per user with what Graph answered."""
    seen, _ = require(request, EVERYONE)
    upload = find_upload(request)
    if upload.applied_run_id is None:
        raise Refused(404, "Not applied", "This upload has not been applied.")
    report = await run_in_threadpool(_report, request, upload.applied_run_id)
    if report is None or "changes" not in report:
        raise _not_kept(upload.applied_run_id)
    path = context(request).workflow.runs / f"{upload.applied_run_id}.jsonl"
    operations = await run_in_threadpool(lambda: sum(1 for _ in log_lines(path)))
    view = diff_view(with_groups(report), DiffQuery.from_params(request.query_params))
    return page(request, "result.html", seen, upload=upload, report=report, view=view,
                operations=operations, group_changes=group_changes(report))


async def upload_review(request: Request) -> Response:
    """Run the dry run again (after the tenant changed, or an interrupted apply)."""
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
        await run_in_threadpool(approve, context(request).workflow, upload.id, account)
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

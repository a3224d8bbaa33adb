"""Approval: apply exactly the plan that was reviewed, and settle an apply that did not
finish.

**The reviewed plan and nothing else.** At approval the plan is made once, from the
stored file (its SHA-256 checked) and the tenant as it is now, and its fingerprint (the
counts and every change) compared with the reviewed dry run's. If they differ, the tenant
has moved on: approval is refused until someone reviews a new dry run. If they agree,
that very plan object is handed to ``finish_run``; nothing plans again. The check and the
apply run under the state directory's run lock, so a scheduled run cannot slip in between.

**An apply that did not finish.** Before its first write, approval records the upload as
``approved`` with the run id it is about to start; the run's trail (``run/trail.py``)
then logs every write as Graph answers. When the server starts, and whenever an upload
is shown, an ``approved`` upload that this process is not applying is settled
(``settle``): if its run finished, the upload is recorded as applied from the run's
report; otherwise it becomes ``interrupted``, with what the run's provisioning log
recorded. An interrupted upload is checked again (a new dry run, which plans from the
tenant as the interrupted run left it) and approved again; ``attempts`` and the history
keep every attempt.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from connector.config import Account
from connector.core import clock
from connector.errors import ConfigError, ConnectorError
from connector.report.sync import sync_dict
from connector.run.history import load_run, new_run_id
from connector.run.outputs import check_outputs, publish_configured, reports_folder
from connector.run.sync import finish_run, plan_sync, planned_result, start_trail
from connector.run.trail import INTERRUPTED, RUNNING
from connector.web.store import Upload, now_iso
from connector.web.workflow import APPROVERS, Refused, Workflow, plan_fingerprint

#: Who the history names for what the server did by itself.
SERVER = "hr-connector"


def approval_block(flow: Workflow, upload: Upload, account: Account) -> tuple[int, str] | None:
    """Why ``account`` may not approve ``upload`` now (HTTP status, reason); None if it may."""
    if not APPROVERS & set(account.roles):
        return 403, "Only approvers and admins can approve an upload."
    if upload.status == "interrupted":
        return 409, ("Applying this upload did not finish. Check it again (a new dry run "
                     "shows what is left to do), then approve that.")
    if upload.status != "reviewed":
        return 409, f"This upload is {upload.status}; only a reviewed upload can be approved."
    if upload.uploaded_by == account.name and not flow.config.serve.allow_self_approval:
        return 403, ("You uploaded this file, so someone else must approve it "
                     "(the configuration does not allow self-approval).")
    if upload.review_outdated:
        return 409, ("The tenant has changed since the dry run: run the dry run again "
                     "and review the new changes before approving.")
    if upload.review_stopped:
        return 409, ("The dry run was stopped by the safety checks, so it cannot be "
                     "applied: " + "; ".join(upload.review_stopped))
    if flow.config.policies.dry_run:
        return 409, ("The configuration sets policies.dry_run: uploads can be reviewed "
                     "but nothing is applied.")
    return None


def approve(flow: Workflow, upload_id: str, account: Account) -> Upload:
    """Apply a reviewed upload if the plan made now is the one reviewed (see the module
    docstring); ``Refused`` otherwise, or when applying fails."""
    with flow.exclusive():
        upload = flow.get(upload_id)
        block = approval_block(flow, upload, account)
        if block is not None:
            raise Refused(block[0], "This upload cannot be approved", block[1])
        try:
            check_outputs(state=flow.state, reports_folder=reports_folder(flow.config,
                                                                          flow.state))
        except ConnectorError as exc:
            raise Refused(500, "The run cannot write its records", exc.message) from None
        options = flow.options(dry_run=False)
        with flow.open_tenant() as tenant:
            started = clock.now()
            name = f"upload {upload.id}: {upload.original_name}"
            plan, warnings = plan_sync(flow.source(upload), flow.mapping, tenant.graph,
                                       options=options, now=started)
            check = planned_result(plan, options=dataclasses.replace(options, dry_run=True),
                                   run_id="approval-check", source=upload.original_name,
                                   mapping=flow.mapping.file, tenant=tenant.label,
                                   started=started, warnings=warnings)
            if plan_fingerprint(sync_dict(check)) != upload.review_fingerprint:
                _refuse_outdated(flow, upload_id, account)
            run_id = new_run_id(started)
            # Marked as being applied before the upload says approved: a page shown in
            # between must not take the apply for one that died.
            flow.applying.add(upload_id)
            try:
                _mark_approved(flow, upload_id, account, run_id)
                with start_trail(flow.runs, run_id=run_id, started=started, dry_run=False,
                                 source=name, mapping=flow.mapping.file,
                                 tenant=tenant.label) as trail:
                    result = finish_run(plan, tenant.graph, trail=trail, options=options,
                                        matching=flow.mapping.matching[0], warnings=warnings)
                upload = _record_finished(flow, upload_id, account.name, sync_dict(result))
            except ConnectorError as exc:
                upload = _interrupt(flow, upload_id, account.name,
                                    f"Applying failed: {exc.detailed()}")
                raise Refused(502, "Applying failed", upload.notice or "") from None
            except BaseException:
                _interrupt(flow, upload_id, account.name, "Applying stopped on an "
                           "unexpected error (see the server's log)")
                raise
            finally:
                flow.applying.discard(upload_id)
    # Like `run`: the configured reports, and history kept only as long as configured.
    try:
        publish_configured(result, flow.config, flow.state)
    except ConnectorError as exc:
        with flow.store.editing(upload_id) as upload:
            upload.notice = f"The run was applied, but its reports: {exc.message}"
            upload.event(SERVER, upload.notice)
    return upload


def _refuse_outdated(flow: Workflow, upload_id: str, account: Account) -> None:
    with flow.store.editing(upload_id) as upload:
        upload.review_outdated = True
        upload.event(account.name, "approval refused: the plan changed since the dry run")
    raise Refused(409, "The plan has changed since it was reviewed", "The tenant is no "
                  "longer as it was at the dry run, so applying now would make other "
                  "changes than the ones reviewed. Run the dry run again, review the new "
                  "changes, then approve.")


def _mark_approved(flow: Workflow, upload_id: str, account: Account, run_id: str) -> None:
    with flow.store.editing(upload_id) as upload:
        if upload.status != "reviewed":  # rejected meanwhile (no run lock for that)
            raise Refused(409, "This upload cannot be approved",
                          f"This upload is {upload.status}.")
        upload.status = "approved"
        upload.approved_by = account.name
        upload.approved_at = now_iso()
        upload.apply_run_id = run_id
        upload.notice = None
        upload.event(account.name, f"approved; applying it as run {run_id}")


def _attempt(upload: Upload, result: str, report: Mapping[str, Any] | None) -> None:
    summary = (report or {}).get("summary") or {}
    upload.attempts.append({
        "run_id": upload.apply_run_id, "approved_by": upload.approved_by,
        "approved_at": upload.approved_at, "result": result,
        "written": int(summary.get("written", 0)), "failed": int(summary.get("failed", 0))})
    if report is not None and upload.apply_run_id not in upload.run_ids:
        upload.run_ids.append(str(upload.apply_run_id))


def _record_finished(flow: Workflow, upload_id: str, who: str,
                     report: Mapping[str, Any]) -> Upload:
    """A finished apply: applied (or, stopped by a safety threshold, reviewed again)."""
    with flow.store.editing(upload_id) as upload:
        if upload.status != "approved" or upload.apply_run_id != report.get("run_id"):
            return upload  # settled already
        stopped = bool(report.get("stopped"))
        upload.status = "reviewed" if stopped else "applied"
        upload.applied_run_id = str(report["run_id"])
        upload.applied_status = str(report.get("status"))
        _attempt(upload, "stopped" if stopped else "applied", report)
        upload.event(who, f"applied as run {upload.applied_run_id}: {upload.applied_status}")
    return upload


def written_text(report: Mapping[str, Any] | None) -> str:
    """What an interrupted run's provisioning log recorded, for people."""
    if report is None:
        return "it wrote nothing (its run had not started)"
    summary = report.get("summary") or {}
    done = [f"{action} {summary[action]}" for action in
            ("create", "update", "disable", "enable", "delete", "manager")
            if summary.get(action)]
    text = f"its provisioning log recorded {summary.get('written', 0)} writes"
    if done:
        text += f" ({', '.join(done)})"
    if summary.get("failed"):
        text += f" and {summary['failed']} failed"
    return text


def _interrupt(flow: Workflow, upload_id: str, who: str, why: str) -> Upload:
    """An apply that did not finish: ``interrupted``, with what its log recorded."""
    with flow.store.editing(upload_id) as upload:
        if upload.status != "approved":
            return upload
        report = _run_report(flow, upload.apply_run_id)
        upload.status = "interrupted"
        _attempt(upload, "interrupted", report)
        upload.notice = (f"{why}. Run {upload.apply_run_id} did not finish: "
                         f"{written_text(report)}. Check the upload again: a new dry run "
                         "shows what is left to do, then it can be approved.")
        upload.event(who, f"interrupted: run {upload.apply_run_id} did not finish; "
                          f"{written_text(report)}")
    return upload


def _run_report(flow: Workflow, run_id: str | None) -> dict[str, Any] | None:
    """A run's report (an interrupted one built from its log); None when it left none."""
    if not run_id:
        return None
    try:
        report, _ = load_run(flow.runs, run_id)
    except (ConfigError, OSError, ValueError):
        return None
    return report


def settle(flow: Workflow, upload: Upload) -> Upload:
    """An ``approved`` upload this process is not applying: applied when its run finished
    (the server stopped before it recorded so), else ``interrupted``."""
    if upload.status != "approved" or upload.id in flow.applying:
        return upload
    with flow.store.editing(upload.id) as current:
        if current.status != "approved" or current.id in flow.applying:
            return current
        report = _run_report(flow, current.apply_run_id)
    status = None if report is None else report.get("status")
    if status == RUNNING:  # its log is locked: another process still applies it
        return current
    if report is not None and status != INTERRUPTED:
        return _record_finished(flow, upload.id, SERVER, report)
    return _interrupt(flow, upload.id, SERVER, "The server stopped while applying this "
                      "upload")


def recover(flow: Workflow) -> list[str]:
    """Settle every upload left ``approved`` (at start-up); returns the ids settled."""
    return [upload.id for upload in flow.store.list()
            if upload.status == "approved" and settle(flow, upload).status != "approved"]

"""The pages of one upload: its checks, its dry run and its applied result. Pure.

The diff itself is the sync report (``connector.report.html``: summary, filterable table,
old -> new per attribute), shown in a sandboxed frame from its own URL so that it keeps
its own strict Content-Security-Policy and its filter script runs in an opaque origin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connector.report.html import headline
from connector.web.pages import badge, counts, e, layout, post_button
from connector.web.store import Upload


def _meta(rows: Sequence[tuple[str, Any]]) -> str:
    return '<dl class="meta">' + "".join(
        f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in rows if v) + "</dl>"


def _problems(validation: Mapping[str, Any], *, allow_absent_disables: bool) -> str:
    problems = validation.get("problems", [])
    # What really happens to rows with errors (connector.core.plan.flawed): nothing is
    # written for them, nor for anyone they could be.
    absent = ("people missing from the file are disabled all the same (the configuration "
              "allows it)" if allow_absent_disables else
              "while a row has a blank or repeated key, nobody is disabled for being "
              "missing from the file")
    verdict = {"clean": "Every record can be used.",
               "errors": "Some records have errors: the accounts they name are left alone "
                         f"and {absent}; those changes are held back (see the dry run). "
                         "The other records can be synced.",
               "unusable": "The file cannot be used."}.get(validation.get("verdict", ""), "")
    parts = [f'<p id="verdict">{e(verdict)} {e(validation.get("records", 0))} records, '
             f'{e(validation.get("records_with_errors", 0))} with errors, '
             f'{e(validation.get("warnings", 0))} warnings.</p>']
    if problems:
        parts.append('<table id="problems"><thead><tr><th></th><th>File</th><th>Row</th>'
                     "<th>Column</th><th>Key</th><th>Problem</th></tr></thead><tbody>")
        for p in problems:
            rows = ", ".join(str(r) for r in p.get("rows", []))
            parts.append(
                f'<tr class="sev-{e(p.get("severity"))}"><td>{e(p.get("severity"))}</td>'
                f'<td>{e(p.get("file"))}</td><td>{e(p.get("row", rows))}</td>'
                f'<td>{e(p.get("column"))}</td><td>{e(p.get("key"))}</td>'
                f'<td>{e(p.get("reason"))}</td></tr>')
        parts.append("</tbody></table>")
    return "".join(parts)


def _frame(upload: Upload, run_id: str, title: str) -> str:
    src = f"/uploads/{upload.id}/runs/{run_id}"
    return (f'<p><a href="{e(src)}">Open the report on its own page</a></p>'
            f'<iframe class="report" src="{e(src)}" title="{e(title)}" '
            'sandbox="allow-scripts"></iframe>')


def _history(upload: Upload) -> str:
    rows = "".join(f"<tr><td>{e(h.get('time'))}</td><td>{e(h.get('who'))}</td>"
                   f"<td>{e(h.get('event'))}</td></tr>" for h in upload.history)
    return ('<h2>History</h2><table id="history"><thead><tr><th>Time</th><th>Who</th>'
            f"<th>What</th></tr></thead><tbody>{rows}</tbody></table>")


def upload_page(upload: Upload, *, user: str, roles: Sequence[str], csrf: str,
                approve_block: str | None, can_reject: bool, can_review: bool,
                message: str | None = None, allow_absent_disables: bool = False) -> str:
    """One upload: details, the checks per row, the dry-run diff and what may be done
    (``allow_absent_disables``: the configuration's policy of that name)."""
    uid = e(upload.id)
    parts = [f"<h1>{e(upload.original_name)} {badge(upload.status)}</h1>"]
    if message:
        parts.append(f'<div class="error" role="alert">{e(message)}</div>')
    if upload.notice:
        parts.append(f'<div class="error" id="notice">{e(upload.notice)}</div>')
    parts.append('<div class="box">' + _meta([
        ("File", e(upload.original_name)), ("Size", f"{e(upload.size)} bytes"),
        ("SHA-256", e(upload.sha256)), ("Uploaded by", e(upload.uploaded_by)),
        ("Uploaded at", e(upload.uploaded_at)), ("Status", badge(upload.status)),
        ("Dry run", e(upload.review_run_id) + (f" at {e(upload.reviewed_at)}"
                                               if upload.reviewed_at else "")),
        ("Approved by", e(upload.approved_by) + (f" at {e(upload.approved_at)}"
                                                 if upload.approved_at else "")),
        ("Rejected by", e(upload.rejected_by) + (f" at {e(upload.rejected_at)}"
                                                 if upload.rejected_at else "")),
        ("Applied run", f'<a href="/uploads/{uid}/result">{e(upload.applied_run_id)} '
                        f"({e(upload.applied_status)})</a>" if upload.applied_run_id else ""),
    ]) + "</div>")
    parts.append("<h2>Checks</h2>" + _problems(upload.validation,
                                                allow_absent_disables=allow_absent_disables))
    if upload.review_run_id:
        parts.append(f"<h2>Dry run</h2>{counts(upload.review_summary)}")
        held = upload.review_summary.get("held", 0)
        if held:
            parts.append(f'<p class="note" id="held">{e(held)} '
                         f'{"change is" if held == 1 else "changes are"} held back by rows '
                         "with errors and will not be written (the rows marked "
                         "&ldquo;held&rdquo; in the dry run). Fix those rows and upload "
                         "the file again to apply them.</p>")
        if upload.review_stopped:
            parts.append('<div class="error" id="stopped"><strong>Stopped by the safety '
                         "checks: this plan cannot be applied.</strong><ul>"
                         + "".join(f"<li>{e(r)}</li>" for r in upload.review_stopped)
                         + "</ul></div>")
        if upload.review_outdated:
            parts.append('<div class="error" id="outdated">The tenant has changed since '
                         "this dry run. Run the dry run again and review the new changes "
                         "before approving.</div>")
        if upload.status != "applied":
            parts.append(_frame(upload, upload.review_run_id, "Dry-run report"))
    buttons = []
    if approve_block is None:
        writes = sum(upload.review_summary.get(a, 0) for a in
                     ("create", "update", "disable", "enable", "delete", "manager"))
        buttons.append(post_button(f"/uploads/{upload.id}/approve",
                                   f"Approve and apply {writes} changes", csrf))
    if can_review:
        buttons.append(post_button(f"/uploads/{upload.id}/review", "Run the dry run again",
                                   csrf, css="secondary"))
    if can_reject:
        buttons.append(post_button(f"/uploads/{upload.id}/reject", "Reject", csrf,
                                   css="danger"))
    if buttons:
        parts.append('<div class="actions">' + "".join(buttons) + "</div>")
    if approve_block is not None and upload.status == "reviewed":
        parts.append(f'<p class="note" id="why-not">Approval: {e(approve_block)}</p>')
    parts.append(_history(upload))
    return layout(upload.original_name, "".join(parts), user=user, roles=roles, csrf=csrf)


def result_page(upload: Upload, report: Mapping[str, Any], log: Sequence[Mapping[str, Any]],
                *, user: str, roles: Sequence[str], csrf: str) -> str:
    """The applied run of an upload: its outcome, report and provisioning log."""
    run_id = str(report.get("run_id", ""))
    parts = [f"<h1>Applied: {e(upload.original_name)} {badge(str(report.get('status')))}"
             f'</h1><p id="headline"><strong>{e(headline(report))}</strong></p>',
             '<div class="box">' + _meta([
                 ("Run", e(run_id)), ("Uploaded by", e(upload.uploaded_by)),
                 ("Approved by", e(upload.approved_by)), ("Approved at",
                                                          e(upload.approved_at)),
                 ("Tenant", e(report.get("tenant"))), ("Started", e(report.get("started"))),
                 ("Finished", e(report.get("finished")))]) + "</div>",
             counts(dict(report.get("summary", {})),
                    ("create", "update", "disable", "enable", "delete", "manager",
                     "unchanged", "skipped", "error", "held", "written", "failed")),
             f'<p><a href="/uploads/{e(upload.id)}">Back to the upload</a></p>',
             _frame(upload, run_id, "Report of the applied run"),
             f"<h2>Provisioning log ({len(log)} operations)</h2>"]
    if log:
        parts.append('<table id="log"><thead><tr><th>Time</th><th>Action</th>'
                      "<th>Employee</th><th>UPN</th><th>Attributes</th><th>Outcome</th>"
                      "<th>Request id</th></tr></thead><tbody>")
        for line in log:
            outcome = str(line.get("outcome") or "")
            if line.get("error"):
                outcome += f": {line.get('error_code') or ''} {line['error']}"
            parts.append(
                f"<tr><td>{e(line.get('time'))}</td><td>{e(line.get('action'))}</td>"
                f"<td>{e(line.get('employee_id'))}</td><td>{e(line.get('upn'))}</td>"
                f"<td>{e(', '.join(line.get('attributes') or []))}</td><td>{e(outcome)}</td>"
                f"<td>{e(line.get('request_id'))}</td></tr>")
        parts.append("</tbody></table>")
    return layout(f"Applied: {upload.original_name}", "".join(parts), user=user, roles=roles,
                  csrf=csrf)

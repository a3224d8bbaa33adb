"""The upload page's HTML: plain functions returning whole pages. Pure.

Every value that is not a literal of this module goes through ``e()`` (``html.escape``
with quotes), HR data and names of uploaded files above all. The pages run no script: the
Content-Security-Policy (``CSP``) allows only this module's inline style, by hash, and
frames from this site (the dry-run report, served with its own stricter policy). Forms
all carry the session's CSRF token (``csrf_field``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from connector.web.store import Upload

CSS = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1d2330;background:#f6f7f9}
header.top{background:#1d2f4f;color:#fff;padding:8px 20px;display:flex;gap:18px;
align-items:center;flex-wrap:wrap}
header.top a{color:#fff}header.top .who{margin-left:auto}
header.top form{display:inline}
main{max-width:1200px;margin:0 auto;padding:18px 20px}
h1{font-size:22px;margin:4px 0 12px}h2{font-size:17px;margin:22px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #d8dde6;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#eceff4}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;
font-weight:600;text-transform:uppercase;background:#e4e7ec}
.st-applied{background:#d7f5df;color:#125c2b}.st-reviewed{background:#dbe8ff;color:#173f86}
.st-failed,.st-rejected{background:#fbd5d5;color:#8a1212}
.st-approved,.st-validated{background:#fff1c7;color:#6b4d00}
.box{background:#fff;border:1px solid #d8dde6;border-radius:8px;padding:14px 18px;
margin:12px 0}
.error{border:2px solid #c01818;background:#fff0f0;border-radius:8px;padding:10px 16px;
margin:12px 0}
.ok{border:2px solid #1f9d55;background:#effbf3;border-radius:8px;padding:10px 16px;
margin:12px 0}
.note{color:#5d6778}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}
dl.meta dt{font-weight:600}dl.meta dd{margin:0;word-break:break-all}
label{display:block;margin:10px 0 4px;font-weight:600}
input[type=text],input[type=password]{padding:6px 8px;width:100%;max-width:360px;
border:1px solid #b8c0cc;border-radius:4px;font:inherit}
button{font:inherit;padding:6px 14px;border-radius:4px;border:1px solid #1d2f4f;
background:#1d2f4f;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#1d2f4f}button.danger{background:#a01010;
border-color:#a01010}
header.top button{background:transparent;border-color:#fff;padding:2px 10px}
.actions{display:flex;gap:12px;flex-wrap:wrap;align-items:center;margin:12px 0}
.actions form{margin:0}
.counts{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.counts span{background:#fff;border:1px solid #d8dde6;border-radius:6px;padding:4px 10px}
.counts span.zero{opacity:.5}
iframe.report{width:100%;height:75vh;border:1px solid #d8dde6;border-radius:6px;
background:#fff}
"""


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


#: No script at all; only this style; frames and forms only to this site; never framed.
CSP = (f"default-src 'none'; style-src '{_sha256(CSS)}'; img-src 'self'; "
       "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")

ACTIONS = ("create", "update", "disable", "enable", "delete", "manager", "unchanged",
           "skipped", "error", "held")


def e(value: Any) -> str:
    """``value`` as text safe in HTML content and in quoted attributes."""
    return escape("" if value is None else str(value), quote=True)


def csrf_field(token: str) -> str:
    """The hidden field every form carries."""
    return f'<input type="hidden" name="csrf" value="{e(token)}">'


def post_button(action: str, label: str, csrf: str, *, css: str = "") -> str:
    """A one-button form that POSTs to ``action``."""
    cls = f' class="{e(css)}"' if css else ""
    return (f'<form method="post" action="{e(action)}">{csrf_field(csrf)}'
            f"<button{cls}>{e(label)}</button></form>")


def badge(status: str) -> str:
    """A status as a coloured label."""
    return f'<span class="badge st-{e(status)}">{e(status)}</span>'


def layout(title: str, body: str, *, user: str | None = None, roles: Sequence[str] = (),
           csrf: str | None = None) -> str:
    """A whole page: the bar (links by role, who is signed in, sign out) and ``body``."""
    bar = ['<header class="top"><strong>HR upload</strong>']
    if user is not None and csrf is not None:
        bar.append('<a href="/">Uploads</a>')
        if {"uploader", "admin"} & set(roles):
            bar.append('<a href="/uploads/new">New upload</a>')
        if "admin" in roles:
            bar.append('<a href="/admin">Accounts</a>')
        bar.append(f'<span class="who">{e(user)} ({e(", ".join(roles))})</span>')
        bar.append(post_button("/logout", "Sign out", csrf))
    bar.append("</header>")
    return ("<!DOCTYPE html>\n"
            f'<html lang="en"><head><meta charset="utf-8"><title>{e(title)} · HR upload'
            '</title><meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<style>{CSS}</style></head><body>{"".join(bar)}<main>{body}</main>'
            "</body></html>\n")


def login_page(csrf: str, *, error: str | None = None, notice: str | None = None,
               next_path: str = "/", name: str = "") -> str:
    """The sign-in form."""
    parts = ["<h1>Sign in</h1>"]
    if error:
        parts.append(f'<div class="error" role="alert">{e(error)}</div>')
    if notice:
        parts.append(f'<div class="ok">{e(notice)}</div>')
    parts.append(
        f'<form method="post" action="/login" class="box">{csrf_field(csrf)}'
        f'<input type="hidden" name="next" value="{e(next_path)}">'
        f'<label for="name">Account</label><input type="text" id="name" name="name" '
        f'value="{e(name)}" autocomplete="username" required autofocus>'
        '<label for="password">Password</label><input type="password" id="password" '
        'name="password" autocomplete="current-password" required>'
        '<div class="actions"><button>Sign in</button></div></form>')
    return layout("Sign in", "".join(parts))


def refusal_page(title: str, message: str, *, user: str | None = None,
                 roles: Sequence[str] = (), csrf: str | None = None,
                 back: str | None = None) -> str:
    """A refusal (403, 404, 409, 413 ...) that says why and what to do."""
    link = f'<p><a href="{e(back)}">Back</a></p>' if back else '<p><a href="/">Uploads</a></p>'
    body = (f'<h1>{e(title)}</h1><div class="error" role="alert">{e(message)}</div>{link}')
    return layout(title, body, user=user, roles=roles, csrf=csrf)


def counts(summary: dict[str, int], names: Iterable[str] = ACTIONS) -> str:
    """Counts per action as small tiles."""
    return '<div class="counts">' + "".join(
        f'<span class="{"zero" if not summary.get(n) else ""}">{e(n)} '
        f"<b>{e(summary.get(n, 0))}</b></span>" for n in names) + "</div>"


def uploads_page(uploads: Sequence[Upload], *, user: str, roles: Sequence[str],
                 csrf: str) -> str:
    """Every upload, newest first: who uploaded it, when, its status, who approved it."""
    parts = ["<h1>Uploads</h1>"]
    if {"uploader", "admin"} & set(roles):
        parts.append('<p><a href="/uploads/new">Upload an HR export</a></p>')
    if not uploads:
        parts.append("<p>No uploads yet.</p>")
    else:
        parts.append('<table id="uploads"><thead><tr><th>Uploaded</th><th>File</th>'
                     "<th>By</th><th>Status</th><th>Changes (dry run)</th>"
                     "<th>Approved by</th><th>Result</th></tr></thead><tbody>")
        for up in uploads:
            changes = ", ".join(f"{n} {up.review_summary[n]}" for n in ACTIONS[:6]
                                if up.review_summary.get(n))
            approved = (f"{e(up.approved_by)}<br><span class=note>{e(up.approved_at)}</span>"
                        if up.approved_by else
                        f"rejected by {e(up.rejected_by)}" if up.rejected_by else "")
            result = (f'<a href="/uploads/{e(up.id)}/result">{e(up.applied_status)}</a>'
                      if up.applied_run_id else "")
            parts.append(
                f'<tr data-id="{e(up.id)}"><td>{e(up.uploaded_at)}</td>'
                f'<td><a href="/uploads/{e(up.id)}">{e(up.original_name)}</a></td>'
                f"<td>{e(up.uploaded_by)}</td><td>{badge(up.status)}</td>"
                f"<td>{e(changes or ('none' if up.review_run_id else ''))}</td>"
                f"<td>{approved}</td><td>{result}</td></tr>")
        parts.append("</tbody></table>")
    return layout("Uploads", "".join(parts), user=user, roles=roles, csrf=csrf)


def upload_form_page(*, user: str, roles: Sequence[str], csrf: str, max_mb: float,
                     mapping: str) -> str:
    """The form to upload an HR export."""
    body = (
        "<h1>Upload an HR export</h1>"
        f'<form method="post" action="/uploads" enctype="multipart/form-data" class="box">'
        f'{csrf_field(csrf)}<label for="file">CSV or Excel workbook (.xlsx), at most '
        f'{e(f"{max_mb:g}")} MB</label><input type="file" id="file" name="file" required '
        'accept=".csv,.txt,.tsv,.xlsx,.xlsm,text/csv,application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet"><p class="note">The file is checked against '
        f"the mapping {e(mapping)}, then a dry run shows every change it would make. "
        "Nothing is written to the directory until an approver approves it.</p>"
        '<div class="actions"><button>Upload and check</button></div></form>')
    return layout("New upload", body, user=user, roles=roles, csrf=csrf)


def admin_page(accounts: Sequence[tuple[str, Sequence[str]]], settings: Sequence[
        tuple[str, Any]], *, user: str, roles: Sequence[str], csrf: str) -> str:
    """Accounts (names and roles, never hashes) and the settings the page runs with."""
    rows = "".join(f"<tr><td>{e(name)}</td><td>{e(', '.join(r))}</td></tr>"
                   for name, r in accounts)
    meta = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in settings)
    body = ("<h1>Accounts and settings</h1><p class=note>Accounts come from the "
            "configuration file (serve.accounts); edit it and restart to change them.</p>"
            f"<table><thead><tr><th>Account</th><th>Roles</th></tr></thead><tbody>{rows}"
            f'</tbody></table><h2>Settings</h2><dl class="meta box">{meta}</dl>')
    return layout("Accounts", body, user=user, roles=roles, csrf=csrf)

"""The sync report as one self-contained HTML page, rendered from the JSON report. Pure.

``connector.report.sync`` builds the report dict (the JSON contract) and every format is
rendered from it, so the page can never show something the JSON does not say. This
module holds the page and the small text helpers the other formats share; it imports
nothing from ``report.sync``, so the two never import each other.

The page is the Jinja2 template ``templates/report.html``, rendered with autoescape: every
value is escaped unless it is ``Markup`` (only the page's own CSS, JS and the template's
macros are). The page loads nothing: CSS and JS (``templates/report.css``, ``report.js``)
are inline, and a Content-Security-Policy allows only that exact script and style (by
hash), so even a value that slipped through escaping could neither run a script nor fetch
anything. The page works without JS (everything shown, filters hidden).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from connector.core.plan.group_model import GROUP_LABELS

#: The order and label of the summary tiles (the plan's actions, then failed writes).
TILES: tuple[tuple[str, str], ...] = (
    ("create", "Create"), ("update", "Update"), ("disable", "Disable"), ("enable", "Enable"),
    ("delete", "Delete"), ("manager", "Manager"), ("unchanged", "Unchanged"),
    ("skipped", "Skipped"), ("error", "Error"), ("held", "Held"), ("failed", "Failed writes"))


def value_text(value: Any) -> str:
    """A JSON value as a person reads it: lists joined with ``; ``, booleans True/False,
    null empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list | tuple):
        return "; ".join(value_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def plural(count: int, word: str) -> str:
    """``1 write``, ``2 writes``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def headline(report: Mapping[str, Any]) -> str:
    """One line saying what the run did: dry run, stopped, or applied and how it went
    (group writes counted with the user writes, then named)."""
    section = report.get("groups") or {}
    groups = section.get("summary")
    summary = dict(report["summary"])
    if groups:
        summary["written"] += groups["written"]
        summary["failed"] += groups["failed"]
    # Reports written before held changes existed have no such count.
    held = f"{plural(summary.get('held', 0), 'change')} held back by rows with errors"
    if report["dry_run"]:
        if report["stopped"]:
            return "Dry run, STOPPED by the safety checks: a real run would write nothing"
        return "Dry run: nothing was written" + (f"; {held}" if summary.get("held") else "")
    if report["stopped"]:
        return "STOPPED by the safety checks: nothing was written"
    if report["status"] == "failed":
        return f"Applied: every write failed ({summary['failed']})"
    if not summary["written"] and not summary["failed"]:
        parts = ["Applied: nothing to change"]
    else:
        parts = [f"Applied: {plural(summary['written'], 'write')} succeeded"]
    if summary["failed"]:
        parts.append(f"{summary['failed']} failed")
    if summary["error"]:
        parts.append(f"{plural(summary['error'], 'record')} in error")
    if summary.get("held"):
        parts.append(held)
    if groups and groups["written"]:
        written = Counter(item["action"] for item in section["changes"]
                          if item["outcome"] is not None and item["outcome"]["ok"])
        done = [f"{plural(written[name], noun)} {verb}" for name, noun, verb in
                (("create", "group", "created"), ("add", "member", "added"),
                 ("remove", "member", "removed"), ("update", "group", "renamed"),
                 ("delete", "group", "deleted")) if written[name]]
        parts.append(f"groups: {', '.join(done)}")
    return ", ".join(parts)


def row_outcome(item: Mapping[str, Any], note: str | None, writes: Collection[str]) -> str:
    """How a change went, for the CSV and the workbook: held ones say so first, then the
    run's ``note`` (a dry or stopped run), a write never sent ``not written``, else its
    outcome. ``writes``: the actions that are writes (users' or groups')."""
    if item["action"] == "held":  # held whatever the run: it says so first
        return f"held; {note}" if note is not None else "held, not written"
    if note is not None:
        return note
    if item["outcome"] is None and item["action"] in writes:
        return "not written"
    return outcome_text(item["outcome"])


def outcome_text(outcome: Mapping[str, Any] | None) -> str:
    """``ok``, or ``failed: why (HTTP 400, code X, request-id Y)``; empty when not written."""
    if outcome is None:
        return ""
    entra = outcome.get("entra")
    if entra:  # a SCIM run: what Entra's provisioning engine did, from its logs
        return entra_text(entra)
    if outcome["ok"]:
        return "ok"
    extras = ", ".join(f"{label} {outcome[name]}" for name, label in
                       (("status", "HTTP"), ("code", "code"), ("requestId", "request-id"))
                       if outcome[name] is not None)
    reason = outcome["error"] or "no reason given"
    return f"failed: {reason} ({extras})" if extras else f"failed: {reason}"


def entra_text(entra: Mapping[str, Any]) -> str:
    """``Entra: create, success`` or ``Entra: update, failure: why (code X)``; pending
    records say so (the outcome is not in the provisioning logs yet)."""
    if entra.get("status") == "pending":
        return "sent; Entra's outcome pending (runs show RUN --refresh)"
    text = f"Entra: {entra.get('action') or 'other'}, {entra.get('status')}"
    if entra.get("reason") or entra.get("code"):
        text += f": {entra.get('reason') or ''}".rstrip()
        if entra.get("code"):
            text += f" (code {entra['code']})"
    return text


def problem_where(problem: Mapping[str, Any]) -> str:
    """``file, row N, column 'X', key K`` for a problem dict, as far as it is known."""
    parts = [str(problem["file"])] if "file" in problem else []
    if "row" in problem:
        parts.append(f"row {problem['row']}")
    if "column" in problem:
        parts.append(f"column {problem['column']!r}")
    if "key" in problem:
        parts.append(f"key {problem['key']}")
    return ", ".join(parts)


def as_html(value: Any) -> str:
    """How a template shows a value (Jinja's ``finalize``, before autoescape): text as
    ``value_text`` says, ``Markup`` as it is. Text with quotes is escaped here with
    ``html.escape`` (``&#x27;``, ``&quot;``, as the pages have always had; markupsafe would
    write ``&#39;``, ``&#34;``); other text is left to autoescape, which escapes ``&<>``
    exactly as ``html.escape`` does, and faster."""
    if isinstance(value, Markup):
        return value
    text = value if type(value) is str else value_text(value)
    if "'" in text or '"' in text:
        return Markup(html.escape(text, quote=True))  # noqa: S704 (escaped here)
    return text


def template_environment(package: str) -> jinja2.Environment:
    """A Jinja2 environment for the templates in ``package``'s ``templates`` folder:
    autoescape on, every value shown through ``as_html``, undefined names an error, and
    block tags on lines of their own leave no blank lines."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"), autoescape=True,
        finalize=as_html, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True, keep_trailing_newline=True)


def template_text(package: str, name: str) -> str:
    """A file of ``package``'s ``templates`` folder, as text (the CSS and JS pages inline
    and hash for their Content-Security-Policy)."""
    return resources.files(package).joinpath("templates", name).read_text(encoding="utf-8")


def sha256_source(text: str) -> str:
    """A CSP source allowing exactly ``text`` as an inline script or style."""
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


# Each on lines of its own between the tags: the text the CSP hashes starts and ends
# with a newline. The script reveals the filters (action checkboxes, a text search).
_CSS = "\n" + template_text(__package__, "report.css")
_JS = "\n" + template_text(__package__, "report.js")

#: Only our own script and style may run; nothing may load (no network, no frames).
CSP = (f"default-src 'none'; script-src '{sha256_source(_JS)}'; "
       f"style-src '{sha256_source(_CSS)}'; img-src data:; base-uri 'none'; "
       "form-action 'none'")

_META = (("Run", "run_id"), ("Source", "source"), ("Mapping", "mapping"),
         ("Tenant", "tenant"), ("Started", "started"), ("Finished", "finished"),
         ("Records", "records"), ("Managed users", "managed"))


def _action_counts(changes: Sequence[Mapping[str, Any]]) -> list[tuple[str, int]]:
    """Each action of ``changes`` in order of first appearance, with its count."""
    return list(Counter(item["action"] for item in changes).items())


#: The group summary's tiles, and the colour class each group action borrows.
GROUP_TILES: tuple[tuple[str, str], ...] = (
    ("create", "Groups created"), ("update", "Groups renamed"), ("add", "Members added"),
    ("remove", "Members removed"), ("delete", "Groups deleted"), ("kept", "Groups kept"),
    ("held", "Held"), ("error", "Group errors"), ("failed", "Failed writes"))
_GROUP_CLASS = {"create": "a-create", "update": "a-update", "add": "a-create",
                "remove": "a-disable", "delete": "a-delete", "kept": "", "held": "a-held",
                "error": "a-error", "failed": "a-failed"}

#: Values shown as "(empty)": what Graph holds as no value.
_EMPTY: tuple[Any, ...] = (None, "", [])


@functools.cache
def _template() -> jinja2.Template:
    return template_environment(__package__).get_template("report.html")


def html_page(report: Mapping[str, Any]) -> str:
    """The page for a report dict (``report.sync.sync_dict``); see the module docstring."""
    return _template().render(
        report=report, meta=_META, tiles=TILES, csp=CSP,
        css=Markup(_CSS), js=Markup(_JS),  # noqa: S704 (ours, hashed in the CSP)
        headline=headline, outcome_text=outcome_text, problem_where=problem_where,
        action_counts=_action_counts, empty=_EMPTY, group_tiles=GROUP_TILES,
        group_class=_GROUP_CLASS, group_labels=GROUP_LABELS)

"""The sync report as one self-contained HTML page, rendered from the JSON report. Pure.

``connector.report.sync`` builds the report dict (the JSON contract) and every format is
rendered from it, so the page can never show something the JSON does not say. This
module holds the page and the small text helpers the other formats share; it imports
nothing from ``report.sync``, so the two never import each other.

The page loads nothing: CSS and JS are inline, and a Content-Security-Policy allows only
that exact script and style (by hash), so even a value that slipped through escaping
could neither run a script nor fetch anything. Every HR value goes through
``html.escape``; the page works without JS (everything shown, filters hidden).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

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
    """One line saying what the run did: dry run, stopped, or applied and how it went."""
    summary = report["summary"]
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
    return ", ".join(parts)


def outcome_text(outcome: Mapping[str, Any] | None) -> str:
    """``ok``, or ``failed: why (HTTP 400, code X, request-id Y)``; empty when not written."""
    if outcome is None:
        return ""
    if outcome["ok"]:
        return "ok"
    extras = ", ".join(f"{label} {outcome[name]}" for name, label in
                       (("status", "HTTP"), ("code", "code"), ("requestId", "request-id"))
                       if outcome[name] is not None)
    reason = outcome["error"] or "no reason given"
    return f"failed: {reason} ({extras})" if extras else f"failed: {reason}"


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


_CSS = """
:root{--fg:#1d2330;--muted:#5d6778;--line:#d8dde6;--bg:#f6f7f9;--card:#fff}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg)}
main{max-width:1200px;margin:0 auto;padding:20px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}
.headline{font-size:16px;font-weight:600;margin:6px 0 10px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;
font-weight:600;text-transform:uppercase;vertical-align:middle;background:#e4e7ec}
.s-ok{background:#d7f5df;color:#125c2b}.s-partial{background:#fff1c7;color:#6b4d00}
.s-failed,.s-stopped{background:#fbd5d5;color:#8a1212}.s-dry-run{background:#dbe8ff;color:#173f86}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0;
color:var(--muted)}dl.meta dt{font-weight:600}dl.meta dd{margin:0;word-break:break-all}
.stopped{border:3px solid #c01818;background:#fff0f0;border-radius:8px;padding:10px 16px;
margin:14px 0}.stopped h2{margin:0 0 4px;color:#a01010}
.dry{border:2px dashed #3b6fd1;background:#eef4ff;border-radius:8px;padding:8px 14px;
margin:14px 0;font-weight:600}
.tiles{display:flex;flex-wrap:wrap;gap:8px;margin:14px 0}
.tile{background:var(--card);border:1px solid var(--line);border-left:5px solid #98a2b3;
border-radius:6px;padding:6px 12px;min-width:104px}
.tile b{display:block;font-size:22px}.tile span{color:var(--muted);font-size:12px}
.tile.zero{opacity:.55}
.a-create{border-left-color:#1f9d55}.a-update{border-left-color:#2f6fdb}
.a-disable{border-left-color:#e07b00}.a-enable{border-left-color:#0f9aa0}
.a-delete,.a-error,.a-failed{border-left-color:#c81e1e}.a-manager{border-left-color:#7c4dce}
.a-held{border-left-color:#d4a100}
#filters{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center;margin:8px 0}
#filters[hidden]{display:none}
#filters input[type=search]{padding:4px 8px;min-width:260px;border:1px solid var(--line);
border-radius:4px}#shown{color:var(--muted)}
table{border-collapse:collapse;width:100%;background:var(--card)}
th,td{border:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:#eceff4;font-weight:600}
tbody tr{border-left:5px solid #98a2b3}
td.k{white-space:nowrap;font-family:ui-monospace,Consolas,monospace}
.upn{word-break:break-all}
ul.attrs{list-style:none;margin:0;padding:0}ul.attrs li{margin:1px 0}
.name{font-family:ui-monospace,Consolas,monospace;color:var(--muted)}
del,ins,.v{white-space:pre-wrap;word-break:break-word}
del{background:#fde4e4;color:#8a1212;text-decoration:line-through}
ins{background:#dcf5e3;color:#0f5a27;text-decoration:none;font-weight:600}
.empty{font-style:italic;opacity:.75}.arrow{color:var(--muted)}
.fail{color:#a01010;font-weight:600}.ok{color:#137333}.note{color:var(--muted)}
footer{margin:28px 0 8px;color:var(--muted);font-size:12px}
@media print{body{background:#fff;font-size:10pt}main{max-width:none;padding:0}
#filters{display:none!important}tr{break-inside:avoid}thead{display:table-header-group}
.tile,.stopped,.dry{break-inside:avoid}del,ins{-webkit-print-color-adjust:exact;
print-color-adjust:exact}}
"""

# The filters: action checkboxes and a text search over each row's text; JS reveals them.
_JS = """
(() => {
  const form = document.getElementById("filters");
  if (!form) return;
  const rows = [...document.querySelectorAll("#changes tbody tr")];
  const boxes = [...form.querySelectorAll("input[type=checkbox]")];
  const search = document.getElementById("search");
  const shown = document.getElementById("shown");
  const apply = () => {
    const wanted = new Set(boxes.filter((b) => b.checked).map((b) => b.value));
    const query = search.value.trim().toLowerCase();
    let count = 0;
    for (const row of rows) {
      const match = wanted.has(row.dataset.action) &&
        (!query || row.textContent.toLowerCase().includes(query));
      row.hidden = !match;
      if (match) count += 1;
    }
    shown.textContent = `${count} of ${rows.length} shown`;
  };
  form.addEventListener("input", apply);
  form.addEventListener("submit", (event) => event.preventDefault());
  form.hidden = false;
  apply();
})();
"""


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


#: Only our own script and style may run; nothing may load (no network, no frames).
CSP = (f"default-src 'none'; script-src '{_sha256(_JS)}'; style-src '{_sha256(_CSS)}'; "
       "img-src data:; base-uri 'none'; form-action 'none'")


def _e(value: Any) -> str:
    # Every value, ours or HR's, is escaped with quotes too, so it is safe in attributes.
    return escape(value_text(value), quote=True)


def _value(value: Any, tag: str) -> str:
    if value is None or value == [] or value == "":
        return f'<{tag} class="empty">(empty)</{tag}>'
    return f"<{tag}>{_e(value)}</{tag}>"


def _attributes(item: Mapping[str, Any]) -> str:
    if not item["attributes"]:
        return ""
    lines = []
    for name, change in item["attributes"].items():
        if item["action"] == "create":  # nothing to strike out: the user is new
            diff = _value(change["new"], "ins")
        else:
            diff = f'{_value(change["old"], "del")} <span class="arrow">→</span> ' \
                   f'{_value(change["new"], "ins")}'
        lines.append(f'<li><span class="name">{_e(name)}</span> {diff}</li>')
    return f'<ul class="attrs">{"".join(lines)}</ul>'


def _note(item: Mapping[str, Any]) -> str:
    parts = []
    if item["reason"]:
        parts.append(f'<div class="note v">{_e(item["reason"])}</div>')
    outcome = item.get("outcome")
    if outcome is not None:
        css = "ok" if outcome["ok"] else "fail"
        parts.append(f'<div class="{css}">{_e(outcome_text(outcome))}</div>')
    return "".join(parts)


def _changes(changes: Sequence[Mapping[str, Any]]) -> list[str]:
    if not changes:
        return ["<p>No changes to list.</p>"]
    actions = list(dict.fromkeys(item["action"] for item in changes))
    boxes = "".join(
        f'<label><input type="checkbox" value="{_e(a)}" checked> {_e(a)} '
        f'({sum(1 for i in changes if i["action"] == a)})</label>' for a in actions)
    out = [f'<form id="filters" hidden>{boxes}'
           '<input type="search" id="search" placeholder="Search key, UPN, values…" '
           'aria-label="Search the changes"><span id="shown"></span></form>',
           '<table id="changes"><thead><tr><th>Action</th><th>Key</th><th>UPN</th>'
           '<th>Row</th><th>Changes (old → new)</th><th>Reason / outcome</th></tr></thead>'
           "<tbody>"]
    for item in changes:
        out.append(
            f'<tr class="a-{_e(item["action"])}" data-action="{_e(item["action"])}">'
            f'<td>{_e(item["action"])}</td><td class="k">{_e(item["employeeId"])}</td>'
            f'<td class="upn">{_e(item["userPrincipalName"])}</td><td>{_e(item["row"])}</td>'
            f"<td>{_attributes(item)}</td><td>{_note(item)}</td></tr>")
    out.append("</tbody></table>")
    return out


def _problems(title: str, problems: Sequence[Mapping[str, Any]]) -> list[str]:
    out = [f"<h2>{_e(title)} ({len(problems)})</h2>"]
    if not problems:
        return [*out, "<p>None.</p>"]
    out.append("<table><thead><tr><th>Where</th><th>Problem</th></tr></thead><tbody>")
    out.extend(f'<tr><td>{_e(problem_where(p))}</td><td class="v">{_e(p["reason"])}</td></tr>'
               for p in problems)
    out.append("</tbody></table>")
    return out


def html_page(report: Mapping[str, Any]) -> str:
    """The page for a report dict (``report.sync.sync_dict``); see the module docstring."""
    status = report["status"]
    meta = [("Run", report["run_id"]), ("Source", report["source"]),
            ("Mapping", report["mapping"]), ("Tenant", report["tenant"]),
            ("Started", report["started"]), ("Finished", report["finished"]),
            ("Records", report["records"]), ("Managed users", report["managed"])]
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>HR sync {_e(status)}: {_e(report['run_id'])}</title>",
           f"<style>{_CSS}</style></head><body><main>",
           f'<header><h1>HR sync report <span class="badge s-{_e(status)}">{_e(status)}'
           f'</span></h1><p class="headline">{_e(headline(report))}</p><dl class="meta">',
           *(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in meta), "</dl></header>"]
    if report["stopped"]:
        out.append('<section class="stopped" role="alert"><h2>Stopped by the safety checks: '
                   "nothing was written</h2><ul>")
        out.extend(f"<li>{_e(reason)}</li>" for reason in report["stopped"])
        out.append("</ul></section>")
    if report["dry_run"]:
        out.append('<p class="dry">Dry run: this is what a real run would do; '
                   "nothing was written to the tenant.</p>")
    summary = report["summary"]
    out.append('<section class="tiles" aria-label="Summary">')
    out.extend(f'<div class="tile a-{_e(name)}{" zero" if not summary[name] else ""}">'
               f"<b>{_e(summary[name])}</b><span>{_e(label)}</span></div>"
               for name, label in TILES if name != "failed" or not report["dry_run"])
    out.append("</section><h2>Changes</h2>")
    out.extend(_changes(report["changes"]))
    out.extend(_problems("Errors", report["errors"]))
    out.extend(_problems("Warnings", report["warnings"]))
    out.append(f"<footer>hr-connector · run {_e(report['run_id'])} · unchanged users are "
               f"counted, not listed · times in UTC</footer></main><script>{_JS}</script>"
               "</body></html>")
    return "\n".join(out) + "\n"


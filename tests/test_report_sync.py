"""The sync report renderers: the JSON contract, golden files for every text format,
escaping (HTML, CSV formulas, Markdown pipes), and how dry and stopped runs read.

Golden files live in ``tests/golden/sync.*``; ``UPDATE_GOLDEN=1 pytest`` rewrites them.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from connector.core.plan import ACTIONS, Change, Plan
from connector.core.results import SyncResult, WriteOutcome
from connector.errors import Problem
from connector.report.html import CSP
from connector.report.markdown import md_cell
from connector.report.sync import (
    FORMATS_BY_SUFFIX,
    render,
    sync_csv,
    sync_dict,
    sync_html,
    sync_markdown,
    sync_terminal,
)

GOLDEN = Path(__file__).parent / "golden"
SCRIPT = "<script>alert(1)</script>"
ONMOUSEOVER = '" onmouseover="alert(1)'
STOP_REASONS = ["120 disables/deletes exceed the limit of 50 (--max-disables)",
                "the source has 3 records for 400 managed users (under 50%): a truncated "
                "or wrong export? (--min-source-percent)"]


def make_plan() -> Plan:
    """One change of every kind, with awkward names and values."""
    changes = [
        Change(action="create", key="E100", row=2, upn="zoe.obrien@contoso.com", attributes={
            "displayName": (None, "Zoë O'Brien"), "givenName": (None, "Zoë"),
            "surname": (None, "O'Brien"), "jobTitle": (None, SCRIPT),
            "accountEnabled": (None, True),
            "businessPhones": (None, ["+44 20 7946 0000", "+44 20 7946 0001"]),
            "employeeOrgData.division": (None, "R&D"),
            "employeeHireDate": (None, "2024-08-01T00:00:00Z")}),
        Change(action="update", key="E101", row=3, user_id="u-101",
               upn="jose.nunez@contoso.com", attributes={
                   "jobTitle": ("Engineer", "Senior Engineer | Platform"),
                   "department": (ONMOUSEOVER, "Engineering"),
                   "employeeOrgData.division": ("Sales", "=SUM(A1:A9)"),
                   "officeLocation": ("Main St\nFloor 2", None),
                   "displayName": ("José Nunez", "José Núñez")}),
        Change(action="disable", key="E102", row=4, user_id="u-102",
               upn="lukasz.wojcik@contoso.com", attributes={"accountEnabled": (True, False)},
               reason="leaver"),
        Change(action="enable", key="E103", row=5, user_id="u-103",
               upn="anne-marie.dubois@contoso.com", attributes={"accountEnabled": (False, True)},
               reason="rehire: the same key is back"),
        Change(action="delete", key="E104", row=6, user_id="u-104",
               upn="old.leaver@contoso.com",
               reason="leaver, disabled, more than 30 days after leaving"),
        Change(action="unchanged", key="E105", row=7, user_id="u-105",
               upn="still.here@contoso.com"),
        Change(action="skipped", key="E106", row=8,
               reason="pre-hire starting 2024-09-01: created on 2024-08-18, 14 days before"),
        Change(action="error", key="E107", row=9,
               errors=[Problem("bad date '31/02/2024'", row=9, column="HireDate", key="E107")],
               reason="bad date '31/02/2024'"),
        Change(action="disable", key="E108", user_id="u-108", upn=f"{SCRIPT}@contoso.com",
               attributes={"accountEnabled": (True, False)},
               reason="not in the HR export (a full export)"),
        Change(action="held", key="E109", user_id="u-109", upn="held.back@contoso.com",
               held="disable", attributes={"accountEnabled": (True, False)},
               reason="not in the HR export (a full export); held: row 9 with no usable key "
                      "(blank or repeated) could be this person, so nobody is disabled for "
                      "being missing (--allow-absent-disables allows it for one run)"),
        Change(action="manager", key="E100", row=2, upn="zoe.obrien@contoso.com",
               manager_key="E101", manager_id="u-101", attributes={"manager": (None, "E101")}),
        Change(action="manager", key="E101", row=3, user_id="u-101",
               upn="jose.nunez@contoso.com", attributes={"manager": ("E199", None)},
               reason="manager cleared: the record names none"),
    ]
    warnings = [Problem("manager key 'E999' matches no record and no user; the manager is "
                        "not set", severity="warning", row=10, key="E110")]
    return Plan(changes=changes, managed=7, records=9, warnings=warnings)


def make_result(*, dry_run: bool = False, stopped: list[str] | None = None) -> SyncResult:
    """An applied run (one write refused by Graph) unless ``dry_run`` or ``stopped``."""
    plan = make_plan()
    outcomes: dict[int, WriteOutcome] = {}
    if not dry_run and not stopped:
        outcomes = {i: WriteOutcome(ok=True, user_id=c.user_id)
                    for i, c in enumerate(plan.changes) if c.action in
                    ("disable", "enable", "delete", "manager")}
        outcomes[0] = WriteOutcome(ok=True, user_id="u-100")
        outcomes[1] = WriteOutcome(ok=False, error="Invalid value specified for property "
                              "'department' of resource 'User'.", code="Request_BadRequest",
                              status=400, request_id="7f1c2d3e-0000-4000-8000-000000000001")
    return SyncResult(
        run_id="20240804T020000Z-3f2a", dry_run=dry_run, source="hr/employees.csv",
        mapping="mappings/default.yaml", tenant="contoso.onmicrosoft.com",
        started=dt.datetime(2024, 8, 4, 2, 0, 0, tzinfo=dt.UTC),
        finished=dt.datetime(2024, 8, 4, 4, 3, 12, 250000,
                             tzinfo=dt.timezone(dt.timedelta(hours=2))),
        plan=plan, outcomes=outcomes, stopped=list(stopped or []),
        source_warnings=[Problem("column 'Nickname' is not used by the mapping",
                                 severity="warning", file="hr/employees.csv")])


@pytest.fixture
def result() -> SyncResult:
    return make_result()


def terminal_text(result: SyncResult, **options: Any) -> str:
    console = Console(record=True, width=120, color_system=None)
    console.print(sync_terminal(result, **options))
    return console.export_text()


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as file:
            file.write(text)
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 to create it"
    with path.open(encoding="utf-8", newline="") as file:
        expected = file.read()
    assert text == expected, (
        f"{name} differs from the golden file; if the change is intended, run with "
        "UPDATE_GOLDEN=1 and review the diff")


# --- the JSON contract --------------------------------------------------------------------

def test_summary_has_every_count_as_an_int(result: SyncResult) -> None:
    summary = sync_dict(result)["summary"]
    for name in ("create", "update", "disable", "enable", "manager", "unchanged", "skipped",
                 "error", "delete", "held", "failed", "written"):
        assert type(summary[name]) is int, name
    assert summary == {"create": 1, "update": 1, "disable": 2, "enable": 1, "delete": 1,
                       "manager": 2, "unchanged": 1, "skipped": 1, "error": 1, "held": 1,
                       "written": 7, "failed": 1}


def test_report_metadata(result: SyncResult) -> None:
    report = sync_dict(result)
    assert report["run_id"] == "20240804T020000Z-3f2a"
    assert report["status"] == "partial"
    assert report["dry_run"] is False
    assert report["started"] == "2024-08-04T02:00:00Z"
    assert report["finished"] == "2024-08-04T02:03:12Z"  # converted to UTC
    assert (report["source"], report["mapping"], report["tenant"]) == (
        "hr/employees.csv", "mappings/default.yaml", "contoso.onmicrosoft.com")
    assert (report["records"], report["managed"], report["stopped"]) == (9, 7, [])
    json.dumps(report, allow_nan=False)  # plain JSON, no custom encoder needed


def test_changes_list_every_change_but_unchanged(result: SyncResult) -> None:
    changes = sync_dict(result)["changes"]
    assert [c["action"] for c in changes] == [
        "create", "update", "disable", "enable", "delete", "skipped", "error", "disable",
        "held", "manager", "manager"]
    assert "E105" not in {c["employeeId"] for c in changes}
    for item in changes:
        assert {"action", "employeeId", "userPrincipalName", "attributes", "row", "reason",
                "userId", "outcome"} <= item.keys()
        for value in item["attributes"].values():
            assert value.keys() == {"old", "new"}


def test_change_items_carry_values_as_graph_stores_them(result: SyncResult) -> None:
    create, update, *_, skipped, error, _, held, manager, clear = sync_dict(result)["changes"]
    assert create["attributes"]["accountEnabled"] == {"old": None, "new": True}
    assert create["attributes"]["businessPhones"]["new"] == ["+44 20 7946 0000",
                                                            "+44 20 7946 0001"]
    assert create["userId"] == "u-100"  # the id Graph gave the new user
    assert update["attributes"]["employeeOrgData.division"] == {"old": "Sales",
                                                               "new": "=SUM(A1:A9)"}
    assert update["attributes"]["officeLocation"] == {"old": "Main St\nFloor 2", "new": None}
    assert update["outcome"] == {"ok": False, "error": "Invalid value specified for "
                                 "property 'department' of resource 'User'.",
                                 "code": "Request_BadRequest", "status": 400,
                                 "requestId": "7f1c2d3e-0000-4000-8000-000000000001"}
    assert skipped["userPrincipalName"] is None
    assert skipped["reason"].startswith("pre-hire")
    assert skipped["outcome"] is None and error["outcome"] is None
    assert manager["attributes"] == {"manager": {"old": None, "new": "E101"}}
    assert (manager["managerKey"], manager["managerId"]) == ("E101", "u-101")
    assert clear["attributes"] == {"manager": {"old": "E199", "new": None}}
    assert (held["heldAction"], held["outcome"]) == ("disable", None)
    assert held["attributes"] == {"accountEnabled": {"old": True, "new": False}}
    assert "heldAction" not in manager and "managerKey" not in held


def test_errors_are_plan_errors_then_failed_writes(result: SyncResult) -> None:
    report = sync_dict(result)
    record_error, failed = report["errors"]
    assert record_error == {"severity": "error", "reason": "bad date '31/02/2024'", "row": 9,
                            "column": "HireDate", "key": "E107"}
    assert failed["key"] == "E101" and failed["action"] == "update"
    assert failed["reason"].startswith("update failed: Invalid value")
    assert (failed["code"], failed["status"], failed["requestId"]) == (
        "Request_BadRequest", 400, "7f1c2d3e-0000-4000-8000-000000000001")
    assert [w["reason"][:10] for w in report["warnings"]] == ["column 'Ni", "manager ke"]


def test_dry_run_dict_has_no_outcomes() -> None:
    report = sync_dict(make_result(dry_run=True))
    assert report["dry_run"] is True and report["status"] == "dry-run"
    assert all(item["outcome"] is None for item in report["changes"])
    assert report["summary"]["written"] == report["summary"]["failed"] == 0


def test_render_dispatch_and_suffixes(result: SyncResult) -> None:
    assert set(FORMATS_BY_SUFFIX.values()) == {"json", "html", "csv", "md", "xlsx"}
    assert FORMATS_BY_SUFFIX[".htm"] == "html"
    text = render(result, "json")
    assert "Zoë O'Brien" in text  # ensure_ascii=False
    assert json.loads(text) == sync_dict(result)
    assert render(result, "html") == sync_html(result)
    assert render(result, "csv") == sync_csv(result)
    assert render(result, "md") == sync_markdown(result)
    with pytest.raises(ValueError, match="unknown report format"):
        render(result, "xml")


# --- golden files -------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "csv", "md", "html"])
def test_golden(result: SyncResult, fmt: str) -> None:
    check_golden(f"sync.{fmt}", render(result, fmt))


# --- HTML ---------------------------------------------------------------------------------

class _Tags(HTMLParser):
    """Collects start tags with their attributes and the text of script elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def test_html_escapes_all_hr_data(result: SyncResult) -> None:
    page = sync_html(result)
    assert SCRIPT not in page
    assert "<script>" not in page.replace("<script>\n(() =>", "")  # only our own script
    assert page.count("<script") == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert ONMOUSEOVER not in page and "&quot; onmouseover=&quot;alert(1)" in page
    parser = _Tags()
    parser.feed(page)
    assert not any(name.startswith("on") for _, attrs in parser.tags for name in attrs)
    assert "Zoë O&#x27;Brien" in page and "R&amp;D" in page


def test_html_is_self_contained(result: SyncResult) -> None:
    page = sync_html(result)
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    assert "http://" not in page and "https://" not in page
    assert "@media print" in page
    parser = _Tags()
    parser.feed(page)
    for tag, attrs in parser.tags:
        assert "src" not in attrs and tag not in ("link", "iframe", "img", "object"), tag
    # The CSP names our script by hash: if the script changes, the hash must follow.
    (script,) = parser.scripts
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in CSP
    assert "default-src 'none'" in CSP


def test_html_shows_diffs_filters_and_problems(result: SyncResult) -> None:
    page = sync_html(result)
    assert "<del>Sales</del>" in page and "<ins>=SUM(A1:A9)</ins>" in page
    assert '<del>Main St\nFloor 2</del> <span class="arrow">→</span> <ins class="empty">' in page
    assert '<form id="filters" hidden>' in page  # without JS: no filters, every row shown
    assert ' hidden' not in page.split('<table id="changes">')[1].split("</table>")[0]
    assert page.count('<tr class="a-') == 11
    for action in ("create", "update", "disable", "enable", "delete", "manager", "skipped",
                   "error", "held"):
        assert f'<input type="checkbox" value="{action}" checked>' in page
    assert 'id="search"' in page
    assert "request-id 7f1c2d3e-0000-4000-8000-000000000001" in page
    assert "<h2>Errors (2)</h2>" in page and "<h2>Warnings (2)</h2>" in page
    assert "password" not in page.lower()


def test_html_screenshot(tmp_path: Path, result: SyncResult) -> None:
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("/usr/bin/chromium is not installed")
    page = tmp_path / "r.html"
    page.write_text(sync_html(result), encoding="utf-8")
    png = tmp_path / "r.png"
    subprocess.run(
        [str(chromium), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}",
         "--window-size=1280,900", page.as_uri()],
        check=True, capture_output=True, timeout=120)
    assert png.exists()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000


# --- CSV ----------------------------------------------------------------------------------

def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_one_row_per_attribute(result: SyncResult) -> None:
    rows = csv_rows(sync_csv(result))
    assert list(rows[0]) == ["run_id", "action", "employeeId", "userPrincipalName",
                             "attribute", "old", "new", "reason", "outcome"]
    assert sum(1 for r in rows if r["action"] == "create") == 8
    assert sum(1 for r in rows if r["action"] == "update") == 5
    skipped = [r for r in rows if r["action"] == "skipped"]
    assert len(skipped) == 1 and skipped[0]["attribute"] == ""
    assert skipped[0]["reason"].startswith("pre-hire") and skipped[0]["outcome"] == ""
    enabled = next(r for r in rows if r["attribute"] == "accountEnabled" and
                   r["action"] == "create")
    assert (enabled["old"], enabled["new"]) == ("", "True")
    office = next(r for r in rows if r["attribute"] == "officeLocation")
    assert (office["old"], office["new"]) == ("Main St\nFloor 2", "")
    assert all(r["outcome"].startswith("failed: Invalid value") for r in rows
               if r["employeeId"] == "E101" and r["action"] == "update")
    assert {r["outcome"] for r in rows if r["action"] == "disable"} == {"ok"}


def test_csv_defuses_formulas(result: SyncResult) -> None:
    rows = csv_rows(sync_csv(result))
    division = next(r for r in rows if r["attribute"] == "employeeOrgData.division"
                    and r["action"] == "update")
    assert division["new"] == "'=SUM(A1:A9)"
    phones = next(r for r in rows if r["attribute"] == "businessPhones")
    assert phones["new"] == "'+44 20 7946 0000; +44 20 7946 0001"
    for row in rows:
        for value in row.values():
            assert not value or value[0] not in "=+-@\t\r", value


@given(st.text())
def test_csv_cells_never_start_a_formula(text: str) -> None:
    result = make_result()
    result.plan.changes[1].attributes["jobTitle"] = (text, "@" + text)
    rows = list(csv.reader(io.StringIO(sync_csv(result), newline="")))
    assert len(rows) == 23  # the header and 22; a CR or LF in a value stays inside its cell
    for row in rows:
        assert all(not cell or cell[0] not in "=+-@\t\r" for cell in row)


def test_csv_without_changes_still_says_how_the_run_went() -> None:
    result = make_result(dry_run=True)
    result.plan.changes = []
    (row,) = csv_rows(sync_csv(result))
    assert (row["reason"], row["outcome"]) == ("no changes", "dry run, not written")


# --- Markdown -----------------------------------------------------------------------------

def _cells(line: str) -> list[str]:
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_markdown_escapes_cells(result: SyncResult) -> None:
    text = sync_markdown(result)
    assert r"Senior Engineer \| Platform" in text
    assert "Main St<br>Floor 2" in text
    assert SCRIPT not in text and r"\<script\>alert(1)\</script\>" in text
    for line in text.splitlines():
        if line.startswith("|"):
            assert len(_cells(line)) in (2, 7), line


@given(st.text())
def test_markdown_cell_never_splits_a_row(text: str) -> None:
    cell = md_cell(text)
    assert "\n" not in cell and "\r" not in cell
    assert len(_cells(f"| {cell} |")) == 1


def test_markdown_sections(result: SyncResult) -> None:
    text = sync_markdown(result)
    for heading in ("## Summary", "## Create (1)", "## Update (1)", "## Disable (2)",
                    "## Enable (1)", "## Delete (1)", "## Manager changes (2)",
                    "## Skipped records (1)", "## Records in error (1)",
                    "## Held back by rows with errors (not written) (1)", "## Errors (2)",
                    "## Warnings (2)"):
        assert heading in text
    assert "## Unchanged" not in text
    assert "| unchanged | 1 |" in text and "| failed | 1 |" in text


# --- terminal -----------------------------------------------------------------------------

def test_terminal_headline_counts_and_diff(result: SyncResult) -> None:
    text = terminal_text(result)
    # The verdict comes last, where a terminal or `tail` shows it.
    assert text.splitlines()[-1] == ("Applied: 7 writes succeeded, 1 failed, 1 record in "
                                     "error, 1 change held back by rows with errors")
    assert "create" in text and "unchanged" in text
    assert "Sales → =SUM(A1:A9)" in text
    assert "<script>alert(1)</scri" in text  # a terminal shows text as text, unescaped
    assert "&lt;" not in text
    assert "2 errors, 2 warnings" in text
    assert "more row" not in text


def test_terminal_respects_the_limit(result: SyncResult) -> None:
    text = terminal_text(result, limit=5)
    assert "jobTitle" in text  # rows 1-5: the create
    assert "Sales" not in text  # the update comes later
    assert "… 17 more rows not shown" in text


def test_terminal_does_not_read_data_as_markup(result: SyncResult) -> None:
    result.plan.changes[0].attributes["jobTitle"] = (None, "[bold red]boss[/]")
    assert "[bold red]boss[/]" in terminal_text(result)


# --- dry and stopped runs read so in every format -----------------------------------------

def every_format(result: SyncResult) -> dict[str, str]:
    return {"json": render(result, "json"), "html": sync_html(result),
            "csv": sync_csv(result), "md": sync_markdown(result),
            "terminal": terminal_text(result)}


def test_dry_run_says_so_everywhere() -> None:
    texts = every_format(make_result(dry_run=True))
    assert '"dry_run": true' in texts["json"]
    assert "Dry run: nothing was written" in texts["html"]
    assert '<p class="dry">' in texts["html"]
    assert texts["md"].count("Dry run: nothing was written") == 1
    assert texts["terminal"].rstrip().endswith(
        "Dry run: nothing was written; 1 change held back by rows with errors")
    rows = csv_rows(texts["csv"])
    assert rows and all(r["outcome"] == ("held; " if r["action"] == "held" else "")
                        + "dry run, not written" for r in rows)
    assert "Failed writes" not in texts["html"]


@pytest.mark.parametrize("dry_run", [False, True])
def test_stopped_run_shows_the_reasons_everywhere(dry_run: bool) -> None:
    result = make_result(dry_run=dry_run, stopped=STOP_REASONS)
    texts = every_format(result)
    assert json.loads(texts["json"])["stopped"] == STOP_REASONS
    assert json.loads(texts["json"])["status"] == "stopped"
    for fmt, text in texts.items():
        assert "STOPPED" in text or fmt in ("json", "csv"), fmt
        flat = " ".join(text.split())  # the terminal wraps long reasons
        for reason in STOP_REASONS:
            assert reason in flat or reason.replace("'", "&#x27;") in flat, (fmt, reason)
    assert '<section class="stopped" role="alert">' in texts["html"]
    rows = csv_rows(texts["csv"])
    assert all(r["outcome"].endswith("not written: " + "; ".join(STOP_REASONS)) for r in rows)
    assert ("Dry run" in texts["terminal"]) is dry_run


def test_every_action_is_counted_in_every_format(result: SyncResult) -> None:
    texts = every_format(result)
    for action in ACTIONS:
        assert f"| {action} |" in texts["md"]
        assert action in texts["terminal"]
        assert f'class="tile a-{action}' in texts["html"]



def test_html_style_is_the_one_the_csp_allows(result: SyncResult) -> None:
    """The CSS comes from templates/report.css: the CSP hashes exactly what the page has."""
    page = sync_html(result)
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in CSP
    assert page.count("<style>") == 1 and ":root{--fg:" in style

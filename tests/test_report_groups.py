"""Group changes in every report format: the JSON section, escaping of HR values in group
names (HTML, CSV formulas, Markdown pipes), failed and held group changes, the headline."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from connector.core.plan import Plan
from connector.core.plan.group_model import GroupChange
from connector.core.plan.model import GroupInfo
from connector.core.results import SyncResult, WriteOutcome
from connector.report.html import headline
from connector.report.sync import render, sync_dict, sync_markdown, sync_report

SCRIPT = "Dept - <script>alert(1)</script>"
FORMULA = "=HYPERLINK(\"http://x\")"
STARTED = dt.datetime(2026, 11, 26, 9, tzinfo=dt.UTC)


def result(*, dry_run: bool = False) -> SyncResult:
    groups = [
        GroupChange("create", SCRIPT, "hr-dept-script-alert-1-script", "departments",
                    reason="wanted by rule departments", body={"displayName": SCRIPT},
                    attributes={"displayName": (None, SCRIPT)}),
        GroupChange("add", SCRIPT, "hr-dept-script-alert-1-script", "departments",
                    member_key="E1", member_id="u-1", member_upn="a@contoso.com",
                    reason="rule departments: 'x'"),
        GroupChange("add", FORMULA, "hr-dept-hyperlink", "departments", "g-2",
                    member_key="E2", member_id="u-2", member_upn="b|c@contoso.com"),
        GroupChange("remove", "Dept - Sales", "hr-dept-sales", "departments", "g-3", "E3",
                    "u-3", "c@contoso.com", "moved: HR data now puts them in 'Dept - Data'"),
        GroupChange("held", "Dept - Sales", "hr-dept-sales", "departments", "g-3", "E4",
                    "u-4", reason="held: a row with no usable key could be this person",
                    held="remove"),
        GroupChange("kept", "Old team", "hr-team-old", None, "g-9",
                    reason="no rule declares it any more: left as it is (2 members)"),
        GroupChange("error", "Dept - Data", "hr-dept-data", "departments", "g-x",
                    reason="a group named 'Dept - Data' exists without the hr- marker"),
    ]
    plan = Plan(changes=[], managed=10, records=10, groups=groups, group_info=GroupInfo())
    outcomes = {} if dry_run else {
        0: WriteOutcome(ok=True, user_id="g-new", status=201),
        1: WriteOutcome(ok=True, status=204),
        2: WriteOutcome(ok=False, error="Resource 'u-2' does not exist", code="Request_"
                        "ResourceNotFound", status=404, request_id="r-1"),
        3: WriteOutcome(ok=True, status=204)}
    return SyncResult(run_id="20261126T090000Z-abcdef", dry_run=dry_run, source="hr.csv",
                      mapping="m.yaml", tenant="sandbox", started=STARTED, plan=plan,
                      finished=STARTED, group_outcomes=outcomes)


def test_the_json_section_counts_and_lists_every_group_change() -> None:
    report = sync_dict(result())
    section = report["groups"]
    assert section["summary"] == {"create": 1, "update": 0, "add": 2, "remove": 1,
                                  "delete": 0, "kept": 1, "held": 1, "error": 1,
                                  "written": 3, "failed": 1}
    first = section["changes"][0]
    assert first["groupId"] == "g-new" and first["outcome"]["status"] == 201
    held = section["changes"][4]
    assert held["heldAction"] == "remove" and held["member"] == "E4"
    reasons = [e["reason"] for e in report["errors"]]
    assert reasons == [f"member add {FORMULA} (E2) failed: Resource 'u-2' does not exist",
                       "group Dept - Data: a group named 'Dept - Data' exists without the "
                       "hr- marker"]
    assert report["errors"][0]["requestId"] == "r-1"
    assert result().exit_code == 1 and result().status == "partial"


def test_html_escapes_group_names_and_shows_the_section() -> None:
    page = str(render(result(), "html"))
    assert "<script>alert(1)" not in page
    assert "Dept - &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<table id="group-changes">' in page and ">Members removed<" in page


def test_csv_rows_are_formula_safe_and_read_as_membership_changes() -> None:
    rows = list(csv.reader(io.StringIO(str(render(result(), "csv")))))
    by_action = {(r[1], r[2]): r for r in rows[1:]}
    assert by_action[("member add", "E2")][4:7] == ["group", "", "'" + FORMULA]
    assert by_action[("member add", "E2")][8].startswith("failed: Resource 'u-2'")
    assert by_action[("member remove", "E3")][4:7] == ["group", "Dept - Sales", ""]
    assert by_action[("group held", "E4")][8] == "held, not written"
    assert by_action[("group kept", "")][4:7] == ["group", "Old team", "Old team"]


def test_markdown_keeps_pipes_inside_cells() -> None:
    text = sync_markdown(result())
    assert "## Group changes (7)" in text
    assert "b\\|c@contoso.com" in text


def test_the_headline_names_group_writes() -> None:
    report = sync_dict(result())
    assert headline(report) == ("Applied: 3 writes succeeded, 1 failed, groups: 1 group "
                                "created, 1 member added, 1 member removed")
    dry = json.loads(str(render(result(dry_run=True), "json")))
    assert headline(dry) == "Dry run: nothing was written"
    assert dry["groups"]["summary"]["written"] == 0


@pytest.mark.parametrize("dry_run", [True, False])
def test_the_streamed_json_is_the_indented_json_of_the_whole_report(dry_run: bool) -> None:
    """Group items are made as the file is written (``GroupItems``), two levels down,
    yet the text is what the standard library writes for the report held whole."""
    whole = sync_dict(result(dry_run=dry_run))
    assert isinstance(whole["groups"]["changes"], list) and whole["groups"]["changes"]
    expected = json.dumps(whole, indent=2, ensure_ascii=False) + "\n"
    assert render(result(dry_run=dry_run), "json") == expected


def test_group_items_are_made_when_read_and_sliced() -> None:
    section = sync_report(result())["groups"]
    items = section["changes"]
    assert len(items) == 7 and bool(items)
    assert items[:2] == list(items)[:2] and items[:2][1]["action"] == "add"

"""The reviewer's pages over HTTP: the diff per user, paginated and filtered, disables
first, skipped records left out; held disables before the approve button; "Withdraw"
for the uploader's own upload; a favicon."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.web.diff import PAGE_SIZE, DiffQuery, diff_view, group_users, page_numbers
from tests.helpers import SAMPLE_CSV, export_bytes, sample_export
from tests.test_sync_flawed import flawed_export
from tests.web.web_helpers import (
    make_client,
    post_button,
    sign_in,
    sign_out,
    upload,
    upload_id,
)


def users_on(page: str) -> list[tuple[list[str], str]]:
    """The user blocks of a diff page: their actions and key, in order."""
    blocks = re.findall(r'<details class="user" data-key="([^"]+)"[^>]*><summary>(.*?)'
                        r'</summary>', page)
    return [(re.findall(r'class="act a-([\w-]+)"', summary), key) for key, summary in blocks]


def leavers_and_movers() -> tuple[bytes, list[str], list[str]]:
    """The sample without five active people nobody reports to (disabled: missing from a
    full export) and with three new job titles; returns it, the missing and the movers."""
    header, rows = sample_export()
    managers = {r["ManagerID"] for r in rows}
    active = [r for r in rows if r["Status"] == "Active" and not r["TerminationDate"]
              and r["HireDate"] <= "2026-11-01" and r["EmployeeID"] not in managers]
    missing = [r["EmployeeID"] for r in active[-5:]]
    movers = [r["EmployeeID"] for r in active[:3]]
    for row in rows:
        if row["EmployeeID"] in movers:
            row["JobTitle"] += " II"
    kept = [r for r in rows if r["EmployeeID"] not in missing]
    return export_bytes(header, kept), missing, movers


@pytest.fixture
def applied(tmp_path: Path) -> Iterator[httpx.Client]:
    """A client signed in as sam (uploads and approves), the sample applied."""
    with make_client(tmp_path, allow_self_approval=True) as client:
        sign_in(client, "sam")
        first = upload_id(upload(client, "employees.csv", SAMPLE_CSV.read_bytes()))
        assert post_button(client, first, "approve").status_code == 303
        yield client


def test_the_diff_lists_disables_first_and_filters_them_with_counts(
    applied: httpx.Client,
) -> None:
    content, missing, movers = leavers_and_movers()
    uid = upload_id(upload(applied, "export.csv", content))
    page = applied.get(f"/uploads/{uid}").text
    listed = users_on(page)
    assert [key for actions, key in listed[:5]] == sorted(missing)  # disables first
    # ... and leave their department and country groups (mappings/default.yaml)
    assert all(actions == ["disable", "member-remove"] for actions, _ in listed[:5])
    assert [key for _, key in listed[5:8]] == sorted(movers)  # then updates
    assert '?action=disable#diff">disable <b>5</b></a>' in page
    assert '?action=update#diff">update <b>3</b></a>' in page
    only = applied.get(f"/uploads/{uid}?action=disable").text
    assert [key for _, key in users_on(only)] == sorted(missing)
    assert "Users 1&ndash;5 of 5 with a disable change" in only
    found = applied.get(f"/uploads/{uid}?q={movers[1]}").text
    assert [key for _, key in users_on(found)] == [movers[1]]
    assert " II</ins>" in found  # old -> new per attribute


def test_the_first_load_is_paged_and_skipped_records_are_counted_not_listed(
    tmp_path: Path,
) -> None:
    with make_client(tmp_path) as client:
        sign_in(client, "ulla")
        uid = upload_id(upload(client, "employees.csv", SAMPLE_CSV.read_bytes()))
        first = client.get(f"/uploads/{uid}").text
        assert len(users_on(first)) == PAGE_SIZE
        assert f"Users 1&ndash;{PAGE_SIZE} of 337" in first
        assert "23 skipped records are not listed" in first
        assert all("skipped" not in actions for actions, _ in users_on(first))
        # New users' blocks start closed: a page is a list of names, not of attributes.
        assert '<details class="user" data-key="000001"><summary>' in first
        last = client.get(f"/uploads/{uid}?page=7").text
        assert len(users_on(last)) == 337 - 6 * PAGE_SIZE and 'rel="next"' not in last
        assert client.get(f"/uploads/{uid}?page=999").text.count("Users 301&ndash;337") == 1
        skipped = client.get(f"/uploads/{uid}?action=skipped").text
        assert len(users_on(skipped)) == 23 and "leaver with no account" in skipped
        assert "skipped-note" not in skipped
        for junk in ("?page=-1", "?page=abc", "?action=<script>", "?q=" + "x" * 500):
            assert client.get(f"/uploads/{uid}{junk}").status_code == 200


def test_held_disables_are_shown_before_the_approve_button(applied: httpx.Client,
                                                           tmp_path: Path) -> None:
    source, (a, b, _) = flawed_export(tmp_path / "flawed.csv")
    uid = upload_id(upload(applied, "flawed.csv", source.read_bytes()))
    page = applied.get(f"/uploads/{uid}").text
    box = page.index('id="held-disables"')
    assert box < page.index(f'action="/uploads/{uid}/approve"')
    assert "2 people stay enabled: their disables are held back by rows with errors" in page
    held = page[box:page.index("</div>", box)]
    assert f"{a} &middot;" in held and f"{b} &middot;" in held and "would disable" in held


def test_the_uploader_withdraws_and_an_approver_rejects(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        sign_in(client, "ulla")
        mine = upload_id(upload(client, "employees.csv", SAMPLE_CSV.read_bytes()))
        other = upload_id(upload(client, "again.csv", SAMPLE_CSV.read_bytes()))
        page = client.get(f"/uploads/{mine}").text
        assert ">Withdraw</button>" in page and ">Reject</button>" not in page
        assert post_button(client, mine, "reject").status_code == 303
        page = client.get(f"/uploads/{mine}").text
        assert 'class="badge st-withdrawn"' in page and "<dt>Withdrawn by</dt>" in page
        assert "withdrawn by ulla" in client.get("/").text
        sign_out(client)
        sign_in(client, "arne")
        assert ">Reject</button>" in client.get(f"/uploads/{other}").text
        assert post_button(client, other, "reject").status_code == 303
        assert 'class="badge st-rejected"' in client.get(f"/uploads/{other}").text


def test_the_applied_result_is_paged_per_user_with_outcomes(applied: httpx.Client) -> None:
    content, _, _ = leavers_and_movers()
    uid = upload_id(upload(applied, "export.csv", content))
    assert post_button(applied, uid, "approve").status_code == 303
    result = applied.get(f"/uploads/{uid}/result").text
    # The five people missing from the export are disabled and leave their department
    # and country groups (mappings/default.yaml): 8 user writes and 10 removals.
    assert [actions for actions, _ in users_on(result)[:5]] == [["disable", "member-remove"]] * 5
    assert result.count('class="badge st-applied">ok</span>') == len(users_on(result))
    assert "Provisioning log (18 operations)" in result
    log = applied.get(f"/uploads/{uid}/runs/{uid_run(result)}/log").text
    assert "Operations 1&ndash;18 of 18" in log


def uid_run(page: str) -> str:
    return re.findall(r"/runs/([^/\"]+)/log", page)[0]


def test_a_favicon_and_no_404_for_it(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        for path in ("/favicon.ico", "/favicon.svg"):
            response = client.get(path)  # before signing in too
            assert response.status_code == 200
            assert response.headers["content-type"] == "image/svg+xml"
            assert response.content.startswith(b"<svg")
        assert '<link rel="icon" href="/favicon.svg"' in client.get("/login").text


# --- the view itself ----------------------------------------------------------------------

def change(action: str, key: str, **extra: Any) -> dict[str, Any]:
    return {"action": action, "employeeId": key, "userPrincipalName": f"{key}@x",
            "row": 2, "attributes": {}, "outcome": None, **extra}


def test_users_are_grouped_and_ordered_by_their_most_dangerous_change() -> None:
    changes = [change("create", "c1"), change("manager", "c1"), change("update", "u1"),
               change("manager", "u1"), change("disable", "d1"), change("skipped", "s1"),
               change("held", "h1", heldAction="disable"), change("delete", "x1")]
    users = group_users(changes)
    assert [(u.key, u.actions) for u in users] == [
        ("x1", ("delete",)), ("d1", ("disable",)), ("h1", ("held",)),
        ("u1", ("update", "manager")), ("c1", ("create", "manager")), ("s1", ("skipped",))]
    view = diff_view(changes, DiffQuery(), size=2)
    assert (view.listed, view.skipped, view.matching, view.pages) == (5, 1, 5, 3)
    assert dict(view.counts) == {"delete": 1, "disable": 1, "held": 1, "update": 1,
                                 "create": 1, "manager": 2, "skipped": 1}
    third = diff_view(changes, DiffQuery(page=3), size=2)
    assert [u.key for u in third.users] == ["c1"] and third.first == 5
    assert [u.key for u in diff_view(changes, DiffQuery(action="manager")).users] == \
        ["u1", "c1"]


def test_query_links_keep_the_filter_and_start_new_searches_at_page_one() -> None:
    query = DiffQuery.from_params({"action": "disable", "q": " lopez ", "page": "3"})
    assert query == DiffQuery("disable", "lopez", 3)
    assert query.link(page=4) == "?action=disable&q=lopez&page=4#diff"
    assert query.link(action=None) == "?q=lopez#diff"
    assert DiffQuery().link() == "#diff"
    assert DiffQuery.from_params({"action": "drop", "page": "0"}) == DiffQuery()
    view = diff_view([change("update", f"k{n:03}") for n in range(500)], DiffQuery(page=5),
                     size=10)
    assert page_numbers(view) == [1, None, 3, 4, 5, 6, 7, None, 50]

"""Groups from HR data end to end over the sandbox tenant (issue 16): the shipped mapping's
department and country groups created and filled, movers and leavers, a second run that
writes nothing, groups the connector does not own, members it did not add, safety."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from connector.run.history import planned_operations
from connector.run.tenant import sandbox_path
from connector.sandbox.group_store import list_groups
from tests.helpers import sample_export, write_export
from tests.sandbox.sandbox_helpers import GRAPH, Tenant
from tests.test_sync import DEFAULT, sync, users

DEPARTMENTS = 23
COUNTRIES = 8


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state folder of its own (so a sandbox tenant of its own), no tenant configured."""
    folder = tmp_path / "state"
    monkeypatch.setenv("HRC_STATE_DIR", str(folder))
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
                 "AZURE_CLIENT_CERTIFICATE_PATH"):
        monkeypatch.delenv(name, raising=False)
    return folder


def groups(state: Path) -> dict[str, dict[str, Any]]:
    """Sandbox groups by mailNickname, with ``_members`` (object ids)."""
    return {g["mailNickname"]: g for g in list_groups(sandbox_path(state))}


def member_keys(state: Path, nickname: str) -> set[str]:
    by_id = {u["id"]: key for key, u in users(state).items()}
    return {by_id[m] for m in groups(state)[nickname]["_members"]}


def sandbox(state: Path) -> Tenant:
    """The state folder's sandbox over plain HTTP (to do what an admin does by hand)."""
    return Tenant(state_path=sandbox_path(state))


def changes(report: dict[str, Any], action: str) -> set[tuple[str, str | None]]:
    return {(c["group"], c["member"]) for c in report["groups"]["changes"]
            if c["action"] == action}


def test_first_sync_creates_and_fills_the_groups_and_a_second_writes_nothing(
    state: Path, tmp_path: Path
) -> None:
    code, report, output = sync(tmp_path, DEFAULT_SAMPLE())
    assert code == 0 and report["status"] == "ok"
    summary = report["groups"]["summary"]
    assert (summary["create"], summary["add"], summary["failed"]) == (
        DEPARTMENTS + COUNTRIES, 674, 0)
    assert summary["written"] == DEPARTMENTS + COUNTRIES + 674
    assert "groups: 31 groups created, 674 members added" in output
    found = groups(state)
    assert len(found) == DEPARTMENTS + COUNTRIES
    identity = found["hr-dept-identity-access"]
    assert identity["displayName"] == "Dept - Identity & Access"
    assert identity["securityEnabled"] is True and identity["mailEnabled"] is False
    assert identity["description"] == ("Everyone in Identity & Access (from HR data, kept in "
                                       "step by hr-connector)")
    _, rows = sample_export()
    created = users(state)
    for nickname, column, value in (("hr-dept-mobile", "Department", "Mobile"),
                                    ("hr-country-es", "CountryCode", "ES")):
        expected = {r["EmployeeID"] for r in rows if r[column] == value
                    and r["EmployeeID"] in created}
        assert member_keys(state, nickname) == expected
    assert set(json.loads((state / "groups.json").read_text("utf-8"))["groups"]) == {
        g["id"] for g in found.values()}
    ledger = (state / "groups.json").read_bytes()

    code, report, output = sync(tmp_path, DEFAULT_SAMPLE())
    assert code == 0 and report["status"] == "ok"
    assert report["groups"]["changes"] == [] and report["groups"]["summary"]["written"] == 0
    assert (state / "runs" / f"{report['run_id']}.jsonl").read_text("utf-8") == ""
    assert (state / "groups.json").read_bytes() == ledger
    assert "Applied: nothing to change" in output


def DEFAULT_SAMPLE() -> Path:  # noqa: N802 (reads like the constant it stands for)
    from tests.helpers import SAMPLE_CSV

    return SAMPLE_CSV


def test_a_mover_changes_groups_in_one_run_and_leavers_leave_theirs(
    state: Path, tmp_path: Path
) -> None:
    header, rows = sample_export()
    assert sync(tmp_path, DEFAULT_SAMPLE())[0] == 0
    by_key = {r["EmployeeID"]: r for r in rows}
    mover, leaver = by_key["000784"], by_key["006736"]
    old = (mover["Department"], mover["CountryCode"])
    assert old[0] != "Data" and old[1] != "NL"
    mover["Department"], mover["CountryCode"] = "Data", "NL"
    leaver["Status"], leaver["TerminationDate"] = "Terminated", "2026-11-01"
    missing = by_key.pop("046206")
    moved = write_export(tmp_path / "moved.csv", header, list(by_key.values()))
    code, report, _ = sync(tmp_path, moved)
    assert code == 0, report
    assert changes(report, "add") == {("Dept - Data", "000784"), ("Country - NL", "000784")}
    assert changes(report, "remove") == {
        (f"Dept - {old[0]}", "000784"), (f"Country - {old[1]}", "000784"),
        (f"Dept - {leaver['Department']}", "006736"),
        (f"Country - {leaver['CountryCode']}", "006736"),
        (f"Dept - {missing['Department']}", "046206"),
        (f"Country - {missing['CountryCode']}", "046206")}
    reasons = {(c["member"], c["reason"]) for c in report["groups"]["changes"]
               if c["action"] == "remove"}
    assert ("000784", "moved: HR data now puts them in 'Dept - Data'") in reasons
    assert ("006736", "leaver: leaves the groups of rule departments") in reasons
    assert ("046206", "not in the HR export (a full export): leaves the groups of rule "
                      "countries") in reasons
    assert "000784" in member_keys(state, "hr-dept-data")
    assert "000784" in member_keys(state, "hr-country-nl")
    everyone = set().union(*(member_keys(state, n) for n in groups(state)))
    assert "000784" in everyone and not {"006736", "046206"} & everyone
    code, report, _ = sync(tmp_path, moved)  # the same export again: nothing to do
    assert code == 0 and report["groups"]["changes"] == []


def test_groups_the_connector_does_not_own_are_never_touched(
    state: Path, tmp_path: Path
) -> None:
    admin = sandbox(state)
    megan = admin.get("/users/MeganB@contoso.onmicrosoft.com").json()["id"]
    theirs = admin.post("/groups", {"displayName": "Dept - Data", "mailNickname": "data-team",
                                    "mailEnabled": False, "securityEnabled": True,
                                    "members@odata.bind": [f"{GRAPH}/users/{megan}"]}).json()
    old = admin.post("/groups", {"displayName": "Old project", "mailNickname": "hr-project-x",
                                 "mailEnabled": False, "securityEnabled": True,
                                 "members@odata.bind": [f"{GRAPH}/users/{megan}"]}).json()
    code, report, output = sync(tmp_path, DEFAULT_SAMPLE())
    assert code == 1 and report["status"] == "partial"  # the clash is an error
    by_group = {(c["group"], c["action"]): c for c in report["groups"]["changes"]
                if c["member"] is None}
    clash = by_group[("Dept - Data", "error")]
    assert f"without the hr- marker (mailNickname data-team, id {theirs['id']})" in (
        clash["reason"])
    assert by_group[("Old project", "kept")]["reason"] == (
        "no rule declares it any more: left as it is (1 members)")
    assert any("group Dept - Data: a group named 'Dept - Data' exists" in e["reason"]
               for e in report["errors"])
    after = groups(state)
    assert "hr-dept-data" not in after
    assert after["data-team"]["_members"] == [megan] == after["hr-project-x"]["_members"]
    assert after["hr-project-x"]["id"] == old["id"]
    assert "kept 1 · held 0 · error 1" in output


def test_members_added_by_hand_stay_unless_the_rule_is_exclusive(
    state: Path, tmp_path: Path
) -> None:
    assert sync(tmp_path, DEFAULT_SAMPLE())[0] == 0
    found = groups(state)
    admin = sandbox(state)
    megan = admin.get("/users/MeganB@contoso.onmicrosoft.com").json()["id"]
    outsider = next(iter(found["hr-dept-data"]["_members"]))  # someone from Data
    target = found["hr-dept-brand"]["id"]
    for member in (megan, outsider):
        assert admin.post(f"/groups/{target}/members/$ref",
                          {"@odata.id": f"{GRAPH}/directoryObjects/{member}"}
                          ).status_code == 204
    code, report, _ = sync(tmp_path, DEFAULT_SAMPLE())
    assert code == 0 and report["groups"]["changes"] == []
    assert any(w["reason"].startswith("Dept - Brand: 1 members are no longer in it by HR "
                                      "data but hr-connector did not add them")
               for w in report["warnings"])
    assert {megan, outsider} <= set(groups(state)["hr-dept-brand"]["_members"])

    exclusive = tmp_path / "exclusive.yaml"
    exclusive.write_text(Path(DEFAULT).read_text("utf-8").replace(
        "      mailNickname: 'hr-dept-{value}'\n",
        "      mailNickname: 'hr-dept-{value}'\n      exclusive: true\n"), "utf-8")
    code, report, _ = sync(tmp_path, DEFAULT_SAMPLE(), "--mapping", str(exclusive))
    assert code == 0
    removed = {c["memberId"]: c["reason"] for c in report["groups"]["changes"]
               if c["action"] == "remove"}
    assert set(removed) == {megan, outsider}
    assert removed[megan].startswith("a user hr-connector does not manage")
    assert not {megan, outsider} & set(groups(state)["hr-dept-brand"]["_members"])


def test_mass_removals_stop_the_run_before_any_write(state: Path, tmp_path: Path) -> None:
    header, rows = sample_export()
    assert sync(tmp_path, DEFAULT_SAMPLE())[0] == 0
    before = groups(state)
    for row in rows:
        if row["Department"] == "Mobile":
            row["Department"] = "Mobile Apps"
    code, report, _ = sync(tmp_path, write_export(tmp_path / "renamed.csv", header, rows))
    assert code == 3 and report["status"] == "stopped"
    assert report["stopped"] == ["39 members removed from 'Dept - Mobile' are 100.0% of its "
                                 "39 members, over the limit of 30% "
                                 "(--max-member-removals-percent)"]
    assert groups(state) == before
    code, report, _ = sync(tmp_path, tmp_path / "renamed.csv",
                           "--max-member-removals-percent", "100")
    assert code == 0
    after = groups(state)
    assert after["hr-dept-mobile"]["_members"] == []
    assert len(after["hr-dept-mobile-apps"]["_members"]) == 39
    kept = [c for c in report["groups"]["changes"] if c["action"] == "kept"]
    assert [c["group"] for c in kept] == ["Dept - Mobile"]


def test_a_dry_run_writes_no_group_and_no_ledger(state: Path, tmp_path: Path) -> None:
    code, report, _ = sync(tmp_path, DEFAULT_SAMPLE(), "--dry-run")
    assert code == 0 and report["groups"]["summary"]["create"] == 31
    assert groups(state) == {} and not (state / "groups.json").exists()
    # It logs nothing (it wrote nothing); `runs show` lists its plan from the report.
    assert (state / "runs" / f"{report['run_id']}.jsonl").read_text("utf-8") == ""
    group_lines = [line for line in planned_operations(report) if line.get("group")]
    assert len(group_lines) == 31 + 674
    assert {line["action"] for line in group_lines} == {"group create", "member add"}
    assert {line["outcome"] for line in group_lines} == {"dry-run"}


def test_rows_without_a_usable_key_hold_removals_for_absence(
    state: Path, tmp_path: Path
) -> None:
    header, rows = sample_export()
    assert sync(tmp_path, DEFAULT_SAMPLE())[0] == 0
    created = users(state)
    index = next(n for n, r in enumerate(rows) if n and r["EmployeeID"] in created
                 and created[r["EmployeeID"]]["accountEnabled"])
    missing = rows.pop(index)
    rows[0] = {**rows[0], "EmployeeID": ""}
    code, report, _ = sync(tmp_path, write_export(tmp_path / "flawed.csv", header, rows))
    assert code == 1
    held = [c for c in report["groups"]["changes"] if c["action"] == "held"]
    assert {(c["member"], c["heldAction"]) for c in held} >= {
        (missing["EmployeeID"], "remove")}
    assert all("could be this person" in c["reason"] for c in held
               if c["member"] == missing["EmployeeID"])
    assert missing["EmployeeID"] in member_keys(
        state, "hr-country-" + missing["CountryCode"].lower())


def test_every_report_format_shows_the_group_changes(state: Path, tmp_path: Path) -> None:
    targets = [tmp_path / f"plan.{ext}" for ext in ("csv", "md", "html", "xlsx")]
    code, _, _ = sync(tmp_path, DEFAULT_SAMPLE(), "--dry-run",
                      *[arg for t in targets for arg in ("--report", str(t))])
    assert code == 0
    rows = list(csv.reader(io.StringIO(targets[0].read_text("utf-8"))))
    assert [r[1:8] for r in rows if r[1] == "member add"][0][3:6] == [
        "group", "", "Country - DE"]
    assert sum(1 for r in rows if r[1] == "group create") == 31 * 3  # name, nickname, text
    markdown = targets[1].read_text("utf-8")
    assert "## Group changes (705)" in markdown and "| member add | Country - DE |" in (
        markdown)
    page = targets[2].read_text("utf-8")
    assert '<table id="group-changes">' in page and "Members added" in page
    book = load_workbook(targets[3], read_only=True)
    sheet = book["Groups"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert header[:5] == ["Action", "Group", "mailNickname", "Member", "UPN"]
    assert sum(1 for _ in sheet.iter_rows(min_row=2)) == 31 * 3 + 674


@pytest.mark.parametrize("flag", ["--dry-run", None])
def test_a_mapping_without_groups_reports_no_group_section(
    state: Path, tmp_path: Path, flag: str | None
) -> None:
    plain = tmp_path / "plain.yaml"
    text = Path(DEFAULT).read_text("utf-8")
    plain.write_text(text[:text.index("\n# Security groups kept in step")] + "\n", "utf-8")
    args = ["--mapping", str(plain)] + ([flag] if flag else [])
    code, report, _ = sync(tmp_path, DEFAULT_SAMPLE(), *args)
    assert code == 0 and "groups" not in report and groups(state) == {}


def test_a_run_killed_after_its_member_adds_were_sent_is_completed_by_the_next(
    state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger is written before the adds go out, so members added by a run that dies
    before it logs them are still known to be the connector's: a mover is removed later."""
    from connector.graph import GroupsClient

    real = GroupsClient.execute

    def dies_after_adds(self: GroupsClient, operations: Any, **kwargs: Any) -> Any:
        results = real(self, operations, **kwargs)
        if any(op.kind == "add_members" for op in operations):
            raise RuntimeError("killed")  # the process dies: nothing after this happens
        return results

    monkeypatch.setattr(GroupsClient, "execute", dies_after_adds)
    code, _, output = sync(tmp_path, DEFAULT_SAMPLE())
    assert code == 70, output  # an unexpected end, as a kill would be
    monkeypatch.setattr(GroupsClient, "execute", real)
    recorded = json.loads((state / "groups.json").read_text("utf-8"))["groups"]
    for group in groups(state).values():
        assert set(group["_members"]) <= set(recorded[group["id"]]["added"])
    code, report, _ = sync(tmp_path, DEFAULT_SAMPLE())
    assert code == 0
    assert report["groups"]["changes"] == []  # the adds had all gone through
    header, rows = sample_export()
    for row in rows:
        if row["EmployeeID"] == "000784":
            old, row["Department"] = row["Department"], "Data"
    code, report, _ = sync(tmp_path, write_export(tmp_path / "moved.csv", header, rows))
    assert code == 0
    assert changes(report, "remove") == {(f"Dept - {old}", "000784")}

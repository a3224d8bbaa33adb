"""End to end over the sandbox tenant: the main job as an admin runs it.

Each test has its own state folder (HRC_STATE_DIR), so its own sandbox tenant, seeded with
two IT admins and a service account the connector must never touch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connector.cli.main import main
from connector.mapping import load_mapping
from connector.run.sync import SyncOptions, run_sync
from connector.run.tenant import open_tenant, sandbox_path
from connector.sandbox import SandboxConfig, list_users
from tests.helpers import ROOT, SAMPLE_CSV, sample_export, write_export

DEFAULT = str(ROOT / "mappings" / "default.yaml")
SEEDED = 3  # two IT admins and a service account


def sync(tmp: Path, source: Path | str, *args: str) -> tuple[int, dict[str, Any], str]:
    report = tmp / f"report-{len(list(tmp.glob('report-*.json')))}.json"
    result = CliRunner().invoke(main, ["sync", str(source), "--mapping", DEFAULT,
                                       "--report", str(report), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    data = json.loads(report.read_text("utf-8")) if report.exists() else {}
    return result.exit_code, data, result.output


def users(state: Path) -> dict[str, dict[str, Any]]:
    """Sandbox users by employeeId (or UPN for the seeded ones)."""
    return {u.get("employeeId") or u["userPrincipalName"]: u
            for u in list_users(sandbox_path(state))}




def test_dry_run_writes_nothing_then_first_sync_creates_everyone_with_managers(
    state: Path, tmp_path: Path
) -> None:
    code, report, output = sync(tmp_path, SAMPLE_CSV, "--dry-run")
    assert code == 0 and report["dry_run"] is True
    assert "using the sandbox tenant" in output
    assert len(users(state)) == SEEDED  # nothing written
    planned = report["summary"]
    dry_id = report["run_id"]
    # Nothing written, nothing logged: the report lists the plan and `runs show` prints it.
    assert (state / "runs" / f"{dry_id}.jsonl").read_text("utf-8") == ""
    saved = json.loads((state / "runs" / f"{dry_id}.json").read_text("utf-8"))
    assert saved["summary"] == planned and len(saved["changes"]) == len(report["changes"])
    shown = CliRunner().invoke(main, ["runs", "show", dry_id], terminal_width=400)
    assert shown.exit_code == 0, shown.output
    rows = [line for line in shown.output.splitlines() if "│ dry-run" in line]
    group_rows = [row for row in rows if "│ group create" in row or "│ member add" in row]
    assert len(rows) - len(group_rows) == 337 + 336  # every planned create and manager link
    assert len(group_rows) == report["groups"]["summary"]["create"] + \
        report["groups"]["summary"]["add"]  # and every group write
    assert any("046206" in row and "jose.nunez@contoso.com" in row and "create" in row
               for row in rows)
    code, report, _ = sync(tmp_path, SAMPLE_CSV)
    assert code == 0 and report["dry_run"] is False and report["status"] == "ok"
    assert report["summary"]["create"] == planned["create"] == 337
    assert report["summary"]["manager"] == 336 and report["summary"]["skipped"] == 23
    tenant = users(state)
    assert len(tenant) == SEEDED + 337
    assert tenant["046206"]["userPrincipalName"] == "jose.nunez@contoso.com"
    assert {tenant["003515"]["userPrincipalName"], tenant["064388"]["userPrincipalName"]} == \
        {"john.smith@contoso.com", "j.smith@contoso.com"}
    by_id = {u["id"]: u for u in tenant.values()}
    assert by_id[tenant["000784"]["_managerId"]]["employeeId"] == "042692"
    assert tenant["000001"].get("_managerId") is None
    assert "083624" not in tenant  # a leaver is never created
    assert tenant["076960"]["accountEnabled"] is False  # a pre-hire, created disabled
    assert "043421" not in tenant  # a pre-hire starting in 50 days: not yet
    log = (state / "runs" / f"{report['run_id']}.jsonl").read_text("utf-8").splitlines()
    user_lines = [line for line in log if '"group":' not in line]  # groups: test_sync_groups
    assert len(user_lines) == 337 + 336
    line = json.loads(log[0])
    assert set(line) >= {"time", "run_id", "action", "employee_id", "upn", "object_id",
                         "attributes", "outcome", "request_id", "error_code"}
    assert "password" not in "".join(log).lower()

    code, report, _ = sync(tmp_path, SAMPLE_CSV)
    assert code == 0
    assert report["summary"]["unchanged"] == 337
    assert sum(report["summary"][a] for a in ("create", "update", "disable", "enable",
                                             "manager", "delete")) == 0


def test_a_changed_export_updates_disables_enables_and_reparents(
    state: Path, tmp_path: Path
) -> None:
    header, rows = sample_export()
    assert sync(tmp_path, SAMPLE_CSV)[0] == 0
    by_key = {r["EmployeeID"]: r for r in rows}
    by_key["000784"]["JobTitle"] = "Senior Recruiter"              # mover: update
    by_key["000784"]["ManagerID"] = "000738"                       # re-parent
    by_key["006736"]["Status"] = "Terminated"                      # leaver: disable
    by_key["006736"]["TerminationDate"] = "2026-11-01"
    gone = by_key.pop("046206")                                     # missing: disable
    changed = write_export(tmp_path / "changed.csv", header, list(by_key.values()))
    code, report, _ = sync(tmp_path, changed)
    assert code == 0, report
    summary = report["summary"]
    assert (summary["update"], summary["disable"], summary["manager"]) == (1, 2, 1)
    changes = {(c["action"], c["employeeId"]): c for c in report["changes"]}
    assert changes[("update", "000784")]["attributes"]["jobTitle"] == {
        "old": "Recruiter", "new": "Senior Recruiter"}
    assert changes[("manager", "000784")]["attributes"]["manager"] == {
        "old": "042692", "new": "000738"}
    assert changes[("disable", "046206")]["reason"] == "not in the HR export (a full export)"
    tenant = users(state)
    assert tenant["000784"]["jobTitle"] == "Senior Recruiter"
    assert tenant["006736"]["accountEnabled"] is False
    assert tenant["006736"]["employeeLeaveDateTime"] == "2026-11-01T23:59:59Z"
    assert tenant["046206"]["accountEnabled"] is False
    by_id = {u["id"]: u for u in tenant.values()}
    assert by_id[tenant["000784"]["_managerId"]]["employeeId"] == "000738"
    assert all(u["accountEnabled"] for k, u in tenant.items() if "@" in k)  # admins untouched

    by_key["046206"] = gone                                         # rehire: enable
    back = write_export(tmp_path / "back.csv", header, list(by_key.values()))
    code, report, _ = sync(tmp_path, back)
    assert code == 0
    assert [c["employeeId"] for c in report["changes"] if c["action"] == "enable"] == ["046206"]
    assert users(state)["046206"]["accountEnabled"] is True


def test_a_truncated_export_trips_the_threshold_and_writes_nothing(
    state: Path, tmp_path: Path
) -> None:
    header, rows = sample_export()
    assert sync(tmp_path, SAMPLE_CSV)[0] == 0
    before = users(state)
    truncated = write_export(tmp_path / "truncated.csv", header, rows[:120])
    code, report, output = sync(tmp_path, truncated)
    assert code == 3
    assert report["status"] == "stopped" and report["stopped"]
    assert any("exceed the limit of 50" in reason for reason in report["stopped"])
    assert any("truncated" in reason for reason in report["stopped"])
    assert "stopped" in output.lower()
    assert users(state) == before


def test_every_threshold_can_be_raised_for_one_run(state: Path, tmp_path: Path) -> None:
    header, rows = sample_export()
    assert sync(tmp_path, SAMPLE_CSV)[0] == 0
    smaller = write_export(tmp_path / "smaller.csv", header, rows[:-45])
    assert sync(tmp_path, smaller)[0] == 3
    code, report, _ = sync(tmp_path, smaller, "--max-disables-percent", "20")
    assert code == 0
    assert report["summary"]["disable"] >= 20


def test_bad_input_is_exit_2_and_record_errors_exit_1(state: Path, tmp_path: Path) -> None:
    assert sync(tmp_path, tmp_path / "missing.csv")[0] == 2
    header, rows = sample_export()
    rows.append(dict(rows[5]))  # a duplicate key: both rows are errors, the rest syncs
    code, report, _ = sync(tmp_path, write_export(tmp_path / "dup.csv", header, rows))
    assert code == 1
    assert report["summary"]["error"] == 2 and report["summary"]["create"] == 336
    code, _, output = sync(tmp_path, SAMPLE_CSV, "--report", str(tmp_path / "r.pdf"))
    assert code == 2 and ".html" in output


@pytest.mark.parametrize("knobs", [
    {"throttle_next": 7, "throttle_next_retry_after_s": 0.05},
    {"replication_lag_ms": 300},
    {"fault_every_n": 9, "fault_retry_after_s": 0.01},
    {"fault_every_n": 11, "fault_after_commit": True, "fault_retry_after_s": 0.01},
    {"drop_every_n": 13, "drop_after_commit": True},
], ids=["throttled", "replication-lag", "503s", "503-after-commit", "dropped-after-commit"])
def test_throttling_lag_and_faults_change_nothing_in_the_final_state(
    state: Path, tmp_path: Path, knobs: dict[str, Any]
) -> None:
    mapping = load_mapping(DEFAULT)
    config = SandboxConfig.for_tests(seed=7, **knobs)
    with open_tenant(state=state, sandbox_config=config) as tenant:
        result = run_sync(SAMPLE_CSV, mapping, tenant.graph, options=SyncOptions(),
                          tenant=tenant.label, runs_folder=state / "runs")
    assert result.failed == []
    final = users(state)
    assert len(final) == SEEDED + 337  # nobody created twice
    by_id = {u["id"]: u for u in final.values()}
    assert by_id[final["000784"]["_managerId"]]["employeeId"] == "042692"
    with open_tenant(state=state, sandbox_config=SandboxConfig.for_tests()) as tenant:
        again = run_sync(SAMPLE_CSV, mapping, tenant.graph, options=SyncOptions(),
                         tenant=tenant.label, runs_folder=state / "runs")
    assert again.plan.writes == []


def test_sync_over_https_with_msal_against_a_served_sandbox(
    state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The configured-tenant path, for real: msal gets a token from the sandbox's token
    endpoint and httpx talks HTTPS, trusting the sandbox CA only through the environment."""
    from connector.sandbox import running_sandbox

    with running_sandbox(state_path=tmp_path / "served.db", config=SandboxConfig.for_tests(),
                         tls=True) as server:
        root = server.base_url.rstrip("/")
        monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_path))
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.ca_path))
        monkeypatch.setenv("AZURE_TENANT_ID", server.tenant_id)
        monkeypatch.setenv("AZURE_CLIENT_ID", "hr-connector-test")
        monkeypatch.setenv("AZURE_CLIENT_SECRET", "s3cret-value")
        monkeypatch.setenv("AZURE_AUTHORITY_HOST", root)
        monkeypatch.setenv("HRC_GRAPH_URL", root)
        monkeypatch.setenv("HRC_GRAPH_SCOPE", "https://graph.microsoft.com/.default")
        code, report, output = sync(tmp_path, SAMPLE_CSV)
        assert code == 0, output
        assert "sandbox tenant" not in output and "s3cret-value" not in output
        assert report["summary"]["create"] == 337
        assert report["tenant"].startswith(f"tenant {server.tenant_id}")
        code, report, _ = sync(tmp_path, SAMPLE_CSV)
        assert code == 0 and report["summary"]["unchanged"] == 337
    served = {u.get("employeeId") for u in list_users(tmp_path / "served.db")}
    assert "046206" in served
    assert not sandbox_path(state).exists()  # the in-process sandbox was never used
    assert "s3cret-value" not in "".join(p.read_text("utf-8") for p in (state / "runs").iterdir())


def test_microsofts_sample_export_syncs_with_its_mapping(
    state: Path, tmp_path: Path, interop_dir: Path
) -> None:
    source = interop_dir / "csv-with-1000-records.csv"
    result = CliRunner().invoke(main, [
        "sync", str(source), "--mapping", str(ROOT / "mappings" / "entra-api-sample.yaml"),
        "--report", str(tmp_path / "ms.json")])
    assert result.exit_code == 1  # finished, but the reused WorkerIDs could not be synced
    report = json.loads((tmp_path / "ms.json").read_text("utf-8"))
    summary = report["summary"]
    assert (summary["create"], summary["error"], summary["skipped"]) == (359, 641, 0)
    assert report["status"] == "partial" and report["summary"]["failed"] == 0
    duplicate = [e for e in report["errors"] if "is used on" in e["reason"]]
    assert len(duplicate) == 641
    dangling = [w for w in report["warnings"] if w["reason"].startswith("manager key")]
    assert dangling and all("the manager is not set" in w["reason"] for w in dangling)
    created = [u for u in list_users(sandbox_path(state)) if u.get("employeeId")]
    assert len(created) == 359
    assert {u["usageLocation"] for u in created} >= {"GB", "US"}
    assert all(u["usageLocation"] != "UK" for u in created)


def test_the_mapping_can_narrow_the_managed_set(state: Path, tmp_path: Path) -> None:
    mapping = tmp_path / "us-only.yaml"
    mapping.write_text((ROOT / "mappings" / "default.yaml").read_text("utf-8") + """
managed:
  - name: the US company
    clauses: [{attribute: companyName, operator: EQUALS, value: Contoso Inc.}]
""", encoding="utf-8")
    header, rows = sample_export()
    assert sync(tmp_path, SAMPLE_CSV)[0] == 0  # everyone created with the default mapping
    us = next(r for r in rows if r["CountryCode"] == "US" and r["Status"] == "Active"
              and r["EmployeeID"] != "000001")
    gb = next(r for r in rows if r["CountryCode"] == "GB" and r["Status"] == "Active")
    rest = [r for r in rows if r not in (us, gb)]
    less = write_export(tmp_path / "less.csv", header, rest)
    result = CliRunner().invoke(main, ["sync", str(less),
                                       "--mapping", str(mapping), "--report",
                                       str(tmp_path / "narrow.json")])
    assert result.exit_code in (0, 1), result.output
    report = json.loads((tmp_path / "narrow.json").read_text("utf-8"))
    disabled = [c["employeeId"] for c in report["changes"] if c["action"] == "disable"]
    assert disabled == [us["EmployeeID"]]
    assert users(state)[gb["EmployeeID"]]["accountEnabled"] is True
    outside = [c for c in report["changes"] if "outside the mapping's managed set" in
               (c["reason"] or "")]
    assert outside and all(c["action"] == "skipped" for c in outside)

"""SCIM runs end to end over the sandbox's API-driven provisioning job: what the issue's
"Done when" asks, each with a test. Time is faked (the client and the sandbox share a
clock that moves when the client sleeps), so waiting for logs or Retry-After costs none."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from connector.core.results import SyncResult
from connector.errors import ConfigError
from connector.mapping import compile_mapping_text, load_mapping
from connector.run.scim import JobNotRunning, ScimOptions, run_scim_sync
from connector.run.scim_results import refresh_run
from connector.run.scim_state import ScimState, state_file
from connector.run.sync import SyncOptions, run_sync
from connector.sandbox import SandboxConfig
from connector.scim import check_request
from tests.graph.helpers import Tenant, make_tenant
from tests.helpers import ROOT, SAMPLE_CSV

SCIM_MAPPING = ROOT / "mappings" / "default-scim.yaml"
GRAPH_MAPPING = ROOT / "mappings" / "default.yaml"


def tenant(**knobs: Any) -> Tenant:
    return make_tenant(SandboxConfig.for_tests(**{"provisioning_log_lag_s": 30.0, **knobs}))


def url(tenant: Tenant) -> str:
    return tenant.app.provisioning.bulk_url("https://graph.microsoft.com/v1.0")


def scim_sync(tenant: Tenant, state: Path, source: Path | str = SAMPLE_CSV, *,
              mapping: Any = None, dry_run: bool = False, **scim: Any) -> SyncResult:
    options = ScimOptions(bulk_upload_url=scim.pop("bulk_upload_url", url(tenant)), **scim)
    return run_scim_sync(source, mapping or load_mapping(SCIM_MAPPING), tenant.graph,
                         options=SyncOptions(dry_run=dry_run), scim=options,
                         tenant="sandbox", state_folder=state)


def people(tenant: Tenant) -> dict[str, dict[str, Any]]:
    """Managed users by employeeId, their manager by employeeId, without ids and times."""
    stored = [u for u in tenant.stored() if u.get("employeeId")]
    by_id = {u["id"]: u["employeeId"] for u in stored}
    skip = {"id", "createdDateTime", "lastPasswordChangeDateTime", "passwordProfile",
            "_managerId", "creationType"}
    return {u["employeeId"]: {**{k: v for k, v in u.items() if k not in skip},
                              "manager": by_id.get(u["_managerId"])} for u in stored}


def sample(path: Path, change: Any = None) -> Path:
    with SAMPLE_CSV.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or []), list(reader)
    if change is not None:
        rows = change(rows)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def requests_posted(tenant: Tenant) -> int:
    return len(tenant.app.provisioning.store.requests_since(0))


def test_sample_data_gives_the_graph_writers_people_and_managers(tmp_path: Path) -> None:
    graph_tenant, scim_tenant = make_tenant(), tenant()
    written = run_sync(SAMPLE_CSV, load_mapping(GRAPH_MAPPING), graph_tenant.graph,
                       options=SyncOptions(), tenant="sandbox", runs_folder=tmp_path / "g")
    assert written.exit_code == 0
    result = scim_sync(scim_tenant, tmp_path / "s")
    assert result.exit_code == 0 and result.status == "ok"
    assert people(scim_tenant) == people(graph_tenant)
    assert len(people(scim_tenant)) == 337
    assert sum(1 for p in people(scim_tenant).values() if p["manager"]) == 336
    # the report lists every record's outcome, from the logs
    report = json.loads((tmp_path / "s" / "runs" / f"{result.run_id}.json").read_text())
    sent = [c for c in report["changes"] if c["outcome"]]
    assert len(sent) == 337
    assert {c["outcome"]["entra"]["status"] for c in sent} == {"success"}
    assert {c["outcome"]["entra"]["action"] for c in sent} == {"create"}
    assert report["provisioning"]["outcomes"]["success"] == 337
    assert report["provisioning"]["requests"] == 7  # ceil(337 / 50)
    first = next(c for c in sent if c["employeeId"] == "000001")
    assert first["attributes"]["displayName"] == {"old": None, "new": "Bill Lopez"}
    assert first["userId"] == people_ids(scim_tenant)["000001"]


def people_ids(tenant: Tenant) -> dict[str, str]:
    return {u["employeeId"]: u["id"] for u in tenant.stored() if u.get("employeeId")}


def test_a_second_unchanged_run_posts_nothing(tmp_path: Path) -> None:
    job = tenant()
    scim_sync(job, tmp_path)
    before = requests_posted(job)
    again = scim_sync(job, tmp_path)
    assert requests_posted(job) == before and again.outcomes == {}
    assert again.plan.summary["unchanged"] == 337 and again.exit_code == 0
    assert again.provisioning is not None and again.provisioning["requests"] == 0


def test_a_leaver_is_posted_with_active_false(tmp_path: Path) -> None:
    job = tenant()
    scim_sync(job, tmp_path / "state")
    gone = sample(tmp_path / "gone.csv", lambda rows: [r for r in rows
                                                       if r["EmployeeID"] != "000532"])
    result = scim_sync(job, tmp_path / "state", gone, payloads=tmp_path / "payloads")
    assert result.plan.summary["disable"] == 1 and result.exit_code == 0
    body = json.loads((tmp_path / "payloads" / "bulk-0001.json").read_text())
    assert [op["data"] for op in body["Operations"]] == [{
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "000532", "active": False}]
    assert people(job)["000532"]["accountEnabled"] is False
    change = next(c for c in result.plan.changes if c.action == "disable")
    assert change.attributes == {"accountEnabled": ("True", "False")}  # Entra's own words


def test_a_record_entra_rejects_is_a_failure_with_its_code_and_exit_1(tmp_path: Path) -> None:
    job = tenant()
    mapping = load_mapping(SCIM_MAPPING, params={"upn_domain": "fabrikam.example"})
    result = scim_sync(job, tmp_path, mapping=mapping)
    assert result.exit_code == 1 and result.status == "failed"
    failed = result.failed
    assert len(failed) == 337
    change, outcome = failed[0]
    assert outcome.code == "AzureActiveDirectoryInvalidUserPrincipalName"
    assert outcome.entra is not None and outcome.entra["status"] == "failure"
    assert "verified domain" in (outcome.error or "")
    # the next run sends them again (with the domain fixed, they are created)
    fixed = scim_sync(job, tmp_path)
    assert fixed.plan.summary["create"] == 337 and fixed.exit_code == 0
    assert fixed.plan.changes[0].reason == (
        "Entra reported AzureActiveDirectoryInvalidUserPrincipalName last time: sent again")


def test_throttling_waits_retry_after_then_goes_on(tmp_path: Path) -> None:
    job = tenant(bulk_throttle_next=2, bulk_throttle_retry_after_s=7)
    result = scim_sync(job, tmp_path)
    assert result.exit_code == 0
    assert result.provisioning is not None and result.provisioning["throttled"] == 2
    assert result.provisioning["requests"] == 9 and result.provisioning["accepted"] == 7
    assert job.clock.slept.count(7.0) == 2


def test_the_client_paces_itself_to_40_requests_per_5_seconds(tmp_path: Path) -> None:
    job = tenant(bulk_rate_limit=40, bulk_rate_window_s=5)
    many = sample(tmp_path / "many.csv", lambda rows: [
        {**r, "EmployeeID": f"{n:06d}9", "ManagerID": ""} for n, r in enumerate(rows * 7)
        if r["Status"] == "Active"])
    mapping = load_mapping(SCIM_MAPPING)
    result = scim_sync(job, tmp_path / "state", many, mapping=mapping, wait=0)
    section = result.provisioning
    assert section is not None and section["requestsPlanned"] > 40
    assert section["throttled"] == 0 and section["accepted"] == section["requestsPlanned"]
    assert sum(job.clock.slept) >= 5.0


def test_a_paused_job_stops_the_run_with_exit_2_and_posts_nothing(tmp_path: Path) -> None:
    job = tenant()
    job.app.provisioning.set_status("Paused")
    with pytest.raises(JobNotRunning) as stopped:
        scim_sync(job, tmp_path)
    assert stopped.value.exit_code == 2 and "is Paused" in stopped.value.message
    assert requests_posted(job) == 0 and not list((tmp_path / "runs").glob("*.json"))
    job.app.provisioning.set_status("Quarantine", "EncounteredEscrowProportionThreshold")
    with pytest.raises(JobNotRunning, match="EncounteredEscrowProportionThreshold"):
        scim_sync(job, tmp_path)
    dry = scim_sync(job, tmp_path, dry_run=True)  # a dry run says so and goes on
    assert any("a real run would stop" in w.reason for w in dry.plan.warnings)


def test_logs_later_than_wait_leave_records_pending_until_refresh(tmp_path: Path) -> None:
    job = tenant(provisioning_log_lag_s=600)
    result = scim_sync(job, tmp_path, wait=120)
    assert result.exit_code == 0
    assert result.provisioning is not None
    assert result.provisioning["outcomes"]["pending"] == 337
    assert 119 <= result.provisioning["waited"] <= 120
    with ScimState(state_file(tmp_path), job.app.provisioning.ids.job) as state:
        assert not any(s.confirmed for s in state.load().values())
    job.clock.now += 600
    report = refresh_run(tmp_path, result.run_id, job.graph)
    assert report["provisioning"]["outcomes"] == {"failure": 0, "warning": 0,
                                                  "success": 337, "skipped": 0,
                                                  "pending": 0}
    assert report["status"] == "ok"
    log = (tmp_path / "runs" / f"{result.run_id}.jsonl").read_text().splitlines()
    assert sum('"entra-success"' in line for line in log) == 337
    with ScimState(state_file(tmp_path), job.app.provisioning.ids.job) as state:
        assert all(s.confirmed for s in state.load().values())


def test_wait_0_exits_after_the_upload(tmp_path: Path) -> None:
    job = tenant(provisioning_log_lag_s=0)
    result = scim_sync(job, tmp_path, wait=0)
    assert result.provisioning is not None
    assert result.provisioning["outcomes"]["pending"] == 337 and job.clock.slept == []


def test_the_daily_budget_stops_between_requests_and_the_next_run_sends_the_rest(
        tmp_path: Path) -> None:
    job = tenant()
    result = scim_sync(job, tmp_path, daily_budget=3)
    assert result.exit_code == 1
    codes = {o.code for o in result.outcomes.values() if not o.ok}
    assert codes == {"DailyBudgetSpent"}
    assert sum(1 for o in result.outcomes.values() if o.ok) == 150 == len(people(job))
    assert requests_posted(job) == 3
    rest = scim_sync(job, tmp_path, daily_budget=10)
    assert rest.plan.summary["create"] == 187 and rest.exit_code == 0
    assert len(people(job)) == 337


def test_dry_run_writes_valid_payloads_and_posts_nothing(tmp_path: Path) -> None:
    job = tenant()
    result = scim_sync(job, tmp_path / "state", dry_run=True, payloads=tmp_path / "p")
    assert result.dry_run and result.outcomes == {} and requests_posted(job) == 0
    files = sorted((tmp_path / "p").glob("bulk-*.json"))
    assert len(files) == 7
    bodies = [json.loads(f.read_text()) for f in files]
    assert all(check_request(body) == [] for body in bodies)
    assert sum(len(b["Operations"]) for b in bodies) == result.plan.summary["create"] == 337
    assert people(job) == {}


def test_custom_attributes_must_be_in_the_jobs_schema(tmp_path: Path) -> None:
    text = SCIM_MAPPING.read_text(encoding="utf-8").replace(":Office:", ":OfficeName:")
    mapping = compile_mapping_text(text, file="office.yaml")
    with pytest.raises(ConfigError, match="no attribute .*:OfficeName"):
        scim_sync(tenant(), tmp_path, mapping=mapping, dry_run=True)


def test_a_bulk_url_elsewhere_than_the_tenants_graph_is_refused(tmp_path: Path) -> None:
    job = tenant()
    elsewhere = url(job).replace("graph.microsoft.com", "evil.example")
    with pytest.raises(ConfigError, match="only ever sent to the tenant's Graph"):
        scim_sync(job, tmp_path, bulk_upload_url=elsewhere)
    with pytest.raises(ConfigError, match="Provisioning API Endpoint"):
        scim_sync(job, tmp_path, bulk_upload_url="https://graph.microsoft.com/v1.0/users")


SMALL = """version: 1
target: scim
source: {key: ID}
attributes:
  externalId: {source: ID}
  userName: {source: UPN}
  displayName: {source: Name}
"""


def test_a_run_killed_while_waiting_is_completed_by_the_next(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job = tenant(provisioning_log_lag_s=0)
    export = tmp_path / "small.csv"
    export.write_text("ID,UPN,Name\n1,a@contoso.com,A\n2,b@fabrikam.example,B\n"
                      "3,c@contoso.com,C\n", encoding="utf-8")
    mapping = compile_mapping_text(SMALL, file="small.yaml")

    def killed(self: Any) -> None:
        raise RuntimeError("killed while waiting")

    from connector.run.scim_results import Waiter

    with monkeypatch.context() as patch:
        patch.setattr(Waiter, "wait", killed)
        with pytest.raises(RuntimeError):
            scim_sync(job, tmp_path / "state", export, mapping=mapping)
    first = next((tmp_path / "state" / "runs").glob("*.json"))
    assert json.loads(first.read_text())["status"] == "interrupted"
    again = scim_sync(job, tmp_path / "state", export, mapping=mapping)
    assert [w.reason for w in again.plan.warnings if "no outcome" in w.reason] == [
        f"3 record(s) sent by run {first.stem} had no outcome from Entra yet: 3 read "
        "from the provisioning logs now, 0 sent again"]
    sent = {c.key: c for c in again.plan.changes if c.action != "unchanged"}
    assert list(sent) == ["2"]  # refused by Entra: sent again, and refused again
    assert sent["2"].reason == (
        "Entra reported AzureActiveDirectoryInvalidUserPrincipalName last time: sent again")
    assert again.exit_code == 1


def test_a_5xx_on_bulkupload_is_sent_again_and_counted(tmp_path: Path) -> None:
    import httpx

    failures = [503]

    class Flaky(httpx.BaseTransport):
        def __init__(self, inner: httpx.BaseTransport) -> None:
            self.inner = inner

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/bulkUpload") and failures:
                return httpx.Response(failures.pop(), json={"error": {
                    "code": "ServiceUnavailable", "message": "try later"}})
            return self.inner.handle_request(request)

    job = make_tenant(SandboxConfig.for_tests(provisioning_log_lag_s=0),
                      transport_wrapper=Flaky)
    result = scim_sync(job, tmp_path)
    assert result.exit_code == 0 and len(people(job)) == 337
    assert result.provisioning is not None and result.provisioning["requests"] == 8

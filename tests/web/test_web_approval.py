"""Review and approval over HTTP (in-process): four eyes, the reviewed plan and nothing
else, safety thresholds, rejection, the checks per row, and escaping of HR data."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connector.mapping import load_mapping
from connector.run.sync import SyncOptions, run_sync
from connector.run.tenant import open_tenant
from connector.sandbox import SandboxConfig, ensure_tls_files
from connector.sandbox import create_app as create_sandbox
from connector.sandbox.serving import serve_in_thread
from tests.helpers import SAMPLE_CSV, export_bytes, sample_export
from tests.web.web_helpers import (
    MAPPING,
    SEEDED,
    make_client,
    post_button,
    sign_in,
    sign_out,
    upload,
    upload_id,
    users,
    with_duplicate,
    without_column,
)


def metadata(state: Path, uid: str) -> dict[str, object]:
    return dict(json.loads((state / "uploads" / uid / "upload.json").read_text("utf-8")))


def test_an_approver_applies_what_an_uploader_uploaded_and_both_are_recorded(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    with make_client(tmp_path) as client:
        sign_in(client, "ulla")
        uid = upload_id(upload(client, "employees.csv", SAMPLE_CSV.read_bytes()))
        assert len(users(state)) == SEEDED  # the dry run wrote nothing
        page = client.get(f"/uploads/{uid}").text
        assert "/approve" not in page  # an uploader has no approve button ...
        refused = post_button(client, uid, "approve")  # ... and cannot post one
        assert refused.status_code == 403
        sign_out(client)
        sign_in(client, "arne")
        assert "Approve and apply 1378 changes" in client.get(f"/uploads/{uid}").text
        for form in ({}, {"csrf": "guessed"}):  # without the page's token: refused, no write
            forged = client.post(f"/uploads/{uid}/approve", data=form)
            assert forged.status_code == 403 and "security token" in forged.text
        assert len(users(state)) == SEEDED and metadata(state, uid)["status"] == "reviewed"
        applied = post_button(client, uid, "approve")
        assert applied.status_code == 303
        assert applied.headers["location"] == f"/uploads/{uid}/result"
        result = client.get(f"/uploads/{uid}/result").text
        assert ("Applied: 1378 writes succeeded, groups: 31 groups created, 674 members "
                "added") in result
        assert "Provisioning log (1378 operations)" in result
        listing = client.get("/").text
        assert "ulla" in listing and "arne" in listing and 'st-applied' in listing
    assert len(users(state)) == SEEDED + 337
    data = metadata(state, uid)
    assert data["status"] == "applied" and data["uploaded_by"] == "ulla"
    assert data["approved_by"] == "arne" and data["applied_status"] == "ok"
    assert len(data["run_ids"]) == 2  # type: ignore[arg-type]
    assert (state / "runs" / f"{data['applied_run_id']}.jsonl").exists()
    # The configured reports are written for an applied upload, as for `run`.
    assert (state / "reports" / f"{data['applied_run_id']}.json").exists()


def test_self_approval_is_refused_unless_the_configuration_allows_it(tmp_path: Path) -> None:
    with make_client(tmp_path / "strict") as client:
        sign_in(client, "sam")  # uploader and approver
        uid = upload_id(upload(client, "employees.csv", SAMPLE_CSV.read_bytes()))
        assert "someone else must approve it" in client.get(f"/uploads/{uid}").text
        refused = post_button(client, uid, "approve")
        assert refused.status_code == 403 and "someone else must approve it" in refused.text
        assert len(users(tmp_path / "strict" / "state")) == SEEDED
    with make_client(tmp_path / "relaxed", allow_self_approval=True) as client:
        sign_in(client, "sam")
        uid = upload_id(upload(client, "employees.csv", SAMPLE_CSV.read_bytes()))
        assert post_button(client, uid, "approve").status_code == 303
        assert len(users(tmp_path / "relaxed" / "state")) == SEEDED + 337


def _sync_directly(state: Path, rows: int) -> None:
    """Someone else changes the tenant (a sync of the first rows) after the review."""
    header, records = sample_export()
    partial = state.parent / "partial.csv"
    partial.write_bytes(export_bytes(header, records[:rows]))
    with open_tenant(state=state) as tenant:
        run_sync(str(partial), load_mapping(MAPPING), tenant.graph, options=SyncOptions(),
                 tenant=tenant.label, runs_folder=state / "runs")


def test_approval_after_the_tenant_changed_asks_for_a_new_review(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with make_client(tmp_path) as client:
        sign_in(client, "ulla")
        uid = upload_id(upload(client, "employees.csv", SAMPLE_CSV.read_bytes()))
        sign_out(client)
        _sync_directly(state, 5)
        before = len(users(state))
        sign_in(client, "arne")
        refused = post_button(client, uid, "approve")
        assert refused.status_code == 409
        assert "The plan has changed since it was reviewed" in refused.text
        assert len(users(state)) == before  # nothing applied
        page = client.get(f"/uploads/{uid}").text
        assert "The tenant has changed since this dry run" in page and "/approve" not in page
        assert post_button(client, uid, "review").status_code == 303
        assert post_button(client, uid, "approve").status_code == 303
    assert len(users(state)) == SEEDED + 337
    assert metadata(state, uid)["status"] == "applied"


def test_a_plan_stopped_by_the_safety_thresholds_cannot_be_approved(tmp_path: Path) -> None:
    state = tmp_path / "state"
    header, records = sample_export()
    with make_client(tmp_path, allow_self_approval=True) as client:
        sign_in(client, "sam")
        first = upload_id(upload(client, "employees.csv", SAMPLE_CSV.read_bytes()))
        assert post_button(client, first, "approve").status_code == 303
        # A truncated export: most users would be disabled.
        uid = upload_id(upload(client, "truncated.csv", export_bytes(header, records[:60])))
        page = client.get(f"/uploads/{uid}").text
        assert "Stopped by the safety checks" in page and "policies.max_disables" in page
        refused = post_button(client, uid, "approve")
        assert refused.status_code == 409 and "stopped by the safety checks" in refused.text
    assert sum(1 for u in users(state).values() if u.get("accountEnabled")) >= 300


def test_with_policies_dry_run_nothing_can_be_applied(tmp_path: Path) -> None:
    with make_client(tmp_path, policies={"dry_run": True}) as client:
        sign_in(client, "ulla")
        uid = upload_id(upload(client, "employees.csv", SAMPLE_CSV.read_bytes()))
        sign_out(client)
        sign_in(client, "arne")
        refused = post_button(client, uid, "approve")
        assert refused.status_code == 409 and "policies.dry_run" in refused.text
    assert len(users(tmp_path / "state")) == SEEDED


def test_a_rejected_upload_cannot_be_approved(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        sign_in(client, "ulla")
        uid = upload_id(upload(client, "employees.csv", SAMPLE_CSV.read_bytes()))
        sign_out(client)
        sign_in(client, "arne")
        assert post_button(client, uid, "reject").status_code == 303
        assert 'st-rejected' in client.get("/").text
        refused = post_button(client, uid, "approve")
        assert refused.status_code == 409 and "rejected" in refused.text
    assert metadata(tmp_path / "state", uid)["rejected_by"] == "arne"
    assert len(users(tmp_path / "state")) == SEEDED


def test_row_errors_are_listed_per_row_and_a_missing_column_fails_the_upload(
    tmp_path: Path,
) -> None:
    with make_client(tmp_path) as client:
        sign_in(client, "ulla")
        uid = upload_id(upload(client, "dup.csv", with_duplicate(tmp_path / "d.csv")
                               .read_bytes()))
        page = client.get(f"/uploads/{uid}").text
        assert 'id="problems"' in page and "Some records have errors" in page
        for row in (2, 4):  # one line per row, with its file, row, column and key
            assert (f"<td>dup.csv</td><td>{row}</td><td>EmployeeID</td><td>000001</td>"
                    "<td>key &#x27;000001&#x27; is used on 2 rows (2, 4)") in page
        assert 'st-reviewed' in page  # the other records can still go through
        bad = upload_id(upload(client, "nolast.csv", without_column(tmp_path / "n.csv")
                               .read_bytes()))
        page = client.get(f"/uploads/{bad}").text
        assert 'st-failed' in page and "LastName" in page
        assert "The file cannot be used." in page and "/runs/" not in page


def test_hr_data_and_file_names_are_escaped_everywhere(tmp_path: Path) -> None:
    header, records = sample_export()
    evil = "<script>alert(1)</script>"
    records[0] = {**records[0], "JobTitle": evil}
    records[5] = {**records[5], "CountryCode": "<b>XX</b>"}
    records[4] = {**records[4], "EmployeeID": records[3]["EmployeeID"]}
    name = "<img src=x onerror='alert(1)'>.csv"
    with make_client(tmp_path, allow_self_approval=True) as client:
        sign_in(client, "sam")
        uid = upload_id(upload(client, name, export_bytes(header, records)))
        pages = [client.get(p).text for p in ("/", f"/uploads/{uid}")]
        run = pages[1].split("/runs/")[1].split('"')[0]
        pages.append(client.get(f"/uploads/{uid}/runs/{run}").text)
        assert post_button(client, uid, "approve").status_code == 303
        pages.append(client.get(f"/uploads/{uid}/result").text)
        applied = client.get(f"/uploads/{uid}/result").text.split("/runs/")[1].split('"')[0]
        pages.append(client.get(f"/uploads/{uid}/runs/{applied}").text)
    for text in pages:
        assert "<script>alert" not in text and "<b>XX" not in text and "<img" not in text
    for text in pages[:2]:
        assert "&lt;img src=x onerror=&#x27;alert(1)&#x27;&gt;.csv" in text
    assert "&lt;b&gt;XX&lt;/b&gt;" in pages[1]  # the bad country code, in the checks
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[2]  # the job title, in the diff


class TenantWatch:
    """An ASGI wrapper around the served sandbox: counts the complete reads of the user
    list, in full or by delta (the last page has no nextLink) and, after the first one
    while armed, changes the tenant, as someone else would between the approval's check
    and its apply."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.armed = False
        self.reads = 0
        self.after_first_read: Callable[[], None] = lambda: None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        listing = (scope["type"] == "http" and scope["method"] == "GET"
                   and scope["path"] in ("/v1.0/users", "/v1.0/users/delta"))
        if not (self.armed and listing):
            await self.app(scope, receive, send)
            return
        body = bytearray()

        async def keep(message: Any) -> None:
            if message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, keep)
        if b"@odata.nextLink" not in body:
            self.reads += 1
            if self.reads == 1:
                self.after_first_read()


def test_approval_applies_the_plan_it_checked_even_if_the_tenant_moves_after_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The approval plans once: a change to the tenant after its check is not planned
    over (planning again would also reset the department changed behind its back)."""
    sandbox = create_sandbox(tmp_path / "tenant.db", SandboxConfig.for_tests())
    watch = TenantWatch(sandbox)
    tls = ensure_tls_files(tmp_path / "tls")
    with serve_in_thread(watch, certfile=str(tls.server_cert), keyfile=str(tls.server_key),
                         name="watched-sandbox") as port:
        base = f"https://127.0.0.1:{port}"
        for name, value in {"SSL_CERT_FILE": str(tls.ca_cert),
                            "REQUESTS_CA_BUNDLE": str(tls.ca_cert),
                            "HRC_TEST_CLIENT_SECRET": "any"}.items():
            monkeypatch.setenv(name, value)
        tenant = {"tenant_id": sandbox.state.tenant_id, "client_id": "hr-connector",
                  "client_secret": {"env": "HRC_TEST_CLIENT_SECRET"},
                  "authority_host": base, "graph_url": base,
                  "scope": "https://graph.microsoft.com/.default"}
        header, records = sample_export()
        with make_client(tmp_path, tenant=tenant, allow_self_approval=True) as client:
            sign_in(client, "sam")
            first = upload_id(upload(client, "employees.csv", export_bytes(header, records)))
            assert post_button(client, first, "approve").status_code == 303
            records[0] = {**records[0], "JobTitle": "Chief Reviewer"}
            uid = upload_id(upload(client, "promotion.csv", export_bytes(header, records)))
            assert "update <b>1</b>" in client.get(f"/uploads/{uid}").text
            review = metadata(tmp_path / "state", uid)["review_run_id"]
            reviewed = json.loads((tmp_path / "state" / "runs" / f"{review}.json")
                                  .read_text("utf-8"))
            (change,) = [c for c in reviewed["changes"] if c["action"] == "update"]
            assert list(change["attributes"]) == ["jobTitle"]

            def someone_else_moves_them() -> None:
                sandbox.state.store.update(change["userId"], {"department": "Moved"})

            watch.after_first_read = someone_else_moves_them
            watch.armed = True
            assert post_button(client, uid, "approve").status_code == 303
            watch.armed = False
            result = metadata(tmp_path / "state", uid)
        assert watch.reads == 1  # one plan: the one checked and applied
        applied = json.loads((tmp_path / "state" / "runs" / f"{result['applied_run_id']}"
                              ".json").read_text("utf-8"))
        assert [(c["action"], list(c["attributes"])) for c in applied["changes"]
                if c["action"] not in ("skipped", "manager")] == [("update", ["jobTitle"])]
        user = sandbox.state.store.get(change["userId"])
        assert user is not None
        assert (user.doc["jobTitle"], user.doc["department"]) == ("Chief Reviewer", "Moved")

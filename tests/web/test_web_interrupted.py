"""An approved upload whose apply did not finish (the server killed mid-apply, in a real
subprocess) becomes ``interrupted`` when the page starts again, shows what its run's log
recorded, and is checked again and approved; the history keeps both attempts."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import SAMPLE_CSV
from tests.web.servers import interrupted_upload
from tests.web.web_helpers import (
    SEEDED,
    make_client,
    post_button,
    sign_in,
    sign_out,
    upload,
    upload_id,
    users,
)


def test_an_apply_killed_midway_is_interrupted_then_checked_again_and_approved(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    uid, killed = interrupted_upload(tmp_path)
    meta = state / "uploads" / uid / "upload.json"
    left = json.loads(meta.read_text("utf-8"))
    # What the kill left: approved, with the run it had started, and some users written.
    assert (left["status"], left["apply_run_id"]) == ("approved", killed)
    written = len(users(state)) - SEEDED
    assert 0 < written < 337

    with make_client(tmp_path) as client:  # the page starts again over the same state
        data = json.loads(meta.read_text("utf-8"))
        assert data["status"] == "interrupted"
        assert data["attempts"][0]["run_id"] == killed
        assert data["attempts"][0]["result"] == "interrupted"
        sign_in(client, "arne")
        page = client.get(f"/uploads/{uid}").text
        assert 'class="badge st-interrupted"' in page
        assert f"Run {killed} did not finish" in page
        assert "its provisioning log recorded" in page and "create" in page
        assert "Check again" in page and "Approve and apply" not in page
        refused = post_button(client, uid, "approve")
        assert refused.status_code == 409 and "did not finish" in refused.text
        assert len(users(state)) - SEEDED == written  # nothing more was written
        log = client.get(f"/uploads/{uid}/runs/{killed}/log").text
        assert "This run did not finish" in log and 'id="log"' in log
        assert client.get("/").status_code == 200 and "interrupted" in client.get("/").text

        sign_out(client)
        sign_in(client, "ulla")  # whoever uploaded it may check it again
        assert post_button(client, uid, "review").status_code == 303
        page = client.get(f"/uploads/{uid}").text
        assert 'class="badge st-reviewed"' in page
        assert f"create <b>{337 - written}</b>" in page  # what is left to do
        sign_out(client)
        sign_in(client, "arne")
        assert post_button(client, uid, "approve").status_code == 303
        assert "Applied:" in client.get(f"/uploads/{uid}/result").text

    tenant = users(state)
    assert len(tenant) == SEEDED + 337  # everyone, nobody twice
    data = json.loads(meta.read_text("utf-8"))
    assert data["status"] == "applied"
    assert [a["result"] for a in data["attempts"]] == ["interrupted", "applied"]
    assert data["attempts"][1]["run_id"] == data["applied_run_id"] != killed
    assert killed in data["run_ids"] and data["applied_run_id"] in data["run_ids"]
    events = [h["event"] for h in data["history"]]
    assert sum(e.startswith("approved; applying it as run") for e in events) == 2
    assert any(e.startswith(f"interrupted: run {killed} did not finish") for e in events)


def _rewind(meta: Path, **fields: object) -> None:
    """Put an upload back as a kill at another moment would have left it."""
    data = json.loads(meta.read_text("utf-8"))
    data.update(fields)
    meta.write_text(json.dumps(data), encoding="utf-8")


def test_killed_before_the_run_started_or_after_it_finished(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with make_client(tmp_path, allow_self_approval=True) as client:
        sign_in(client, "sam")
        waiting = upload_id(upload(client, "employees.csv", SAMPLE_CSV.read_bytes()))
        done = upload_id(upload(client, "again.csv", SAMPLE_CSV.read_bytes()))
        assert post_button(client, done, "approve").status_code == 303
    applied = json.loads((state / "uploads" / done / "upload.json").read_text("utf-8"))
    # Killed after recording the approval, before the run's marker existed ...
    _rewind(state / "uploads" / waiting / "upload.json", status="approved",
            approved_by="sam", apply_run_id="20261126T090000Z-0a0b0c")
    # ... and after the run finished, before the upload said so.
    _rewind(state / "uploads" / done / "upload.json", status="approved",
            applied_run_id=None, applied_status=None, attempts=[],
            run_ids=applied["run_ids"][:1])
    with make_client(tmp_path) as client:
        sign_in(client, "arne")
        page = client.get(f"/uploads/{waiting}").text
        assert 'class="badge st-interrupted"' in page
        assert "it wrote nothing (its run had not started)" in page
        assert "(no log: it had not started)" in page
        page = client.get(f"/uploads/{done}").text
        assert 'class="badge st-applied"' in page
    data = json.loads((state / "uploads" / done / "upload.json").read_text("utf-8"))
    assert (data["applied_run_id"], data["applied_status"]) == (applied["applied_run_id"],
                                                                "ok")
    assert data["attempts"][0]["written"] == 673
    assert data["history"][-1]["who"] == "hr-connector"

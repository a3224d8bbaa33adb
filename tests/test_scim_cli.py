"""The SCIM run from the command line and from a configuration file, against the sandbox
tenant of a state folder (its job keeps its status, budget and logs between commands)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from connector.cli.main import main
from connector.run.tenant import sandbox_path
from connector.sandbox import list_users
from tests.helpers import ROOT, SAMPLE_CSV

SCIM_MAPPING = str(ROOT / "mappings" / "default-scim.yaml")


@pytest.fixture
def state(state: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shared state folder, with Entra's provisioning logs available at once."""
    monkeypatch.setenv("HRC_SANDBOX_KNOBS", '{"provisioning_log_lag_s": 0}')
    return state


def run(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def report(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def test_sync_posts_to_the_sandbox_job_and_refresh_reads_the_outcomes(
        state: Path, tmp_path: Path) -> None:
    result = run("sync", str(SAMPLE_CSV), "--mapping", SCIM_MAPPING, "--wait", "0",
                 "--report", str(tmp_path / "r.json"), "--show", "0")
    assert result.exit_code == 0, result.output
    assert "posting to the sandbox's provisioning job" in result.output
    assert "337 pending" in result.output and "--refresh" in result.output
    run_id = report(tmp_path / "r.json")["run_id"]
    assert len([u for u in list_users(sandbox_path(state)) if u.get("employeeId")]) == 337
    shown = run("runs", "show", run_id, "--refresh", "--format", "json")
    assert shown.exit_code == 0, shown.output
    refreshed = json.loads(shown.output)
    assert refreshed["report"]["provisioning"]["outcomes"]["success"] == 337
    table = run("runs", "show", run_id)
    assert "entra-success (create)" in table.output
    again = run("sync", str(SAMPLE_CSV), "--mapping", SCIM_MAPPING, "--wait", "0")
    assert again.exit_code == 0 and "nothing to send" in again.output


def test_a_paused_job_is_exit_2_with_the_reason(state: Path) -> None:
    job = run("sandbox", "job", "--quarantine", "QuarantineOnDemand")
    assert "status         : Quarantine (QuarantineOnDemand)" in job.output
    url = re.search(r"bulkUpload URL : (\S+)", job.output)
    assert url is not None
    result = run("sync", str(SAMPLE_CSV), "--mapping", SCIM_MAPPING,
                 "--bulk-upload-url", url[1])
    assert result.exit_code == 2
    assert "is Quarantine (QuarantineOnDemand: " in result.output
    assert "nothing was posted" in result.output
    assert not [u for u in list_users(sandbox_path(state)) if u.get("employeeId")]
    assert "status         : Active" in run("sandbox", "job", "--start").output


def test_usage_errors_are_exit_2(state: Path, tmp_path: Path) -> None:
    graph = run("sync", str(SAMPLE_CSV), "--bulk-upload-url", "https://x.example/v1.0/"
                "servicePrincipals/00000000-0000-0000-0000-000000000000/synchronization/"
                "jobs/J/bulkUpload", "--mapping", str(ROOT / "mappings" / "default.yaml"))
    assert graph.exit_code == 2 and "target: scim" in graph.output
    payloads = run("sync", str(SAMPLE_CSV), "--mapping", str(ROOT / "mappings" /
                                                             "default.yaml"),
                   "--payloads", str(tmp_path / "p"))
    assert payloads.exit_code == 2 and "for SCIM runs" in payloads.output
    wait = run("sync", str(SAMPLE_CSV), "--mapping", SCIM_MAPPING, "--wait", "soon")
    assert wait.exit_code == 2 and "not a duration" in wait.output


def test_a_configured_run_posts_to_the_configured_job(state: Path, tmp_path: Path) -> None:
    url = re.search(r"bulkUpload URL : (\S+)", run("sandbox", "job").output)
    assert url is not None
    config = tmp_path / "hr.yaml"
    config.write_text(
        f"version: 1\ntenant: sandbox\nsource: {{file: {SAMPLE_CSV}}}\n"
        f"mapping: {SCIM_MAPPING}\ntarget:\n  bulk_upload_url: {url[1]}\n"
        f"  wait_minutes: 0\n  payloads: payloads\npaths: {{state: {state}}}\n"
        "reports: [json]\n", encoding="utf-8")
    result = run("run", "--config", str(config))
    assert result.exit_code == 0, result.output
    reports = list((state / "reports").glob("*.json"))
    assert len(reports) == 1 and report(reports[0])["provisioning"]["requests"] == 7
    assert len(list((tmp_path / "payloads").glob("bulk-*.json"))) == 7


def test_sandbox_reset_gives_a_fresh_job_that_the_next_run_fills_again(state: Path) -> None:
    first = run("sync", str(SAMPLE_CSV), "--mapping", SCIM_MAPPING, "--wait", "0")
    assert first.exit_code == 0
    assert run("sandbox", "reset").exit_code == 0
    assert not [u for u in list_users(sandbox_path(state)) if u.get("employeeId")]
    again = run("sync", str(SAMPLE_CSV), "--mapping", SCIM_MAPPING, "--wait", "0")
    assert again.exit_code == 0 and "337 pending" in again.output  # sent again, all of it
    assert len([u for u in list_users(sandbox_path(state)) if u.get("employeeId")]) == 337

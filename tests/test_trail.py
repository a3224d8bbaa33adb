"""A run's trail: the marker before anything, one log line per write as it arrives, the
report in the end; live, dead and failed runs told apart (in-process; the SIGKILL cases
are in test_interrupted.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connector.core.clock import now
from connector.core.plan import Change
from connector.core.results import WriteOutcome
from connector.errors import EXIT_RECORD_ERRORS, RunInterrupted, SourceError
from connector.mapping import load_mapping
from connector.run.history import list_runs, load_run
from connector.run.sync import SyncOptions, run_sync
from connector.run.tenant import open_tenant
from connector.run.trail import RunTrail, close_interrupted
from connector.sandbox import SandboxConfig
from tests.helpers import ROOT, SAMPLE_CSV


def trail(folder: Path, run_id: str = "20261126T090000Z-aaaaaa") -> RunTrail:
    return RunTrail(folder, run_id, started=now(), dry_run=False, source="hr.csv",
                    mapping="m.yaml", tenant="t")


def test_a_live_run_is_running_a_dead_one_interrupted_and_closed_once(tmp_path: Path) -> None:
    live = trail(tmp_path).start()
    live.write(Change("create", "000001", upn="a@contoso.com", attributes={"city": (None, "X")}),
               WriteOutcome(ok=True, user_id="u1"))
    (entry,) = list_runs(tmp_path)
    assert entry["status"] == "running"  # its log is locked: someone is at work
    assert close_interrupted(tmp_path) == []
    line = json.loads(live.log_path.read_text("utf-8"))  # on disk before the run ends
    assert line["outcome"] == "ok" and line["object_id"] == "u1"
    live._close()  # the process dies: the kernel drops the lock, the marker stays
    (entry,) = list_runs(tmp_path)
    assert entry["status"] == "interrupted" and entry["summary"]["create"] == 1
    report, lines = load_run(tmp_path, "20261126")
    assert report["status"] == "interrupted" and report["operations"] == len(lines) == 1
    follower = trail(tmp_path, "20261126T090001Z-bbbbbb").start()
    assert follower.follows == ["20261126T090000Z-aaaaaa"]
    assert json.loads(live.report_path.read_text("utf-8"))["status"] == "interrupted"
    follower.finish({"run_id": follower.run_id, "status": "ok"})
    assert close_interrupted(tmp_path) == []  # closed once, and a finished run is no marker


def test_an_error_before_any_write_leaves_no_trace_after_one_leaves_the_error(
    tmp_path: Path
) -> None:
    with pytest.raises(SourceError), trail(tmp_path):
        raise SourceError("no records")
    assert list(tmp_path.iterdir()) == []
    doomed = trail(tmp_path)

    def one_write_then_a_bug() -> None:
        with doomed:
            doomed.write(Change("disable", "000002"), WriteOutcome(ok=True))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        one_write_then_a_bug()
    report = json.loads(doomed.report_path.read_text("utf-8"))
    assert report["status"] == "interrupted" and report["error"] == "RuntimeError: boom"
    assert report["summary"]["disable"] == 1


def test_a_token_lost_midway_is_exit_1_and_an_interrupted_run(tmp_path: Path) -> None:
    """Graph stops giving tokens after the first writes: the run says how far it got,
    exits 1 (writes were made), and its trail is an interrupted run with those writes."""
    config = SandboxConfig.for_tests()
    state = tmp_path / "state"

    class RevokeAfterFirstWrite:
        def stage(self, name: str, total: int | None = None) -> None:
            pass

        def advance(self, steps: int = 1) -> None:
            if not config.token_fault_next:  # revoke the token, refuse new ones
                config.update({"tokens_not_before": 4e9, "token_fault_next": 1000})

    with open_tenant(state=state, sandbox_config=config) as tenant, \
            pytest.raises(RunInterrupted) as caught:
        run_sync(SAMPLE_CSV, load_mapping(ROOT / "mappings" / "default.yaml"), tenant.graph,
                 options=SyncOptions(), tenant=tenant.label, runs_folder=state / "runs",
                 progress=RevokeAfterFirstWrite())
    assert caught.value.exit_code == EXIT_RECORD_ERRORS
    assert "the run stopped after" in caught.value.message
    (entry,) = list_runs(state / "runs")
    assert entry["status"] == "interrupted" and entry["summary"]["written"] >= 1
    assert entry["error"] == caught.value.message

"""A run killed at any moment (SIGKILL, in a real subprocess, against the sandbox tenant)
leaves an audit trail, and one rerun with default settings converges.

The sandbox's latency knob (``HRC_SANDBOX_KNOBS``) slows Graph down so the kill lands
mid-apply; the test waits until the provisioning log holds as many lines as it wants,
then kills. Afterwards: ``runs`` lists the run as interrupted with what its log says it
completed, the rerun exits 0 and says it follows the interrupted run, and a dry run finds
nothing left to do (every user, attribute and manager right), with nobody created twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from connector.mapping import load_mapping
from connector.run.sync import SyncOptions, run_sync
from connector.run.tenant import open_tenant, sandbox_path
from connector.sandbox import SandboxConfig, list_users
from tests.helpers import ROOT, SAMPLE_CSV, sample_export, write_export

SEEDED = 3
SLOW = {"latency_ms": 150, "latency_jitter_ms": 250, "seed": 3}


def write_config(tmp: Path, source: Path, extra: str = "") -> Path:
    config = tmp / "hr-connector.yaml"
    config.write_text(f"""
tenant: sandbox
source: {{file: {source}}}
mapping: {ROOT / "mappings" / "default.yaml"}
paths: {{state: state, reports: reports}}
reports: [json]
{extra}
""", encoding="utf-8")
    return config


def command(*args: str, knobs: dict[str, Any] | None = None) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "HRC_SANDBOX"))}
    if knobs:
        env["HRC_SANDBOX_KNOBS"] = json.dumps(knobs)
    return [sys.executable, "-m", "connector", *args], env


def run(*args: str) -> subprocess.CompletedProcess[str]:
    argv, env = command(*args)
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def log_lines(runs: Path) -> int:
    return sum(len(p.read_bytes().splitlines()) for p in runs.glob("*.jsonl"))


def kill_after(config: Path, lines: int) -> str:
    """Start a run, SIGKILL it once the logs hold ``lines`` more lines (0: once its marker
    exists); returns the killed run's id."""
    runs = config.parent / "state" / "runs"
    before = {p.stem for p in runs.glob("*.json")} if runs.is_dir() else set()
    base = log_lines(runs) if runs.is_dir() else 0
    argv, env = command("run", "--config", str(config), knobs=SLOW)
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            assert process.poll() is None, f"the run ended before the kill: {process.stderr}"
            new = {p.stem for p in runs.glob("*.json")} - before if runs.is_dir() else set()
            if new and log_lines(runs) - base >= lines:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=30)
                (run_id,) = new
                return run_id
            time.sleep(0.01)
        raise AssertionError("the run never got that far")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()




def movers_and_leavers(tmp: Path) -> Path:
    """The sample with 40 movers (new title), 25 re-parented, 15 leavers: within the
    default thresholds."""
    header, rows = sample_export()
    active = [r for r in rows if r["Status"] == "Active" and r["WorkerType"] == "Employee"
              and r["EmployeeID"] != "000001" and not r["TerminationDate"]
              and r["HireDate"] <= "2026-11-26"]
    managers = [r["EmployeeID"] for r in active[60:80]]  # neither movers nor leavers
    for index, row in enumerate(active[:40]):
        row["JobTitle"] = f"{row['JobTitle']} II"
        if index < 25:
            others = [m for m in managers if m != row["ManagerID"]]
            row["ManagerID"] = others[index % len(others)]
    for row in active[-15:]:
        row["Status"], row["TerminationDate"] = "Terminated", "2026-11-20"
    return write_export(tmp / "movers.csv", header, rows)


def assert_converged(state: Path, source: Path) -> None:
    """Nobody twice, and nothing left to do: every user, attribute and manager right."""
    people = [u for u in list_users(sandbox_path(state)) if u.get("employeeId")]
    keys = [u["employeeId"] for u in people]
    assert len(keys) == len(set(keys)) == 337
    assert len(list_users(sandbox_path(state))) == SEEDED + 337
    with open_tenant(state=state, sandbox=True,
                     sandbox_config=SandboxConfig.for_tests()) as tenant:
        check = run_sync(source, load_mapping(ROOT / "mappings" / "default.yaml"),
                         tenant.graph, options=SyncOptions(dry_run=True),
                         tenant=tenant.label, runs_folder=state / "check")
    assert check.plan.writes == [], [(c.action, c.key) for c in check.plan.writes][:10]


def check_interrupted(config: Path, run_id: str) -> dict[str, Any]:
    """``runs`` lists the killed run as interrupted, ``runs show`` has its log."""
    state = config.parent / "state"
    listing = run("runs", "--state-dir", str(state))
    assert listing.returncode == 0, listing.stderr
    assert "interrupted" in listing.stdout
    shown = run("runs", "show", run_id, "--state-dir", str(state), "--format", "json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    report, log = data["report"], data["log"]
    assert report["status"] == "interrupted" and report["finished"] is None
    assert report["operations"] == len(log)
    assert report["summary"]["written"] == sum(1 for line in log if line["outcome"] == "ok")
    assert all(line["run_id"] == run_id for line in log)
    return dict(report)


def rerun(config: Path, killed: str) -> None:
    done = run("run", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert "follows interrupted run run_id=" in done.stderr
    assert f"interrupted={killed}" in done.stderr
    report = json.loads((config.parent / "state" / "runs" / f"{killed}.json").read_text())
    assert report["status"] == "interrupted"  # closed by the rerun, not left "running"


@pytest.mark.parametrize(("lines", "below"), [(0, 1), (90, 337), (420, 337 + 336)],
                         ids=["before-any-write", "during-creates", "during-managers"])
def test_a_first_load_killed_at_any_point_converges_in_one_rerun(
    tmp_path: Path, lines: int, below: int
) -> None:
    # Default limits: what the rerun completes (missing managers) is filling, never danger.
    config = write_config(tmp_path, SAMPLE_CSV)
    killed = kill_after(config, lines)
    report = check_interrupted(config, killed)
    assert lines <= report["operations"] < below  # the kill landed where it should
    assert report["summary"]["create"] + report["summary"]["failed"] >= min(lines, 337)
    rerun(config, killed)
    assert_converged(tmp_path / "state", SAMPLE_CSV)


def test_a_mover_and_leaver_run_killed_midway_converges_in_one_rerun(tmp_path: Path) -> None:
    first = run("run", "--config", str(write_config(tmp_path, SAMPLE_CSV)))
    assert first.returncode == 0, first.stderr
    source = movers_and_leavers(tmp_path)
    config = write_config(tmp_path, source)
    killed = kill_after(config, 20)
    report = check_interrupted(config, killed)
    assert 20 <= report["operations"] < 40 + 25 + 15
    rerun(config, killed)
    assert_converged(tmp_path / "state", source)
    leavers = [u for u in list_users(sandbox_path(tmp_path / "state"))
               if u.get("employeeLeaveDateTime") == "2026-11-20T23:59:59Z"]
    assert len(leavers) == 15 and not any(u["accountEnabled"] for u in leavers)

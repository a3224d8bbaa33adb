"""`hr-connector run --config`: the unattended run as cron and systemd start it."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from connector.run.history import prune_history
from connector.run.lock import EXIT_LOCKED, AlreadyRunning, RunLock
from tests.helpers import ROOT, SAMPLE_CSV


def write_config(tmp: Path, *, source: str | None = None, extra: str = "",
                 tenant: str = "sandbox") -> Path:
    config = tmp / "hr-connector.yaml"
    config.write_text(f"""
tenant: {tenant}
source:
  file: {source or SAMPLE_CSV}
mapping: {ROOT / "mappings" / "default.yaml"}
parameters: {{upn_domain: contoso.com}}
paths:
  state: state
  reports: reports
reports: [json, html, csv]
{extra}
""", encoding="utf-8")
    return config


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    return subprocess.run([sys.executable, "-m", "connector", "run", "--config", str(config),
                           *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_cron_run_prints_only_log_lines_and_writes_reports(tmp_path: Path) -> None:
    done = run(write_config(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines and all(line[:4].isdigit() and line[19:21] == "Z " for line in lines), lines
    assert "\x1b[" not in done.stderr  # no colour without a terminal
    finished = next(line for line in lines if " run finished " in line)
    assert "status=ok" in finished and "create=337" in finished
    reports = sorted(p.suffix for p in (tmp_path / "reports").iterdir())
    assert reports == [".csv", ".html", ".json"]
    again = run(write_config(tmp_path), "--log-format", "json")
    assert again.returncode == 0
    events = [json.loads(line) for line in again.stderr.splitlines()]
    finished_event = next(e for e in events if e["event"] == "run finished")
    assert finished_event["unchanged"] == 337 and "create" not in finished_event
    assert {"time", "level", "event"} <= set(events[0])


def test_a_second_run_refuses_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with RunLock(tmp_path / "state"):
        done = run(config)
    assert done.returncode == EXIT_LOCKED
    assert "another run is in progress (pid" in done.stderr
    assert "Traceback" not in done.stderr
    with RunLock(tmp_path / "state"), pytest.raises(AlreadyRunning):
        RunLock(tmp_path / "state").__enter__()
    assert run(config, "--dry-run").returncode == 0  # released when its holder ended


def test_exit_codes_follow_sync(tmp_path: Path) -> None:
    bad = write_config(tmp_path, source=str(tmp_path / "missing.csv"))
    done = run(bad)
    assert done.returncode == 2 and "does not exist" in done.stderr
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("source: {file: x.csv}\npolicies: {max_disable: 3}\n", encoding="utf-8")
    done = run(wrong)
    assert done.returncode == 2
    assert "policies.max_disable: unknown key" in done.stderr


def test_secrets_are_references_never_inline(tmp_path: Path) -> None:
    config = write_config(tmp_path, tenant="\n  tenant_id: t\n  client_id: c\n"
                                           "  client_secret: hunter2")
    done = run(config)
    assert done.returncode == 2
    assert "client_secret must not be written in the file" in done.stderr
    assert "hunter2" not in done.stderr


def test_history_older_than_retention_is_pruned(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    old, new = runs / "old.json", runs / "new.json"
    old.write_text("{}")
    new.write_text("{}")
    now = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    stamp = (now - dt.timedelta(days=100)).timestamp()
    os.utime(old, (stamp, stamp))
    os.utime(new, (now.timestamp(), now.timestamp()))
    assert prune_history([runs, tmp_path / "absent"], days=90, now=now) == 1
    assert sorted(p.name for p in runs.iterdir()) == ["new.json"]


def test_drop_folder_processes_each_file_once_in_arrival_order(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    config = tmp_path / "hr-connector.yaml"
    config.write_text(f"""
tenant: sandbox
source:
  folder: {{path: drop, stable_seconds: 0}}
mapping: {ROOT / "mappings" / "default.yaml"}
paths: {{state: state, reports: reports}}
""", encoding="utf-8")
    sample = SAMPLE_CSV.read_text(encoding="utf-8")
    files = {
        "monday.csv": sample,
        "tuesday.csv": sample.replace(",Recruiter,", ",Senior Recruiter,", 1),
        "wednesday.csv": "%PDF-1.7 not an export",
    }
    for offset, (name, text) in enumerate(files.items()):
        (drop / name).write_text(text, encoding="utf-8")
        stamp = 1_700_000_000 + offset * 60
        os.utime(drop / name, (stamp, stamp))
    (drop / "thursday.csv.part").write_text(sample, encoding="utf-8")  # still uploading
    done = run(config)
    assert done.returncode == 1, done.stderr  # a rejected file is worth a look
    processed = sorted(p.name for p in (drop / "processed").iterdir())
    rejected = sorted(p.name for p in (drop / "rejected").iterdir())
    assert [n for n in processed if n.endswith(".csv")][0].endswith("-monday.csv")
    assert sum(n.endswith(".csv") for n in processed) == 2
    assert sum(".report." in n for n in processed) >= 2
    assert [n for n in rejected if n.endswith("wednesday.csv")]
    assert any(".report." in n for n in rejected)
    assert (drop / "thursday.csv.part").exists()
    order = [line for line in done.stderr.splitlines() if "file picked up" in line]
    assert ["monday" in order[0], "tuesday" in order[1]] == [True, True]
    tuesday = next(line for line in done.stderr.splitlines()
                   if " run finished " in line and "tuesday" in line)
    assert "update=1" in tuesday

    (drop / "again.csv").write_text(files["monday.csv"], encoding="utf-8")
    again = run(config)
    assert again.returncode == 0, again.stderr
    assert "file is a duplicate file=again.csv" in again.stderr
    assert " run finished " not in again.stderr  # nothing applied
    assert any(n.endswith("-again.csv") for n in os.listdir(drop / "processed"))


def test_runs_list_newest_first_even_within_one_second(tmp_path: Path) -> None:
    from connector.run.history import list_runs

    first = tmp_path / "20261126T054058Z-ffffff.json"
    second = tmp_path / "20261126T054058Z-000000.json"
    first.write_text('{"run_id": "first"}')
    second.write_text('{"run_id": "second"}')
    os.utime(first, ns=(1_000_000_000, 1_000_000_000))
    os.utime(second, ns=(2_000_000_000, 2_000_000_000))
    assert [r["run_id"] for r in list_runs(tmp_path)] == ["second", "first"]

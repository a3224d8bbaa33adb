"""`hr-connector run --config`: the unattended run as cron and systemd start it."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from connector.run.lock import EXIT_LOCKED, AlreadyRunning, RunLock
from connector.run.retention import prune_reports, prune_runs, prune_uploads
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


def _aged(path: Path, now: dt.datetime, days: int) -> Path:
    if not path.exists():
        path.write_text("{}", encoding="utf-8")
    stamp = (now - dt.timedelta(days=days)).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def test_retention_deletes_only_the_connectors_own_files_by_name(tmp_path: Path) -> None:
    now = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    runs, reports, uploads = tmp_path / "runs", tmp_path / "reports", tmp_path / "uploads"
    for folder in (runs, reports, uploads):
        folder.mkdir()
    old_id, new_id = "20260801T020000Z-3f9a1c", "20261120T020000Z-0a0b0c"
    for suffix in (".json", ".jsonl"):
        _aged(runs / f"{old_id}{suffix}", now, 100)
        _aged(runs / f"{new_id}{suffix}", now, 100)  # an old file time, a recent name
    for suffix in (".json", ".csv", ".md", ".xlsx"):
        _aged(reports / f"{old_id}{suffix}", now, 100)
    budget = _aged(reports / "budget-2026.xlsx", now, 400)  # not the connector's
    notes = _aged(runs / "notes.json", now, 400)
    copied = _aged(reports / f"{old_id}.html", now, 0)  # an old name copied back today
    assert prune_runs(runs, days=90, now=now) == 2
    assert sorted(p.name for p in runs.iterdir()) == sorted(
        [f"{new_id}.json", f"{new_id}.jsonl", "notes.json"])
    assert prune_reports(reports, days=90, now=now) == 4
    assert budget.exists() and copied.exists() and notes.exists()
    old_upload = uploads / "20260801T020000Z-0123456789ab"
    applying = uploads / "20260802T020000Z-ba9876543210"
    for folder, status in ((old_upload, "applied"), (applying, "approved")):
        folder.mkdir()
        (folder / "upload.json").write_text(json.dumps({"status": status}), encoding="utf-8")
        (folder / "source.csv").write_text("id\n", encoding="utf-8")
        _aged(folder, now, 100)
    assert prune_uploads(uploads, days=30, now=now) == 1
    assert not old_upload.exists() and applying.exists()


def test_the_upload_ids_retention_knows_are_the_upload_pages() -> None:
    from connector.run.retention import UPLOAD_ID
    from connector.web.store import UPLOAD_ID as PAGE_ID
    from connector.web.store import UploadStore

    upload_id = UploadStore(Path("unused")).new_id()
    assert UPLOAD_ID.fullmatch(upload_id) and PAGE_ID.fullmatch(upload_id)
    assert PAGE_ID.pattern == UPLOAD_ID.pattern.replace("(", "").replace(")", "")


def _drop_config(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "hr-connector.yaml"
    config.write_text(f"""
tenant: sandbox
source:
  folder: {{path: drop, stable_seconds: 1}}
mapping: {ROOT / "mappings" / "default.yaml"}
paths: {{state: state, reports: reports}}
{extra}
""", encoding="utf-8")
    return config


def _drop(drop: Path, name: str, text: str, stamp: float) -> None:
    (drop / name).write_text(text, encoding="utf-8")
    os.utime(drop / name, (stamp, stamp))


def test_drop_folder_applies_every_file_in_arrival_order_and_a_re_export_undoes(
        tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    config = _drop_config(tmp_path)
    sample = SAMPLE_CSV.read_text(encoding="utf-8")
    row = next(line for line in sample.splitlines() if line.endswith(",,Active,Employee")
               and ",2019-" in line)
    terminated = sample.replace(row, row.replace(",,Active,", ",2026-11-20,Terminated,"))
    files = {"monday.csv": sample, "tuesday.csv": terminated,
             "wednesday.csv": "%PDF-1.7 not an export"}
    for offset, (name, text) in enumerate(files.items()):
        _drop(drop, name, text, 1_700_000_000 + offset * 60)
    (drop / "thursday.csv.part").write_text(sample, encoding="utf-8")  # still uploading
    done = run(config)
    assert done.returncode == 1, done.stderr  # a rejected file is worth a look
    processed = sorted(p.name for p in (drop / "processed").iterdir())
    rejected = sorted(p.name for p in (drop / "rejected").iterdir())
    kept = [n for n in processed if n.endswith(".csv")]
    assert len(kept) == 2 and kept[0].endswith("-monday.csv")
    assert (drop / "processed" / kept[0]).read_text(encoding="utf-8") == sample  # as applied
    assert sum(".report." in n for n in processed) >= 4
    assert [n for n in rejected if n.endswith("wednesday.csv")]
    assert (drop / "thursday.csv.part").exists()
    order = [line for line in done.stderr.splitlines() if "file picked up" in line]
    assert ["monday" in order[0], "tuesday" in order[1]] == [True, True]
    tuesday = next(line for line in done.stderr.splitlines()
                   if " run finished " in line and "tuesday" in line)
    assert "disable=1" in tuesday

    # HR undoes the termination by dropping Monday's export again: it is applied.
    _drop(drop, "monday again.csv", sample, 1_700_001_000)
    again = run(config)
    assert again.returncode == 0, again.stderr
    finished = next(line for line in again.stderr.splitlines() if " run finished " in line)
    assert "enable=1" in finished and "disable" not in finished
    assert "same content as" not in again.stderr  # Tuesday's was the last one applied
    # The same export once more: said to be the same as the last, planned, nothing to write.
    _drop(drop, "monday third.csv", sample, 1_700_002_000)
    third = run(config, "--log-format", "json")
    assert third.returncode == 0, third.stderr
    events = [json.loads(line) for line in third.stderr.splitlines()]
    same = next(e for e in events if e["event"].startswith("file has the same content"))
    assert same["same_as"].startswith("monday again.csv (")
    finished_event = next(e for e in events if e["event"] == "run finished")
    assert finished_event["unchanged"] > 300 and "enable" not in finished_event
    assert not [n for n in os.listdir(drop) if n.endswith(".csv")]


def test_a_half_written_drop_file_waits_until_it_is_complete(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    config = _drop_config(tmp_path)
    sample = SAMPLE_CSV.read_text(encoding="utf-8")
    half = sample[: len(sample) // 2]
    _drop(drop, "staff.csv", half, 1_700_000_000)
    done = run(config)
    assert done.returncode == 0, done.stderr
    assert "file not ready file=staff.csv" in done.stderr and "cut short" in done.stderr
    assert " run finished " not in done.stderr and not os.listdir(drop / "processed")
    with (drop / "staff.csv").open("a", encoding="utf-8") as handle:
        handle.write(sample[len(half):])
    done = run(config)
    assert done.returncode == 0, done.stderr
    assert "create=337" in done.stderr


def test_retention_prunes_kept_hr_files_and_leaves_others(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    (drop / "processed").mkdir(parents=True)
    (tmp_path / "reports").mkdir()
    config = _drop_config(tmp_path, "retention: {runs_days: 90, hr_files_days: 30}")
    old = drop / "processed" / "20260901T020000Z-staff.csv"
    old.write_text("id\n", encoding="utf-8")
    report = drop / "processed" / "20260901T020000Z-staff.csv.report.html"
    report.write_text("<p>", encoding="utf-8")
    budget = tmp_path / "reports" / "budget-2026.xlsx"
    budget.write_bytes(b"numbers")
    for path in (old, report, budget):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    done = run(config)
    assert done.returncode == 0, done.stderr
    assert not old.exists() and not report.exists() and budget.exists()
    assert "history pruned hr_files=2" in done.stderr


def test_runs_list_newest_first_even_within_one_second(tmp_path: Path) -> None:
    from connector.run.history import list_runs

    first = tmp_path / "20261126T054058Z-ffffff.json"
    second = tmp_path / "20261126T054058Z-000000.json"
    first.write_text('{"run_id": "first"}')
    second.write_text('{"run_id": "second"}')
    os.utime(first, ns=(1_000_000_000, 1_000_000_000))
    os.utime(second, ns=(2_000_000_000, 2_000_000_000))
    assert [r["run_id"] for r in list_runs(tmp_path)] == ["second", "first"]

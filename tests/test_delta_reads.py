"""Nightly runs read the tenant's delta, not every user (graph.md §4.6): the main job over
an in-process sandbox tenant, every request counted.

(a) the first run reads in full and keeps a snapshot; (b) an unchanged rerun makes a few
requests and no write; (c) a user changed in the tenant by hand is corrected by the next
run; (d) an expired delta token falls back to a full read, with a log line saying so. And
the snapshot's other ways to a full read: damaged, old, another mapping, --full-read.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import logging
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from connector.cli.main import main
from connector.config import load_config
from connector.core import clock
from connector.errors import ConfigError
from connector.graph import Operation
from connector.mapping import load_mapping
from connector.run.job import options_from
from connector.run.logs import LOGGER
from connector.run.snapshot import PREFIX, DeltaReads
from connector.run.sync import SyncOptions, run_sync
from connector.sandbox import SandboxConfig
from tests.graph.helpers import Tenant, make_tenant
from tests.helpers import ROOT, SAMPLE_CSV

# The users only: a mapping's groups are read in full every run (README "Groups"); what
# this file measures is the users' delta.
MAPPING = dataclasses.replace(
    load_mapping(ROOT / "mappings" / "default.yaml", params={"upn_domain": "contoso.com"}),
    groups=None)
ROWS = 150  # people from the sample export: two delta pages of their first load


class Recorder(httpx.BaseTransport):
    """Counts every request the client sends (token requests included)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests: list[tuple[str, str]] = []
        self.refuse_delta = False  # answer /users/delta as a Graph that will not take it

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        if self.refuse_delta and request.url.path.endswith("/users/delta"):
            return httpx.Response(400, json={"error": {
                "code": "Request_BadRequest",
                "message": "Property 'employeeLeaveDateTime' is not supported for delta."}})
        return self.inner.handle_request(request)


@pytest.fixture
def lines() -> Iterator[list[str]]:
    """The connector's log lines ("event key=value") while the test runs."""
    captured: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            fields = getattr(record, "fields", {})
            captured.append(" ".join([record.levelname, record.getMessage(),
                                      *(f"{k}={v}" for k, v in fields.items())]))

    handler, level = Keep(), LOGGER.level
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    try:
        yield captured
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.setLevel(level)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    with SAMPLE_CSV.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = [row for _, row in zip(range(ROWS), reader, strict=False)]
        header = list(reader.fieldnames or [])
    kept = {row["EmployeeID"] for row in rows}
    for row in rows:  # managers outside the slice would only be warnings
        row["ManagerID"] = row["ManagerID"] if row["ManagerID"] in kept else ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "employees.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


class Night:
    """A tenant and the runs made against it, one state folder."""

    def __init__(self, tmp: Path, config: SandboxConfig | None = None) -> None:
        self.recorder: Recorder | None = None

        def wrap(inner: httpx.BaseTransport) -> httpx.BaseTransport:
            self.recorder = Recorder(inner)
            return self.recorder

        self.tenant: Tenant = make_tenant(config, transport_wrapper=wrap)
        self.state = tmp / "state"

    def run(self, source: Path, *, dry_run: bool = False, full_read: bool = False,
            days: int = 7) -> tuple[Any, list[tuple[str, str]]]:
        assert self.recorder is not None
        before = len(self.recorder.requests)
        options = SyncOptions(dry_run=dry_run, delta=DeltaReads(
            self.state, full_read_days=days, full_read=full_read))
        result = run_sync(source, MAPPING, self.tenant.graph, options=options,
                          tenant="sandbox", runs_folder=self.state / "runs")
        return result, self.recorder.requests[before:]

    def snapshot(self) -> Path:
        found = list(self.state.glob(f"{PREFIX}*.jsonl"))
        assert len(found) == 1, found
        return found[0]


def writes(result: Any) -> Counter[str]:
    return Counter(change.action for change in result.plan.writes)


def reads(requests: list[tuple[str, str]]) -> Counter[str]:
    return Counter(path.removeprefix("/v1.0") for method, path in requests if method == "GET")


def test_first_run_full_then_reruns_read_only_the_delta(
    tmp_path: Path, source: Path, lines: list[str]
) -> None:
    night = Night(tmp_path)
    first, requests = night.run(source)
    assert first.exit_code == 0 and writes(first)["create"] > 100
    assert lines[-1].startswith("INFO tenant read in full: no snapshot of this tenant yet")
    assert "/users" not in reads(requests) and reads(requests)["/users/delta"] == 1  # 3 users
    assert night.snapshot().stat().st_mode & 0o077 == 0  # HR data: the owner's only

    second, requests = night.run(source)
    assert not second.plan.writes and second.plan.summary["unchanged"] == first.plan.summary[
        "create"]
    assert lines[-1].startswith("INFO tenant read from the snapshot and its delta")
    assert len(requests) <= 10 and set(reads(requests)) == {"/users/delta"}
    assert reads(requests)["/users/delta"] == 2  # the first run's 141 creates come back

    third, requests = night.run(source)
    assert not third.plan.writes and len(requests) == 1  # nothing changed: one page, empty
    assert "changed=0" in lines[-1] and "requests=1" in lines[-1]


def test_a_user_changed_by_hand_is_corrected_by_the_next_run(
    tmp_path: Path, source: Path, lines: list[str]
) -> None:
    night = Night(tmp_path)
    assert night.run(source)[0].exit_code == 0
    night.run(source)
    users = {u["employeeId"]: u for u in night.tenant.graph.list_users(["jobTitle"])
             if u.get("employeeId")}
    worker = next(u for u in users.values() if u["manager"] and u["jobTitle"])
    title = worker["jobTitle"]
    graph = night.tenant.graph  # an admin in the portal, not the connector
    graph.update_user(worker["id"], {"jobTitle": "Changed by hand", "department": None})
    graph.clear_manager(worker["id"])
    result, requests = night.run(source)
    assert "mode=delta" in lines[-1] and "changed=1" in lines[-1] and len(requests) <= 10
    changes = {(c.action, c.key): c for c in result.plan.writes}
    update = changes[("update", worker["employeeId"])]
    assert update.attributes["jobTitle"] == ("Changed by hand", title)
    assert ("manager", worker["employeeId"]) in changes
    assert result.exit_code == 0 and result.outcomes and not result.failed
    after = graph.get_user(worker["id"], ["jobTitle"])
    assert after["jobTitle"] == title
    again, _ = night.run(source)
    assert not again.plan.writes


def test_an_expired_delta_token_falls_back_to_a_full_read(
    tmp_path: Path, source: Path, lines: list[str]
) -> None:
    night = Night(tmp_path)
    night.run(source)
    night.tenant.config.delta_token_lifetime_s = 600
    night.tenant.clock.now += 601
    result, requests = night.run(source)
    assert any(line.startswith("WARNING tenant read in full: Graph no longer accepts the "
                               "saved delta token (410, syncStateNotFound)") for line in lines)
    assert reads(requests)["/users/delta"] == 1 + 2  # refused, then a full round of 144
    assert not result.plan.writes  # the full read saw the first run's writes
    _, requests = night.run(source)
    assert len(requests) == 1  # the full read left a new snapshot


def test_damaged_snapshot_old_full_read_other_mapping_and_full_read_option(
    tmp_path: Path, source: Path, lines: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    night = Night(tmp_path)
    night.run(source)
    night.run(source)
    path = night.snapshot()
    data = path.read_bytes()
    assert b'@contoso.com"' in data
    path.write_bytes(data.replace(b'@contoso.com"', b'@contoso.org"', 1))  # one value changed
    result, _ = night.run(source)
    assert "the snapshot" in lines[-1] and "is damaged (its checksum does not match)" in \
        lines[-1] and lines[-1].startswith("WARNING")
    assert not result.plan.writes
    path.write_bytes(data[: len(data) // 2])  # cut short
    night.run(source)
    assert "damaged (" in lines[-1]
    path.write_bytes(b"\x00garbage")
    night.run(source)
    assert "damaged (unreadable" in lines[-1]

    night.run(source, full_read=True)
    assert "a full read was asked for (--full-read)" in lines[-1]
    night.run(source, days=0)
    assert "delta reads are off (delta.full_read_days: 0)" in lines[-1]

    later = clock.now() + dt.timedelta(days=6)
    monkeypatch.setenv(clock.ENV, later.strftime("%Y-%m-%dT%H:%M:%SZ"))
    clock.set_clock(None)
    night.run(source)
    assert "mode=delta" in lines[-1]  # six days after the full read
    night.run(source, days=6)
    assert "the last full read was 6 days ago (delta.full_read_days: 6)" in lines[-1]

    other = load_mapping(ROOT / "mappings" / "default.yaml",
                         params={"upn_domain": "contoso.com"})
    other.rules.pop("jobTitle")
    run_sync(source, other, night.tenant.graph, options=SyncOptions(
        dry_run=True, delta=DeltaReads(night.state)), tenant="sandbox",
        runs_folder=night.state / "runs")
    assert "the mapping's properties changed since the snapshot" in lines[-1]


def test_a_dry_run_reads_through_the_snapshot_but_never_writes_it(
    tmp_path: Path, source: Path, lines: list[str]
) -> None:
    night = Night(tmp_path)
    dry, _ = night.run(source, dry_run=True)
    assert dry.plan.writes and "no snapshot of this tenant yet" in lines[-1]
    assert not list(night.state.glob(f"{PREFIX}*"))
    night.run(source)
    saved = night.snapshot().read_bytes()
    night.tenant.graph.execute([Operation("update", u["id"], {"jobTitle": "Moved"})
                                for u in night.tenant.graph.list_users([])[:5]])
    dry, _ = night.run(source, dry_run=True)
    assert "mode=delta" in lines[-1]
    assert night.snapshot().read_bytes() == saved


def test_a_snapshot_that_cannot_be_written_is_a_warning_not_a_failed_run(
    tmp_path: Path, source: Path, lines: list[str]
) -> None:
    night = Night(tmp_path)
    night.run(source)
    path = night.snapshot()
    path.unlink()
    path.mkdir()  # replacing a folder fails
    result, _ = night.run(source)
    assert result.exit_code == 0 and not result.plan.writes
    assert any(line.startswith("WARNING tenant snapshot not saved") for line in lines)
    assert not [p for p in night.state.iterdir() if p.name.endswith(".tmp")]
    assert os.path.isdir(path)


def test_sync_full_read_option_and_the_snapshot_beside_the_sandbox(
    tmp_path: Path, source: Path, lines: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HRC_STATE_DIR", str(tmp_path / "state"))
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
                 "AZURE_CLIENT_CERTIFICATE_PATH"):
        monkeypatch.delenv(name, raising=False)

    def sync(*args: str) -> None:
        done = CliRunner().invoke(main, ["sync", str(source), "--mapping",
                                         str(ROOT / "mappings" / "default.yaml"),
                                         "--param", "upn_domain=contoso.com", *args])
        assert done.exit_code == 0, done.output

    sync()
    assert "no snapshot of this tenant yet" in lines[-1]
    sync()
    assert "mode=delta" in lines[-1]
    sync("--full-read", "--dry-run")
    assert "a full read was asked for (--full-read)" in lines[-1]
    CliRunner().invoke(main, ["sandbox", "reset"])  # a reset tenant ends the delta tokens
    sync("--dry-run")
    assert "Graph no longer accepts the saved delta token (410, syncStateNotFound)" in lines[-1]


def test_run_full_read_option_and_the_delta_section(tmp_path: Path, source: Path) -> None:
    config = tmp_path / "hr-connector.yaml"
    config.write_text(f"""
tenant: sandbox
source: {{file: {source}}}
mapping: {ROOT / "mappings" / "default.yaml"}
parameters: {{upn_domain: contoso.com}}
paths: {{state: state, reports: reports}}
delta: {{full_read_days: 3}}
""", encoding="utf-8")
    delta = options_from(load_config(config), full_read=True).delta
    assert delta == DeltaReads(tmp_path / "state", full_read_days=3, full_read=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}

    def run(*args: str) -> list[dict[str, Any]]:
        done = subprocess.run([sys.executable, "-m", "connector", "run", "--config", str(config),
                               "--log-format", "json", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stderr.splitlines()]

    first = next(e for e in run() if e.get("mode"))
    assert (first["mode"], first["reason"]) == ("full", "no snapshot of this tenant yet")
    again = next(e for e in run("--full-read", "--dry-run") if e.get("mode"))
    assert again["reason"] == "a full read was asked for (--full-read)"
    assert again["event"] == "tenant read in full: a full read was asked for (--full-read)"
    bad = config.read_text(encoding="utf-8").replace("full_read_days: 3", "full_read_day: 3")
    config.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError, match="delta.full_read_day: unknown key"):
        load_config(config)


def test_a_delta_query_graph_refuses_lists_the_users_as_before(
    tmp_path: Path, source: Path, lines: list[str]
) -> None:
    night = Night(tmp_path)
    assert night.recorder is not None
    night.run(source)
    night.recorder.refuse_delta = True
    result, requests = night.run(source)
    assert not result.plan.writes and result.exit_code == 0
    assert lines[-1].startswith("WARNING tenant listed in full: Graph refused the delta query")
    assert "not supported for delta" in lines[-1]
    assert reads(requests) == Counter({"/users/delta": 2, "/users": 2})  # link, round, list

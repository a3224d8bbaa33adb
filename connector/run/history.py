"""Run history under the state directory: where it is, run ids, listing (pruning is
``run.retention``).

Per run, two files in ``<state>/runs/`` (written by :mod:`connector.run.trail`):
``<run id>.jsonl``, the provisioning log, one JSON line per write, and
``<run id>.json``, the run's JSON report (a marker while the run is going), which
``hr-connector runs`` lists and ``runs show`` prints. A run that never finished is listed
as ``interrupted``, with what its log says it completed. A run that wrote nothing (a dry
run, a safety stop) logs no line: ``planned_operations`` reads what it planned from its
report.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from connector.core.plan import WRITES
from connector.core.plan.group_model import GROUP_LABELS, GROUP_WRITES
from connector.errors import ConfigError
from connector.run.trail import log_lines, run_entry

STATE_ENV = "HRC_STATE_DIR"


def state_dir(given: str | Path | None = None) -> Path:
    """The state directory: the one given, else ``$HRC_STATE_DIR``, else ~/.hr-connector."""
    if given:
        return Path(given)
    if os.environ.get(STATE_ENV):
        return Path(os.environ[STATE_ENV])
    return Path.home() / ".hr-connector"


def new_run_id(now: dt.datetime) -> str:
    """Sortable and unique: ``20261126T043512Z-3f9a1c``."""
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def list_runs(folder: Path) -> Iterator[dict[str, Any]]:
    """Saved run reports, newest first; unreadable files are skipped."""
    if not folder.is_dir():
        return
    # Ids sort by second only; within a second the report written last is the newest.
    def newest_first(path: Path) -> tuple[str, int]:
        return path.name[:16], path.stat().st_mtime_ns

    for path in sorted(folder.glob("*.json"), key=newest_first, reverse=True):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            yield run_entry(path, data)


def load_run(folder: Path, run_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A run's report and its log lines; a unique prefix of the id is enough."""
    matches = sorted(p for p in folder.glob(f"{run_id}*.json")) if folder.is_dir() else []
    if len(matches) != 1:
        known = ", ".join(p.stem for p in sorted(folder.glob("*.json"))[-5:]) if \
            folder.is_dir() else ""
        what = "no run" if not matches else f"{len(matches)} runs"
        raise ConfigError(f"{what} with id {run_id!r} in {folder}"
                          + (f" (latest: {known})" if known else ""))
    try:
        report = json.loads(matches[0].read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"the run report {matches[0]} cannot be read: {exc}") from None
    return run_entry(matches[0], report), list(log_lines(matches[0].with_suffix(".jsonl")))


def planned_operations(report: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The writes a dry or stopped run planned, from its report, shaped as provisioning
    log lines (outcome ``dry-run`` or ``not-run``, the time the run finished): such a run
    logs none, since it wrote nothing. Nothing for any other run."""
    if report.get("status") not in ("dry-run", "stopped"):
        return
    outcome = "dry-run" if report.get("dry_run") else "not-run"
    for item in report.get("changes") or ():
        if isinstance(item, dict) and item.get("action") in WRITES:
            yield {"time": report.get("finished"), "run_id": report.get("run_id"),
                   "action": item["action"], "employee_id": item.get("employeeId"),
                   "upn": item.get("userPrincipalName"), "object_id": item.get("userId"),
                   "attributes": sorted(item.get("attributes") or ()), "outcome": outcome,
                   "request_id": None, "error_code": None, "error": None}
    for item in (report.get("groups") or {}).get("changes") or ():
        if isinstance(item, dict) and item.get("action") in GROUP_WRITES:
            yield {"time": report.get("finished"), "run_id": report.get("run_id"),
                   "action": GROUP_LABELS[item["action"]], "group": item.get("group"),
                   "mailNickname": item.get("mailNickname"), "group_id": item.get("groupId"),
                   "employee_id": item.get("member"), "upn": item.get("userPrincipalName"),
                   "object_id": item.get("memberId"),
                   "attributes": sorted(item.get("attributes") or ()), "outcome": outcome,
                   "request_id": None, "error_code": None, "error": None}

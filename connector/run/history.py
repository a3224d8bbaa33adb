"""The provisioning log and run history, under the state directory.

Per run, two files in ``<state>/runs/``: ``<run id>.jsonl`` holds one JSON line per
operation (time, run id, action, employee id, UPN, object id, the names of the attributes
changed, outcome, Graph request-id and error code), and ``<run id>.json`` the run's JSON
report, which ``hr-connector runs`` lists and ``runs show`` prints. Values are never
logged, only attribute names: the log is for auditing what was done, not a copy of HR data,
and passwords never reach it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from connector.core import clock
from connector.core.clock import now
from connector.core.plan import Change
from connector.core.results import Outcome
from connector.errors import ConfigError

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


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ProvisioningLog:
    """Appends one JSON line per operation of a run; usable as a context manager."""

    def __init__(self, folder: Path, run_id: str, *, clock: Any = None) -> None:
        self.folder = folder
        self.run_id = run_id
        self._clock = clock or now
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the run folder {folder}: {exc.strerror}") from None
        self.path = folder / f"{run_id}.jsonl"
        self._handle: TextIO = self.path.open("a", encoding="utf-8")

    def write(self, change: Change, outcome: Outcome | None, *, dry_run: bool) -> None:
        """Log one operation; ``outcome`` is None for a dry run or a stopped run."""
        line = {
            "time": _iso(self._clock()),
            "run_id": self.run_id,
            "action": change.action,
            "employee_id": change.key,
            "upn": change.upn,
            "object_id": (outcome.user_id if outcome and outcome.user_id else change.user_id),
            "attributes": sorted(change.attributes),
            "outcome": ("dry-run" if dry_run else "not-run" if outcome is None
                        else "ok" if outcome.ok else "failed"),
            "request_id": outcome.request_id if outcome else None,
            "error_code": outcome.code if outcome else None,
            "error": outcome.error if outcome else None,
        }
        self._handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._handle.flush()

    def close(self) -> None:
        """Close the log file."""
        self._handle.close()

    def __enter__(self) -> ProvisioningLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def save_report(folder: Path, run_id: str, report: dict[str, Any]) -> Path:
    """Keep the run's JSON report beside its log, for ``runs`` and ``runs show``."""
    path = folder / f"{run_id}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def list_runs(folder: Path) -> Iterator[dict[str, Any]]:
    """Saved run reports, newest first; unreadable files are skipped."""
    if not folder.is_dir():
        return
    # Ids sort by second only; within a second the report written last is the newest.
    def newest_first(path: Path) -> tuple[str, int]:
        return path.name[:16], path.stat().st_mtime_ns

    for path in sorted(folder.glob("*.json"), key=newest_first, reverse=True):
        try:
            yield json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue


def load_run(folder: Path, run_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A run's report and its log lines; a unique prefix of the id is enough."""
    matches = sorted(p for p in folder.glob(f"{run_id}*.json")) if folder.is_dir() else []
    if len(matches) != 1:
        known = ", ".join(p.stem for p in sorted(folder.glob("*.json"))[-5:]) if \
            folder.is_dir() else ""
        what = "no run" if not matches else f"{len(matches)} runs"
        raise ConfigError(f"{what} with id {run_id!r} in {folder}"
                          + (f" (latest: {known})" if known else ""))
    report = json.loads(matches[0].read_text(encoding="utf-8"))
    log_path = matches[0].with_suffix(".jsonl")
    lines = []
    if log_path.exists():
        lines = [json.loads(line) for line in log_path.read_text("utf-8").splitlines() if line]
    return report, lines


def prune_history(folders: list[Path], *, days: int, now: dt.datetime | None = None) -> int:
    """Delete run logs and reports older than ``days``; returns how many files went.

    Ages are file modification times, which the system writes in real time: they are
    compared with the system's time, not the connector's clock (a clock set a year ahead
    for a test must not make today's files look a year old)."""
    limit = (now.timestamp() if now else clock.system_time()) - days * 86400
    removed = 0
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            try:
                if path.is_file() and not path.is_symlink() and path.stat().st_mtime < limit:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
    return removed

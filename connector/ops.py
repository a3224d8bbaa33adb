"""Running unattended: the single-instance lock, log lines for cron, history retention.

* **Lock.** One run at a time per state directory: ``<state>/run.lock`` is held with an
  exclusive ``flock`` for the whole run. The kernel releases it when the process ends, even
  on a crash, so a stale lock never blocks the next night. A second run exits at once with
  ``EXIT_LOCKED`` and says which process holds the lock.
* **Logs.** Without a terminal (cron, systemd) a run prints plain log lines, one event
  each (``2026-11-26T02:00:01Z INFO plan create=3 update=12 ...``), or JSON lines with
  ``--log-format json`` for a log collector. No colour, no progress bar, no prompt.
* **Retention.** Run logs and reports older than the configured number of days are
  deleted after each run.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import sys
from pathlib import Path
from typing import IO, Any, Literal

from connector import clock
from connector.errors import ConnectorError

#: Exit code of a run that found another one holding the lock (after 0-3 of sync).
EXIT_LOCKED = 4

LOGGER = logging.getLogger("hr_connector")


class AlreadyRunning(ConnectorError):
    """Another run holds the lock of this state directory."""

    exit_code = EXIT_LOCKED


class RunLock:
    """An exclusive, crash-safe lock on ``<state>/run.lock`` (a context manager)."""

    def __init__(self, state: Path) -> None:
        self.path = state / "run.lock"
        self._handle: IO[str] | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise AlreadyRunning(
                f"another run is in progress ({holder}); this one did nothing. "
                f"Lock: {self.path}") from None
        handle.seek(0)
        handle.truncate()
        started = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        handle.write(f"pid {os.getpid()} since {started}\n")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class _LineFormatter(logging.Formatter):
    """``2026-11-26T02:00:01Z INFO event key=value ...``: one event per line, greppable."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "fields", {})
        stamp = dt.datetime.fromtimestamp(record.created, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        pairs = " ".join(f"{k}={_quote(v)}" for k, v in fields.items())
        return f"{stamp} {record.levelname} {record.getMessage()}" + (f" {pairs}" if pairs else "")


class _JsonFormatter(logging.Formatter):
    """One JSON object per line: ``{"time", "level", "event", ...fields}``."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = dt.datetime.fromtimestamp(record.created, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        data = {"time": stamp, "level": record.levelname, "event": record.getMessage(),
                **getattr(record, "fields", {})}
        return json.dumps(data, ensure_ascii=False, default=str)


def _quote(value: Any) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (not text or " " in text or "=" in text
                                                    or '"' in text) else text


def setup_logging(fmt: Literal["text", "json"], stream: IO[str] | None = None) -> None:
    """Send the connector's events to ``stream`` (stderr) as text or JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _LineFormatter())
    LOGGER.handlers[:] = [handler]
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False


def log(event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event with its fields (never secrets: callers pass counts, ids and paths)."""
    LOGGER.log(level, event, extra={"fields": fields})


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

"""One run at a time per state directory: ``<state>/run.lock`` is held with an exclusive
``flock`` for the whole run. The kernel releases it when the process ends, even on a
crash, so a stale lock never blocks the next night. A second run exits at once with
``EXIT_LOCKED`` and says which process holds the lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from connector.core import clock
from connector.errors import EXIT_LOCKED, ConnectorError

__all__ = ["EXIT_LOCKED", "AlreadyRunning", "RunLock"]

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

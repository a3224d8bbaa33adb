"""A run's audit trail in ``<state>/runs/``, written as the run goes, so that a run killed
at any moment (SIGKILL, a power cut, the OOM killer) leaves a record the next run reads.

Per run ``<run id>`` (``20261126T043512Z-3f9a1c``):

1. **start** - ``<run id>.jsonl``, the provisioning log, is created and locked with an
   exclusive ``flock`` held until the run ends (the kernel releases it when the process
   dies, however it dies); then ``<run id>.json`` is written as a *marker*: status
   ``running``, the run's source, mapping, tenant and start time.
2. **each operation** - one JSON line appended as its result arrives (time, run id, action,
   employee id, UPN, object id, the names of the attributes changed, outcome, Graph
   request-id and error code), flushed at once and forced to disk (``fsync``) at least every
   ``FSYNC_LINES`` lines (a Graph batch) or ``FSYNC_SECONDS``, and at the end of each phase.
   Values are never logged, only attribute names: the log is for auditing what was done,
   not a copy of HR data, and passwords never reach it.
3. **end** - ``<run id>.json`` is replaced, atomically, by the run's JSON report; only then
   is the log closed and unlocked.

A marker still ``running`` whose log nobody holds belongs to a run that died: it is
*interrupted*. ``hr-connector runs`` shows it so, with what its log says it completed, and
the next run rewrites the marker as an ``interrupted`` report and says it follows that run
(it plans from the tenant as the dead run left it, so it completes its work). A run that
fails with an error after its first write is recorded the same way, with the error.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import orjson

from connector.core import clock
from connector.core.plan import Change
from connector.core.plan.group_model import GroupChange
from connector.core.results import WriteOutcome
from connector.errors import ConfigError, ConnectorError
from connector.report.contract import write_json

#: Force the log to disk at least this often (lines; a Graph $batch holds 20) ...
FSYNC_LINES = 20
#: ... or after this many seconds, whichever comes first.
FSYNC_SECONDS = 1.0
#: Markers are a few hundred bytes; a larger ``.json`` is a finished run's report.
_MARKER_MAX_BYTES = 64 * 1024
RUNNING = "running"
INTERRUPTED = "interrupted"


def iso(moment: dt.datetime) -> str:
    """``2026-11-26T04:35:12Z``: how the trail writes times."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_atomically(path: Path, text: str | Callable[[IO[bytes]], None]) -> None:
    """Replace ``path`` with ``text`` (or the UTF-8 bytes ``text(handle)`` writes, for a
    file too large to hold as one string) in one step: a reader (or a crash) sees the old
    file or the new one, never half of one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        if isinstance(text, str):
            handle.write(text.encode("utf-8"))
        else:
            text(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class RunTrail:
    """The marker, provisioning log and report of one run (a context manager).

    ``start()`` opens it; ``write()`` logs one operation; ``finish(report)`` replaces the
    marker with the report. Leaving the ``with`` block by an exception records the run as
    interrupted, with the error, when it logged anything; a run that logged nothing (an
    unusable source, say) leaves no trace, as before it had a trail.
    """

    def __init__(self, folder: Path, run_id: str, *, started: dt.datetime, dry_run: bool,
                 source: str, mapping: str, tenant: str) -> None:
        self.folder = folder
        self.run_id = run_id
        self.started = started
        self.meta: dict[str, Any] = {"run_id": run_id, "dry_run": dry_run, "source": source,
                                     "mapping": mapping, "tenant": tenant,
                                     "started": iso(started)}
        self.log_path = folder / f"{run_id}.jsonl"
        self.report_path = folder / f"{run_id}.json"
        #: Interrupted runs found when this one started (oldest first).
        self.follows: list[str] = []
        self.lines = 0
        self._handle: IO[str] | None = None
        self._unsynced = 0
        self._synced_at = time.monotonic()
        self._finished = False

    def start(self) -> RunTrail:
        """Record interrupted runs, lock and create the log, write the marker."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the runs folder {self.folder}: "
                              f"{exc.strerror}") from None
        self.follows = close_interrupted(self.folder)
        handle = self.log_path.open("a", encoding="utf-8")
        # Locked before the marker exists, so nobody can take a live run for a dead one.
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._handle = handle
        write_atomically(self.report_path, json.dumps(
            {"status": RUNNING, **self.meta, "pid": os.getpid()}, indent=2))
        return self

    def __enter__(self) -> RunTrail:
        return self.start()

    def __exit__(self, kind: object, error: BaseException | None, *_: object) -> None:
        if self._handle is None:
            return
        try:
            if error is not None and not self._finished:
                self.sync()
                if self.lines:
                    message = (error.message if isinstance(error, ConnectorError)
                               else f"{type(error).__name__}: {error}".rstrip(": "))
                    write_atomically(self.report_path, json.dumps(
                        interrupted_report(self.meta, self.log_path, error=message),
                        indent=2, ensure_ascii=False))
                else:  # nothing happened that an audit needs
                    self.report_path.unlink(missing_ok=True)
                    self.log_path.unlink(missing_ok=True)
        finally:
            self._close()

    def write(self, change: Change, outcome: WriteOutcome) -> None:
        """Log one write as Graph (or the provisioning job) answered it. Only writes are
        logged: a dry run or a stopped run logs nothing (its report lists the plan)."""
        self._append({
            "time": iso(clock.now()),
            "run_id": self.run_id,
            "action": change.action,
            "employee_id": change.key,
            "upn": change.upn,
            "object_id": outcome.user_id or change.user_id,
            "attributes": sorted(name for name, _, _ in change.attribute_items()),
            "outcome": "ok" if outcome.ok else "failed",
            "request_id": outcome.request_id,
            "error_code": outcome.code,
            "error": outcome.error,
        })

    def note(self, fields: dict[str, Any]) -> None:
        """Log one line that is not a planned write (a SCIM record's outcome from Entra's
        provisioning logs): ``time`` and ``run_id`` are added; values are never logged."""
        self._append({"time": iso(clock.now()), "run_id": self.run_id, **fields})

    def write_group(self, change: GroupChange, outcome: WriteOutcome) -> None:
        """Log one group write: the group, the member (HR key, UPN, object id), the
        outcome; ``action`` is ``member add``, ``group create`` ...."""
        self._append({
            "time": iso(clock.now()),
            "run_id": self.run_id,
            "action": change.label,
            "group": change.group,
            "mailNickname": change.nickname,
            "group_id": change.group_id or outcome.user_id,
            "employee_id": change.member_key,
            "upn": change.member_upn,
            "object_id": change.member_id,
            "attributes": sorted(change.attributes),
            "outcome": "ok" if outcome.ok else "failed",
            "request_id": outcome.request_id,
            "error_code": outcome.code,
            "error": outcome.error,
        })

    def _append(self, line: dict[str, Any]) -> None:
        # Appended as each answer arrives, flushed at once, forced to disk every
        # FSYNC_LINES lines or FSYNC_SECONDS (a crash loses at most that much of the log).
        assert self._handle is not None, "start() the trail first"
        self._handle.write(orjson.dumps(line).decode("utf-8") + "\n")
        self._handle.flush()
        self.lines += 1
        self._unsynced += 1
        if self._unsynced >= FSYNC_LINES or time.monotonic() - self._synced_at >= FSYNC_SECONDS:
            self.sync()

    def sync(self) -> None:
        """Force the lines written so far to disk."""
        if self._handle is not None:
            self._handle.flush()
            if self._unsynced:
                os.fsync(self._handle.fileno())
        self._unsynced = 0
        self._synced_at = time.monotonic()

    def finish(self, report: Mapping[str, Any]) -> Path:
        """Replace the marker with the run's report (streamed: ``write_json``), then
        release the log."""
        self.sync()
        write_atomically(self.report_path, lambda handle: write_json(report, handle))
        self._finished = True
        self._close()
        return self.report_path

    def _close(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file releases the lock
            self._handle = None


# --- reading trails back ------------------------------------------------------------------

def _marker(path: Path) -> dict[str, Any] | None:
    """The marker at ``path`` when it is one (a run not finished), else None."""
    try:
        if path.stat().st_size > _MARKER_MAX_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("status") == RUNNING else None


def is_alive(log_path: Path) -> bool:
    """Whether the run writing ``log_path`` still runs (it holds the log's lock)."""
    try:
        with log_path.open("r", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            return False
    except FileNotFoundError:
        return False


def log_lines(log_path: Path) -> Iterator[dict[str, Any]]:
    """A log's lines, one at a time; a line cut short by a crash is skipped."""
    try:
        handle = log_path.open("r", encoding="utf-8")
    except FileNotFoundError:
        return
    with handle:
        for text in handle:
            try:
                line = json.loads(text)
            except ValueError:
                continue
            if isinstance(line, dict):
                yield line


def interrupted_report(meta: dict[str, Any], log_path: Path, *,
                       error: str | None = None) -> dict[str, Any]:
    """The report of a run that did not finish, from its marker and its log: ``summary``
    counts the writes Graph accepted per action, plus ``written`` and ``failed``."""
    done: Counter[str] = Counter()
    failed = lines = 0
    last = None
    for line in log_lines(log_path):
        lines += 1
        last = line.get("time") or last
        if line.get("outcome") == "ok":
            done[str(line.get("action"))] += 1
        elif line.get("outcome") == "failed":
            failed += 1
    summary = {action: done[action] for action in
               ("create", "update", "disable", "enable", "delete", "manager")}
    return {**{k: v for k, v in meta.items() if k != "pid"}, "status": INTERRUPTED,
            "finished": None, "last_operation": last, "operations": lines,
            "summary": {**summary, "written": sum(done.values()), "failed": failed},
            "error": error or "the process ended before the run finished (killed or "
                              "crashed); a later run starts from the tenant as it left it"}


def close_interrupted(folder: Path) -> list[str]:
    """Turn the markers of dead runs in ``folder`` into ``interrupted`` reports; returns
    their ids, oldest first."""
    closed = []
    for path in sorted(folder.glob("*.json")):
        if _marker(path) is None:
            continue
        log_path = path.with_suffix(".jsonl")
        try:
            handle = log_path.open("a", encoding="utf-8")
        except OSError:
            continue
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # alive
            # Read again under the lock: the run may have finished meanwhile.
            meta = _marker(path)
            if meta is None:
                continue
            write_atomically(path, json.dumps(interrupted_report(meta, log_path), indent=2,
                                              ensure_ascii=False))
            closed.append(str(meta.get("run_id") or path.stem))
    return closed


def run_entry(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """A saved report as ``runs`` shows it: a marker of a dead run reads as interrupted."""
    if data.get("status") != RUNNING or is_alive(path.with_suffix(".jsonl")):
        return data
    return interrupted_report(data, path.with_suffix(".jsonl"))

"""The drop folder itself: looking for files, taking one (its bytes, once), and keeping it
with its reports once it was handled. The rules are in the package documentation."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import secrets
import stat
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from connector.errors import ConfigError, SourceError
from connector.run.dropfolder import ledger as ledgers
from connector.run.dropfolder.files import Candidate, Confined, Taken, copy_once, identity
from connector.run.dropfolder.ledger import LedgerEntry, LedgerOutcome
from connector.run.dropfolder.names import (
    LEDGER,
    MARKER,
    OWN,
    PROCESSED,
    REJECTED,
    STATE,
    WORK,
    kept_name,
    left_alone,
    name_problem,
    report_suffix,
    stamped_at,
)
from connector.run.dropfolder.ready import Stability, incomplete, last_change

if TYPE_CHECKING:
    from connector.config import FolderSource

#: A file still incomplete after this long unchanged is rejected: its writer has died.
GIVE_UP_SECONDS = 24 * 3600


class DropFolder(Confined):
    """An HR drop folder (see the package documentation for the rules)."""

    def __init__(self, path: str | Path, *, stable_seconds: float = 10.0,
                 require_ready_marker: bool = False,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        given = Path(path)
        try:
            self.folder = given.resolve(strict=True)  # once: a link is followed here only
        except (OSError, RuntimeError):
            raise ConfigError(f"the drop folder {given} does not exist") from None
        if not self.folder.is_dir():
            raise ConfigError(f"the drop folder {given} is not a folder")
        if stable_seconds < 0:
            raise ConfigError("stable_seconds cannot be negative")
        self.stable_seconds = float(stable_seconds)
        self.require_ready_marker = require_ready_marker
        self._clock, self._sleep = clock, sleep
        self._stability = Stability(self.stable_seconds)
        self._skipped: list[tuple[str, str]] = []
        self._entries = self._load()

    @classmethod
    def from_config(cls, source: FolderSource, *, clock: Callable[[], float] = time.time,
                    sleep: Callable[[float], None] = time.sleep) -> DropFolder:
        return cls(source.path, stable_seconds=source.stable_seconds,
                   require_ready_marker=source.require_ready_marker, clock=clock, sleep=sleep)

    @property
    def ledger_path(self) -> Path:
        return self.folder / STATE / LEDGER

    def check_outputs(self) -> None:
        """Before a run writes anything: ``processed/``, ``rejected/``, the ledger's folder
        and its ``work/`` exist (made if missing), are real folders, and take new files;
        otherwise a ``ConfigError`` naming the folder and the reason."""
        for name in (PROCESSED, REJECTED, STATE, f"{STATE}/{WORK}"):
            path = self._subdir(name)
            try:
                probe = path / f".hrc-write-check-{secrets.token_hex(4)}"
                self._write_new(probe, b"")
                probe.unlink()
            except OSError as exc:
                raise ConfigError(f"the drop folder's {path} cannot be used: "
                                  f"{exc.strerror or exc}") from None

    def ledger(self) -> list[LedgerEntry]:
        """Every file handled so far (and not yet pruned), oldest first."""
        return list(self._entries)

    def skipped(self) -> list[tuple[str, str]]:
        """(name, reason) for each entry the last ``pending()`` left alone."""
        return list(self._skipped)

    # -- finding files -------------------------------------------------------------------

    def pending(self, *, wait: bool = False) -> list[Candidate]:
        """Files ready to take, in arrival order. With ``wait``, when some files are not
        stable yet, sleep once (at most ``stable_seconds``) and look again."""
        waits: list[float] = []
        found = self._scan(waits)
        if wait and waits:
            self._sleep(min(max(waits), self.stable_seconds))
            found = self._scan([])
        return found

    def _scan(self, waits: list[float]) -> list[Candidate]:
        self._entries = self._load()  # another run may have handled files since
        self._skipped = []
        now = self._clock()
        try:
            with os.scandir(self.folder) as it:
                names = sorted(entry.name for entry in it)
        except OSError as exc:
            raise SourceError(f"the drop folder {self.folder} cannot be listed: "
                              f"{exc.strerror or exc}") from None
        ready: list[Candidate] = []
        for name in names:
            reason, st = self._check(name, now, waits)
            if st is not None:
                ready.append(Candidate(self.folder / name, st.st_size, identity(st),
                                       last_change(st)))
            elif reason:
                self._skipped.append((name, reason))
        self._stability.forget_others(set(names))
        return sorted(ready, key=lambda c: (c.identity[3], c.name))

    def _check(self, name: str, now: float,
               waits: list[float]) -> tuple[str | None, os.stat_result | None]:
        """(reason to skip, None), or (None, stat) for a file that looks ready."""
        if name in OWN and name_problem(name) is None:
            return None, None
        if name.lower().endswith(MARKER) and name_problem(name) is None:
            data = name[: -len(MARKER)]
            return (None if os.path.lexists(self.folder / data) else
                    "a ready marker without its file"), None
        if (reason := left_alone(name)) is not None:
            return reason, None
        try:
            st = os.lstat(self.folder / name)
        except FileNotFoundError:
            return None, None  # gone since the listing: nothing to say
        except OSError as exc:
            return f"cannot be examined ({exc.strerror or exc})", None
        if stat.S_ISLNK(st.st_mode):
            return "a link (links are never followed)", None
        if stat.S_ISDIR(st.st_mode):
            return "a folder (only files at the top level are picked up)", None
        if not stat.S_ISREG(st.st_mode):
            return "not a regular file", None
        if (self.folder / name).resolve().parent != self.folder:
            return "resolves outside the folder (a junction or link)", None
        if os.name != "nt" and st.st_nlink > 1:
            return "has other hard links (it may be a file from elsewhere)", None
        if self.require_ready_marker:
            try:
                marker = os.lstat(self.folder / (name + MARKER))
            except OSError:  # absent, or the name is too long to have a marker
                return f"no {name}{MARKER} marker yet", None
            if not stat.S_ISREG(marker.st_mode):
                return f"{name}{MARKER} is not a regular file", None
        remaining = self._stability.unstable_for(name, st, now)
        if remaining > 0:
            waits.append(remaining)
            return f"still being written (changed less than {self.stable_seconds:g}s ago)", None
        return None, st

    # -- taking a file -------------------------------------------------------------------

    def take(self, candidate: Candidate, *, work: Path | None = None) -> Taken | str:
        """Copy the candidate's bytes, once, into a private file in ``work`` (default the
        folder's ``.hr-connector/work/``), hashing them, and check they are whole. Returns
        the copy, or why the file is left for the next run (it changed since it was found
        or while it was read; it is cut short). A file cut short and unchanged for
        ``GIVE_UP_SECONDS`` comes back with ``incomplete`` set, to be rejected."""
        source = self._child(self.folder, candidate.name)
        if work is None:
            self._subdir(STATE)
        folder = work if work is not None else self._subdir(f"{STATE}/{WORK}")
        head, tail = kept_name(self._clock(), candidate.name)
        copy = self._free(folder, head, tail, inside=work is None)
        try:
            digest = copy_once(source, copy, candidate)
        except OSError as exc:
            copy.unlink(missing_ok=True)
            return f"cannot be read ({exc.strerror or exc})"
        if digest is None:
            copy.unlink(missing_ok=True)
            return "changed since it was found; it is looked at again next time"
        cut = incomplete(copy)
        if cut is not None and self._clock() - candidate.changed < GIVE_UP_SECONDS:
            copy.unlink(missing_ok=True)
            return f"{cut}; it is looked at again next time"
        self._entries = self._load()
        last = ledgers.last_applied(self._entries)
        rejected = next((e for e in reversed(self._entries)
                         if e.outcome == "rejected" and e.sha256 == digest), None)
        return Taken(candidate, copy, digest, candidate.size,
                     last if last is not None and last.sha256 == digest else None,
                     rejected, cut)

    def discard(self, taken: Taken) -> None:
        """Remove a copy that is not kept (a dry run, a run that failed before the end)."""
        with contextlib.suppress(OSError):
            taken.path.unlink()

    def clear_work(self) -> int:
        """Remove copies a crashed run left in ``.hr-connector/work/``; how many went."""
        folder = self._subdir(f"{STATE}/{WORK}", create=False)
        removed = 0
        with contextlib.suppress(OSError), os.scandir(folder) as it:
            for entry in it:
                if entry.is_file(follow_symlinks=False) and stamped_at(entry.name):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                        removed += 1
        return removed

    # -- keeping a file ------------------------------------------------------------------

    def finish(self, taken: Taken, *, ok: bool, run_id: str,
               reports: Mapping[str, bytes | str] | None = None) -> Path:
        """Keep the copy that was read in ``processed/`` (ok) or ``rejected/``, record it
        in the ledger, write each report beside it as ``<kept name>.report.<key>`` (with
        ``report.file.json``: the file, its SHA-256 and outcome), and remove the dropped
        file and its marker, unless the file changed after it was read: then it stays
        for the next run, which takes its new content. Returns where the copy is kept."""
        outcome: LedgerOutcome = "applied" if ok else "rejected"
        where = PROCESSED if ok else REJECTED
        target_dir = self._subdir(where)
        head, _, rest = taken.path.name.partition("-")
        target = self._move(taken.path, target_dir, head, f"-{rest}")
        now = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        entry = LedgerEntry(taken.sha256, taken.name, f"{where}/{target.name}", outcome,
                            run_id, now.strftime("%Y-%m-%dT%H:%M:%SZ"), taken.size)
        self._entries = [*self._load(), entry]
        ledgers.save(self._subdir(STATE) / LEDGER, self._entries)
        removed = self._remove_dropped(taken.candidate)
        notes = {"file.json": json.dumps(self._file_note(taken, entry, removed), indent=2),
                 **(reports or {})}
        try:
            for key, content in notes.items():
                data = content.encode("utf-8") if isinstance(content, str) else content
                head, tail = f"{target.name}.report", f".{report_suffix(key)}"
                self._write_new(self._free(target.parent, head, tail), data)
        except OSError as exc:
            raise SourceError(f"kept as {target}, but a report could not be written: "
                              f"{exc.strerror or exc}", file=taken.name) from None
        return target

    @staticmethod
    def _file_note(taken: Taken, entry: LedgerEntry, removed: bool) -> dict[str, object]:
        same = taken.same_as
        return {
            "file": taken.name, "sha256": taken.sha256, "size": taken.size,
            "outcome": entry.outcome, "run_id": entry.run_id, "kept_as": entry.moved_to,
            "message": (f"same content as {same.describe()}, the last file applied"
                        if same else taken.incomplete),
            "same_content_as": dataclasses.asdict(same) if same else None,
            "previously_rejected": (dataclasses.asdict(taken.previously_rejected)
                                    if taken.previously_rejected else None),
            "dropped_file_removed": removed}

    def _remove_dropped(self, candidate: Candidate) -> bool:
        """Remove the dropped file and its marker if it is still what was taken."""
        path = self._child(self.folder, candidate.name)
        try:
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode) or identity(st) != candidate.identity:
                return False
            os.unlink(path)
        except OSError:
            return False
        with contextlib.suppress(OSError):  # no marker (or a name too long to have one)
            if stat.S_ISREG(os.lstat(self.folder / (candidate.name + MARKER)).st_mode):
                os.unlink(self.folder / (candidate.name + MARKER))  # a link is left alone
        return True

    # -- retention -----------------------------------------------------------------------

    def prune(self, *, days: int) -> int:
        """Delete the files the connector kept in ``processed/`` and ``rejected/`` (HR
        files and their reports, by their time-stamped names) whose name and modification
        time are both older than ``days``, then drop ledger entries whose file is gone.
        Anything else in those folders is left alone. Returns how many files went."""
        limit = self._clock() - days * 86400
        removed = 0
        for where in (PROCESSED, REJECTED):
            folder = self._subdir(where, create=False)
            with contextlib.suppress(OSError), os.scandir(folder) as it:
                for item in it:
                    kept = stamped_at(item.name)
                    try:
                        st = item.stat(follow_symlinks=False)
                        if kept is None or kept >= limit or not stat.S_ISREG(st.st_mode) or \
                                st.st_mtime >= limit:
                            continue
                        os.unlink(item.path)
                        removed += 1
                    except OSError:
                        continue
        entries = self._load()
        kept_entries = [e for e in entries if os.path.lexists(self.folder / e.moved_to)]
        if kept_entries != entries:
            self._entries = kept_entries
            ledgers.save(self.ledger_path, kept_entries)
        return removed

    def _load(self) -> list[LedgerEntry]:
        self._subdir(STATE, create=False)
        return ledgers.load(self.ledger_path)

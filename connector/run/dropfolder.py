"""The HR drop folder: HR, or their export job, drops files into one folder, and each new
file is processed once, in arrival order.

Layout, inside the folder (sub-folders are created on first use)::

    staff.csv                       a new file, waiting (files sit at the top level)
    processed/20261126T043512Z-staff.csv              applied (or a duplicate, see below)
    processed/20261126T043512Z-staff.csv.report.json  its reports, beside it
    rejected/20261126T043512Z-staff.csv               not applied, with its reports
    .hr-connector/ledger.json       the content (SHA-256) of every file handled, with its
                                    outcome, run id and date

What is picked up: regular files at the top level. Left alone, and listed with a reason
for the log: hidden names (starting with ``.``), ``*.ready`` markers, temporary and lock
files (``*.part``, ``*.partial``, ``*.tmp``, ``*.temp``, ``*.crdownload``, ``*.download``,
``*.swp``, ``*~``, ``~$*`` from Excel, ``Thumbs.db``, ``desktop.ini``), sub-folders, links
of any kind (symbolic links, junctions, files with more than one hard link: a link is never
followed, so nothing outside the folder is ever read or moved), pipes and devices, and
names with control or invisible characters, a backslash, or bytes that are not text.

A file still being written is not picked up. It must be *stable*: unchanged (size,
modification and change time) for ``stable_seconds`` — either its last change is at least
that old, or two looks at it that far apart saw it the same (which covers clocks that
disagree, as on network shares). A one-off run may wait once, up to ``stable_seconds``,
for files that are not stable yet. With ``require_ready_marker``, a file ``NAME`` is also
only picked up once ``NAME.ready`` exists; the marker is removed when the file is moved
(set ``stable_seconds: 0`` to rely on the marker alone).

Arrival order is the files' modification time, then name: a copy that keeps the export's
time keeps its place too.

The same content twice is recognised by its SHA-256, whatever the file is called. Content
ever applied before (not only the latest) is never applied again, so an old export
dropped by mistake cannot undo newer changes: the file goes to ``processed/`` with a JSON
report naming the run and file that applied it. Rejected content is not "applied", so the
same file can be dropped again after the mapping or configuration is fixed; it is then
processed again, and the run can say when that content was rejected before. When several
new files have the same content, only the first is offered; the others wait for the next
look (and are then duplicates).

Moves and writes never overwrite (a name already taken gets a number:
``20261126T043512Z-2-staff.csv``), every path is built from the resolved folder and one
name and checked to stay in it, and the ledger is replaced atomically. The ledger is
written before the file is moved, so a crash in between makes the file a duplicate of
itself next time, never applied twice. A file that changed after it was read is not
moved; it is looked at again next time. A folder given as a link is resolved once and
worked in where it points; ``processed``, ``rejected`` or ``.hr-connector`` being a link
or a file stops the run.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import itertools
import json
import os
import re
import secrets
import stat
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from connector.errors import ConfigError, SourceError

if TYPE_CHECKING:
    from connector.config import FolderSource

PROCESSED, REJECTED, STATE, LEDGER, MARKER = ("processed", "rejected", ".hr-connector",
                                              "ledger.json", ".ready")
_OWN = frozenset({PROCESSED, REJECTED, STATE})
_TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".swp", "~")
_TEMP_NAMES = frozenset({"thumbs.db", "desktop.ini"})
# Control, invisible formatting (bidi overrides that disguise an extension), separators.
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_MAX_MOVED = 200  # bytes; leaves room for ".report-N.<key>" within the usual 255
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_READ = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_BINARY", 0)
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}

#: What became of a file, as the ledger records it.
LedgerOutcome = Literal["applied", "duplicate", "rejected"]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One file handled: its content, where it went, and by which run."""

    sha256: str
    name: str
    moved_to: str  # relative to the folder, e.g. "processed/20261126T043512Z-staff.csv"
    outcome: LedgerOutcome
    run_id: str
    date: str  # UTC, ISO 8601
    size: int


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file ready to process. ``duplicate_of``: the content was applied before, do not
    apply it again. ``previously_rejected``: the same content was rejected before."""

    path: Path
    sha256: str
    size: int
    duplicate_of: LedgerEntry | None = None
    previously_rejected: LedgerEntry | None = None
    identity: tuple[int, ...] = field(default=(), repr=False)  # checked again by finish()

    @property
    def name(self) -> str:
        return self.path.name


def name_problem(name: str) -> str | None:
    """Why a directory entry's name is unsafe to work with, or None."""
    if (name in ("", ".", "..") or any(c in name for c in "/\\\0")
            or Path(name).name != name):
        return "the name is not a single plain file name"
    if any(unicodedata.category(c) in _BAD_CATEGORIES for c in name):
        return "the name contains control or invisible characters, or bytes that are not text"
    return None


def _identity(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _last_change(st: os.stat_result) -> float:
    # On POSIX the change time is set by the kernel on every write, so it also catches
    # copies that keep the source's modification time; on Windows st_ctime is creation.
    ns = st.st_mtime_ns if os.name == "nt" else max(st.st_mtime_ns, st.st_ctime_ns)
    return ns / 1e9


def _fit(name: str, limit: int) -> str:
    """``name`` cut to ``limit`` UTF-8 bytes, keeping a short extension."""
    if len(name.encode()) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    suffix = dot + ext if stem and len(ext) <= 10 else ""
    head = name[: len(name) - len(suffix)]
    while head and len((head + suffix).encode()) > limit:
        head = head[:-1]
    return head + suffix


def _report_suffix(key: str) -> str:
    # Only the moved file's name decides where a report goes: the key is reduced to a
    # short extension, so "../../x" or "a/b" can never become a path.
    return re.sub(r"[^A-Za-z0-9_.-]", "_", key).strip("._")[:16] or "txt"


def _entry(raw: Any) -> LedgerEntry:
    if not isinstance(raw, dict) or set(raw) != set(LedgerEntry.__dataclass_fields__):
        raise ValueError("an entry does not have the expected fields")
    if not all(isinstance(raw[k], str) for k in raw if k != "size") or \
            type(raw["size"]) is not int or raw["outcome"] not in get_args(LedgerOutcome):
        raise ValueError("an entry has a value of the wrong type")
    return LedgerEntry(**raw)


class DropFolder:
    """An HR drop folder (see the module documentation for the rules)."""

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
        self._seen: dict[str, tuple[tuple[int, ...], float]] = {}  # name -> (stat, since)
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
        """Before a run writes anything: ``processed/``, ``rejected/`` and the ledger's
        folder exist (made if missing), are real folders, and take new files; otherwise a
        ``ConfigError`` naming the folder and the reason."""
        for name in (PROCESSED, REJECTED, STATE):
            path = self._subdir(name)
            try:
                probe = path / f".hrc-write-check-{secrets.token_hex(4)}"
                self._write_new(probe, b"")
                probe.unlink()
            except OSError as exc:
                raise ConfigError(f"the drop folder's {path} cannot be used: "
                                  f"{exc.strerror or exc}") from None

    def ledger(self) -> list[LedgerEntry]:
        """Every file handled so far, oldest first."""
        return list(self._entries)

    def skipped(self) -> list[tuple[str, str]]:
        """(name, reason) for each entry the last ``pending()`` left alone."""
        return list(self._skipped)

    # -- finding files -------------------------------------------------------------------

    def pending(self, *, wait: bool = False) -> list[Candidate]:
        """Files ready to process, in arrival order. With ``wait``, when some files are not
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
        ready: list[tuple[int, str, os.stat_result]] = []
        try:
            with os.scandir(self.folder) as it:
                names = sorted(entry.name for entry in it)
        except OSError as exc:
            raise SourceError(f"the drop folder {self.folder} cannot be listed: "
                              f"{exc.strerror or exc}") from None
        for name in names:
            reason, st = self._check(name, now, waits)
            if st is not None:
                ready.append((st.st_mtime_ns, name, st))
            elif reason:
                self._skipped.append((name, reason))
        listed = set(names)  # forget files that are gone, so memory stays bounded
        self._seen = {k: v for k, v in self._seen.items() if k in listed}
        applied = {e.sha256: e for e in reversed(self._entries) if e.outcome == "applied"}
        rejected = {e.sha256: e for e in self._entries if e.outcome == "rejected"}
        offered: dict[str, str] = {}
        found: list[Candidate] = []
        for _, name, st in sorted(ready, key=lambda r: (r[0], r[1])):
            try:
                digest = self._hash(self.folder / name, st)
            except OSError as exc:
                self._skipped.append((name, f"cannot be read ({exc.strerror or exc})"))
                continue
            if digest is None:
                self._skipped.append((name, "changed while being read"))
                continue
            if digest in offered:
                self._skipped.append((name, f"same content as {offered[digest]}, which goes "
                                            "first"))
                continue
            offered[digest] = name
            found.append(Candidate(self.folder / name, digest, st.st_size,
                                   applied.get(digest), rejected.get(digest), _identity(st)))
        return found

    def _check(self, name: str, now: float,
               waits: list[float]) -> tuple[str | None, os.stat_result | None]:
        """(reason to skip, None), or (None, stat) for a file ready to hash."""
        lower = name.lower()
        if (problem := name_problem(name)) is not None:
            return problem, None
        if name in _OWN:
            return None, None
        if name.startswith("."):
            return "a hidden file", None
        if lower.endswith(MARKER):
            data = name[: -len(MARKER)]
            return (None if os.path.lexists(self.folder / data) else
                    "a ready marker without its file"), None
        if lower.endswith(_TEMP_SUFFIXES) or name.startswith("~$") or lower in _TEMP_NAMES:
            return "a temporary or lock file", None
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
        remaining = self._unstable_for(name, st, now)
        if remaining > 0:
            waits.append(remaining)
            return f"still being written (changed less than {self.stable_seconds:g}s ago)", None
        return None, st

    def _unstable_for(self, name: str, st: os.stat_result, now: float) -> float:
        """0 when stable, else how much longer it must stay unchanged to be."""
        signature = (*_identity(st), st.st_ctime_ns)
        seen = self._seen.get(name)
        if seen is None or seen[0] != signature:
            seen = self._seen[name] = (signature, now)
        by_age = self.stable_seconds - (now - _last_change(st))
        by_looks = self.stable_seconds - (now - seen[1])
        # A change time in the future (a share's clock ahead of ours) cannot be trusted.
        if _last_change(st) > now:
            by_age = self.stable_seconds
        return max(0.0, min(by_age, by_looks))

    @staticmethod
    def _hash(path: Path, st: os.stat_result) -> str | None:
        """SHA-256 of the file that was looked at, or None if it changed meanwhile."""
        fd = os.open(path, _READ)  # O_NOFOLLOW: a link swapped in since lstat fails here
        try:
            before = os.fstat(fd)
            if not stat.S_ISREG(before.st_mode) or _identity(before) != _identity(st):
                return None
            digest = hashlib.sha256()
            while chunk := os.read(fd, 1 << 20):
                digest.update(chunk)
            return digest.hexdigest() if _identity(os.fstat(fd)) == _identity(st) else None
        finally:
            os.close(fd)

    # -- finishing files -----------------------------------------------------------------

    def finish(self, candidate: Candidate, *, ok: bool, run_id: str,
               reports: Mapping[str, bytes | str] | None = None) -> Path:
        """Move the file to ``processed/`` (ok) or ``rejected/``, write each report beside
        it as ``<moved name>.report.<key>``, record it in the ledger, remove its marker.
        Returns where the file now is. A file that changed since ``pending()`` is left in
        place (``SourceError``), to be looked at again next time."""
        name = candidate.name
        source = self._child(self.folder, name)
        try:
            st = os.lstat(source)
        except FileNotFoundError:
            raise SourceError("the file is no longer in the drop folder", file=name) from None
        if not stat.S_ISREG(st.st_mode) or _identity(st) != candidate.identity:
            raise SourceError("the file changed after it was read; it is left in place for "
                              "the next run", file=name)
        duplicate = candidate.duplicate_of if ok else None
        outcome: LedgerOutcome = "duplicate" if duplicate else "applied" if ok else "rejected"
        target = self._move_and_record(candidate, PROCESSED if ok else REJECTED, outcome,
                                       run_id)
        try:
            if stat.S_ISREG(os.lstat(self.folder / (name + MARKER)).st_mode):
                os.unlink(self.folder / (name + MARKER))  # a link or folder is left alone
        except OSError:
            pass  # no marker (or a name too long to have one)
        notes = dict(reports or {})
        if duplicate and not any(_report_suffix(k) == "json" for k in notes):
            notes["json"] = json.dumps({
                "file": name, "sha256": candidate.sha256, "outcome": "duplicate",
                "message": f"the same content was already applied by run "
                           f"{duplicate.run_id} from {duplicate.name}; not applied again",
                "duplicate_of": asdict(duplicate)}, indent=2)
        try:
            for key, content in notes.items():
                data = content.encode("utf-8") if isinstance(content, str) else content
                head, tail = f"{target.name}.report", f".{_report_suffix(key)}"
                self._write_new(self._free(target.parent, head, tail), data)
        except OSError as exc:
            raise SourceError(f"moved to {target}, but a report could not be written: "
                              f"{exc.strerror or exc}", file=name) from None
        return target

    def _move_and_record(self, candidate: Candidate, where: str, outcome: LedgerOutcome,
                         run_id: str) -> Path:
        target_dir = self._subdir(where)
        now = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        stamp, date = f"{now:%Y%m%dT%H%M%SZ}", now.strftime("%Y-%m-%dT%H:%M:%SZ")
        base = _fit(candidate.name, _MAX_MOVED - len(stamp) - 6)
        for attempt in itertools.count(1):
            target = self._free(target_dir, stamp, f"-{base}")
            entry = LedgerEntry(candidate.sha256, candidate.name, f"{where}/{target.name}",
                                outcome, run_id, date, candidate.size)
            # The ledger first: after a crash between the two steps the file is offered
            # again as a duplicate of itself, so it is never applied twice.
            self._entries = [*self._load(), entry]
            self._save()
            try:
                _move(self.folder / candidate.name, target)
                return target
            except OSError as exc:
                self._entries = [e for e in self._load() if e != entry]
                self._save()
                if not isinstance(exc, FileExistsError) or attempt == 5:
                    raise SourceError(f"cannot move the file to {target_dir}: "
                                      f"{exc.strerror or exc}", file=candidate.name) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _child(self, folder: Path, name: str) -> Path:
        """``folder/name``, checked to be a plain name that stays directly in ``folder``."""
        path = folder / name
        if (name_problem(name) is not None or path.resolve().parent != folder
                or not path.resolve().is_relative_to(self.folder)):
            raise SourceError(f"refusing the unsafe name {name!r}")
        return path

    def _free(self, folder: Path, head: str, tail: str) -> Path:
        """The first of ``head + tail``, ``head-2 + tail`` ... not yet taken in ``folder``."""
        for n in itertools.count(1):
            path = self._child(folder, head + ("" if n == 1 else f"-{n}") + tail)
            if not os.path.lexists(path):
                return path
        raise AssertionError("unreachable")  # pragma: no cover

    def _subdir(self, name: str, *, create: bool = True) -> Path:
        path = self.folder / name
        try:
            if create:
                os.mkdir(path, 0o700 if name == STATE else 0o777)
        except FileExistsError:
            pass  # checked below: it must be a real folder, not a file or a link
        except OSError as exc:
            raise ConfigError(f"cannot create {path}: {exc.strerror or exc}") from None
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return path  # only when not asked to create it
        if not stat.S_ISDIR(st.st_mode) or path.resolve() != path:
            raise ConfigError(f"{path} must be a folder, not a file or a link; refusing to "
                              "use it")
        return path

    @staticmethod
    def _write_new(path: Path, data: bytes) -> None:
        fd = os.open(path, _CREATE, 0o666)  # O_EXCL: never overwrite, never follow a link
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)

    # -- the ledger ----------------------------------------------------------------------

    def _load(self) -> list[LedgerEntry]:
        path = self.ledger_path
        self._subdir(STATE, create=False)
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                raise ConfigError(f"the drop folder ledger {path} is not a regular file")
            fd = os.open(path, _READ)
            with os.fdopen(fd, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ConfigError(f"the drop folder ledger {path} cannot be read: "
                              f"{exc.strerror or exc}") from None
        try:
            document = json.loads(raw.decode("utf-8"))
            if not isinstance(document, dict) or document.get("version") != 1 or \
                    not isinstance(document.get("entries"), list):
                raise ValueError("it is not a version 1 ledger")
            return [_entry(item) for item in document["entries"]]
        except ValueError as exc:
            raise ConfigError(f"the drop folder ledger {path} is corrupted ({exc}); move it "
                              "aside to start afresh (content handled before would then "
                              "be accepted again)") from None

    def _save(self) -> None:
        folder = self._subdir(STATE)
        temporary = folder / f".ledger-{secrets.token_hex(6)}.tmp"
        data = json.dumps({"version": 1, "entries": [asdict(e) for e in self._entries]},
                          indent=1).encode("utf-8")
        try:
            fd = os.open(temporary, _CREATE, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.ledger_path)  # readers see the old or the new, whole
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise ConfigError(f"cannot write the drop folder ledger {self.ledger_path}: "
                              f"{exc.strerror or exc}") from None


def _move(source: Path, target: Path) -> None:
    """Rename without ever replacing an existing file (FileExistsError instead)."""
    if os.name == "nt":
        os.rename(source, target)  # Windows refuses to rename onto an existing name
        return
    try:
        # POSIX rename replaces silently; a hard link fails if the name is taken.
        os.link(source, target, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        # Shares without hard links: check then rename (a small window, documented).
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "already exists", str(target)) from None
        os.rename(source, target)
        return
    os.unlink(source)

"""Files in the drop folder: a file found (:class:`Candidate`), its bytes copied once
(:class:`Taken`, :func:`copy_once`), and paths that stay in the folder, every name
checked, nothing overwritten, no link followed (:class:`Confined`, what
:class:`DropFolder` builds on)."""

from __future__ import annotations

import errno
import hashlib
import itertools
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from connector.errors import ConfigError, SourceError
from connector.run.dropfolder.ledger import CREATE, READ, LedgerEntry
from connector.run.dropfolder.names import STATE, name_problem

_CHUNK = 1 << 20
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file that looks ready (stable, marker present), as it was when found."""

    path: Path
    size: int
    identity: tuple[int, ...] = field(repr=False)  # (device, inode, size, mtime)
    changed: float = field(default=0.0, repr=False)  # its last change (system clock)

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True, slots=True)
class Taken:
    """A candidate's bytes, copied once into a private file (``path``): what a run reads,
    and what is kept in ``processed/`` or ``rejected/`` afterwards. ``same_as``: the last
    applied file had the same content; ``incomplete``: why the file is cut short, when it
    stayed so long enough to be rejected."""

    candidate: Candidate
    path: Path
    sha256: str
    size: int
    same_as: LedgerEntry | None = None
    previously_rejected: LedgerEntry | None = None
    incomplete: str | None = None

    @property
    def name(self) -> str:
        return self.candidate.name


def identity(st: os.stat_result) -> tuple[int, ...]:
    """What must match for a file to be the one that was looked at, unchanged."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def copy_once(source: Path, copy: Path, candidate: Candidate) -> str | None:
    """Copy ``source`` to the new file ``copy`` (0600) and return the SHA-256 of what
    was copied, or None when the file is not the one found or changed meanwhile."""
    fd = os.open(source, READ)  # O_NOFOLLOW: a link swapped in since lstat fails here
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode) or identity(before) != candidate.identity:
            return None
        digest = hashlib.sha256()
        out = os.open(copy, CREATE, 0o600)
        with os.fdopen(out, "wb") as handle:
            while chunk := os.read(fd, _CHUNK):
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        return digest.hexdigest() if identity(os.fstat(fd)) == candidate.identity else None
    finally:
        os.close(fd)


class Confined:
    """A folder (``folder``, resolved) whose paths are built one checked name at a time."""

    folder: Path

    def _child(self, folder: Path, name: str) -> Path:
        """``folder/name``, checked to be a plain name that stays directly in ``folder``."""
        path = folder / name
        if (name_problem(name) is not None or path.resolve().parent != folder
                or not path.resolve().is_relative_to(self.folder)):
            raise SourceError(f"refusing the unsafe name {name!r}")
        return path

    def _free(self, folder: Path, head: str, tail: str, *, inside: bool = True) -> Path:
        """The first of ``head + tail``, ``head-2 + tail`` ... not yet taken in ``folder``
        (a folder outside the drop folder, a dry run's, is not checked to be in it)."""
        for n in itertools.count(1):
            name = head + ("" if n == 1 else f"-{n}") + tail
            path = self._child(folder, name) if inside else folder / name
            if not os.path.lexists(path):
                return path
        raise AssertionError("unreachable")  # pragma: no cover

    def _move(self, source: Path, folder: Path, head: str, tail: str) -> Path:
        """Move ``source`` into ``folder`` under the first free ``head[-N]tail``."""
        for _ in range(5):
            target = self._free(folder, head, tail)
            try:
                _rename_new(source, target)
                return target
            except FileExistsError:
                continue  # taken meanwhile: the next number
            except OSError as exc:
                raise SourceError(f"cannot keep the file in {folder}: {exc.strerror or exc}",
                                  file=source.name) from None
        raise SourceError(f"cannot keep the file in {folder}: every name tried is taken",
                          file=source.name)

    def _subdir(self, name: str, *, create: bool = True) -> Path:
        path = self.folder / name
        try:
            if create:
                os.mkdir(path, 0o700 if name.startswith(STATE) else 0o777)
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
        fd = os.open(path, CREATE, 0o666)  # O_EXCL: never overwrite, never follow a link
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)


def _rename_new(source: Path, target: Path) -> None:
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

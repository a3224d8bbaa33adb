"""Uploads on disk: ``<state>/uploads/<id>/`` holds the file and ``upload.json``.

The file is stored as ``source.csv`` or ``source.xlsx``, a name chosen from what its
content is (``connector.readers.sniff_format``), never from the name it arrived with: the
original name is metadata only, shown escaped. An upload is first written to
``<state>/uploads/.incoming/`` and moved into place only once it is accepted, so a refused
file leaves nothing behind and the list never shows half-written uploads.

``upload.json`` is the audit record: who uploaded what (size, SHA-256) and when, its
status, every dry run and the applied run, who approved or rejected it, and a history of
events. It is replaced atomically on every change.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import secrets
import shutil
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Literal

from connector.core import clock

#: ``approved``: being applied now; ``interrupted``: an apply that did not finish (the
#: server stopped, or Graph failed part-way), to check again; ``withdrawn``: closed by
#: whoever uploaded it, ``rejected``: by someone else.
Status = Literal["validated", "failed", "reviewed", "approved", "applied", "interrupted",
                 "rejected", "withdrawn"]

#: What an upload id looks like: sortable by time, unguessable. Routes accept nothing else,
#: so an id can never name a path outside the uploads folder.
UPLOAD_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{12}")
_CHUNK = 1 << 20


class TooLarge(Exception):
    """The upload is over the size limit; nothing was kept."""


#: The review summary's count of group writes (beside the users' counts per action).
GROUP_WRITES_KEY = "group writes"


def now_iso() -> str:
    """The current time as the metadata writes it (UTC, seconds, ``Z``)."""
    return clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")


def display_name(name: str | None) -> str:
    """The file name a browser sent, made safe to keep as metadata: no folders, no control
    characters, at most 200 characters. (Pages escape it too; this keeps logs readable.)"""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    cleaned = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    return cleaned[:200] or "upload"


@dataclass
class Upload:
    """One uploaded HR file and what happened to it (``upload.json``)."""

    id: str
    original_name: str
    stored_name: str
    format: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: str
    status: Status = "validated"
    validation: dict[str, Any] = field(default_factory=dict)
    review_run_id: str | None = None
    review_fingerprint: str | None = None
    review_summary: dict[str, int] = field(default_factory=dict)
    review_stopped: list[str] = field(default_factory=list)
    reviewed_at: str | None = None
    #: The tenant moved on since the dry run (seen at approval): review again first.
    review_outdated: bool = False
    approved_by: str | None = None
    approved_at: str | None = None
    #: The run the last approval started (written before its first write).
    apply_run_id: str | None = None
    #: Every apply, finished or not: run id, who approved it and when, its result
    #: (``applied``, ``stopped``, ``interrupted``) and the writes its log recorded.
    attempts: list[dict[str, Any]] = field(default_factory=list)
    applied_run_id: str | None = None
    applied_status: str | None = None
    rejected_by: str | None = None
    rejected_at: str | None = None
    run_ids: list[str] = field(default_factory=list)
    #: The last thing people should know (why a dry run could not run, ...).
    notice: str | None = None
    history: list[dict[str, str]] = field(default_factory=list)

    def event(self, who: str, what: str) -> None:
        """Add a line to the upload's history."""
        self.history.append({"time": now_iso(), "who": who, "event": what})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Upload:
        """Read ``upload.json``; keys this version does not know are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Staged:
    """A received file in the incoming folder, not yet accepted."""

    id: str
    path: Path
    size: int
    sha256: str


class UploadStore:
    """The uploads folder. Thread-safe: metadata changes are serialised by a lock."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.incoming = root / ".incoming"
        self._lock = threading.RLock()

    def new_id(self) -> str:
        """A fresh upload id: ``20261126T043512Z-3f9a1c2b7d4e``."""
        return f"{clock.now():%Y%m%dT%H%M%SZ}-{secrets.token_hex(6)}"

    def stage(self, source: BinaryIO, max_bytes: int) -> Staged:
        """Copy a received file into the incoming folder, hashing it on the way.

        ``TooLarge`` (and nothing kept) when it holds more than ``max_bytes``: the form
        parser already stopped at the request's limit, this is the file's own.
        """
        upload_id = self.new_id()
        self.incoming.mkdir(parents=True, exist_ok=True, mode=0o700)
        # No extension: what the file is gets decided from its content alone.
        path = self.incoming / upload_id
        digest = hashlib.sha256()
        size = 0
        try:
            with path.open("xb") as out:
                while chunk := source.read(_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"the file is larger than {max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Staged(upload_id, path, size, digest.hexdigest())

    def discard(self, staged: Staged) -> None:
        """Forget a refused file."""
        staged.path.unlink(missing_ok=True)

    def accept(self, staged: Staged, *, fmt: str, original_name: str, uploaded_by: str) -> Upload:
        """Move a staged file into its own folder and write its first metadata."""
        folder = self.root / staged.id
        folder.mkdir(parents=True, mode=0o700)
        stored = f"source.{fmt}"
        os.replace(staged.path, folder / stored)
        upload = Upload(id=staged.id, original_name=original_name, stored_name=stored,
                        format=fmt, size=staged.size, sha256=staged.sha256,
                        uploaded_by=uploaded_by, uploaded_at=now_iso())
        upload.event(uploaded_by, f"uploaded {original_name} ({staged.size} bytes)")
        self.save(upload)
        return upload

    def source_path(self, upload: Upload) -> Path:
        """Where the upload's file is."""
        return self.root / upload.id / upload.stored_name

    def get(self, upload_id: str) -> Upload | None:
        """One upload, or None for an unknown (or malformed) id."""
        if not UPLOAD_ID.fullmatch(upload_id):
            return None
        try:
            text = (self.root / upload_id / "upload.json").read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return Upload.from_dict(json.loads(text))

    def list(self) -> list[Upload]:
        """Every upload, newest first; folders without readable metadata are skipped."""
        if not self.root.is_dir():
            return []
        uploads = []
        for folder in sorted(self.root.iterdir(), reverse=True):
            if UPLOAD_ID.fullmatch(folder.name):
                try:
                    found = self.get(folder.name)
                except (OSError, ValueError, TypeError):
                    continue
                if found is not None:
                    uploads.append(found)
        return uploads

    def save(self, upload: Upload) -> None:
        """Write ``upload.json`` atomically (a reader sees the old or the new, never half)."""
        path = self.root / upload.id / "upload.json"
        temporary = path.with_suffix(".json.tmp")
        with self._lock:
            temporary.write_text(json.dumps(dataclasses.asdict(upload), indent=2,
                                            ensure_ascii=False), encoding="utf-8")
            os.replace(temporary, path)

    @contextmanager
    def editing(self, upload_id: str) -> Iterator[Upload]:
        """Read, change and save one upload under the lock (a read-modify-write)."""
        with self._lock:
            upload = self.get(upload_id)
            if upload is None:
                raise KeyError(upload_id)
            yield upload
            self.save(upload)

    def remove_incoming(self) -> None:
        """Clear files left in the incoming folder by a crash (called at start-up)."""
        shutil.rmtree(self.incoming, ignore_errors=True)

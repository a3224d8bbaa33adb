"""The drop folder's ledger, ``.hr-connector/ledger.json``: every file handled (its
content's SHA-256, where it was kept, the outcome, the run), oldest first. It answers
"was this content the last one applied?" and is pruned of entries whose kept file
retention deleted. It is replaced atomically, so a reader sees the old or the new.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from connector.errors import ConfigError

#: What became of a file. ``duplicate`` is only read: ledgers written before every file
#: was applied hold it for content that was then skipped.
LedgerOutcome = Literal["applied", "rejected", "duplicate"]
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
READ = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_BINARY", 0)


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

    def describe(self) -> str:
        """``staff.csv (20261126T043512Z-3f9a1c)``: the file and the run, for messages."""
        return f"{self.name} ({self.run_id})"


def _entry(raw: Any) -> LedgerEntry:
    if not isinstance(raw, dict) or set(raw) != set(LedgerEntry.__dataclass_fields__):
        raise ValueError("an entry does not have the expected fields")
    if not all(isinstance(raw[k], str) for k in raw if k != "size") or \
            type(raw["size"]) is not int or raw["outcome"] not in get_args(LedgerOutcome):
        raise ValueError("an entry has a value of the wrong type")
    return LedgerEntry(**raw)


def last_applied(entries: list[LedgerEntry]) -> LedgerEntry | None:
    """The entry of the file applied most recently, or None."""
    return next((e for e in reversed(entries) if e.outcome == "applied"), None)


def load(path: Path) -> list[LedgerEntry]:
    """The ledger's entries ([] when there is none); a ``ConfigError`` naming the file when
    it cannot be read or is not a ledger."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            raise ConfigError(f"the drop folder ledger {path} is not a regular file")
        fd = os.open(path, READ)
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
                          "aside to start afresh (files handled before are then not "
                          "recognised as the last one applied)") from None


def save(path: Path, entries: list[LedgerEntry]) -> None:
    """Replace the ledger with ``entries``, atomically and forced to disk."""
    temporary = path.parent / f".ledger-{secrets.token_hex(6)}.tmp"
    data = json.dumps({"version": 1, "entries": [asdict(e) for e in entries]},
                      indent=1).encode("utf-8")
    try:
        fd = os.open(temporary, CREATE, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)  # readers see the old or the new, whole
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise ConfigError(f"cannot write the drop folder ledger {path}: "
                          f"{exc.strerror or exc}") from None

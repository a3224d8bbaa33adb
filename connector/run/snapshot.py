"""The tenant's users for a run: read in full, or from the last run's snapshot plus Graph's
delta since then (graph.md §4.6).

A full read is a delta round without a token: every user with the properties the mapping
owns, the base fields and the manager, and a deltaLink at the end. The users and that
deltaLink are kept in the state folder (``tenant-snapshot-<tenant>.jsonl``); the next run
asks the deltaLink what changed since, applies it to the snapshot and plans from the result,
a few requests instead of one per hundred users. Graph's delta reports every change,
this connector's own writes and changes made in the tenant by anyone else alike, so the
snapshot never has to be patched with what a run wrote: the next delta brings it.

A run reads in full instead, and says why in a log line, when there is no snapshot of this
tenant, when ``--full-read`` asks for it, when the last full read is ``full_read_days`` or
more calendar days old (default 7; 0 turns delta reads off), when the mapping's properties
changed, when the snapshot is damaged (unreadable, truncated, its checksum wrong), and when
Graph no longer honours the delta token (410 Gone / ``syncStateNotFound``, after 7 days).
Should Graph refuse the delta query itself (400 or 501: a selected property it does not
track), the run lists the users as before, with a warning, and keeps no snapshot.

The snapshot holds every user (not only the managed ones): matching and
``SelectUniqueValue`` look at all of them. It is written atomically (a temporary file,
fsync, rename) once the run has also read its source (a run stopped by bad input, exit 2,
writes nothing), and never on a dry run; failing to write it
is a warning, not a failed run (the next run reads in full). It holds HR data, so it is
readable by its owner only, like the run reports.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connector.core import clock
from connector.errors import GraphError
from connector.run.logs import log

if TYPE_CHECKING:  # the Graph client (httpx, msal) loads when a run reads, not before
    from connector.graph import GraphClient

FORMAT = 2
PREFIX = "tenant-snapshot-"


@dataclass(frozen=True)
class DeltaReads:
    """How runs read the tenant: ``state`` holds the snapshot; ``full_read`` forces a full
    read (``--full-read``); ``full_read_days`` is how old the last full read may get."""

    state: Path
    full_read_days: int = 7
    full_read: bool = False


class Damaged(Exception):
    """The snapshot file cannot be trusted; the message says why."""


@dataclass
class Snapshot:
    """The users as of ``delta_link``, and what they were read with."""

    tenant: str
    select: list[str]
    delta_link: str
    full_read_at: dt.datetime
    users: dict[str, dict[str, Any]]


def tenant_identity(graph: GraphClient) -> str:
    """Which tenant a snapshot is of: the Graph root and the tenant the token is for."""
    return f"{graph.graph_base} {graph.tenant_id or '-'}"


def snapshot_path(state: Path, identity: str) -> Path:
    """The snapshot file of a tenant in a state folder."""
    return state / f"{PREFIX}{hashlib.sha256(identity.encode()).hexdigest()[:16]}.jsonl"


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
#: Users per line: each line is one JSON array of rows (bounded work per parse).
CHUNK = 1000


def _line(data: Any) -> bytes:
    return _ENCODE(data).encode() + b"\n"


def save(path: Path, snapshot: Snapshot) -> None:
    """Write ``snapshot`` atomically: a temporary file, fsync, rename, fsync the folder.

    The file is JSON lines: a header (tenant, the ``$select`` that names each row's
    values, deltaLink, time of the full read), the users as rows of values in that order,
    :data:`CHUNK` to a line, and a trailer with the count and the rows' SHA-256.
    """
    for leftover in path.parent.glob(f"{path.name}.*.tmp"):  # from a run killed mid-save
        with contextlib.suppress(OSError):
            leftover.unlink()
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    names = snapshot.select
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(_line({"snapshot": FORMAT, "tenant": snapshot.tenant, "select": names,
                             "deltaLink": snapshot.delta_link,
                             "fullReadAt": snapshot.full_read_at.isoformat()}))
            users = list(snapshot.users.values())
            for first in range(0, len(users), CHUNK):
                line = _line([[user.get(name) for name in names]
                              for user in users[first:first + CHUNK]])
                digest.update(line)
                out.write(line)
            out.write(_line({"end": True, "users": len(users), "sha256": digest.hexdigest()}))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    with contextlib.suppress(OSError):  # the rename itself survives a power cut
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def load(path: Path) -> Snapshot:
    """Read a snapshot; ``FileNotFoundError`` when there is none, :class:`Damaged` when it
    cannot be trusted (not our format, truncated, a line changed)."""
    digest = hashlib.sha256()
    users: dict[str, dict[str, Any]] = {}
    trailer: Any = None
    with path.open("rb") as handle:
        try:
            header = json.loads(handle.readline())
            if not isinstance(header, dict) or header.get("snapshot") != FORMAT:
                raise Damaged("not a snapshot of this version")
            names, link = header["select"], header["deltaLink"]
            full_read_at = dt.datetime.fromisoformat(str(header["fullReadAt"]))
            if (not isinstance(names, list) or "id" not in names or not isinstance(link, str)
                    or not all(isinstance(n, str) for n in names) or full_read_at.tzinfo is None):
                raise Damaged("its header is incomplete")
            key = names.index("id")
            for line in handle:
                if trailer is not None:
                    raise Damaged("lines after its end")
                data = json.loads(line)
                if isinstance(data, dict):
                    trailer = data
                    continue
                digest.update(line)
                for row in data:
                    if len(row) != len(names) or not isinstance(row[key], str):
                        raise Damaged("a row that is not a user")
                    users[row[key]] = dict(zip(names, row, strict=True))
        except (ValueError, KeyError, TypeError) as exc:  # JSON, date or shape
            raise Damaged(f"unreadable: {type(exc).__name__}") from None
    if trailer is None or trailer.get("end") is not True:
        raise Damaged("it ends early")
    if trailer.get("users") != len(users) or trailer.get("sha256") != digest.hexdigest():
        raise Damaged("its checksum does not match")
    return Snapshot(str(header.get("tenant")), names, link, full_read_at, users)


class TenantReader:
    """One run's read of the tenant (see the module docstring)."""

    def __init__(self, graph: GraphClient, select: Sequence[str], reads: DeltaReads) -> None:
        self.graph = graph
        self.reads = reads
        self.select = graph.delta_select(select)
        self.owned = list(select)
        self.identity = tenant_identity(graph)
        self.path = snapshot_path(reads.state, self.identity)
        self.pending: Snapshot | None = None

    def read(self, *, save_snapshot: bool) -> list[dict[str, Any]]:
        """The tenant's users, as ``GraphClient.list_users`` returns them."""
        from connector.graph import apply_round, token_refused

        started = time.perf_counter()
        snapshot, reason, level = self._usable()
        if snapshot is not None:
            try:
                changes = self.graph.read_delta(self.owned, delta_link=snapshot.delta_link)
            except GraphError as exc:
                if not token_refused(exc):
                    raise
                what = ", ".join(str(x) for x in (exc.status, exc.code) if x is not None)
                reason = f"Graph no longer accepts the saved delta token ({what})"
                level = logging.WARNING
            else:
                applied = apply_round(snapshot.users, changes.items)
                snapshot.delta_link = changes.delta_link
                self._keep(snapshot, save_snapshot)
                log("tenant read from the snapshot and its delta", mode="delta",
                    users=len(snapshot.users), changed=applied.changed,
                    removed=applied.removed, requests=changes.pages,
                    seconds=round(time.perf_counter() - started, 2))
                return list(snapshot.users.values())
        try:
            round_ = self.graph.read_delta(self.owned)
        except GraphError as exc:
            if exc.status not in (400, 501):
                raise
            # Graph refused the delta query itself (a property it does not track, say):
            # list the users as runs always could, and keep no snapshot.
            log("tenant listed in full: Graph refused the delta query", level=logging.WARNING,
                mode="list", reason=exc.detailed())
            return self.graph.list_users(self.owned)
        users: dict[str, dict[str, Any]] = {}
        apply_round(users, round_.items)
        fresh = Snapshot(self.identity, self.select, round_.delta_link, clock.now(), users)
        if self.reads.full_read_days > 0:
            self._keep(fresh, save_snapshot)
        log(f"tenant read in full: {reason}", level=level, mode="full", reason=reason,
            users=len(users), requests=round_.pages,
            seconds=round(time.perf_counter() - started, 2))
        return list(users.values())

    def _usable(self) -> tuple[Snapshot | None, str, int]:
        """The snapshot to go on from, or None and why not (and how loud to say it)."""
        days = self.reads.full_read_days
        if days <= 0:
            return None, "delta reads are off (delta.full_read_days: 0)", logging.INFO
        if self.reads.full_read:
            return None, "a full read was asked for (--full-read)", logging.INFO
        try:
            snapshot = load(self.path)
        except FileNotFoundError:
            return None, "no snapshot of this tenant yet", logging.INFO
        except (OSError, Damaged) as exc:
            why = exc.strerror if isinstance(exc, OSError) else str(exc)
            return None, f"the snapshot {self.path} is damaged ({why})", logging.WARNING
        if snapshot.tenant != self.identity or not self.graph.owns_link(snapshot.delta_link):
            return None, f"the snapshot {self.path} is of another tenant", logging.WARNING
        if snapshot.select != self.select:
            return None, "the mapping's properties changed since the snapshot", logging.INFO
        age = (clock.today() - snapshot.full_read_at.astimezone(dt.UTC).date()).days
        if age >= days:
            return None, (f"the last full read was {age} days ago "
                          f"(delta.full_read_days: {days})"), logging.INFO
        return snapshot, "", logging.INFO

    def _keep(self, snapshot: Snapshot, save_snapshot: bool) -> None:
        # Saved by ``save_pending`` once the run has read its source: a run that then
        # stops on bad input (exit 2) has written nothing, the snapshot included.
        self.pending = snapshot if save_snapshot else None

    def save_pending(self) -> None:
        """Save the snapshot the read made (nothing for a dry run or a plain list)."""
        snapshot, self.pending = self.pending, None
        if snapshot is None:
            return
        try:
            save(self.path, snapshot)
        except OSError as exc:
            log("tenant snapshot not saved; the next run reads the tenant in full",
                level=logging.WARNING, path=str(self.path), reason=exc.strerror or str(exc))


def read_tenant(graph: GraphClient, select: Sequence[str], reads: DeltaReads | None, *,
                dry_run: bool) -> tuple[list[dict[str, Any]], Callable[[], None]]:
    """The tenant's users with ``select`` and their managers: from the snapshot and its
    delta when ``reads`` allows it, else in full; and the call that saves the snapshot
    this read made, which the run makes once its source has been read. ``reads`` None: a
    plain full list, no snapshot (the Python API's default). A dry run never writes the
    snapshot."""
    if reads is None:
        return graph.list_users(select), _nothing
    reader = TenantReader(graph, select, reads)
    return reader.read(save_snapshot=not dry_run), reader.save_pending


def _nothing() -> None:
    return None

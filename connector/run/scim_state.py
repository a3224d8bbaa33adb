"""What a SCIM run remembers between runs, per provisioning job, in
``<state>/scim.db`` (SQLite):

- per externalId, what :class:`connector.scim.Sent` holds: the HR key, the hash of the last
  payload the job accepted (202) and one short hash per attribute (never a value; 16 hex
  digits each, ``connector.scim.digest.pack``), whether
  it went active, whether Entra ever reported success for it, and the error code of a
  failure Entra reported since (the next run sends it again);
- the time of every bulkUpload request of the last 24 hours, retries included: the job's
  daily budget (6,000, E3) is checked before each one.

Each batch's hashes are committed when its 202 arrives, so a run killed at any moment
leaves the state of what was really accepted: the next run sends the rest (and, at worst,
a batch whose 202 was lost on the way, again: the job matches it to the same users).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from connector.errors import ConfigError
from connector.scim import Sent
from connector.scim.digest import pack, unpack

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (
    job TEXT NOT NULL, external_id TEXT NOT NULL, key TEXT NOT NULL, hash TEXT NOT NULL,
    attributes TEXT NOT NULL, active INTEGER NOT NULL, confirmed INTEGER NOT NULL DEFAULT 0,
    failed TEXT, run_id TEXT, sent_at TEXT, PRIMARY KEY (job, external_id));
CREATE TABLE IF NOT EXISTS requests (job TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS requests_job ON requests (job, at);
"""
DAY = 24 * 3600.0
#: Requests per job per 24 hours (E3).
DAILY_BUDGET = 6000


def state_file(state: Path) -> Path:
    """Where SCIM runs keep their state."""
    return state / "scim.db"


class ScimState:
    """The state of one provisioning job (a context manager; closes the database)."""

    def __init__(self, path: Path, job_id: str) -> None:
        self.path = path
        self.job = job_id
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"the SCIM state {path} cannot be used: {exc}") from None

    def __enter__(self) -> ScimState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- what was sent ----------------------------------------------------------------------
    def load(self) -> dict[str, Sent]:
        """Every externalId sent to this job, with what is known of it."""
        rows = self._db.execute(
            "SELECT external_id, key, hash, attributes, active, confirmed, failed FROM sent "
            "WHERE job = ?", (self.job,)).fetchall()
        return {str(ext): Sent(str(key), str(digest), unpack(attrs), bool(active),
                               bool(confirmed), failed)
                for ext, key, digest, attrs, active, confirmed, failed in rows}

    def accepted(self, sends: Iterable[tuple[str, Sent]], run_id: str,
                 sent_at: str | None = None) -> None:
        """Record the payloads of one accepted request (one commit per request);
        ``sent_at``: when the job accepted it, by its clock (for reading its logs)."""
        with self._transaction() as db:
            for external, sent in sends:
                db.execute(
                    "INSERT INTO sent (job, external_id, key, hash, attributes, active, "
                    "confirmed, failed, run_id, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?) "
                    "ON CONFLICT (job, external_id) DO UPDATE SET key = excluded.key, "
                    "hash = excluded.hash, attributes = excluded.attributes, "
                    "active = excluded.active, failed = NULL, run_id = excluded.run_id, "
                    "sent_at = excluded.sent_at",
                    (self.job, external, sent.key, sent.hash, pack(sent.attributes),
                     int(sent.active), int(sent.confirmed), run_id, sent_at))

    def unknown(self) -> dict[str, tuple[str | None, str | None]]:
        """externalId -> (when it was sent, the run that sent it), for what was sent and
        has no outcome of Entra's recorded (a run that ended before reading them, or that
        stopped waiting)."""
        rows = self._db.execute(
            "SELECT external_id, sent_at, run_id FROM sent WHERE job = ? AND confirmed = 0 "
            "AND failed IS NULL", (self.job,)).fetchall()
        return {str(ext): (sent_at, run_id) for ext, sent_at, run_id in rows}

    def outcome(self, external_id: str, *, failed: str | None,
                confirmed: bool = False) -> None:
        """What Entra reported: ``confirmed`` when the user exists (success, skipped, a
        warning), ``failed`` the error code that makes the next run send it again."""
        with self._transaction() as db:
            db.execute("UPDATE sent SET failed = ?, confirmed = MAX(confirmed, ?) WHERE "
                       "job = ? AND external_id = ?",
                       (failed, int(confirmed), self.job, external_id))

    def forget(self) -> None:
        """Forget what was sent to this job (its target was reset: the sandbox's)."""
        with self._transaction() as db:
            db.execute("DELETE FROM sent WHERE job = ?", (self.job,))

    # --- the daily budget -------------------------------------------------------------------
    def requests_since(self, since: float) -> int:
        """bulkUpload requests to this job at or after ``since`` (epoch seconds)."""
        return int(self._db.execute("SELECT COUNT(*) FROM requests WHERE job = ? AND at >= ?",
                                    (self.job, since)).fetchone()[0])

    def count_request(self, at: float) -> None:
        """Count one bulkUpload request (committed before it is sent)."""
        with self._transaction() as db:
            db.execute("DELETE FROM requests WHERE job = ? AND at < ?", (self.job, at - DAY))
            db.execute("INSERT INTO requests (job, at) VALUES (?, ?)", (self.job, at))


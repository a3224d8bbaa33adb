"""The provisioning job's state, in the sandbox's SQLite database beside the users: the
job's status, the bulkUpload requests of the last 24 h (the daily quota), uploads staged
while the job is paused or quarantined, and the provisioning-log entries.

Everything here survives the process (the CLI runs the sandbox in-process, one command at a
time): a paused job stays paused, the daily quota keeps counting, and log entries written
by one ``sync`` are read by a later ``runs show --refresh``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from ..store import Store

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS prov_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS prov_requests (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS prov_staged (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "received REAL NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS prov_logs (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "visible REAL NOT NULL, entry TEXT NOT NULL)",
)
_NAMESPACE = uuid.UUID("0b6f5a8e-3c1d-4e7a-9f10-6d2c8b4a1e55")
STATUSES = ("Active", "Paused", "Quarantine", "NotRun")


@dataclass(frozen=True)
class JobIds:
    """The provisioning app's service principal and its one job."""

    service_principal: str
    job: str


def job_ids(tenant_id: str) -> JobIds:
    """Stable ids for a tenant: ``API2AAD.<32 hex>.<guid>`` like Entra's (§1)."""
    digest = hashlib.md5(tenant_id.encode(), usedforsecurity=False).hexdigest()
    return JobIds(str(uuid.uuid5(_NAMESPACE, f"sp:{tenant_id}")),
                  f"API2AAD.{digest}.{uuid.uuid5(_NAMESPACE, f'job:{tenant_id}')}")


class ProvisioningStore:
    """Tables ``prov_*`` of one sandbox database (thread-safe through the store's lock)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store.transaction() as db:
            for statement in _SCHEMA:
                db.execute(statement)
        self.ids = job_ids(store.tenant_id)

    # --- job status -------------------------------------------------------------------------
    def status(self) -> tuple[str, str | None]:
        """(status code, quarantine reason)."""
        with self.store.transaction() as db:
            rows = dict(db.execute("SELECT key, value FROM prov_meta").fetchall())
        return str(rows.get("status", "Active")), rows.get("reason")

    def set_status(self, code: str, reason: str | None = None) -> None:
        """Pause (``Paused``), quarantine (``Quarantine`` + reason) or start (``Active``)."""
        if code not in STATUSES:
            raise ValueError(f"a job status is one of {', '.join(STATUSES)}")
        with self.store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO prov_meta VALUES ('status', ?)", (code,))
            if reason:
                db.execute("INSERT OR REPLACE INTO prov_meta VALUES ('reason', ?)", (reason,))
            else:
                db.execute("DELETE FROM prov_meta WHERE key = 'reason'")

    # --- the daily quota --------------------------------------------------------------------
    def requests_since(self, since: float) -> list[float]:
        """Times of the bulkUpload requests at or after ``since`` (older ones are dropped)."""
        with self.store.transaction() as db:
            db.execute("DELETE FROM prov_requests WHERE at < ?", (since,))
            return [float(r[0]) for r in db.execute(
                "SELECT at FROM prov_requests ORDER BY seq").fetchall()]

    def record_request(self, at: float) -> None:
        """Count one bulkUpload request (accepted or throttled: both use the quota)."""
        with self.store.transaction() as db:
            db.execute("INSERT INTO prov_requests (at) VALUES (?)", (at,))

    # --- staged uploads ---------------------------------------------------------------------
    def stage(self, body: dict[str, Any], received: float) -> None:
        """Keep an upload for when the job runs again."""
        with self.store.transaction() as db:
            db.execute("INSERT INTO prov_staged (received, body) VALUES (?, ?)",
                       (received, json.dumps(body)))

    def take_staged(self) -> list[tuple[float, dict[str, Any]]]:
        """Every staged upload, oldest first, removed from the stage."""
        with self.store.transaction() as db:
            rows = db.execute("SELECT seq, received, body FROM prov_staged ORDER BY seq"
                              ).fetchall()
            db.execute("DELETE FROM prov_staged")
        return [(float(received), json.loads(body)) for _, received, body in rows]

    def staged_count(self) -> int:
        """Uploads waiting for the job."""
        with self.store.transaction() as db:
            return int(db.execute("SELECT COUNT(*) FROM prov_staged").fetchone()[0])

    # --- provisioning logs ------------------------------------------------------------------
    def add_entries(self, entries: list[dict[str, Any]], visible: float) -> None:
        """Store log entries that the logs API shows from ``visible`` on."""
        with self.store.transaction() as db:
            db.executemany("INSERT INTO prov_logs (visible, entry) VALUES (?, ?)",
                           [(visible, json.dumps(e)) for e in entries])

    def entries(self, now: float, after: int = 0) -> list[tuple[int, dict[str, Any]]]:
        """(seq, entry) of the entries visible at ``now`` after ``after``, oldest first."""
        with self.store.transaction() as db:
            rows = db.execute("SELECT seq, entry FROM prov_logs WHERE visible <= ? AND seq > ? "
                              "ORDER BY seq", (now, after)).fetchall()
        return [(int(seq), json.loads(entry)) for seq, entry in rows]

    def reset(self) -> None:
        """Back to a fresh job: active, nothing staged, no requests, no logs."""
        with self.store.transaction() as db:
            for table in ("prov_meta", "prov_requests", "prov_staged", "prov_logs"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 (fixed names)

"""SQLite state of the sandbox tenant: users, the change log behind delta, and tenant facts.

Users are stored as one JSON document per row with indexed columns for the keys Graph looks
up (id, lower(UPN), lower(mail), lower(employeeId)) and the manager link as a column. Deleted
users stay as rows with ``deleted_at`` set (soft delete, §3.4): they vanish from GET and lists,
and delta reports them as ``@removed: changed``; ``purge`` removes a row for good
(``@removed: deleted``). Every change appends to ``changes``, whose version numbers drive
delta tokens (§4.6).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .envelope import iso_z

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    upn_lower TEXT NOT NULL,
    mail_lower TEXT,
    employee_id TEXT,
    manager_id TEXT,
    deleted_at REAL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS users_upn ON users (upn_lower);
CREATE INDEX IF NOT EXISTS users_mail ON users (mail_lower);
CREATE INDEX IF NOT EXISTS users_employee ON users (employee_id);
CREATE TABLE IF NOT EXISTS changes (
    version INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    props TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_user ON changes (user_id, version);
"""

_SEED_NAMESPACE = uuid.UUID("5f0c2a52-8a55-4f7c-9a34-3f3d3b6c1e01")

#: Domains of a fresh tenant: the initial domain plus one verified custom domain.
SEED_DOMAINS: list[dict[str, Any]] = [
    {"name": "contoso.onmicrosoft.com", "isVerified": True, "isInitial": True,
     "authenticationType": "Managed"},
    {"name": "contoso.com", "isVerified": True, "isInitial": False,
     "authenticationType": "Managed"},
]

#: Users the connector does not manage: two IT admins and a service account (no employeeId).
SEED_USERS: list[tuple[dict[str, Any], bool]] = [
    ({"displayName": "Megan Bowen", "givenName": "Megan", "surname": "Bowen",
      "userPrincipalName": "MeganB@contoso.onmicrosoft.com", "mailNickname": "MeganB",
      "mail": "MeganB@contoso.com", "jobTitle": "IT Administrator", "department": "IT",
      "usageLocation": "US", "accountEnabled": True}, True),
    ({"displayName": "Nestor Wilke", "givenName": "Nestor", "surname": "Wilke",
      "userPrincipalName": "NestorW@contoso.onmicrosoft.com", "mailNickname": "NestorW",
      "mail": "NestorW@contoso.com", "jobTitle": "IT Administrator", "department": "IT",
      "usageLocation": "US", "accountEnabled": True}, True),
    ({"displayName": "HR Sync Service", "userPrincipalName": "svc-hrsync@contoso.onmicrosoft.com",
      "mailNickname": "svc-hrsync", "accountEnabled": True,
      "passwordPolicies": "DisablePasswordExpiration"}, False),
]


@dataclass
class UserRow:
    """One stored user."""

    seq: int
    doc: dict[str, Any]
    manager_id: str | None
    deleted_at: float | None

    @property
    def id(self) -> str:
        """The object id."""
        return str(self.doc["id"])


def _lower(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) else None


class Store:
    """Thread-safe access to one SQLite database (a file, or ``:memory:`` for tests)."""

    def __init__(self, path: str | Path, *, clock_now: float) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if self.path != ":memory:":
            # WAL lets `list_users` read while a server writes; NORMAL skips the fsync per
            # commit (a sandbox does not need durability across power loss).
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        with self.transaction():
            if self._meta("tenant_id") is None:
                self._set_meta("tenant_id", str(uuid.uuid4()))
                self._set_meta("secret", secrets.token_hex(32))
                self._seed(clock_now)
        self._tenant_id = str(self._meta("tenant_id"))
        self._secret = bytes.fromhex(str(self._meta("secret")))

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work (also serialises threads)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def _seed(self, now: float) -> None:
        self._set_meta("domains", json.dumps(SEED_DOMAINS))
        for doc, admin in SEED_USERS:
            seeded = {"id": str(uuid.uuid5(_SEED_NAMESPACE, doc["userPrincipalName"].lower())),
                      "createdDateTime": iso_z(now),
                      "passwordProfile": {"forceChangePasswordNextSignIn": False,
                                          "forceChangePasswordNextSignInWithMfa": False},
                      **doc}
            if admin:
                seeded["_sandboxAdmin"] = True  # holds an admin role: §3.4, [PATCH] limits
            self._insert(seeded)

    # --- tenant facts -----------------------------------------------------------------------
    @property
    def tenant_id(self) -> str:
        """The tenant's GUID (kept across resets)."""
        return self._tenant_id

    @property
    def secret(self) -> bytes:
        """Signing secret for page and access tokens (kept across resets)."""
        return self._secret

    def domains(self) -> list[dict[str, Any]]:
        """The tenant's domains (name, isVerified, isInitial, authenticationType)."""
        with self._lock:
            return list(json.loads(self._meta("domains") or "[]"))

    def add_domain(self, name: str, *, verified: bool = True, federated: bool = False) -> None:
        """Add or replace a domain (admin API)."""
        with self.transaction():
            domains = [d for d in self.domains() if d["name"].lower() != name.lower()]
            domains.append({"name": name, "isVerified": verified, "isInitial": False,
                            "authenticationType": "Federated" if federated else "Managed"})
            self._set_meta("domains", json.dumps(domains))

    def reset(self, now: float) -> None:
        """Drop every user and change, reseed; the tenant id and secret survive. Delta
        tokens issued before the reset no longer hold (:meth:`reset_version`)."""
        with self.transaction() as db:
            self._set_meta("reset_version", str(self.version()))
            db.execute("DELETE FROM users")
            db.execute("DELETE FROM changes")
            self._seed(now)

    # --- reads ------------------------------------------------------------------------------
    @staticmethod
    def _row(raw: tuple[Any, ...]) -> UserRow:
        return UserRow(int(raw[0]), json.loads(raw[1]), raw[2], raw[3])

    def get(self, object_id: str, *, include_deleted: bool = False) -> UserRow | None:
        """A user by id (case-insensitive)."""
        with self._lock:
            raw = self._db.execute(
                "SELECT seq, data, manager_id, deleted_at FROM users WHERE id = ?",
                (object_id.lower(),)).fetchone()
        row = None if raw is None else self._row(raw)
        return row if row is not None and (include_deleted or row.deleted_at is None) else None

    def get_by_upn(self, upn: str) -> UserRow | None:
        """An active user by UPN, case-insensitive (§3.2)."""
        with self._lock:
            raw = self._db.execute(
                "SELECT seq, data, manager_id, deleted_at FROM users "
                "WHERE upn_lower = ? AND deleted_at IS NULL",
                (upn.lower(),)).fetchone()
        return None if raw is None else self._row(raw)

    def conflicts(self, column: str, value: str, exclude_id: str | None,
                  include_deleted: bool = False) -> bool:
        """Whether another user holds ``value`` in an indexed column (upn_lower, mail_lower)."""
        assert column in {"upn_lower", "mail_lower"}
        sql = f"SELECT 1 FROM users WHERE {column} = ? AND id != ?"  # noqa: S608 (fixed names)
        if not include_deleted:
            sql += " AND deleted_at IS NULL"
        with self._lock:
            return self._db.execute(sql, (value.lower(), exclude_id or "")).fetchone() is not None

    def scan(self, after_seq: int = 0, narrow: tuple[str, list[str]] | None = None,
             include_deleted: bool = False) -> Iterator[UserRow]:
        """Users in creation order after ``after_seq``; ``narrow`` = (indexed column, values)."""
        where = ["seq > ?"]
        params: list[Any] = [after_seq]
        if not include_deleted:
            where.append("deleted_at IS NULL")
        if narrow is not None:
            column, values = narrow
            assert column in {"id", "upn_lower", "employee_id"}
            where.append(f"{column} IN ({','.join('?' * len(values))})")
            params += [v.lower() for v in values]
        # Only fixed fragments and "?" placeholders are joined here (column names are asserted).
        sql = ("SELECT seq, data, manager_id, deleted_at FROM users WHERE "  # noqa: S608
               + " AND ".join(where) + " ORDER BY seq")
        while True:
            with self._lock:
                batch = self._db.execute(sql + " LIMIT 500", params).fetchall()
            for raw in batch:
                yield self._row(raw)
            if len(batch) < 500:
                return
            params[0] = batch[-1][0]

    def count(self) -> int:
        """Number of active users."""
        with self._lock:
            return int(self._db.execute(
                "SELECT COUNT(*) FROM users WHERE deleted_at IS NULL").fetchone()[0])

    # --- writes -----------------------------------------------------------------------------
    def _insert(self, doc: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO users (id, upn_lower, mail_lower, employee_id, data) VALUES (?,?,?,?,?)",
            (doc["id"], doc["userPrincipalName"].lower(), _lower(doc.get("mail")),
             _lower(doc.get("employeeId")), json.dumps(doc)))
        self._log(doc["id"], "upsert", sorted(k for k in doc if not k.startswith("_")))

    def _log(self, user_id: str, kind: str, props: list[str]) -> None:
        self._db.execute("INSERT INTO changes (user_id, kind, props) VALUES (?, ?, ?)",
                         (user_id, kind, json.dumps(props)))

    def insert(self, doc: dict[str, Any]) -> None:
        """Store a new user document (``id`` and ``userPrincipalName`` required)."""
        with self.transaction():
            self._insert(doc)

    def update(self, object_id: str, changes: dict[str, Any]) -> None:
        """Merge ``changes`` into a user; only properties whose value changed are logged."""
        with self.transaction() as db:
            row = self.get(object_id, include_deleted=True)
            if row is None:
                return
            changed = sorted(k for k, v in changes.items()
                             if k not in row.doc or row.doc[k] != v)
            if not changed:
                return
            doc = {**row.doc, **changes}
            db.execute("UPDATE users SET upn_lower = ?, mail_lower = ?, employee_id = ?, "
                       "data = ? WHERE id = ?",
                       (doc["userPrincipalName"].lower(), _lower(doc.get("mail")),
                        _lower(doc.get("employeeId")), json.dumps(doc), row.id))
            self._log(row.id, "upsert", changed)

    def set_manager(self, object_id: str, manager_id: str | None) -> None:
        """Set or clear the manager link."""
        with self.transaction() as db:
            db.execute("UPDATE users SET manager_id = ? WHERE id = ?", (manager_id, object_id))
            self._log(object_id, "upsert", ["manager"])

    def soft_delete(self, object_id: str, now: float) -> None:
        """Move a user to deleted items (§3.4)."""
        with self.transaction() as db:
            db.execute("UPDATE users SET deleted_at = ? WHERE id = ?", (now, object_id))
            self._log(object_id, "soft", [])

    def purge(self, object_id: str) -> bool:
        """Delete a user permanently (admin API); False if unknown."""
        with self.transaction() as db:
            gone = db.execute("DELETE FROM users WHERE id = ?", (object_id.lower(),)).rowcount
            if gone:
                db.execute("UPDATE users SET manager_id = NULL WHERE manager_id = ?",
                           (object_id.lower(),))
                self._log(object_id.lower(), "hard", [])
            return bool(gone)

    # --- change log (delta) -----------------------------------------------------------------
    def version(self) -> int:
        """The newest change version (0 when nothing changed yet)."""
        with self._lock:
            return int(self._db.execute(
                "SELECT COALESCE(MAX(version), 0) FROM changes").fetchone()[0])

    def reset_version(self) -> int:
        """The last change version before the latest reset (-1: never reset). A delta
        token whose watermark is not above it refers to a change log that is gone."""
        with self._lock:
            value = self._meta("reset_version")
        return -1 if value is None else int(value)

    def change_cursor(self, after: int, upto: int) -> Iterator[tuple[int, str]]:
        """(version, user id) of the changes with ``after < version <= upto``, in order,
        read 500 at a time."""
        while True:
            with self._lock:
                batch = self._db.execute(
                    "SELECT version, user_id FROM changes WHERE version > ? AND version <= ? "
                    "ORDER BY version LIMIT 500", (after, upto)).fetchall()
            for version, user_id in batch:
                yield int(version), str(user_id)
            if len(batch) < 500:
                return
            after = int(batch[-1][0])

    def user_changes(self, user_id: str, after: int,
                     upto: int) -> list[tuple[int, str, list[str]]]:
        """One user's changes with ``after < version <= upto``: (version, kind, properties)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT version, kind, props FROM changes WHERE user_id = ? AND version > ? "
                "AND version <= ? ORDER BY version", (user_id, after, upto)).fetchall()
        return [(int(v), str(k), list(json.loads(p))) for v, k, p in rows]

    def first_change(self, user_id: str) -> int | None:
        """Version of the first change of a user (its creation)."""
        with self._lock:
            row = self._db.execute("SELECT MIN(version) FROM changes WHERE user_id = ?",
                                   (user_id,)).fetchone()
        return None if row is None or row[0] is None else int(row[0])

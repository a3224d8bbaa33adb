"""SQLite state of the sandbox's groups, in the tenant's database beside the users.

A group is one JSON document per row, with its lower-case mailNickname and displayName as
indexed columns; memberships are rows of (group, member) in the order they were added,
which is the order ``/members`` lists them. A member is a user or a group; a user who is
deleted (soft or for good) is no longer listed, as Graph drops a deleted user's
memberships. Deleting a group removes it and its memberships for good: Graph deletes
security groups permanently (GROUPS.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .store import Store

_TABLES = (
    """CREATE TABLE IF NOT EXISTS groups (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        nickname_lower TEXT NOT NULL,
        name_lower TEXT NOT NULL,
        data TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS groups_nickname ON groups (nickname_lower)",
    "CREATE INDEX IF NOT EXISTS groups_name ON groups (name_lower)",
    """CREATE TABLE IF NOT EXISTS group_members (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        group_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        UNIQUE (group_id, member_id))""",
    "CREATE INDEX IF NOT EXISTS group_members_member ON group_members (member_id)",
)
#: Members that still exist: a live user or a group (a deleted user is not listed).
_LIVE = ("(EXISTS (SELECT 1 FROM users u WHERE u.id = m.member_id AND u.deleted_at IS NULL) "
         "OR EXISTS (SELECT 1 FROM groups g WHERE g.id = m.member_id))")


class GroupStore:
    """Groups and memberships in one sandbox :class:`Store` (its lock and transactions)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store.transaction() as db:
            for statement in _TABLES:
                db.execute(statement)

    def reset(self) -> None:
        """No groups at all (a fresh tenant)."""
        with self.store.transaction() as db:
            db.execute("DELETE FROM group_members")
            db.execute("DELETE FROM groups")

    # --- groups -----------------------------------------------------------------------------
    def insert(self, doc: dict[str, Any], members: Sequence[str] = ()) -> None:
        """Store a new group (``id``, ``displayName``, ``mailNickname`` required), with its
        first members, in one transaction."""
        with self.store.transaction() as db:
            db.execute("INSERT INTO groups (id, nickname_lower, name_lower, data) "
                       "VALUES (?, ?, ?, ?)",
                       (doc["id"], doc["mailNickname"].lower(), doc["displayName"].lower(),
                        json.dumps(doc)))
            db.executemany("INSERT INTO group_members (group_id, member_id) VALUES (?, ?)",
                           [(doc["id"], m.lower()) for m in members])

    def get(self, group_id: str) -> dict[str, Any] | None:
        """A group by id (case-insensitive)."""
        with self.store.transaction() as db:
            row = db.execute("SELECT data FROM groups WHERE id = ?",
                             (group_id.lower(),)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def nickname_taken(self, nickname: str, exclude: str | None = None) -> bool:
        """Whether another group has this mailNickname (compared without case)."""
        with self.store.transaction() as db:
            return db.execute("SELECT 1 FROM groups WHERE nickname_lower = ? AND id != ?",
                              (nickname.lower(), exclude or "")).fetchone() is not None

    def update(self, group_id: str, changes: dict[str, Any],
               add_members: Sequence[str] = ()) -> None:
        """Merge ``changes`` into a group and add members, in one transaction."""
        with self.store.transaction() as db:
            row = db.execute("SELECT data FROM groups WHERE id = ?", (group_id,)).fetchone()
            if row is None:
                return
            doc = {**json.loads(row[0]), **changes}
            db.execute("UPDATE groups SET nickname_lower = ?, name_lower = ?, data = ? "
                       "WHERE id = ?", (doc["mailNickname"].lower(),
                                        doc["displayName"].lower(), json.dumps(doc), group_id))
            db.executemany("INSERT INTO group_members (group_id, member_id) VALUES (?, ?)",
                           [(group_id, m.lower()) for m in add_members])

    def delete(self, group_id: str) -> None:
        """Delete a group for good, with its memberships (as a group and as a member)."""
        with self.store.transaction() as db:
            db.execute("DELETE FROM groups WHERE id = ?", (group_id,))
            db.execute("DELETE FROM group_members WHERE group_id = ? OR member_id = ?",
                       (group_id, group_id))

    def scan(self, after_seq: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
        """(seq, document) of every group, in creation order after ``after_seq``."""
        while True:
            with self.store.transaction() as db:
                batch = db.execute("SELECT seq, data FROM groups WHERE seq > ? ORDER BY seq "
                                   "LIMIT 500", (after_seq,)).fetchall()
            for seq, data in batch:
                yield int(seq), dict(json.loads(data))
            if len(batch) < 500:
                return
            after_seq = int(batch[-1][0])

    # --- members ----------------------------------------------------------------------------
    def members(self, group_id: str, after_seq: int, limit: int) -> list[tuple[int, str]]:
        """Up to ``limit`` (seq, member id) after ``after_seq``, in the order added."""
        sql = ("SELECT m.seq, m.member_id FROM group_members m WHERE m.group_id = ? AND "  # noqa: S608
               f"m.seq > ? AND {_LIVE} ORDER BY m.seq LIMIT ?")
        with self.store.transaction() as db:
            rows = db.execute(sql, (group_id, after_seq, limit)).fetchall()
        return [(int(seq), str(member)) for seq, member in rows]

    def member_page(self, group_id: str, after_seq: int, limit: int,
                    ) -> list[tuple[int, str, str]]:
        """Up to ``limit`` (seq, member id, ``user`` | ``group``) after ``after_seq``, in
        the order added, in one query (a page of 999 without a lookup per member)."""
        sql = ("SELECT m.seq, m.member_id, CASE WHEN g.id IS NULL THEN 'user' ELSE 'group' END "
               "FROM group_members m "
               "LEFT JOIN users u ON u.id = m.member_id AND u.deleted_at IS NULL "
               "LEFT JOIN groups g ON g.id = m.member_id "
               "WHERE m.group_id = ? AND m.seq > ? AND (u.id IS NOT NULL OR g.id IS NOT NULL) "
               "ORDER BY m.seq LIMIT ?")
        with self.store.transaction() as db:
            rows = db.execute(sql, (group_id, after_seq, limit)).fetchall()
        return [(int(seq), str(member), str(kind)) for seq, member, kind in rows]

    def count(self, group_id: str) -> int:
        """How many members the group lists."""
        sql = f"SELECT COUNT(*) FROM group_members m WHERE m.group_id = ? AND {_LIVE}"  # noqa: S608
        with self.store.transaction() as db:
            return int(db.execute(sql, (group_id,)).fetchone()[0])

    def member_ids(self, group_id: str, candidates: Sequence[str]) -> set[str]:
        """Which of ``candidates`` are members already."""
        found: set[str] = set()
        with self.store.transaction() as db:
            for start in range(0, len(candidates), 500):
                chunk = [c.lower() for c in candidates[start:start + 500]]
                marks = ",".join("?" * len(chunk))
                found.update(str(r[0]) for r in db.execute(
                    f"SELECT member_id FROM group_members WHERE group_id = ? "  # noqa: S608
                    f"AND member_id IN ({marks})", (group_id, *chunk)))
        return found

    def remove_member(self, group_id: str, member_id: str) -> bool:
        """Remove one membership; False when there was none."""
        with self.store.transaction() as db:
            return bool(db.execute("DELETE FROM group_members WHERE group_id = ? AND "
                                   "member_id = ?", (group_id, member_id.lower())).rowcount)


def list_groups(state_path: str | Path) -> list[dict[str, Any]]:
    """Every stored group with ``_members`` (member ids, in the order added): what
    ``hr-connector sandbox groups`` and the tests read."""
    store = Store(Path(state_path).expanduser(), clock_now=time.time())
    try:
        groups = GroupStore(store)
        return [{**doc, "_members": [m for _, m in groups.members(doc["id"], 0, 1 << 30)]}
                for _, doc in groups.scan()]
    finally:
        store.close()


def reset_groups(state_path: str | Path) -> None:
    """Remove every group of the tenant at ``state_path`` (``sandbox reset``)."""
    store = Store(Path(state_path).expanduser(), clock_now=time.time())
    try:
        GroupStore(store).reset()
    finally:
        store.close()

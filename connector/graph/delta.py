"""Delta reads of ``/users`` (graph.md §4.6) and how a round's items change a copy of the
tenant's users.

A round without a token returns every user there is now and ends with a deltaLink; a round
from that deltaLink returns what changed since, and a new deltaLink. Items (§4.6):

- a created or changed user: its representation, the ``$select``-ed properties; a property
  never set is left out, one cleared is ``null``. This module turns both into ``None``, as
  a plain list read has them, so a user read by delta looks like one read by
  ``GraphClient.list_users``;
- a user deleted (soft or for good): ``{"id", "@removed": {"reason"}}``;
- with ``manager`` selected, the link as ``manager@delta``: a list holding the manager, or
  nothing (or only entries marked ``@removed``) when the link is gone. An item without it
  leaves the link as it was.

The same user may come more than once, even in one round; items are applied in order, so
the last one wins. Graph reports its own writes too, so a copy kept up to date this way
also learns what this connector wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.errors import FatalGraphError, GraphError

from .paging import iter_bodies

#: Error codes of a delta token Graph no longer honours (§4.6: expired after 7 days, or a
#: reset; errors.md lists ``resyncRequired`` too).
TOKEN_GONE_CODES = frozenset({"syncStateNotFound", "resyncRequired", "syncStateInvalid"})

#: ``(user id, user or None when removed)`` in the order Graph sent them.
Item = tuple[str, dict[str, Any] | None]


@dataclass
class DeltaRound:
    """One delta round, read to its end."""

    #: True for a round without a token: every user there is, not changes.
    full: bool
    items: list[Item]
    #: Where the next round starts (``@odata.deltaLink`` of the last page).
    delta_link: str
    pages: int = 0


@dataclass
class Applied:
    """What applying a round changed in a copy of the users."""

    changed: int = 0
    removed: int = 0
    unlinked: set[str] = field(default_factory=set)  # users whose manager was removed


def token_refused(error: GraphError) -> bool:
    """Whether Graph refused a saved deltaLink, so only a full round can go on: 410 Gone,
    an expired or lost sync state, or 400 (the token is the only thing we sent)."""
    return error.status in (400, 410) or (error.code or "") in TOKEN_GONE_CODES


def _manager(links: Any) -> str | None:
    if isinstance(links, list):
        for link in links:
            if (isinstance(link, Mapping) and "@removed" not in link
                    and isinstance(link.get("id"), str)):
                return str(link["id"])
    return None


def item_of(raw: Mapping[str, Any], fields: Sequence[str]) -> Item | None:
    """One delta item as ``(id, user)``; ``(id, None)`` for a removed user; None when the
    item has no id (nothing to apply it to)."""
    user_id = raw.get("id")
    if not isinstance(user_id, str) or not user_id:
        return None
    if "@removed" in raw:
        return user_id, None
    user = {name: raw.get(name) for name in fields}
    user["id"] = user_id
    if "manager@delta" in raw:
        user["manager"] = _manager(raw["manager@delta"])
    return user_id, user


def read_round(fetch: Callable[[str, Mapping[str, str] | None], Mapping[str, Any]],
               url: str, params: Mapping[str, str] | None, fields: Sequence[str], *,
               full: bool) -> DeltaRound:
    """Follow a round's nextLinks to its deltaLink; its items in order."""
    items: list[Item] = []
    pages = 0
    last: Mapping[str, Any] = {}
    for body in iter_bodies(fetch, url, params):
        pages += 1
        last = body
        for raw in body["value"]:
            if isinstance(raw, Mapping) and (item := item_of(raw, fields)) is not None:
                items.append(item)
    link = last.get("@odata.deltaLink")
    if not isinstance(link, str) or not link:
        raise FatalGraphError("reading the users' delta: the last page has no deltaLink")
    return DeltaRound(full, items, link, pages)


def apply_round(users: MutableMapping[str, dict[str, Any]], items: Iterable[Item]) -> Applied:
    """Apply a round's items to ``users`` (id -> user, as ``list_users`` returns them).

    A user whose item carries no ``manager@delta`` keeps the manager it had (None when it
    is new). Links to users that are gone are dropped with them: Graph removes a deleted
    user's links, and the users who reported to them are not reported as changed.
    """
    applied = Applied()
    removed: set[str] = set()
    for user_id, user in items:
        if user is None:
            if users.pop(user_id, None) is not None:
                applied.removed += 1
                removed.add(user_id)
            continue
        if "manager" not in user:
            before = users.get(user_id)
            user["manager"] = before.get("manager") if before is not None else None
        users[user_id] = user
        applied.changed += 1
    gone = removed - users.keys()
    if gone:
        for user in users.values():
            if user.get("manager") in gone:
                user["manager"] = None
                applied.unlinked.add(str(user["id"]))
    return applied

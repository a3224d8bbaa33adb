"""The reviewer's view of a run's changes, from the run's JSON report: one block per user,
the most dangerous first (deletes, disables, held changes, enables, updates, creates,
manager links, errors), ``PAGE_SIZE`` users a page, a filter by action with the number of
users for each, and a search. Skipped records (out of scope, leavers and pre-hires with
no account) are left out, counted, and listed only when asked for.

Pure: ``diff_view`` takes the report's ``changes`` and the page's query parameters and
returns what the template shows. Filters and pages are links and a GET form: the pages
run no script.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from connector.report.html import value_text

#: The order users are listed in, by their most dangerous change, and the filters.
#: ``member-remove`` and ``member-add`` are a user's group changes (``with_groups``).
ORDER = ("delete", "disable", "held", "member-remove", "enable", "update", "create",
         "member-add", "manager", "error", "skipped")
PAGE_SIZE = 50
MAX_TEXT = 100
#: A held change that would have cut someone off.
HELD_DANGEROUS = ("disable", "delete")


@dataclass(frozen=True)
class DiffQuery:
    """What the page asks for: an action (None: every one but skipped), a search text,
    a page (from 1)."""

    action: str | None = None
    text: str = ""
    page: int = 1

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> DiffQuery:
        """From query parameters ``action``, ``q`` and ``page``; anything unknown or
        malformed is ignored rather than refused."""
        action = params.get("action")
        page = params.get("page", "1")
        return cls(action=action if action in ORDER else None,
                   text=(params.get("q") or "").strip()[:MAX_TEXT],
                   page=max(1, int(page)) if page.isdigit() and len(page) < 7 else 1)

    def link(self, **changes: Any) -> str:
        """The query string of this query with ``changes`` (``page=2``, ``action=None``);
        a new filter or search starts at page 1."""
        if "page" not in changes:
            changes["page"] = 1
        query = replace(self, **changes)
        params = {"action": query.action, "q": query.text or None,
                  "page": query.page if query.page > 1 else None}
        text = urlencode({k: v for k, v in params.items() if v is not None})
        return f"?{text}#diff" if text else "#diff"


@dataclass(frozen=True)
class UserChanges:
    """One user's changes in a run (a create and its manager link, say)."""

    key: str
    upn: str
    actions: tuple[str, ...]
    changes: tuple[Mapping[str, Any], ...]

    @property
    def attributes(self) -> int:
        """How many attribute changes the user's block lists."""
        return sum(len(item.get("attributes") or {}) for item in self.changes)

    @property
    def expanded(self) -> bool:
        """Whether the block starts open: everything but a new user's (a list of
        every attribute it gets, which a reviewer opens when they want it)."""
        return "create" not in self.actions

    @property
    def outcome(self) -> str:
        """``failed`` when a write to the user failed, ``ok`` when all were written,
        empty when nothing was (a dry run)."""
        outcomes = [item["outcome"] for item in self.changes if item.get("outcome")]
        if any(not outcome.get("ok") for outcome in outcomes):
            return "failed"
        return "ok" if outcomes else ""


@dataclass(frozen=True)
class DiffView:
    """One page of the diff and the counts around it."""

    query: DiffQuery
    #: Users per action, in ``ORDER`` (only actions some user has).
    counts: tuple[tuple[str, int], ...]
    #: Users listed without a filter (everyone but the skipped).
    listed: int
    skipped: int
    #: Users the filter and search select, and this page of them.
    matching: int
    pages: int
    first: int
    users: tuple[UserChanges, ...]

    @property
    def last(self) -> int:
        """The number of this page's last user (``first`` + users - 1)."""
        return self.first + len(self.users) - 1


def _key(item: Mapping[str, Any]) -> str:
    key = item.get("employeeId")
    if key:
        return str(key)
    return f"row {item.get('row')}" if item.get("row") is not None else str(item.get("userId"))


def group_users(changes: Sequence[Mapping[str, Any]]) -> list[UserChanges]:
    """The report's changes per user, the most dangerous first, then by key."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for item in changes:
        grouped.setdefault(_key(item), []).append(item)
    users = []
    for key, items in grouped.items():
        actions = tuple(a for a in ORDER if any(i.get("action") == a for i in items))
        upn = next((str(i["userPrincipalName"]) for i in items if i.get("userPrincipalName")),
                   "")
        users.append(UserChanges(key, upn, actions or ("error",), tuple(items)))
    users.sort(key=lambda u: (ORDER.index(u.actions[0]), u.key))
    return users


def _matches(user: UserChanges, text: str) -> bool:
    needle = text.casefold()
    if needle in user.key.casefold() or needle in user.upn.casefold():
        return True
    for item in user.changes:
        values = [item.get("reason")]
        for change in (item.get("attributes") or {}).values():
            values += [change.get("old"), change.get("new")]
        if any(needle in value_text(v).casefold() for v in values if v is not None):
            return True
    return False


def diff_view(changes: Sequence[Mapping[str, Any]], query: DiffQuery, *,
              size: int = PAGE_SIZE) -> DiffView:
    """The page ``query`` asks for of ``changes`` (a JSON report's)."""
    users = group_users(changes)
    counts = {action: 0 for action in ORDER}
    for user in users:
        for action in user.actions:
            counts[action] += 1
    skipped = sum(1 for u in users if u.actions == ("skipped",))
    if query.action is None:
        chosen = [u for u in users if u.actions != ("skipped",)]
    else:
        chosen = [u for u in users if query.action in u.actions]
    if query.text:
        chosen = [u for u in chosen if _matches(u, query.text)]
    pages = max(1, math.ceil(len(chosen) / size))
    page = min(max(1, query.page), pages)
    start = (page - 1) * size
    return DiffView(query=replace(query, page=page),
                    counts=tuple((a, n) for a, n in counts.items() if n),
                    listed=len(users) - skipped, skipped=skipped, matching=len(chosen),
                    pages=pages, first=start + 1, users=tuple(chosen[start:start + size]))


def with_groups(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The report's changes and, for each member its group changes add or remove, a
    change in that person's block (``member-add``: ``group`` empty -> the group); group
    changes that name no HR member are listed by ``group_changes``."""
    items: list[Mapping[str, Any]] = list(report.get("changes") or [])
    for item in (report.get("groups") or {}).get("changes", []):
        action, held = item.get("action"), item.get("heldAction")
        if not item.get("member") or (held or action) not in ("add", "remove"):
            continue
        joins = (held or action) == "add"
        items.append({
            "action": "held" if action == "held" else f"member-{action}",
            "heldAction": f"member-{held}" if held else None,
            "employeeId": item["member"], "userPrincipalName": item.get("userPrincipalName"),
            "attributes": {"group": {"old": None if joins else item.get("group"),
                                     "new": item.get("group") if joins else None}},
            "reason": item.get("reason"), "outcome": item.get("outcome")})
    return items


def group_changes(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Group changes that are not one HR member's: groups created, renamed, deleted,
    kept, in error, and removals of members that are not HR's users."""
    return [item for item in (report.get("groups") or {}).get("changes", [])
            if not item.get("member")
            or (item.get("heldAction") or item.get("action")) not in ("add", "remove")]


def held_dangerous(changes: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Held changes that would have disabled or deleted someone (rows with errors held
    them back; see README "Rows with errors")."""
    return [item for item in changes
            if item.get("action") == "held" and item.get("heldAction") in HELD_DANGEROUS]


def page_numbers(view: DiffView, around: int = 2) -> list[int | None]:
    """The page links to show: the first, the last and those near this one (None: a gap)."""
    wanted = {1, view.pages, *range(view.query.page - around, view.query.page + around + 1)}
    shown = sorted(n for n in wanted if 1 <= n <= view.pages)
    out: list[int | None] = []
    for before, n in zip([0, *shown], shown, strict=False):
        if before and n - before > 1:
            out.append(None)
        out.append(n)
    return out

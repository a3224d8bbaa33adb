"""How the plan reads current users and compares values the way Graph stores them. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from connector.core.validation import find_cycles

__all__ = ["NOT_CLEARABLE", "GraphValues", "current_value", "differs", "display",
           "find_cycles", "is_empty", "org_data_body"]

#: Properties Graph will not set to null: an empty HR value leaves them as they are.
NOT_CLEARABLE = frozenset({"accountEnabled", "displayName", "mailNickname",
                           "userPrincipalName", "usageLocation"})


def current_value(user: Mapping[str, Any], name: str) -> Any:
    """A user's value for a flat property name (``employeeOrgData.division``)."""
    head, dot, rest = name.partition(".")
    if not dot:
        return user.get(name)
    parent = user.get(head)
    return parent.get(rest) if isinstance(parent, Mapping) else None


def _normal(value: Any) -> Any:
    """The form Graph stores: empty strings and empty lists are null; date-times in UTC."""
    if value == "" or value == []:
        return None
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if parsed.tzinfo is not None:
            return parsed.astimezone(dt.UTC).replace(microsecond=0)
    return value


def differs(old: Any, new: Any) -> bool:
    """Whether writing ``new`` would change what Graph holds as ``old``."""
    return bool(_normal(old) != _normal(new))


def is_empty(value: Any) -> bool:
    """Whether Graph holds nothing here (null, an empty string or an empty list)."""
    return _normal(value) is None


def org_data_body(user: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """employeeOrgData with both parts: Graph sets an omitted part to null on update."""
    body = {}
    for part in ("division", "costCenter"):
        name = f"employeeOrgData.{part}"
        body[part] = desired[name] if name in desired else current_value(user, name)
    return body


def display(user: Mapping[str, Any] | None, primary: str) -> str | None:
    """How a report names a user: their matching value, else their UPN, else the id."""
    if user is None:
        return None
    value = current_value(user, primary) or user.get("userPrincipalName") or user.get("id")
    return None if value is None else str(value)


class GraphValues(Mapping[str, str | None]):
    """A Graph user read as text, for scoping-style filters (the mapping's ``managed:``):
    flat names reach into complex properties, booleans read True/False, lists join."""

    def __init__(self, user: Mapping[str, Any]) -> None:
        self._user = user

    def __getitem__(self, name: str) -> str | None:
        value = current_value(self._user, name)
        if value is None or value == [] or value == "":
            return None
        if isinstance(value, bool):
            return "True" if value else "False"
        if isinstance(value, list):
            return "; ".join(str(v) for v in value)
        return str(value)

    def __iter__(self) -> Iterator[str]:
        return iter(self._user)

    def __len__(self) -> int:
        return len(self._user)

"""Which tenant user each HR record is: matching attributes tried in order. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from connector.core.plan.compare import current_value
from connector.core.records import MappedRecord


def match_users(
    records: Sequence[MappedRecord], current: Sequence[Mapping[str, Any]], matching: Sequence[str]
) -> tuple[dict[int, Mapping[str, Any]], dict[int, str]]:
    """The user each record matches (by row), trying matching attributes in order.

    Returns the matches and, per row, why a record could not be matched unambiguously
    (two users share the value, or another record already matched that user).
    """
    indexes = [_index(current, attribute) for attribute in matching]
    matches: dict[int, Mapping[str, Any]] = {}
    problems: dict[int, str] = {}
    claimed: dict[str, int] = {}
    for record in records:
        if record.status == "error":
            continue
        # Out-of-scope records are not mapped; their HR key stands for the first
        # matching attribute (employeeId = the key column in every shipped mapping).
        stands_in = record.status == "skipped" and record.key
        for attribute, index in zip(matching, indexes, strict=True):
            if stands_in:
                value = record.key if attribute == matching[0] else None
            else:
                value = record.value(attribute)
            if not isinstance(value, str) or not value:
                continue
            found = index.get(_fold(attribute, value), [])
            if len(found) > 1:
                problems[record.row] = (f"{len(found)} users have {attribute} {value!r}; "
                                        "fix the tenant so it names one user")
            elif found:
                user = found[0]
                other = claimed.get(str(user["id"]))
                if other is not None:
                    problems[record.row] = f"matches the same user as row {other}"
                else:
                    claimed[str(user["id"])] = record.row
                    matches[record.row] = user
            if found:
                break
    return matches, problems


def _fold(attribute: str, value: str) -> str:
    # Graph compares UPNs and mail case-insensitively; employeeId and the rest exactly.
    return value.lower() if attribute in ("userPrincipalName", "mail") else value


def _index(
    users: Iterable[Mapping[str, Any]], attribute: str
) -> dict[str, list[Mapping[str, Any]]]:
    index: dict[str, list[Mapping[str, Any]]] = {}
    for user in users:
        value = current_value(user, attribute)
        if isinstance(value, str) and value:
            index.setdefault(_fold(attribute, value), []).append(user)
    return index

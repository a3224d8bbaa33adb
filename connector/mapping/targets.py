"""The Entra user properties a mapping may write, with their Graph types and limits.

From Microsoft Graph v1.0's user resource (../shared/reference/graph.md §1.1): the
properties an inbound connector sets. A mapping naming anything else fails when it loads,
with a suggestion, rather than at the first create.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from connector.errors import EvaluationError

Kind = Literal["string", "boolean", "datetime", "strings", "country"]


@dataclass(frozen=True, slots=True)
class Target:
    """One writable user property: its Graph type and the longest value Graph takes."""

    name: str
    kind: Kind = "string"
    max_length: int | None = None
    max_items: int | None = None


def _targets(*items: Target) -> dict[str, Target]:
    return {t.name: t for t in items}


TARGETS: dict[str, Target] = _targets(
    Target("accountEnabled", "boolean"),
    Target("displayName", max_length=256),
    Target("mailNickname", max_length=64),
    Target("userPrincipalName", max_length=113),
    Target("givenName", max_length=64),
    Target("surname", max_length=64),
    Target("mail", max_length=256),
    Target("employeeId", max_length=16),
    Target("employeeType", max_length=64),
    Target("employeeHireDate", "datetime"),
    Target("employeeLeaveDateTime", "datetime"),
    Target("employeeOrgData.division", max_length=64),
    Target("employeeOrgData.costCenter", max_length=64),
    Target("companyName", max_length=64),
    Target("department", max_length=64),
    Target("jobTitle", max_length=128),
    Target("officeLocation", max_length=128),
    Target("streetAddress", max_length=1024),
    Target("city", max_length=128),
    Target("state", max_length=128),
    Target("country", max_length=128),
    Target("postalCode", max_length=40),
    Target("usageLocation", "country"),
    Target("mobilePhone", max_length=64),
    Target("businessPhones", "strings", max_length=64, max_items=1),
    Target("faxNumber", max_length=64),
    Target("preferredLanguage", max_length=10),
    Target("otherMails", "strings", max_length=250, max_items=250),
    Target("onPremisesImmutableId", max_length=256),
    Target("passwordPolicies"),
    Target("userType"),
    Target("ageGroup"),
    Target("consentProvidedForMinor"),
    *(Target(f"onPremisesExtensionAttributes.extensionAttribute{n}", max_length=1024)
      for n in range(1, 16)),
)

#: Properties Graph computes or owns; a mapping that writes one is refused at load.
READ_ONLY = frozenset({
    "id", "createdDateTime", "creationType", "proxyAddresses", "securityIdentifier",
    "assignedPlans", "lastPasswordChangeDateTime", "signInActivity", "manager",
    "passwordProfile", "onPremisesSyncEnabled", "onPremisesLastSyncDateTime",
})


def is_extension(name: str) -> bool:
    """Directory schema extensions, ``extension_{appId}_{name}``, are plain strings."""
    return name.startswith("extension_") and name.count("_") >= 2


def lookup(name: str) -> Target | None:
    """The target for a property name, or None when a mapping may not write it."""
    if name in TARGETS:
        return TARGETS[name]
    if is_extension(name):
        return Target(name)
    return None


def unknown_target_message(name: str) -> str:
    """Why ``name`` cannot be written, with the nearest known property when there is one."""
    if name in READ_ONLY:
        why = "is read-only in Microsoft Graph"
        if name == "manager":
            why += "; set managers with the mapping's `manager:` section"
        elif name == "passwordProfile":
            why += " here; the connector generates initial passwords itself"
        return f"{name!r} {why}"
    close = difflib.get_close_matches(name, list(TARGETS), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{name!r} is not a user property this connector writes{hint}"


def to_graph(target: Target, value: str | list[str]) -> Any:
    """Convert an expression's text result to the JSON value Graph stores.

    Raises ``EvaluationError`` when the value cannot be what the property holds, so the
    record is reported instead of Graph refusing a whole request later.
    """
    kind = target.kind
    if kind == "strings":
        items = [value] if isinstance(value, str) else list(value)
        items = [item for item in items if item != ""]
        if target.max_items is not None and len(items) > target.max_items:
            raise EvaluationError(
                f"{target.name} holds at most {target.max_items} value(s), got {len(items)}")
        for item in items:
            _check_length(target, item)
        return items
    if not isinstance(value, str):
        if len(value) == 1:
            value = value[0]
        else:
            raise EvaluationError(f"{target.name} takes one value, got a list of {len(value)}")
    if kind == "boolean":
        folded = value.strip().lower()
        if folded in ("true", "false"):
            return folded == "true"
        raise EvaluationError(f"{target.name} must be True or False, got {value!r}")
    if kind == "datetime":
        return _datetime(target.name, value)
    if kind == "country":
        code = value.strip().upper()
        if len(code) != 2 or not code.isalpha():
            raise EvaluationError(
                f"{target.name} must be a two-letter ISO 3166-1 code, got {value!r}")
        return code
    _check_length(target, value)
    return value


_CANONICAL_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
#: Most values a converter remembers as already in Graph's form.
_KNOWN_LIMIT = 20_000
_BOOLEANS = {"True": True, "False": False, "true": True, "false": False}


def converter(target: Target) -> Callable[[Any], Any]:
    """``to_graph`` for one target, with a fast path for values already in Graph's form.

    Built once per rule when the mapping loads, since conversion runs per record; any
    value off the fast path goes through ``to_graph``, which converts or explains.
    """
    kind = target.kind
    if kind == "string":
        limit = target.max_length if target.max_length is not None else float("inf")

        def string(value: Any) -> Any:
            if type(value) is str and len(value) <= limit:
                return value
            return to_graph(target, value)

        return string
    if kind == "strings":
        # One string that fits (a phone number for businessPhones): a list of it.
        longest = target.max_length if target.max_length is not None else float("inf")
        single_fits = target.max_items is None or target.max_items >= 1

        def strings(value: Any) -> Any:
            if type(value) is str and value and single_fits and len(value) <= longest:
                return [value]
            return to_graph(target, value)

        return strings
    if kind == "boolean":
        boolean_of = _BOOLEANS.get

        def boolean(value: Any) -> Any:
            if type(value) is str:
                result = boolean_of(value)
                if result is not None:
                    return result
            return to_graph(target, value)

        return boolean
    if kind == "datetime":
        match = _CANONICAL_DATETIME.fullmatch
        # Hire and leave dates repeat: each distinct value is checked once.
        known: dict[str, str] = {}

        def datetime(value: Any) -> Any:
            if type(value) is str:
                checked = known.get(value)
                if checked is not None:
                    return checked
                if match(value):
                    if len(known) < _KNOWN_LIMIT:
                        known[value] = value
                    return value
            return to_graph(target, value)

        return datetime

    def country(value: Any) -> Any:
        # Already a two-letter upper-case code (what exports mostly hold): as it is.
        if type(value) is str and len(value) == 2 and value.isupper() and value.isalpha():
            return value
        return to_graph(target, value)

    return country


def _check_length(target: Target, value: str) -> None:
    if target.max_length is not None and len(value) > target.max_length:
        raise EvaluationError(
            f"{target.name} holds at most {target.max_length} characters, "
            f"got {len(value)} ({value[:40]!r}...)")


def _datetime(name: str, value: str) -> str:
    """Graph takes DateTimeOffset as ISO 8601 with a zone: ``2024-03-01T00:00:00Z``."""
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise EvaluationError(
            f"{name} must be an ISO 8601 date and time such as 2024-03-01T00:00:00Z, "
            f"got {value!r}") from None
    if parsed.tzinfo is None or "T" not in text:
        raise EvaluationError(
            f"{name} needs a time and a zone, as Graph requires: 2024-03-01T00:00:00Z, "
            f"got {value!r}")
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

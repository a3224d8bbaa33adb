"""What Entra did with each record, read from its provisioning logs (§2). Pure.

A ``provisioningObjectSummary`` (one log entry) names the record by ``sourceIdentity.id``,
the externalId that was sent; one record may get several entries (a create, then a
manager it could resolve only later). :func:`outcomes` gathers the entries of the
externalIds a run is waiting for into one :class:`Provisioned` per record: the action
Entra took, the status (the worst of its entries: failure, warning, success, skipped),
the error code and reason, and the properties it changed, old -> new.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Worst first: how a record's entries combine.
_SEVERITY = ("failure", "warning", "success", "skipped")
STATUSES = (*_SEVERITY, "pending")


@dataclass
class Provisioned:
    """Entra's outcome for one record (``status`` ``pending`` while no entry is known)."""

    external_id: str
    status: str = "pending"
    action: str | None = None
    code: str | None = None
    reason: str | None = None
    #: Entra attribute name -> (old, new), as the log shows them (text).
    modified: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    user_id: str | None = None
    at: str | None = None
    entries: list[str] = field(default_factory=list)
    #: When the request holding the record was accepted (the server's clock): entries
    #: older than this are about an earlier upload of the same externalId.
    sent_at: str | None = None

    @property
    def failed(self) -> bool:
        """Entra refused the record (status failure)."""
        return self.status == "failure"

    def as_dict(self) -> dict[str, Any]:
        """The JSON report's ``entra`` object of a change."""
        return {"externalId": self.external_id, "status": self.status, "action": self.action,
                "code": self.code, "reason": self.reason,
                "modified": {k: {"old": o, "new": n} for k, (o, n) in self.modified.items()},
                "userId": self.user_id, "at": self.at, "logIds": list(self.entries),
                "sentAt": self.sent_at}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Provisioned:
        """Read back :meth:`as_dict` (a saved report's, for ``runs show --refresh``)."""
        modified = data.get("modified") or {}
        return cls(str(data.get("externalId") or ""), str(data.get("status") or "pending"),
                   data.get("action"), data.get("code"), data.get("reason"),
                   {str(k): (v.get("old"), v.get("new")) for k, v in modified.items()
                    if isinstance(v, Mapping)},
                   data.get("userId"), data.get("at"), list(data.get("logIds") or []),
                   data.get("sentAt"))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _status_info(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    # v1.0 calls it provisioningStatusInfo, beta statusInfo (§2).
    info = entry.get("provisioningStatusInfo") or entry.get("statusInfo") or {}
    return info if isinstance(info, Mapping) else {}


def source_id(entry: Mapping[str, Any]) -> str | None:
    """The externalId an entry is about (``sourceIdentity.id``)."""
    identity = entry.get("sourceIdentity")
    value = identity.get("id") if isinstance(identity, Mapping) else None
    return str(value) if value else None


def moment_of(value: Any) -> dt.datetime | None:
    """An ISO 8601 time (Entra writes up to 7 decimals) as an aware datetime, or None."""
    if not isinstance(value, str) or not value:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip()).replace("Z", "+00:00")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def outcomes(entries: Iterable[Mapping[str, Any]],
             waiting: Collection[str] | Mapping[str, str | None],
             known: Mapping[str, Provisioned] | None = None) -> dict[str, Provisioned]:
    """One :class:`Provisioned` per externalId of ``waiting`` that has entries, merged with
    what ``known`` holds already (entries seen on an earlier poll are not counted twice).
    ``waiting`` may map each externalId to when it was sent: older entries are ignored."""
    found: dict[str, Provisioned] = {k: v for k, v in (known or {}).items() if k in waiting}
    relevant = []
    for entry in entries:
        external = source_id(entry)
        if external is None or external not in waiting:
            continue
        moment = moment_of(entry.get("activityDateTime"))
        bound = moment_of(waiting[external]) if isinstance(waiting, Mapping) else None
        if moment is None or (bound is not None and moment < bound):
            continue  # an entry of an earlier upload of the same record
        relevant.append((moment, external, entry))
    for _, external, entry in sorted(relevant, key=lambda item: item[0]):
        result = found.setdefault(external, Provisioned(external))
        entry_id = str(entry.get("id") or "")
        if entry_id and entry_id in result.entries:
            continue
        _merge(result, entry, entry_id)
    return found


def _merge(result: Provisioned, entry: Mapping[str, Any], entry_id: str) -> None:
    info = _status_info(entry)
    status = str(info.get("status") or "success").lower()
    if status not in _SEVERITY:
        status = "warning"
    action = _text(entry.get("provisioningAction"))
    if result.action in (None, "other") and action:
        result.action = action.lower()
    was = result.status
    if was == "pending" or _SEVERITY.index(status) < _SEVERITY.index(was):
        result.status = status
        error = info.get("errorInformation")
        if isinstance(error, Mapping):
            result.code = _text(error.get("errorCode"))
            result.reason = _text(error.get("reason") or error.get("additionalDetails"))
        elif status in ("success", "skipped"):
            result.code = result.reason = None
    for item in entry.get("modifiedProperties") or []:
        if not isinstance(item, Mapping) or not item.get("displayName"):
            continue
        name = str(item["displayName"])
        old = result.modified[name][0] if name in result.modified else item.get("oldValue")
        result.modified[name] = (old, item.get("newValue"))
    target = entry.get("targetIdentity")
    if isinstance(target, Mapping) and target.get("id"):
        result.user_id = str(target["id"])
    result.at = _text(entry.get("activityDateTime")) or result.at
    if entry_id:
        result.entries.append(entry_id)

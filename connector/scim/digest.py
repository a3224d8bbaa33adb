"""What the state keeps of a payload: hashes, never values. Pure.

Per externalId the run state keeps :func:`payload_hash` of the last payload accepted, to
send only what changed, and :func:`attribute_hashes` (one short hash per attribute), to
tell which attributes changed and whether each was sent before (filling a value that was
never sent is not counted by the safety thresholds; overwriting one is).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: What a report shows as the old value of an attribute that was sent before: the state
#: keeps hashes, not HR values (Entra's provisioning log then tells the real old value).
PREVIOUS = "(previous value)"


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def payload_hash(data: Mapping[str, Any]) -> str:
    """A stable hash of a SCIM User payload (key order does not matter)."""
    return hashlib.sha256(_canonical(data)).hexdigest()[:32]


def attribute_hashes(values: Mapping[str, Any]) -> dict[str, str]:
    """A short hash per attribute that has a value (flat SCIM names)."""
    return {name: hashlib.sha256(_canonical(value)).hexdigest()[:12]
            for name, value in values.items() if value not in (None, "", [])}


@dataclass(frozen=True)
class Sent:
    """What the state knows of one externalId: the HR key it came from, the hashes of
    the payload last accepted, whether it was sent active, whether Entra ever reported
    success for it, and the error code of a failure Entra reported since (sent again)."""

    key: str
    hash: str
    attributes: dict[str, str] = field(default_factory=dict)
    active: bool = True
    confirmed: bool = False
    failed: str | None = None

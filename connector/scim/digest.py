"""What the state keeps of a payload: hashes, never values. Pure.

Per externalId the run state keeps :func:`payload_hash` of the last payload accepted, to
send only what changed, and :func:`attribute_hashes` (one short hash per attribute), to
tell which attributes changed and whether each was sent before (filling a value that was
never sent is not counted by the safety thresholds; overwriting one is).
"""

from __future__ import annotations

import functools
import hashlib
import json
import zlib
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
    return hashlib.blake2b(_canonical(data), digest_size=16).hexdigest()


def _value_hash(value: Any) -> str:
    # Text (nearly every value) is hashed as is, the rest as canonical JSON; the prefix
    # keeps "True" the text apart from true the boolean. CRC-32 is enough here: these
    # hashes only say which attributes changed (what is sent is decided by the payload's
    # own 128-bit hash), and they cost a fifth of a cryptographic hash per value.
    raw = b"s" + value.encode("utf-8") if type(value) is str else b"j" + _canonical(value)
    return f"{zlib.crc32(raw):08x}"


def record_hash(hashes: Mapping[str, str]) -> str:
    """The hash of a whole record from its :func:`attribute_hashes` (the payload holds
    exactly these values, so it changes exactly when one of them does; cheaper than
    :func:`payload_hash` on the payload)."""
    text = "\n".join(f"{name}={value}" for name, value in sorted(hashes.items()))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


@functools.lru_cache(maxsize=1024)
def name_key(name: str) -> str:
    """How the state names an attribute: 8 hex digits, not the SCIM name (an enterprise
    attribute's name alone is 70 characters, and there are 25 per record)."""
    return f"{zlib.crc32(name.encode('utf-8')):08x}"


def attribute_hashes(values: Mapping[str, Any]) -> dict[str, str]:
    """A short hash per attribute that has a value, by :func:`name_key` of its flat SCIM
    name."""
    return {name_key(name): _value_hash(value) for name, value in values.items()
            if value is not None and value != "" and value != []}


def pack(hashes: Mapping[str, str]) -> str:
    """Attribute hashes as the state stores them: 16 hex digits each, key then value."""
    return "".join(key + value for key, value in sorted(hashes.items()))


def unpack(text: str) -> dict[str, str]:
    """The reverse of :func:`pack`."""
    return {text[i:i + 8]: text[i + 8:i + 16] for i in range(0, len(text), 16)}


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

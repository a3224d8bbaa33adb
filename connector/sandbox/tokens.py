"""Opaque, tamper-evident tokens: ``$skiptoken``/``$deltatoken`` values (§4.4–§4.6) and the
JWT-shaped access tokens (§7.4).

Both are signed with HMAC-SHA256 under a secret kept in the sandbox database, so tokens stay
valid across server restarts on the same state (runs build on each other) and a client cannot
forge or edit them: an edited page token answers 400, an edited access token 401.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs and verifies JSON payloads with one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, data: bytes) -> bytes:
        return hmac.new(self._secret, data, hashlib.sha256).digest()

    def seal(self, payload: dict[str, Any]) -> str:
        """An opaque URL-safe token holding ``payload``."""
        data = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        return _b64(data) + "." + _b64(self._mac(data)[:16])

    def open(self, token: str) -> dict[str, Any] | None:
        """The payload of a token made by :meth:`seal`, or None if it is not one."""
        try:
            data_part, mac_part = token.split(".")
            data = _unb64(data_part)
            if not hmac.compare_digest(_unb64(mac_part), self._mac(data)[:16]):
                return None
            payload = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            return None
        return payload if isinstance(payload, dict) else None

    def jwt(self, claims: dict[str, Any]) -> str:
        """A JWT (HS256) — looks like Entra's ``eyJ…`` tokens; clients must treat it as opaque."""
        header = {"typ": "JWT", "alg": "HS256", "kid": "hr-connector-sandbox"}
        signing_input = (_b64(json.dumps(header, separators=(",", ":")).encode()) + "."
                         + _b64(json.dumps(claims, separators=(",", ":")).encode()))
        return signing_input + "." + _b64(self._mac(signing_input.encode()))

    def verify_jwt(self, token: str) -> dict[str, Any] | None:
        """The claims of a JWT made by :meth:`jwt`, or None (wrong shape or signature)."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        signing_input = (parts[0] + "." + parts[1]).encode()
        try:
            if not hmac.compare_digest(_unb64(parts[2]), self._mac(signing_input)):
                return None
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, UnicodeDecodeError):
            return None
        return claims if isinstance(claims, dict) else None

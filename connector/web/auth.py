"""Passwords, sessions and CSRF tokens for the upload page (sign-in throttling:
``connector.web.throttle``). Stdlib only.

* **Passwords** are stored as ``scrypt$N$r$p$salt$hash`` (base64, no padding), made by
  ``hash_password`` (``hr-connector serve hash-password``). The default cost follows
  OWASP's scrypt guidance (N=2^15, r=8, p=3: 32 MiB, a few tenths of a second); the
  parameters travel in the hash, so a stronger or (in tests) cheaper one verifies too.
* **Sessions** are signed cookies: ``base64(JSON payload).base64(HMAC-SHA256)``. The
  payload holds the account name, a random session id, the CSRF token, an expiry, and a
  fingerprint of the account's password hash, so changing a password in the
  configuration ends that account's sessions. Roles are never in the cookie: they are
  read from the configuration on every request. Signing out revokes the session id (a
  signed cookie cannot be recalled otherwise; the expiry bounds the rest). With a
  configured secret, cookies outlive a restart, so revocations do too: they are kept in
  ``<state>/web/revoked-sessions.json`` (replaced atomically, expired ids dropped).
* **CSRF**: every session, signed in or not, carries a random token; every form holds it
  in a hidden field and every POST must return it (compared in constant time).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from connector.core import clock
from connector.errors import ConfigError
from connector.run.trail import write_atomically

DEFAULT_N, DEFAULT_R, DEFAULT_P = 2**15, 8, 3
_SALT_BYTES, _KEY_BYTES = 16, 32
# Refuse parameters that would make one verification take gigabytes or minutes: a typo in
# the configuration must not become a denial of service at the sign-in page.
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16

SESSION_SECONDS = 8 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # maxmem must cover 128 * n * r bytes (plus a margin) or hashlib refuses.
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=128 * n * r * 2 + 2**20, dklen=_KEY_BYTES)


def hash_password(password: str, *, n: int = DEFAULT_N, r: int = DEFAULT_R,
                  p: int = DEFAULT_P) -> str:
    """A salted scrypt hash of ``password`` for the configuration's ``password_hash``."""
    if not password:
        raise ValueError("an empty password cannot be hashed")
    salt = secrets.token_bytes(_SALT_BYTES)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(_scrypt(password, salt, n, r, p))}"


def parse_hash(encoded: str) -> tuple[int, int, int, bytes, bytes] | None:
    """``(n, r, p, salt, key)`` of a hash from ``hash_password``; None when malformed."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, key = _unb64(parts[4]), _unb64(parts[5])
    except (ValueError, binascii.Error):
        return None
    if (n < 2 or n & (n - 1) or n > _MAX_N or not 1 <= r <= _MAX_R or not 1 <= p <= _MAX_P
            or len(salt) < 8 or len(key) < 16):
        return None
    return n, r, p, salt, key


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded``; False for a malformed hash."""
    parsed = parse_hash(encoded)
    if parsed is None:
        return False
    n, r, p, salt, key = parsed
    candidate = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                               maxmem=128 * n * r * 2 + 2**20, dklen=len(key))
    return hmac.compare_digest(candidate, key)


def password_fingerprint(encoded: str) -> str:
    """A short digest of a password hash: sessions carry it, so a new password ends them."""
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Session:
    """What a valid session cookie says. ``user`` is None before signing in."""

    sid: str
    csrf: str
    expires: int
    user: str | None = None
    pwd: str | None = None


class SessionCodec:
    """Signs and checks session cookies with an HMAC key; revokes signed-out sessions.

    ``revocations``: the file that keeps revoked sessions across restarts (used only with
    a configured secret: a random key already ends every session at a restart).
    """

    def __init__(self, secret: bytes | None, *, lifetime: int = SESSION_SECONDS,
                 revocations: Path | None = None) -> None:
        #: Whether the key is random for this process (sessions end when it restarts).
        self.ephemeral = secret is None
        seed = secret if secret is not None else secrets.token_bytes(32)
        # A derived key: the configured secret is never used directly as an HMAC key.
        self._key = hmac.new(seed, b"hr-connector upload page sessions", "sha256").digest()
        self.lifetime = lifetime
        self._path = None if self.ephemeral else revocations
        #: Signed-in sessions revoked (kept on disk), and every session revoked.
        self._kept: dict[str, int] = self._load()
        self._revoked: dict[str, int] = dict(self._kept)
        self._lock = threading.Lock()

    def new(self, user: str | None = None, pwd: str | None = None) -> Session:
        """A fresh session (new id and CSRF token): on first visit and on every sign-in."""
        return Session(sid=secrets.token_urlsafe(16), csrf=secrets.token_urlsafe(32),
                       expires=int(clock.now().timestamp()) + self.lifetime, user=user, pwd=pwd)

    def encode(self, session: Session) -> str:
        """The cookie value for ``session``."""
        payload = _b64(json.dumps({"s": session.sid, "c": session.csrf, "e": session.expires,
                                   "u": session.user, "p": session.pwd},
                                  separators=(",", ":")).encode("utf-8"))
        return f"{payload}.{self._sign(payload)}"

    def decode(self, cookie: str | None) -> Session | None:
        """The session a cookie holds; None when absent, forged, expired or revoked."""
        if not cookie or cookie.count(".") != 1 or len(cookie) > 4096:
            return None
        payload, signature = cookie.split(".")
        if not hmac.compare_digest(self._sign(payload), signature):
            return None
        try:
            data = json.loads(_unb64(payload))
            session = Session(sid=str(data["s"]), csrf=str(data["c"]), expires=int(data["e"]),
                              user=data.get("u"), pwd=data.get("p"))
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        if session.expires < clock.now().timestamp():
            return None
        with self._lock:
            if session.sid in self._revoked:
                return None
        return session

    def revoke(self, session: Session) -> None:
        """End ``session`` now (sign-out); forgotten once it would have expired anyway.
        A signed-in session's revocation is kept on disk (when there is a file), before
        this returns; an anonymous one's (replaced at sign-in) only in memory."""
        now = clock.now().timestamp()
        with self._lock:
            self._revoked = {sid: exp for sid, exp in self._revoked.items() if exp >= now}
            self._revoked[session.sid] = session.expires
            if self._path is not None and session.user is not None:
                self._kept = {sid: exp for sid, exp in self._kept.items() if exp >= now}
                self._kept[session.sid] = session.expires
                self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                write_atomically(self._path, json.dumps(self._kept))

    def _load(self) -> dict[str, int]:
        if self._path is None:
            return {}
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            # Starting without them would bring signed-out sessions back to life.
            hours = self.lifetime // 3600
            raise ConfigError(f"the upload page's revoked sessions ({self._path}) cannot "
                              f"be read: {exc}; restore or delete the file (deleting it "
                              f"lets signed-out cookies back in for up to {hours} hours)"
                              ) from None
        now = clock.now().timestamp()
        if not isinstance(data, dict):
            return {}
        return {str(sid): int(exp) for sid, exp in data.items()
                if isinstance(exp, int) and exp >= now}

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), "sha256").digest())


def csrf_ok(session: Session | None, given: str | None) -> bool:
    """Whether a form returned its session's CSRF token (constant-time comparison)."""
    if session is None or not given:
        return False
    return hmac.compare_digest(session.csrf.encode("utf-8"), given.encode("utf-8"))

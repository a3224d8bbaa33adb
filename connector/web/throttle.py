"""Sign-in throttling, and the record of failed sign-ins an account's owner is shown.

**Throttling never locks anyone out.** Failures are counted per key: per account name
and client address together (``pair``), and per client address whatever the name
(``address``, looser: many people may share an office's address). After ``free``
failures a key must wait before its next attempt: ``base`` seconds after the last
failure, doubling with each further failure, at most ``cap``; a key is forgotten
``forget`` seconds after its last failure, and a pair on the next successful sign-in.
So a stranger guessing passwords from elsewhere slows down only their own address: the
account's owner signs in as usual from theirs. Delays are measured with
``time.monotonic`` (pacing, not the connector's clock); memory is bounded by
``max_keys`` per table (stale keys go first, then those that failed longest ago).

**Failed sign-ins are shown to the owner.** Failures for an account that exists are
counted in ``<state>/web/sign-ins.json`` (replaced atomically), with when and from which
address the last came; the next successful sign-in shows them once and starts again.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connector.core import clock
from connector.errors import ConfigError
from connector.run.trail import write_atomically


class Throttle:
    """Growing delays after repeated failures of one key (see the module docstring)."""

    def __init__(self, *, free: int = 3, base: float = 1.0, cap: float = 300.0,
                 forget: float = 3600.0, max_keys: int = 10_000,
                 timer: Callable[[], float] = time.monotonic) -> None:
        self.free, self.base, self.cap, self.forget = free, base, cap, forget
        self.max_keys = max_keys
        self.timer = timer
        #: key -> (failures, time of the last one), least recently failed first.
        self._keys: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def delay(self, failures: int) -> float:
        """How long a key with ``failures`` must wait after its last failure."""
        if failures < self.free:
            return 0.0
        return float(min(self.cap, self.base * 2 ** min(failures - self.free, 40)))

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        now = self.timer()
        with self._lock:
            failures, last = self._keys.get(key, (0, now))
        if now - last > self.forget:
            return 0.0
        return max(0.0, last + self.delay(failures) - now)

    def fail(self, key: str) -> None:
        """Count one failure of ``key``."""
        now = self.timer()
        with self._lock:
            failures, last = self._keys.pop(key, (0, now))
            self._keys[key] = (0 if now - last > self.forget else failures) + 1, now
            while self._keys and len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)
            while self._keys:  # stale keys, oldest first
                _, (_, oldest) = next(iter(self._keys.items()))
                if now - oldest <= self.forget:
                    break
                self._keys.popitem(last=False)

    def clear(self, key: str) -> None:
        """Forget ``key`` (a successful sign-in)."""
        with self._lock:
            self._keys.pop(key, None)

    def __len__(self) -> int:
        return len(self._keys)


class SignInThrottle:
    """The two tables a sign-in consults: per (account, address) and per address."""

    def __init__(self, *, timer: Callable[[], float] = time.monotonic) -> None:
        self.pairs = Throttle(free=3, timer=timer)
        self.addresses = Throttle(free=20, timer=timer)

    @staticmethod
    def _pair(name: str, address: str) -> str:
        return f"{name.casefold()}\n{address}"

    def wait(self, name: str, address: str) -> float:
        """Seconds until ``name`` may be tried again from ``address``."""
        return max(self.pairs.wait(self._pair(name, address)), self.addresses.wait(address))

    def fail(self, name: str, address: str) -> None:
        """A wrong name or password from ``address``."""
        self.pairs.fail(self._pair(name, address))
        self.addresses.fail(address)

    def succeed(self, name: str, address: str) -> None:
        """A successful sign-in: that pair starts afresh (the address's count decays)."""
        self.pairs.clear(self._pair(name, address))


class SignInLog:
    """Failed sign-ins per account since its last successful one, kept in ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"the upload page's sign-in record ({path}) cannot be read: "
                              f"{exc}; restore or delete it") from None
        self._accounts: dict[str, dict[str, Any]] = data if isinstance(data, dict) else {}

    def failed(self, name: str, address: str) -> None:
        """Count a failed sign-in to the account ``name`` (one that exists)."""
        with self._lock:
            entry = self._accounts.setdefault(name, {})
            entry["failed"] = int(entry.get("failed", 0)) + 1
            entry["last_failed"] = _stamp()
            entry["last_from"] = address
            self._save()

    def succeeded(self, name: str) -> str | None:
        """Record a successful sign-in; what the owner should know about the failed ones
        since the last (None when there were none)."""
        with self._lock:
            entry = self._accounts.get(name, {})
            failed = int(entry.get("failed", 0))
            self._accounts[name] = {"failed": 0, "last_success": _stamp()}
            self._save()
        if not failed:
            return None
        what = "1 failed sign-in" if failed == 1 else f"{failed} failed sign-ins"
        return (f"{what} to your account since your last visit, the last from "
                f"{entry.get('last_from') or 'an unknown address'} at "
                f"{entry.get('last_failed')}. If that was not you, tell your administrator.")

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomically(self.path, json.dumps(self._accounts, indent=1, ensure_ascii=False))


def _stamp() -> str:
    return clock.now().strftime("%Y-%m-%d %H:%M UTC")

"""Everything one running sandbox shares: store, config, clock, RNG, counters."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .config import SandboxConfig
from .store import Store
from .tokens import Signer

Clock = Callable[[], float]
T = TypeVar("T")


@dataclass
class LagEntry:
    """Replication lag of one just-created user (§8)."""

    visible_at: float
    hidden_requests: int


@dataclass
class SandboxState:
    """Shared state of one sandbox app (thread-safe where it matters)."""

    store: Store
    config: SandboxConfig
    clock: Clock = time.time
    stats: Counter[str] = field(default_factory=Counter)
    lag: dict[str, LagEntry] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.signer = Signer(self.store.secret)
        self.rng = random.Random(self.config.seed)  # noqa: S311 (simulation, not crypto)
        self._seed = self.config.seed

    @classmethod
    def open(cls, state_path: str | Path, config: SandboxConfig | None = None,
             clock: Clock | None = None) -> SandboxState:
        """Open (and seed on first use) the state at ``state_path``."""
        clock = clock or time.time
        return cls(Store(state_path, clock_now=clock()), config or SandboxConfig(), clock)

    @property
    def tenant_id(self) -> str:
        """The tenant GUID."""
        return self.store.tenant_id

    def random(self) -> float:
        """A draw from the seeded RNG (re-seeded when ``config.seed`` changes)."""
        with self.lock:
            if self.config.seed != self._seed:
                self._seed = self.config.seed
                self.rng.seed(self._seed)
            return self.rng.random()

    def shuffle(self, items: list[T]) -> None:
        """Shuffle in place with the seeded RNG."""
        with self.lock:
            self.rng.shuffle(items)

    # --- replication lag (§8) ---------------------------------------------------------------
    def start_lag(self, object_id: str) -> None:
        """Hide a just-created user according to the lag knobs."""
        cfg = self.config
        lag_ms = cfg.replication_lag_ms
        if cfg.replication_lag_jitter_ms:
            lag_ms += int(self.random() * (cfg.replication_lag_jitter_ms + 1))
        if lag_ms or cfg.replication_lag_requests:
            with self.lock:
                self.lag[object_id] = LagEntry(self.clock() + lag_ms / 1000.0,
                                               cfg.replication_lag_requests)

    def lagging(self, object_id: str, *, addressed: bool) -> bool:
        """Whether the replica that answers does not know ``object_id`` yet.

        ``addressed``: a call aimed at this object (GET/PATCH/DELETE/manager); it consumes
        one of the object's ``replication_lag_requests``. Lists only see the time window.
        """
        with self.lock:
            entry = self.lag.get(object_id)
            if entry is None:
                return False
            hidden = self.clock() < entry.visible_at
            if addressed and entry.hidden_requests > 0:
                entry.hidden_requests -= 1
                hidden = True
            if not hidden and entry.hidden_requests <= 0 and self.clock() >= entry.visible_at:
                del self.lag[object_id]
            return hidden

"""Throttling modelled on Graph's identity & access limits (§6.1, emulator model §6.4).

Token buckets, refilled continuously (capacity per window):

=========================  ===============================================  ==================
scope                      resource units (RU)                              writes
=========================  ===============================================  ==================
application + tenant       3,500 (S, <50 users) / 5,000 (M, 50–500) /       3,000 / 150 s
                           8,000 (L, >500) per 10 s
application (all tenants)  150,000 / 20 s                                   35,000 / 300 s
tenant (all applications)  —                                                18,000 / 300 s
=========================  ===============================================  ==================

Costs (§6.1): ``GET /users`` 2 RU; other GETs 1 RU; POST/PATCH/PUT/DELETE 1 RU + 1 write;
``$select`` −1, ``$expand`` +1, ``$top`` < 20 −1, minimum 1. ``/users/delta`` is an "other
identity GET" (1 RU; graph.md lists no own cost). The first exhausted bucket answers 429 with
``Retry-After`` = time until it holds the request's cost again. Throttled calls still accrue
usage (§6.3), down to one window's worth of debt, so hammering prolongs throttling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .state import SandboxState


@dataclass
class Bucket:
    """A continuously refilled token bucket."""

    capacity: float
    window_s: float
    tokens: float
    updated: float

    def refill(self, capacity: float, window_s: float, now: float) -> None:
        """Bring the bucket to ``now`` (and adopt changed quota settings)."""
        self.capacity, self.window_s = capacity, window_s
        rate = capacity / window_s
        self.tokens = min(capacity, self.tokens + max(0.0, now - self.updated) * rate)
        # Concurrent requests may arrive with an older clock reading: never move back,
        # or the same interval would be refilled twice.
        self.updated = max(self.updated, now)

    def seconds_until(self, amount: float) -> float:
        """Seconds until the bucket holds ``amount`` tokens again."""
        return max(0.0, (amount - self.tokens) / (self.capacity / self.window_s))

    def usage(self) -> float:
        """Share of the capacity in use (1.0 = throttling starts)."""
        return (self.capacity - self.tokens) / self.capacity


@dataclass
class Decision:
    """Outcome of charging one operation."""

    resource_units: int
    retry_after_s: float | None = None  # set when throttled
    scope: str = ""
    information: str = ""
    limit_percentage: float | None = None


def request_cost(method: str, collection: bool, *, select: bool, expand: bool,
                 top: int | None) -> tuple[int, int]:
    """(resource units, writes) of one identity operation (§6.1)."""
    if method != "GET":
        base, writes = 1, 1
    else:
        base, writes = (2 if collection else 1), 0
    cost = base - (1 if select else 0) + (1 if expand else 0) - (
        1 if top is not None and top < 20 else 0)
    return max(1, cost), writes


class Throttle:
    """All buckets of one sandbox."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.buckets: dict[tuple[str, str], Bucket] = {}
        self._size_checked = -math.inf
        self._size = "S"

    def reset(self) -> None:
        """Refill everything."""
        with self.state.lock:
            self.buckets.clear()

    def tenant_size(self, now: float) -> str:
        """S/M/L from the configured size or the number of users (recounted once a second)."""
        configured = self.state.config.tenant_size
        if configured != "auto":
            return configured
        if now - self._size_checked >= 1.0:
            users = self.state.store.count()
            self._size = "S" if users < 50 else "M" if users <= 500 else "L"
            self._size_checked = now
        return self._size

    def _limits(self, app: str, now: float) -> list[tuple[tuple[str, str], float, float, str]]:
        cfg = self.state.config
        ru = {"S": cfg.ru_quota_small, "M": cfg.ru_quota_medium,
              "L": cfg.ru_quota_large}[self.tenant_size(now)]
        return [  # (key, capacity, window, kind) in "first limit wins" order
            (("Tenant_Application:ru", app), ru, cfg.ru_window_s, "ru"),
            (("Tenant_Application:w", app), cfg.write_quota, cfg.write_window_s, "w"),
            (("Application:ru", app), cfg.app_ru_quota, cfg.app_ru_window_s, "ru"),
            (("Application:w", app), cfg.app_write_quota, cfg.app_write_window_s, "w"),
            (("Tenant:w", ""), cfg.tenant_write_quota, cfg.tenant_write_window_s, "w"),
        ]

    def charge(self, app: str, method: str, ru: int, writes: int, now: float) -> Decision:
        """Charge one operation; the decision says whether it is throttled."""
        cfg = self.state.config
        decision = Decision(ru)
        tenant = self.state.tenant_id
        with self.state.lock:
            forced = cfg.throttle_next > 0
            if forced:
                cfg.throttle_next -= 1
        if not forced and cfg.throttle_probability > 0:
            forced = self.state.random() < cfg.throttle_probability
        if forced:  # deterministic switch (§6.4), or throttling by chance
            decision.retry_after_s = cfg.throttle_next_retry_after_s
            decision.scope = f"Tenant_Application/ReadWrite/{app}/{tenant}"
            decision.information = "ResourceUnitLimitExceeded"
            return decision
        if not cfg.throttle_enabled:
            return decision
        with self.state.lock:
            usage = 0.0
            for key, capacity, window, kind in self._limits(app, now):
                amount = ru if kind == "ru" else writes
                if amount == 0:
                    continue
                bucket = self.buckets.setdefault(key, Bucket(capacity, window, capacity, now))
                bucket.refill(capacity, window, now)
                if bucket.tokens < amount and decision.retry_after_s is None:
                    scope_name = key[0].split(":")[0]
                    access = "Write" if kind == "w" else ("Read" if method == "GET"
                                                         else "ReadWrite")
                    decision.retry_after_s = max(1.0, bucket.seconds_until(amount))
                    decision.scope = f"{scope_name}/{access}/{app}/{tenant}"
                    decision.information = ("WriteLimitExceeded" if kind == "w"
                                            else "ResourceUnitLimitExceeded")
                # Throttled or not, the call accrues usage (bounded debt of one window).
                bucket.tokens = max(-capacity, bucket.tokens - amount)
                usage = max(usage, bucket.usage())
        if usage >= 0.8:
            decision.limit_percentage = min(1.8, round(usage, 1))
        return decision

    def retry_after_header(self, seconds: float) -> str:
        """Integer seconds (rounded up), or a decimal when ``retry_after_decimal`` is set."""
        if self.state.config.retry_after_decimal:
            return f"{max(seconds, 0.001):.3f}"
        return str(max(1, math.ceil(seconds))) if seconds > 0 else "0"

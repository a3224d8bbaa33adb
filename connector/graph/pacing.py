"""Client-side pacing of ``$batch`` items under Graph's throttling (graph.md §6).

Graph's identity limits are token buckets (§6.1: e.g. 3,000 writes per 150 s per app and
tenant), every batch item is charged as if sent alone (§5), and throttled calls *still
accrue usage* (§6.3). A client that keeps sending at full speed after the bucket is empty
therefore pays for each 429 with a slot it could have used for a write. But a 429 is not
always a spent quota: "429s are also possible below the limits under load" (§6.1), and a
run that slowed down for every one of them would crawl (10 % of items answered 429 once
took the write rate from ~176 to ~1.2 writes/s). So :class:`Pacer` tells the two apart:

- an **isolated** 429 — few of the recent items throttled, Graph not reporting its limit
  reached — concerns only the throttled item, which waits its own ``Retry-After`` (the
  operation's state machine does that); the run goes on at full speed;
- an **exhausted quota** — at least half of the last :attr:`Pacer.window` items throttled,
  or ``x-ms-throttle-limit-percentage`` >= 1.0 (§6.1: throttling starts at 1.0) — slows
  the whole run, as below. When :attr:`Pacer.calm_items` items in a row pass without a
  429 the rate grows by ``growth`` per batch again, and pacing stops once it passes
  :attr:`Pacer.free_rate` (from 20 writes/s, Graph's write quota: about 15 s after the
  last 429); a new 429 sets it back to measuring.

Once the quota is exhausted, to get close to it the pacer:

1. keeps a single batch in flight while Graph reports a limit more than 80 % used (also
   before any 429), so few items are in the air when the bucket runs dry;
2. holds every new batch until the ``Retry-After`` has passed (§6.3: "no immediate
   retries");
3. measures the server's refill rate from the throttled batches themselves: items inside a
   batch are charged in order, so a batch in which some items passed and later ones were
   throttled shows the moment the bucket ran dry. Between two such moments the server
   refilled exactly what was charged in between (passed plus throttled items, plus the debt
   the first moment left) — that over the elapsed time is the rate;
4. paces items at that rate plus a small probe margin, so the bucket stays near empty (every
   slot used) while few items are throttled, and each throttle refreshes the measurement.

Before the first measurement it starts from a guess (items of the first throttled batch per
second of its ``Retry-After``) and grows it until the next throttle; a batch sent at our
pace that is refused entirely halves the rate (the guess was too high, or other callers
share the quota).
"""

from __future__ import annotations

import math
from collections import deque


class Pacer:
    """Adaptive items-per-second limit for all batches of one client (Graph's quota is per
    application and tenant, §6.1, so it outlives one ``execute`` call)."""

    def __init__(self, *, burst: int = 20, probe: float = 1.03, growth: float = 0.10,
                 probe_growth: float = 0.01, min_rate: float = 0.5,
                 min_interval: float = 1.0, idle_reset: float = 60.0,
                 backoff: float = 0.5, window: int = 20, exhausted_share: float = 0.5,
                 min_evidence: int = 10, calm_items: int = 100,
                 free_rate: float = 1000.0) -> None:
        self.rate: float | None = None  # None: quota not exhausted, send freely
        self.measured = False
        self.burst = burst
        self.probe = probe
        self.growth = growth
        self.probe_growth = probe_growth
        self.min_rate = min_rate
        self.min_interval = min_interval
        self.idle_reset = idle_reset
        self.backoff = backoff
        #: Items answered last (True: throttled), the evidence for "exhausted".
        self.window = window
        self.exhausted_share = exhausted_share
        self.min_evidence = min_evidence
        #: Items passed in a row, while paced, after which the rate grows fast again
        #: (``growth`` per batch) until a 429 or until it reaches ``free_rate`` (items/s),
        #: where pacing stops.
        self.calm_items = calm_items
        self.free_rate = free_rate
        self._recent: deque[bool] = deque(maxlen=window)
        self._calm = 0
        #: Throttled items the pacer left to their own Retry-After (for logs and tests).
        self.isolated = 0
        self._throttled_at = math.inf  # when the last throttled batch was answered
        #: Graph said a limit is over 80 % used (``x-ms-throttle-limit-percentage``, §6.1).
        self.near_limit = False
        self._last_record = -math.inf
        self.paused_until = -math.inf
        self._allowance = float(burst)
        self._stamp: float | None = None
        self._anchor: tuple[float, int] | None = None  # (when the bucket ran dry, debt)
        self._charged = 0  # items charged by the server since the anchor

    def _refill(self, now: float) -> None:
        if self.rate is None:
            return
        if self._stamp is not None:
            since = max(0.0, now - self._stamp)
            self._allowance = min(float(self.burst), self._allowance + since * self.rate)
        self._stamp = now

    def wait(self, items: int, now: float) -> float:
        """Seconds until ``items`` may be sent (0 = now)."""
        if self.rate is not None and now - self._last_record > self.idle_reset:
            self.reset()  # quiet for a while: the server's bucket has refilled
        pause = max(0.0, self.paused_until - now)
        if self.rate is None:
            return pause
        self._refill(now)
        missing = min(items, self.burst) - self._allowance
        return max(pause, missing / self.rate if missing > 0 else 0.0)

    def take(self, items: int, now: float) -> None:
        """Spend the allowance for ``items`` sent at ``now``."""
        if self.rate is not None:
            self._refill(now)
            self._allowance -= items

    def in_flight_limit(self) -> int | None:
        """At most one batch in flight while the bucket is nearly empty and the rate is not
        known yet: every batch already sent when the first 429 comes is paid for."""
        return 1 if self.rate is None and self.near_limit else None

    def record(self, now: float, passed: int, throttled: int, retry_after: float | None,
               limit_percentage: float | None = None, sent_at: float | None = None) -> None:
        """Feedback from one answered batch: items not throttled, items throttled (429),
        the longest ``Retry-After`` among them, the highest
        ``x-ms-throttle-limit-percentage`` Graph reported (sent above 80 %, §6.1), and when
        the batch was sent."""
        self._last_record = now
        paced = sent_at is not None and sent_at >= self._throttled_at
        if limit_percentage is not None and limit_percentage >= 0.8:
            self.near_limit = True
        self._recent.extend([False] * min(passed, self.window))
        self._recent.extend([True] * min(throttled, self.window))
        if throttled == 0:
            self._charged += passed
            if self.rate is not None:
                self._calm += passed
                if self._calm >= self.calm_items:
                    self.measured = False  # the 429s stopped: grow fast, as from a guess
                if self.rate >= self.free_rate:
                    self.reset()  # far above any quota seen: send freely again
                    return
            if self.rate is not None and passed:
                # Grow until a throttle says otherwise: fast while the rate is a guess, slowly
                # once measured (if the bucket never runs dry again we would learn no more).
                # Per answered batch, not per second, so slow quotas grow as fast as quick ones.
                self.rate *= 1.0 + (self.probe_growth if self.measured else self.growth)
            return
        self._calm = 0
        if self.rate is None and not self._exhausted(limit_percentage):
            self.isolated += throttled  # only they wait (their Retry-After); the run goes on
            return
        self.paused_until = max(self.paused_until, now + (retry_after or 1.0))
        self._throttled_at = now
        if self.rate is None:  # first throttle: a guess, grown until the next one
            self._set_rate((passed + throttled) / max(retry_after or 1.0, 1.0), now)
        else:
            self._refill(now)
        if passed == 0:  # the bucket was already dry: every item added to the debt
            self._charged += throttled
            self._allowance = min(self._allowance, 0.0) - throttled
            if paced and self.rate is not None:
                # Sent at our pace after the last throttle and still wholly refused: the
                # rate is too high (a guess, or the quota is shared with other callers).
                self._set_rate(self.rate * self.backoff, now)
                self.measured = False
            return
        if self._anchor is not None and now - self._anchor[0] >= self.min_interval:
            refill = self._anchor[1] + self._charged + passed
            self._set_rate(refill / (now - self._anchor[0]) * self.probe, now)
            self.measured = True
        self._anchor = (now, throttled)
        self._charged = 0
        # Mirror the server's bucket: it ran dry inside this batch and each throttled item
        # still cost a slot (§6.3), so it now owes ``throttled`` before anything passes.
        self._allowance = -float(throttled)

    def _exhausted(self, limit_percentage: float | None) -> bool:
        """Whether the 429s mean a spent quota rather than isolated refusals."""
        if limit_percentage is not None and limit_percentage >= 1.0:
            return True
        seen = len(self._recent)
        return seen >= self.min_evidence and sum(self._recent) >= self.exhausted_share * seen

    def reset(self) -> None:
        """Forget what was learnt: send freely until the quota is exhausted again."""
        self.rate = None
        self._calm = 0
        self._recent.clear()
        self.measured = False
        self._anchor = None
        self._charged = 0
        self._stamp = None
        self._allowance = float(self.burst)
        self.near_limit = False
        self._throttled_at = math.inf

    def _set_rate(self, rate: float, now: float) -> None:
        self.rate = max(self.min_rate, rate)
        self._stamp = now

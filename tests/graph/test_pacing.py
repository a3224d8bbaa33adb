"""The write pacer against a simulated Graph token bucket (§6.1: refilled continuously,
throttled calls still charged, ``Retry-After`` = whole seconds until one slot is free)."""

from __future__ import annotations

import math

import pytest

from connector.graph import Pacer


class Bucket:
    """Graph's write bucket as graph.md §6.1/§6.3 describe it (debt bounded at one bucket)."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate, self.capacity = rate, capacity
        self.tokens, self.updated = capacity, 0.0

    def charge(self, items: int, now: float) -> tuple[int, int, float | None]:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        passed = throttled = 0
        retry_after: float | None = None
        for _ in range(items):
            if self.tokens < 1:
                throttled += 1
                wait = max(1.0, math.ceil((1 - self.tokens) / self.rate))
                retry_after = max(retry_after or 0.0, wait)
            else:
                passed += 1
            self.tokens = max(-self.capacity, self.tokens - 1)
        return passed, throttled, retry_after


def run(rate: float, window: float, writes: int, latency: float = 0.05) -> tuple[float, int]:
    """(writes done / writes the quota allowed in the elapsed time, items throttled)."""
    bucket, pacer = Bucket(rate, rate * window), Pacer()
    now, done, throttled = 0.0, 0, 0
    while done < writes:
        items = min(20, writes - done)
        wait = pacer.wait(items, now)
        if wait > 0:
            now += max(wait, 0.001)
            continue
        pacer.take(items, now)
        sent = now
        passed, refused, retry_after = bucket.charge(items, now + latency / 2)
        now += latency
        pacer.record(now, passed, refused, retry_after, sent_at=sent)
        done, throttled = done + passed, throttled + refused
    return done / (bucket.capacity + rate * now), throttled


@pytest.mark.parametrize(("rate", "window"), [(20, 10), (20, 150), (60, 10), (60, 300)])
def test_pacing_reaches_the_quota(rate: float, window: float) -> None:
    efficiency, throttled = run(rate, window, writes=int(rate * window + rate * 40))
    assert efficiency >= 0.95
    assert throttled <= rate * 2.5  # about two seconds' worth, mostly the first dry moment


def test_a_rate_guessed_too_high_comes_down() -> None:
    """A batch sent at our own pace after a throttle and refused whole means the rate is too
    high; resending at it every Retry-After would be refused forever (the bucket refills
    exactly what the refused items cost). Batches already in flight do not count."""
    pacer = Pacer()
    pacer.record(0.0, 5, 15, 1.0, sent_at=-0.1)  # quota spent: guess 20 items per 1 s
    assert pacer.rate == 20.0
    pacer.record(0.01, 0, 20, 2.0, sent_at=-0.05)  # was in flight already: no verdict
    assert pacer.rate == 20.0
    pacer.record(2.1, 0, 20, 2.0, sent_at=2.05)
    assert pacer.rate == 10.0 and not pacer.measured


def test_without_pacing_throttled_calls_eat_the_quota() -> None:
    """The reason for the pacer: resending at once after each Retry-After wastes slots."""
    bucket = Bucket(20, 200)
    now, done = 0.0, 0
    while done < 1000:
        passed, _, retry_after = bucket.charge(80, now)  # 4 batches in flight
        done += passed
        now += retry_after or 0.05
    assert done / (200 + 20 * now) < 0.6


def test_near_the_limit_one_batch_in_flight_and_idle_resets() -> None:
    pacer = Pacer()
    assert pacer.in_flight_limit() is None and pacer.wait(20, 0.0) == 0.0
    pacer.record(0.0, 20, 0, None, limit_percentage=0.8)
    assert pacer.in_flight_limit() == 1
    pacer.record(0.1, 5, 15, 2.0, limit_percentage=1.2)
    assert pacer.rate is not None and pacer.wait(20, 0.2) >= 1.8  # Retry-After holds all
    assert pacer.in_flight_limit() is None
    assert pacer.wait(20, 500.0) == 0.0 and pacer.rate is None  # quiet for long: start over


def test_isolated_429s_leave_the_pace_alone() -> None:
    """A few throttled items per batch (429s "below the limits under load", §6.1) wait
    their own Retry-After; the run is neither paused nor paced."""
    pacer = Pacer()
    for n in range(50):
        pacer.record(n * 0.1, 18, 2, 1.0, sent_at=n * 0.1 - 0.05)
        assert pacer.rate is None and pacer.wait(20, n * 0.1 + 0.01) == 0.0
    assert pacer.isolated == 100
    pacer.record(5.0, 1, 0, None)
    pacer.record(5.1, 0, 1, 1.0)  # a lone item throttled at the tail: still isolated
    assert pacer.rate is None


@pytest.mark.parametrize(("passed", "throttled", "percentage"), [
    (8, 12, None),  # most of a batch throttled
    (18, 2, 1.0),  # Graph says the limit is reached (§6.1)
])
def test_a_spent_quota_paces_the_run(passed: int, throttled: int,
                                     percentage: float | None) -> None:
    pacer = Pacer()
    pacer.record(0.0, 20, 0, None)
    pacer.record(0.1, passed, throttled, 2.0, limit_percentage=percentage)
    assert pacer.rate is not None and pacer.wait(20, 0.2) >= 1.8


def test_the_rate_recovers_when_the_429s_stop() -> None:
    bucket, pacer = Bucket(20, 200), Pacer()
    now = 0.0
    while pacer.rate is None or not pacer.measured:  # run into the quota
        wait = pacer.wait(20, now)
        if wait > 0:
            now += wait
            continue
        pacer.take(20, now)
        sent = now
        passed, refused, retry_after = bucket.charge(20, now)
        now += 0.05
        pacer.record(now, passed, refused, retry_after, sent_at=sent)
    assert pacer.rate == pytest.approx(20, rel=0.2)
    stopped = now  # the quota is lifted (another caller stopped): every item passes
    while pacer.rate is not None:
        now += max(pacer.wait(20, now), 0.05)
        pacer.take(20, now)
        pacer.record(now, 20, 0, None, sent_at=now - 0.05)
    assert now - stopped < 30  # back to sending freely

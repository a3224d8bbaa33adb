"""The one clock: every "now" the connector uses comes from here.

Runs, reports, logs, the pre-hire window, leaver dates, ``Now()`` in expressions, the
upload page and the sessions all ask :func:`now`. What it answers:

* by default, the system's time (UTC);
* with ``HRC_NOW`` set (``2026-11-26T05:00:00Z`` or ``2026-11-26``), a clock that starts
  at that moment when first asked and then runs at the real pace, so durations, run ids
  and log lines stay sensible; this is how tests and reproductions pin "today";
* inside :func:`use_clock` (or after :func:`set_clock`), the clock given, for example a
  :class:`FixedClock` a test moves by hand.

The command line's hidden ``--now`` option installs an :class:`OffsetClock` for one
command.

What this clock does not drive, on purpose: durations and pacing (``time.monotonic``),
and comparisons with timestamps the operating system or a server wrote, which are in
real time whatever the connector pretends (a file's modification time, a certificate's
validity, an HTTP ``Retry-After`` date). Those use :func:`system_time`, named here so
that every reading of the wall clock is in this module.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

__all__ = ["ENV", "Clock", "FixedClock", "OffsetClock", "SystemClock", "now", "parse_moment",
           "set_clock", "system_time", "today", "use_clock"]

#: The environment variable that starts the clock at a given moment.
ENV = "HRC_NOW"


class Clock(Protocol):
    """Something that tells the time (aware, UTC)."""

    def now(self) -> dt.datetime:
        """The current moment."""


class SystemClock:
    """The system's time."""

    def now(self) -> dt.datetime:
        """The system's current time in UTC."""
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """A clock that stands still until moved: for tests."""

    def __init__(self, moment: dt.datetime) -> None:
        self.moment = _aware(moment)

    def now(self) -> dt.datetime:
        """The moment it was set to."""
        return self.moment

    def advance(self, **delta: float) -> None:
        """Move on by ``timedelta(**delta)`` (``days=365``, ``seconds=5`` ...)."""
        self.moment += dt.timedelta(**delta)


class OffsetClock:
    """A clock that starts at ``start`` now and runs at the real pace from there."""

    def __init__(self, start: dt.datetime) -> None:
        self.offset = _aware(start) - dt.datetime.now(dt.UTC)

    def now(self) -> dt.datetime:
        """``start`` plus the real time elapsed since the clock was made."""
        return dt.datetime.now(dt.UTC) + self.offset


def parse_moment(text: str) -> dt.datetime:
    """An ISO 8601 date or date-time as an aware UTC moment (a bare date is its midnight,
    a naive time is UTC). ``ValueError`` names the text when it is neither."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date or date-time "
                         "(2026-11-26 or 2026-11-26T05:00:00Z)") from None
    return _aware(value)


def _aware(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


class _EnvironmentClock:
    """The default: ``HRC_NOW`` when set (an offset clock per value), else the system."""

    def __init__(self) -> None:
        self._system = SystemClock()
        self._started: dict[str, OffsetClock] = {}
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        text = os.environ.get(ENV)
        if not text:
            return self._system.now()
        with self._lock:
            clock = self._started.get(text)
            if clock is None:
                clock = self._started[text] = OffsetClock(parse_moment(text))
        return clock.now()


_DEFAULT: Clock = _EnvironmentClock()
_current: Clock = _DEFAULT


def now() -> dt.datetime:
    """The current moment (aware, UTC) by the connector's clock."""
    return _current.now()


def today() -> dt.date:
    """Today's date (UTC) by the connector's clock."""
    return _current.now().date()


def set_clock(clock: Clock | None) -> None:
    """Make ``clock`` the connector's clock (None: back to the default)."""
    global _current
    _current = clock or _DEFAULT


@contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    """The connector's clock is ``clock`` inside the block."""
    global _current
    previous, _current = _current, clock
    try:
        yield clock
    finally:
        _current = previous


def system_time() -> float:
    """The operating system's time in epoch seconds, for comparisons with timestamps
    that are real whatever the connector's clock says (file times, HTTP dates)."""
    return time.time()

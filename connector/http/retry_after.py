"""``Retry-After``: how long a server asked us to wait."""

from __future__ import annotations

import math
from email.utils import parsedate_to_datetime

from connector.core.clock import system_time


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` value: integer or decimal seconds (``"10"``,
    ``"2.128"``, graph.md §6.2) or an HTTP date (kiota); None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None or when.tzinfo is None:
            return None
        if now is None:
            now = system_time()  # an HTTP date is the server's real time
        return max(0.0, when.timestamp() - now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)

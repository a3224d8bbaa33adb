"""Log lines for unattended runs: without a terminal (cron, systemd) a run prints plain
lines, one event each (``2026-11-26T02:00:01Z INFO run finished create=3 update=12 ...``),
or JSON lines with ``--log-format json`` for a log collector. No colour, no progress bar,
no prompt.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import IO, Any, Literal

LOGGER = logging.getLogger("hr_connector")


class _LineFormatter(logging.Formatter):
    """``2026-11-26T02:00:01Z INFO event key=value ...``: one event per line, greppable."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "fields", {})
        stamp = dt.datetime.fromtimestamp(record.created, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        pairs = " ".join(f"{k}={_quote(v)}" for k, v in fields.items())
        return f"{stamp} {record.levelname} {record.getMessage()}" + (f" {pairs}" if pairs else "")


class _JsonFormatter(logging.Formatter):
    """One JSON object per line: ``{"time", "level", "event", ...fields}``."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = dt.datetime.fromtimestamp(record.created, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        data = {"time": stamp, "level": record.levelname, "event": record.getMessage(),
                **getattr(record, "fields", {})}
        return json.dumps(data, ensure_ascii=False, default=str)


def _quote(value: Any) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (not text or " " in text or "=" in text
                                                    or '"' in text) else text


def setup_logging(fmt: Literal["text", "json"], stream: IO[str] | None = None) -> None:
    """Send the connector's events to ``stream`` (stderr) as text or JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _LineFormatter())
    LOGGER.handlers[:] = [handler]
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False


def log(event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event with its fields (never secrets: callers pass counts, ids and paths)."""
    LOGGER.log(level, event, extra={"fields": fields})

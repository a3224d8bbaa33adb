"""Log lines for unattended runs: without a terminal (cron, systemd) a run prints plain
lines, one event each (``2026-11-26T02:00:01Z INFO run finished create=3 update=12 ...``),
or JSON lines with ``--log-format json`` for a log collector. No colour, no progress bar,
no prompt.

One event is one line, whatever its values hold: control characters, line and paragraph
separators and invisible formatting characters (a bidi override) in a value or the event
are written as escapes (``\\n``, ``\\u202e``), so a file name cannot forge a log line or
disguise one. In text lines a value with a space, ``=``, a quote, a backslash or an
escape is quoted.

A command that set JSON lines up also reports its fatal error as one JSON event
(:func:`fatal`), so a log collector sees why a run ended.
"""

from __future__ import annotations

import json
import logging
import sys
import unicodedata
from typing import IO, Any, Literal

from connector.core import clock

LOGGER = logging.getLogger("hr_connector")
Format = Literal["text", "json"]
_UNSAFE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_format: list[Format] = ["text"]  # what setup_logging set last (one process, one run)


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE


def _escape_char(char: str) -> str:
    if char in _SHORT:
        return _SHORT[char]
    point = ord(char)
    if point <= 0xFFFF:
        return f"\\u{point:04x}"
    point -= 0x10000  # beyond the BMP: a surrogate pair, as JSON writes one
    return f"\\u{0xD800 + (point >> 10):04x}\\u{0xDC00 + (point & 0x3FF):04x}"


def escape(text: str) -> str:
    """``text`` with every control, separator and invisible formatting character written
    as an escape (``\\n``, ``\\u001b``); other text, accents included, is unchanged."""
    if not any(_unsafe(c) for c in text):
        return text
    return "".join(_escape_char(c) if _unsafe(c) else c for c in text)


def _quote(value: Any) -> str:
    text = str(value)
    if text and not any(c in ' ="\\' or _unsafe(c) for c in text):
        return text
    inner = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escape(inner)}"'


def _stamp(record: logging.LogRecord) -> str:
    # The connector's clock, as for run ids and reports (HRC_NOW moves it); a record is
    # formatted as it is logged.
    return clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")


class _LineFormatter(logging.Formatter):
    """``2026-11-26T02:00:01Z INFO event key=value ...``: one event per line, greppable."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "fields", {})
        pairs = " ".join(f"{escape(str(k))}={_quote(v)}" for k, v in fields.items())
        event = escape(record.getMessage())
        return f"{_stamp(record)} {record.levelname} {event}" + (f" {pairs}" if pairs else "")


class _JsonFormatter(logging.Formatter):
    """One JSON object per line: ``{"time", "level", "event", ...fields}``."""

    def format(self, record: logging.LogRecord) -> str:
        data = {"time": _stamp(record), "level": record.levelname,
                "event": record.getMessage(), **getattr(record, "fields", {})}
        # json.dumps escapes C0 controls; the rest (DEL, C1, U+2028, bidi) is escaped here,
        # which inside a JSON string is the same text.
        return escape(json.dumps(data, ensure_ascii=False, default=str))


def setup_logging(fmt: Format, stream: IO[str] | None = None) -> None:
    """Send the connector's events to ``stream`` (stderr) as text or JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _LineFormatter())
    LOGGER.handlers[:] = [handler]
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False
    _format[0] = fmt


def log_format() -> Format:
    """The format the last :func:`setup_logging` chose (``text`` before any)."""
    return _format[0]


def forget_format() -> None:
    """Back to plain error messages: each command starts so, until it sets logging up."""
    _format[0] = "text"


def fatal(message: str, *, exit_code: int, event: str = "run failed") -> bool:
    """Log why the command ends as a JSON event when JSON lines are on; False (nothing
    done) otherwise, and the caller prints its message."""
    if log_format() != "json":
        return False
    log(event, level=logging.ERROR, error=message, exit_code=exit_code)
    return True


def log(event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event with its fields (never secrets: callers pass counts, ids and paths)."""
    LOGGER.log(level, event, extra={"fields": fields})

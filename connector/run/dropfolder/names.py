"""Names in the drop folder: which entries are safe to touch, which are left alone, and the
names the connector gives the files it keeps (``20261126T043512Z-staff.csv``)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path

PROCESSED, REJECTED, STATE, LEDGER, MARKER, WORK = (
    "processed", "rejected", ".hr-connector", "ledger.json", ".ready", "work")
#: The connector's own entries at the top level: never picked up, never reported.
OWN = frozenset({PROCESSED, REJECTED, STATE})
TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".swp", "~")
TEMP_NAMES = frozenset({"thumbs.db", "desktop.ini"})
# Control, invisible formatting (bidi overrides that disguise an extension), separators.
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
MAX_KEPT = 200  # bytes; leaves room for ".report-N.<key>" within the usual 255
#: A name the connector gave a file it keeps: its time stamp (UTC), a dash, the rest.
KEPT_NAME = re.compile(r"(\d{8}T\d{6}Z)-")
_STAMP = "%Y%m%dT%H%M%SZ"


def name_problem(name: str) -> str | None:
    """Why a directory entry's name is unsafe to work with, or None."""
    if (name in ("", ".", "..") or any(c in name for c in "/\\\0")
            or Path(name).name != name):
        return "the name is not a single plain file name"
    if any(unicodedata.category(c) in _BAD_CATEGORIES for c in name):
        return "the name contains control or invisible characters, or bytes that are not text"
    return None


def left_alone(name: str) -> str | None:
    """Why a top-level entry is not a file to pick up, judged by its name alone (None:
    look further). The connector's own folders and a marker beside its file say nothing."""
    if (problem := name_problem(name)) is not None:
        return problem
    lower = name.lower()
    if name.startswith("."):
        return "a hidden file"
    if lower.endswith(TEMP_SUFFIXES) or name.startswith("~$") or lower in TEMP_NAMES:
        return "a temporary or lock file"
    return None


def stamp(moment: float) -> str:
    """A kept file's time stamp for ``moment`` (seconds since the epoch)."""
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime(_STAMP)


def stamped_at(name: str) -> float | None:
    """When a kept file's name says it was kept (seconds since the epoch), or None for a
    name the connector did not give."""
    found = KEPT_NAME.match(name)
    if found is None:
        return None
    try:
        return dt.datetime.strptime(found.group(1), _STAMP).replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        return None


def kept_name(moment: float, name: str) -> tuple[str, str]:
    """(head, tail) of the name a file called ``name`` is kept under: ``head + tail`` is
    ``20261126T043512Z-staff.csv``; a number goes between when it is taken."""
    head = stamp(moment)
    return head, "-" + fit(name, MAX_KEPT - len(head) - 6)


def fit(name: str, limit: int) -> str:
    """``name`` cut to ``limit`` UTF-8 bytes, keeping a short extension."""
    if len(name.encode()) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    suffix = dot + ext if stem and len(ext) <= 10 else ""
    head = name[: len(name) - len(suffix)]
    while head and len((head + suffix).encode()) > limit:
        head = head[:-1]
    return head + suffix


def report_suffix(key: str) -> str:
    """A report's key reduced to a short extension: only the kept file's name decides
    where a report goes, so ``../../x`` or ``a/b`` can never become a path."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", key).strip("._")[:16] or "txt"

"""Retention: the connector deletes only what it wrote, by the names it gave, once it is
older than the configuration's ``retention`` (the README's "Retention" says what is kept
how long).

=====================================  ===================================  ==============
What                                   Named                                Kept
=====================================  ===================================  ==============
provisioning logs, run reports         ``<state>/runs/<run id>.json[l]``     ``runs_days``
configured reports                     ``<reports>/<run id>.<format>``      ``runs_days``
HR files a drop folder kept            ``processed|rejected/<stamp>-*``     ``hr_files_days``
uploads to the upload page             ``<state>/uploads/<upload id>/``     ``hr_files_days``
=====================================  ===================================  ==============

A file goes when the time in its name *and* its modification time are both past the
limit: a clock set ahead (``--now``) cannot make today's files look old, and a file
restored from a backup (a new modification time) is kept its full time again. Names
carry the connector's clock (run and upload ids) or the system's (a drop folder's kept
files), and each is compared with the clock that wrote it; modification times with the
system's. Anything else in these folders (a ``budget-2026.xlsx`` someone put among the
reports) is never touched. An upload being applied (status ``approved``) is kept.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from connector.config import Config
from connector.core import clock
from connector.errors import ConfigError
from connector.run.dropfolder import DropFolder

#: ``20261126T043512Z-3f9a1c``: run ids (``history.new_run_id``).
RUN_ID = re.compile(r"(\d{8}T\d{6}Z)-[0-9a-f]{6}")
#: ``20261126T043512Z-3f9a1c2b7d4e``: upload ids (``web.store.UPLOAD_ID``).
UPLOAD_ID = re.compile(r"(\d{8}T\d{6}Z)-[0-9a-f]{12}")
#: What ``runs/`` holds per run, and the formats ``reports:`` writes.
RUN_SUFFIXES = frozenset({".json", ".jsonl"})
REPORT_SUFFIXES = frozenset({".json", ".html", ".csv", ".md", ".xlsx"})
_STAMP = "%Y%m%dT%H%M%SZ"


def _stamp(text: str) -> float | None:
    try:
        return dt.datetime.strptime(text, _STAMP).replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        return None


class _Limits:
    """The moment before which a name's time (the connector's clock) and a modification
    time (the system's) count as old."""

    def __init__(self, days: int, now: dt.datetime | None) -> None:
        span = days * 86400
        self.named = (now or clock.now()).timestamp() - span
        self.written = (now.timestamp() if now else clock.system_time()) - span

    def old(self, named: float | None, st: os.stat_result) -> bool:
        return named is not None and named < self.named and st.st_mtime < self.written


def _prune_files(folder: Path, limits: _Limits,
                 owned: Callable[[str], float | None]) -> int:
    """Delete the regular files in ``folder`` whose name ``owned`` dates and which are
    old by both times."""
    removed = 0
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(st.st_mode) and limits.old(owned(entry.name), st):
                    os.unlink(entry.path)
                    removed += 1
            except OSError:
                continue
    return removed


def _run_file(suffixes: frozenset[str]) -> Callable[[str], float | None]:
    def owned(name: str) -> float | None:
        stem, dot, suffix = name.partition(".")
        if not dot or f".{suffix}" not in suffixes or not RUN_ID.fullmatch(stem):
            return None
        return _stamp(stem[:16])

    return owned


def prune_runs(folder: Path, *, days: int, now: dt.datetime | None = None) -> int:
    """Delete ``<run id>.json`` and ``<run id>.jsonl`` older than ``days``."""
    return _prune_files(folder, _Limits(days, now), _run_file(RUN_SUFFIXES))


def prune_reports(folder: Path, *, days: int, now: dt.datetime | None = None) -> int:
    """Delete ``<run id>.<format>`` reports older than ``days``; nothing else."""
    return _prune_files(folder, _Limits(days, now), _run_file(REPORT_SUFFIXES))


def prune_uploads(folder: Path, *, days: int, now: dt.datetime | None = None) -> int:
    """Delete upload folders (``<upload id>/``) older than ``days``, except an upload
    being applied; returns how many went."""
    limits = _Limits(days, now)
    removed = 0
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
                if not (UPLOAD_ID.fullmatch(entry.name) and stat.S_ISDIR(st.st_mode)):
                    continue
                if not limits.old(_stamp(entry.name[:16]), st) or _approved(Path(entry.path)):
                    continue
                shutil.rmtree(entry.path)  # removes links inside, never follows them
                removed += 1
            except OSError:
                continue
    return removed


def _approved(folder: Path) -> bool:
    try:
        data = json.loads((folder / "upload.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("status") == "approved"


def prune_configured(config: Config, state: Path, reports: Path) -> dict[str, int]:
    """Everything a configuration's retention covers, pruned: files removed by kind."""
    runs_days, hr_days = config.retention.runs_days, config.retention.hr_files_days
    removed = {"runs": prune_runs(state / "runs", days=runs_days),
               "reports": prune_reports(reports, days=runs_days),
               "uploads": prune_uploads(state / "uploads", days=hr_days), "hr_files": 0}
    folder = config.source.folder if config.source else None
    if folder is not None:
        with contextlib.suppress(ConfigError, OSError):
            removed["hr_files"] = DropFolder.from_config(folder).prune(days=hr_days)
    return removed

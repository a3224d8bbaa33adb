"""Everything a run writes besides the tenant: checked before its first write, written
after its last.

``check_outputs`` runs before anything is read from the tenant: every report path, the
state folder, the runs folder and the reports folder must exist or be creatable, be what
they should be (a folder, a file) and be writable, tested by writing; otherwise a
``ConfigError`` (exit 2, nothing written) names the path and the reason. ``publish``
writes a finished run's reports; ``publish_configured`` writes the reports a
configuration asks for and prunes what retention no longer keeps, for ``run`` and the
upload page alike.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from connector.config import Config
from connector.core.results import SyncResult
from connector.errors import EXIT_RECORD_ERRORS, ConfigError, ConnectorError
from connector.report.sync import FORMATS_BY_SUFFIX, Format, report_bytes, sync_report
from connector.run import retention
from connector.run.group_ledger import ledger_path
from connector.run.logs import log


class ReportNotWritten(ConnectorError):
    """A report could not be written after the run wrote to the tenant: exit 1, because
    exit 2 would say that nothing was written."""

    exit_code = EXIT_RECORD_ERRORS


@dataclass(frozen=True)
class ReportTarget:
    """One report to write: where, in which format."""

    path: Path
    fmt: Format

    @classmethod
    def by_suffix(cls, path: str | Path) -> ReportTarget:
        """A ``--report`` path; its extension picks the format."""
        path = Path(path)
        fmt = FORMATS_BY_SUFFIX.get(path.suffix.lower())
        if fmt is None:
            raise ConfigError(f"the report {path}: use one of "
                              + ", ".join(sorted(FORMATS_BY_SUFFIX)) + " as its extension")
        return cls(path, fmt)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def check_folder(path: Path, what: str) -> Path:
    """``path`` as a folder that exists (made if missing) and takes new files."""
    try:
        if path.exists() and not path.is_dir():
            raise ConfigError(f"the {what} {path} is a file, not a folder")
        path.mkdir(parents=True, exist_ok=True)
        # Permissions say too little (root, read-only mounts, ACLs): write and remove a file.
        handle, probe = tempfile.mkstemp(prefix=".hrc-write-check-", dir=path)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(f"the {what} {path} cannot be used: {_reason(exc)}") from None
    return path


def check_file(path: Path, what: str) -> Path:
    """``path`` as a file the run can write at the end (its folder made if missing)."""
    if path.is_dir():
        raise ConfigError(f"the {what} {path} is a folder, not a file")
    check_folder(path.parent, f"folder of the {what}")
    if path.exists():
        try:
            with path.open("a", encoding="utf-8"):  # opening for append changes nothing
                pass
        except OSError as exc:
            raise ConfigError(f"the {what} {path} cannot be written: {_reason(exc)}") from None
    return path


def check_outputs(*, state: Path, reports: Sequence[ReportTarget] = (),
                  reports_folder: Path | None = None) -> None:
    """Check every place a run will write before its first write (see the module doc)."""
    check_folder(state, "state folder")
    check_folder(state / "runs", "runs folder")
    check_file(ledger_path(state), "group ledger")
    if reports_folder is not None:
        check_folder(reports_folder, "reports folder (paths.reports)")
    seen: set[Path] = set()
    for target in reports:
        resolved = target.path.resolve()
        if resolved in seen:
            raise ConfigError(f"the report {target.path} is given twice")
        seen.add(resolved)
        check_file(target.path, "report")


def publish(result: SyncResult, targets: Iterable[ReportTarget]) -> dict[str, bytes]:
    """Write the run's reports; returns them rendered, by format. A report that cannot be
    written after the tenant was written to is ``ReportNotWritten`` (exit 1), before that
    a ``ConfigError`` (exit 2)."""
    rendered: dict[str, bytes] = {}
    report = sync_report(result)  # one report for every format
    for target in targets:
        content = rendered.get(target.fmt) or report_bytes(result, target.fmt, report)
        rendered[target.fmt] = content
        try:
            target.path.parent.mkdir(parents=True, exist_ok=True)
            target.path.write_bytes(content)
        except OSError as exc:
            message = f"cannot write the report {target.path}: {_reason(exc)}"
            if result.outcomes:
                raise ReportNotWritten(f"{message} (the run itself finished: see "
                                       f"hr-connector runs show {result.run_id})") from None
            raise ConfigError(message) from None
    return rendered


def reports_folder(config: Config, state: Path) -> Path:
    """Where a configuration's reports go (default ``<state>/reports``)."""
    return config.paths.reports or state / "reports"


def publish_configured(result: SyncResult, config: Config, state: Path, *,
                       prune_history: bool = True) -> dict[str, bytes]:
    """The reports a configuration asks for, as ``<reports folder>/<run id>.<format>``,
    then history older than its retention pruned (runs and reports) unless the caller
    prunes once after several runs (``run`` over a drop folder)."""
    folder = reports_folder(config, state)
    targets = [ReportTarget(folder / f"{result.run_id}.{fmt}", fmt) for fmt in config.reports]
    rendered = publish(result, targets)
    for target in targets:
        log("report written", run_id=result.run_id, path=str(target.path))
    if prune_history:
        prune(config, state)
    return rendered


def prune(config: Config, state: Path) -> None:
    """Delete what the connector wrote and the configuration's retention no longer keeps
    (``run.retention``): run logs and reports, HR files a drop folder kept, uploads."""
    removed = retention.prune_configured(config, state, reports_folder(config, state))
    if any(removed.values()):
        log("history pruned", **{k: v for k, v in removed.items() if v},
            runs_days=config.retention.runs_days,
            hr_files_days=config.retention.hr_files_days)

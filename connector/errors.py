"""The connector's one exception tree, and the problems it reports without raising.

::

    ConnectorError                 anything the connector reports to a person; carries exit_code
     ├── ConfigError               bad configuration or command-line usage           (exit 2)
     ├── SourceError               an HR source that cannot be used at all           (exit 2)
     │                             (unreadable, wrong format, no records, bad header)
     ├── MappingError              a mapping or expression that cannot compile       (exit 2)
     │    └── EvaluationError      an expression that failed on one record; the
     │                             record is reported, the run goes on
     ├── GraphError                Microsoft Graph said no; keeps error.code and request-id
     │    ├── RetriableGraphError  429, 5xx, timeouts, dropped connections
     │    └── FatalGraphError      everything else (400, 403, 404 ...)
     │         └── AuthError       no token: bad secret, unknown tenant, bad scope
     ├── RunInterrupted            an error cut a run short after its first write    (exit 1)
     └── (run.lock.AlreadyRunning) another run holds the state folder's lock         (exit 4)

A safety stop is not an exception: the run ends normally with the reasons in its result
(``SyncResult.stopped``), reports them, and exits 3 (``SyncResult.exit_code``).

Problems in single records (an empty key, a duplicate key, a dangling manager) are not
exceptions: a run reports them and carries on with the valid records. They are ``Problem``
values, collected into lists that the CLI and the reports render.

Every error carries its context (file, row, column, rule, employee) as attributes, so a
message can name exactly where things went wrong, and the CLI turns any of them into that
message and an exit code, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: Exit codes shared by every command (also documented in the README), all of them here.
EXIT_OK = 0
#: Finished, but some records or writes failed.
EXIT_RECORD_ERRORS = 1
#: Bad input, configuration or usage: nothing was written.
EXIT_UNUSABLE = 2
#: A safety threshold stopped the run before its first write.
EXIT_SAFETY = 3
#: Another run holds the state folder's lock; nothing was done.
EXIT_LOCKED = 4
#: A bug in hr-connector (EX_SOFTWARE), not a problem with the input.
EXIT_INTERNAL = 70


class ConnectorError(Exception):
    """Root of every error the connector reports to a person."""

    exit_code: int = EXIT_UNUSABLE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def detailed(self) -> str:
        """The full, human-readable explanation (several lines where useful)."""
        return self.message


class ConfigError(ConnectorError):
    """Configuration or command-line usage the connector cannot work with."""


class SourceError(ConnectorError):
    """An HR source that cannot be used: unreadable, the wrong format, no records, bad header."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        super().__init__(message)
        self.file = file
        self.row = row
        self.column = column

    def detailed(self) -> str:
        where = ", ".join(
            part
            for part in (
                self.file,
                f"row {self.row}" if self.row is not None else None,
                f"column {self.column!r}" if self.column is not None else None,
            )
            if part
        )
        return f"{where}: {self.message}" if where else self.message


class MappingError(ConnectorError):
    """A mapping file or expression that cannot be compiled.

    One error points at one spot: ``file`` and ``rule`` say where the expression lives,
    ``expression`` and ``position`` (a 0-based offset into it) say where inside it. A
    mapping that has several problems raises one ``MappingError`` whose ``errors`` lists
    them all, so an admin fixes everything in one pass.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        rule: str | None = None,
        expression: str | None = None,
        position: int | None = None,
        errors: list[MappingError] | None = None,
    ) -> None:
        super().__init__(message)
        self.file = file
        self.rule = rule
        self.expression = expression
        self.position = position
        self.errors: list[MappingError] = errors or []

    def _spot(self) -> tuple[int, int, str] | None:
        """(line, column, text of that line) for ``position``; lines split on ``\n`` only,
        so the caret lands where an editor shows it, even past a trailing newline."""
        if self.expression is None or self.position is None:
            return None
        position = max(0, min(self.position, len(self.expression)))
        lines = self.expression.split("\n")
        line = self.expression.count("\n", 0, position)
        start = self.expression.rfind("\n", 0, position) + 1
        return line + 1, position - start + 1, lines[line].rstrip("\r")

    @property
    def line(self) -> int | None:
        """1-based line of ``position`` inside the expression."""
        spot = self._spot()
        return spot[0] if spot else None

    @property
    def column(self) -> int | None:
        """1-based column of ``position`` inside its line."""
        spot = self._spot()
        return spot[1] if spot else None

    def located(self, *, file: str | None = None, rule: str | None = None) -> MappingError:
        """Fill in where the expression lives; returns self for chaining."""
        self.file = self.file or file
        self.rule = self.rule or rule
        return self

    def detailed(self) -> str:
        if self.errors:
            return "\n\n".join(error.detailed() for error in self.errors)
        where = " › ".join(p for p in (self.file, self.rule) if p)
        spot = self._spot()
        if spot:
            at = f"{spot[0]}:{spot[1]}"
            where = f"{where} › {at}" if where else at
        lines = [f"{where}: {self.message}" if where else self.message]
        if spot:
            lines.append(f"    {spot[2]}")
            lines.append("    " + " " * (spot[1] - 1) + "^")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.detailed()


class EvaluationError(MappingError):
    """An expression that compiled but failed on one record (bad date, bad number ...)."""

    exit_code = EXIT_RECORD_ERRORS


class GraphError(ConnectorError):
    """Microsoft Graph refused or failed a request."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.request_id = request_id

    def detailed(self) -> str:
        extras = ", ".join(
            f"{name} {value}"
            for name, value in (
                ("HTTP", self.status),
                ("code", self.code),
                ("request-id", self.request_id),
            )
            if value is not None
        )
        return f"{self.message} ({extras})" if extras else self.message


class RetriableGraphError(GraphError):
    """A Graph failure that may succeed if tried again later (throttling, outages)."""


class FatalGraphError(GraphError):
    """A Graph failure that will fail again the same way."""


class AuthError(FatalGraphError):
    """No access token could be had; the message says why, never the secret."""


class RunInterrupted(ConnectorError):
    """A run cut short by an error after its first write to the tenant: exit 1, because
    exit 2 would claim nothing was written. The next run completes its work."""

    exit_code = EXIT_RECORD_ERRORS


Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem with one record (or one cell) that does not stop the run.

    ``row`` is the row number a spreadsheet shows for the record (the header is row 1 when
    it is the first row), so an HR user can find it.
    """

    reason: str
    severity: Severity = "error"
    file: str | None = None
    row: int | None = None
    column: str | None = None
    key: str | None = None
    rows: tuple[int, ...] = field(default=())

    def where(self) -> str:
        """``file, row N, column 'X'``: as much of the location as is known."""
        parts = [self.file or ""]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column!r}")
        return ", ".join(p for p in parts if p)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.reason}" if where else self.reason


__all__ = ["EXIT_INTERNAL", "EXIT_LOCKED", "EXIT_OK", "EXIT_RECORD_ERRORS", "EXIT_SAFETY",
           "EXIT_UNUSABLE", "AuthError", "ConfigError", "ConnectorError", "EvaluationError",
           "FatalGraphError", "GraphError", "MappingError", "Problem", "RetriableGraphError",
           "RunInterrupted", "Severity", "SourceError"]

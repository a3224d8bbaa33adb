"""What a sync run did: the plan, what happened to each write, and why it stopped. Pure data,
rendered by ``connector.report.sync`` and written to the provisioning log; ``exit_code``
is the one mapping from a finished run to the exit code every command uses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from connector.core.plan import Change, Plan
from connector.core.plan.group_model import GroupChange
from connector.errors import EXIT_OK, EXIT_RECORD_ERRORS, EXIT_SAFETY, Problem


@dataclass
class WriteOutcome:
    """What Graph said to one planned write (or why it could not be sent)."""

    ok: bool
    user_id: str | None = None
    error: str | None = None
    code: str | None = None
    status: int | None = None
    request_id: str | None = None
    #: SCIM runs: what Entra's provisioning engine did with the record, from its logs
    #: (``connector.scim.Provisioned.as_dict``); None for Graph writes.
    entra: dict[str, Any] | None = None


@dataclass
class SyncResult:
    """One run, dry or not, for reports and the provisioning log.

    ``outcomes`` is keyed by the index of the change in ``plan.changes`` and is empty for a
    dry run or a stopped one. ``stopped`` holds the safety reasons when a threshold
    tripped (then nothing was written).
    """

    run_id: str
    dry_run: bool
    source: str
    mapping: str
    tenant: str
    started: dt.datetime
    plan: Plan
    finished: dt.datetime | None = None
    outcomes: dict[int, WriteOutcome] = field(default_factory=dict)
    stopped: list[str] = field(default_factory=list)
    source_warnings: list[Problem] = field(default_factory=list)
    #: Seconds spent per stage: tenant (reading users), source (read, check, map),
    #: plan, apply.
    timings: dict[str, float] = field(default_factory=dict)
    #: Earlier runs that never finished (killed, crashed) and that this run follows: it
    #: plans from the tenant as they left it, so it completes their work.
    follows: list[str] = field(default_factory=list)
    #: SCIM runs: the provisioning job, its requests, budget and outcomes (the JSON
    #: report's ``provisioning`` section, ``connector.run.scim``); None for Graph runs.
    provisioning: dict[str, Any] | None = None
    #: What Graph said to each group write, by its index in ``plan.groups``.
    group_outcomes: dict[int, WriteOutcome] = field(default_factory=dict)

    @property
    def failed(self) -> list[tuple[Change, WriteOutcome]]:
        """Writes that Graph refused or that could not be completed."""
        return [(self.plan.changes[i], o) for i, o in sorted(self.outcomes.items()) if not o.ok]

    @property
    def group_failed(self) -> list[tuple[GroupChange, WriteOutcome]]:
        """Group writes that Graph refused or that could not be completed."""
        return [(self.plan.groups[i], o) for i, o in sorted(self.group_outcomes.items())
                if not o.ok]

    @property
    def group_problems(self) -> int:
        """Group changes held back by rows in error, or refused before any write (a
        clash with a group the connector does not own)."""
        return sum(1 for c in self.plan.groups if c.action in ("held", "error"))

    @property
    def status(self) -> Literal["dry-run", "stopped", "failed", "partial", "ok"]:
        """One word for the run: how a person or a monitor should read it."""
        if self.stopped:
            return "stopped"
        if self.dry_run:
            return "dry-run"
        failed = len(self.failed) + len(self.group_failed)
        if failed and failed == len(self.outcomes) + len(self.group_outcomes):
            return "failed"
        # Held changes come with rows in error; either way the run did not do everything.
        held = self.plan.count("held") + self.group_problems
        return "partial" if failed or self.plan.count("error") or held else "ok"

    @property
    def exit_code(self) -> int:
        """The exit code of every command that runs a sync: 3 when a safety threshold
        stopped it (nothing written), 1 when some records or writes (group writes too)
        failed, some changes were held back by rows in error, or a group clashed with one
        the connector does not own, else 0."""
        if self.stopped:
            return EXIT_SAFETY
        if self.failed or self.plan.count("error") or self.plan.count("held"):
            return EXIT_RECORD_ERRORS
        if self.group_failed or self.group_problems:
            return EXIT_RECORD_ERRORS
        return EXIT_OK

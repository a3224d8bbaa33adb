"""The main job: read the HR source, map it, read the tenant, plan, check, apply, log.

``run_sync`` holds no rules of its own; it calls the stages in order:

1. read the tenant's users (the attributes the mapping owns, plus their managers): in
   full, or from the state folder's snapshot and Graph's delta since (``run.snapshot``);
2. read, check and map the source (create-only rules wait for step 4);
3. match records to users;
4. run create-only rules (UPN, mailNickname) for records that become new users, with
   ``SelectUniqueValue`` checked against the tenant and the run's other creates;
5. plan (pure); then ``finish_run``: check the safety thresholds, apply unless it is a
   dry run or a threshold tripped, every write to the provisioning log as its result
   arrives, the report saved (a run that writes nothing logs no line: its report lists
   what it planned). The run's marker is written before step 1, so a run killed
   at any point is listed as interrupted (``connector.run.trail``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from connector.core import clock
from connector.core.plan import Change, Plan, Policy, build_plan, match_users
from connector.core.plan.compare import GraphValues
from connector.core.plan.group_model import GROUP_WRITES, GroupChange
from connector.core.plan.safety import Thresholds, check_safety
from connector.core.results import SyncResult, WriteOutcome
from connector.errors import ConfigError, ConnectorError, Problem, RunInterrupted
from connector.graph import GraphClient
from connector.mapping import CompiledMapping, StubDirectory
from connector.mapping.engine import paused_gc
from connector.mapping.scoping import any_holds
from connector.report.contract import sync_report
from connector.run.apply import apply_plan
from connector.run.group_apply import apply_groups
from connector.run.groups import plan_run_groups
from connector.run.history import new_run_id
from connector.run.prepare import Source, prepare, source_name
from connector.run.snapshot import DeltaReads, read_tenant
from connector.run.trail import RunTrail


class Progress(Protocol):
    """Where a run reports what it is doing (a terminal progress bar, or nothing)."""

    def stage(self, name: str, total: int | None = None) -> None:
        """A new stage starts; ``total`` steps when known."""

    def advance(self, steps: int = 1) -> None:
        """Steps of the current stage are done."""


class NoProgress:
    """Progress that shows nothing (cron, tests)."""

    def stage(self, name: str, total: int | None = None) -> None:
        """Nothing to show."""

    def advance(self, steps: int = 1) -> None:
        """Nothing to show."""


@dataclass(frozen=True)
class SyncOptions:
    """What a run may do: dry run, thresholds, pre-hire window, where to log."""

    dry_run: bool = False
    thresholds: Thresholds = field(default_factory=Thresholds)
    prehire_days: int = 14
    sheet: str | None = None
    default_domain: str | None = None
    #: Disable users missing from a full export even while a row has no usable key
    #: (otherwise those disables are held; ``Policy.allow_absent_disables``).
    allow_absent_disables: bool = False
    #: Read the tenant from the state folder's snapshot and Graph's delta since
    #: (``connector.run.snapshot``); None: list every user each run.
    delta: DeltaReads | None = None
    #: The state folder: where the group ledger (``groups.json``, the members the
    #: connector added) lives. ``run_sync`` uses its runs folder's parent when unset; a
    #: plan made without one knows of no member the connector added.
    state: Path | None = None


def tenant_directory(
    users: Iterable[Mapping[str, Any]], default_domain: str | None
) -> StubDirectory:
    """What SelectUniqueValue and DefaultDomain ask of the tenant, answered from the users
    read at the start of the run (their UPNs and mail addresses are taken) plus the values
    this run hands out. The default domain is the one configured, else the domain most
    users' UPNs use (custom domains before *.onmicrosoft.com)."""
    taken: set[str] = set()
    domains: Counter[str] = Counter()
    for user in users:
        for name in ("userPrincipalName", "mail"):
            value = user.get(name)
            if isinstance(value, str) and value:
                taken.add(value)
        upn = user.get("userPrincipalName")
        if isinstance(upn, str) and "@" in upn:
            domains[upn.rsplit("@", 1)[1].lower()] += 1
    custom = [d for d, _ in domains.most_common() if not d.endswith(".onmicrosoft.com")]
    domain = default_domain or (custom[0] if custom else
                                next(iter(domains), "contoso.onmicrosoft.com"))
    return StubDirectory(domain=domain, taken=taken)


def owned_properties(mapping: CompiledMapping) -> list[str]:
    """The top-level Graph properties the mapping writes or its managed set reads (what
    the tenant read selects)."""
    names = set(mapping.rules) | {c.attribute for f in mapping.managed for c in f.clauses}
    return sorted({name.partition(".")[0] for name in names})


def managed_by(
    mapping: CompiledMapping, today: dt.date
) -> Callable[[Mapping[str, Any]], bool] | None:
    """The mapping's ``managed:`` filters as a test on a Graph user (None: the default)."""
    if not mapping.managed:
        return None
    filters = mapping.managed

    def manages(user: Mapping[str, Any]) -> bool:
        return any_holds(filters, GraphValues(user), today)

    return manages


def plan_sync(
    source: Source, mapping: CompiledMapping, graph: GraphClient, *,
    options: SyncOptions, now: dt.datetime, timings: dict[str, float] | None = None,
    progress: Progress | None = None,
) -> tuple[Plan, list[Problem]]:
    """Everything up to the plan: no write happens here (this is the dry run)."""
    if mapping.target != "graph":
        raise ConfigError(f"{mapping.file} is a SCIM mapping (target: scim): it posts to an "
                          "API-driven provisioning job (sync --bulk-upload-url, or target: "
                          "in a configuration), not to Graph /users")
    clock = time.perf_counter
    timings = {} if timings is None else timings
    progress = progress or NoProgress()
    progress.stage("reading the tenant's users")
    started = clock()
    current, save_snapshot = read_tenant(graph, owned_properties(mapping), options.delta,
                                         dry_run=options.dry_run)
    timings["tenant"] = clock() - started
    progress.stage("reading, checking and mapping the source")
    started = clock()
    directory = tenant_directory(current, options.default_domain)
    prepared = prepare(source, mapping, now=now, directory=directory, sheet=options.sheet,
                       create_rules=False, check_managers=False)
    matches, problems = match_users(prepared.mapped, current, mapping.matching)
    with paused_gc():  # as records are mapped (connector.run.prepare)
        for mapped in prepared.mapped:
            if (mapped.status == "mapped" and not mapped.leaver and mapped.row not in matches
                    and mapped.row not in problems):
                mapping.finish_create(None, mapped, prepared.context)
            mapped.inputs = None  # a matched record never runs its create-only rules
    memberships = (mapping.groups.memberships_of(prepared.mapped)
                   if mapping.groups is not None else {})
    save_snapshot()  # the source was read: a run stopped by bad input (exit 2) wrote none
    timings["source"] = clock() - started
    progress.stage("planning")
    started = clock()
    policy = Policy(matching=mapping.matching, full_export=not mapping.partial,
                    prehire_days=options.prehire_days,
                    delete_after_days=mapping.delete_after_days,
                    managed=managed_by(mapping, now.date()),
                    allow_absent_disables=options.allow_absent_disables)
    with paused_gc():  # a plan makes many small objects and no cycle
        plan = build_plan(prepared.mapped, current, matches, policy=policy, now=now,
                          match_problems=problems)
    timings["plan"] = clock() - started
    if mapping.groups is not None:
        progress.stage("reading the tenant's groups and planning their members")
        started = clock()
        plan_run_groups(plan, mapping.groups, memberships, prepared.mapped, current, graph,
                        policy=policy, state=options.state, today=now.date())
        timings["groups"] = clock() - started
    return plan, prepared.validation.warnings


def planned_result(
    plan: Plan, *, options: SyncOptions, run_id: str, source: str, mapping: str, tenant: str,
    started: dt.datetime, warnings: Sequence[Problem] = (),
) -> SyncResult:
    """A run's result before anything is applied: the plan and, when a safety threshold
    trips, why it must not be applied (what a dry run reports)."""
    result = SyncResult(run_id=run_id, dry_run=options.dry_run, source=source,
                        mapping=mapping, tenant=tenant, started=started, plan=plan,
                        source_warnings=list(warnings))
    result.stopped = check_safety(plan, options.thresholds)
    return result


def finish_run(
    plan: Plan, graph: GraphClient, *, trail: RunTrail, options: SyncOptions, matching: str,
    warnings: Sequence[Problem] = (), timings: dict[str, float] | None = None,
    progress: Progress | None = None,
) -> SyncResult:
    """Turn a plan into a finished run: check the safety thresholds, apply it unless it is a
    dry run or a threshold tripped, log every write to ``trail`` as its result arrives
    (a dry or stopped run logs none: its report lists the planned changes), and save the
    report (which replaces the run's marker). ``plan`` may come from
    ``plan_sync`` just now or from a review made earlier.

    A ``ConnectorError`` that cuts the apply short (no token any more, say) is re-raised
    as ``RunInterrupted`` (exit 1: some writes were made) and the trail records the run
    as interrupted."""
    timings = {} if timings is None else timings
    progress = progress or NoProgress()
    meta = trail.meta
    result = planned_result(plan, options=options, run_id=trail.run_id,
                            source=meta["source"], mapping=meta["mapping"],
                            tenant=meta["tenant"], started=trail.started, warnings=warnings)
    result.timings, result.follows = timings, list(trail.follows)
    # A dry or stopped run writes nothing to the tenant, so its provisioning log gets no
    # line: its report lists every planned change, and `runs show` prints them from it.
    if not (options.dry_run or result.stopped) and plan.writes:
        applying = time.perf_counter()
        progress.stage("applying", total=len(plan.writes))

        def done(_: int, change: Change, outcome: WriteOutcome) -> None:
            trail.write(change, outcome)
            progress.advance()

        try:
            result.outcomes = apply_plan(plan, graph, matching=matching, on_outcome=done,
                                         on_phase=trail.sync)
        except ConnectorError as exc:
            raise RunInterrupted(
                f"the run stopped after {trail.lines} of {len(plan.writes)} writes: "
                f"{exc.detailed()}. Run it again to complete it (see hr-connector runs show "
                f"{trail.run_id})") from exc
        timings["apply"] = time.perf_counter() - applying
    if not options.dry_run and not result.stopped and plan.group_info is not None:
        result.group_outcomes = _apply_groups(plan, graph, trail=trail, options=options,
                                              timings=timings, progress=progress)
    result.finished = clock.now()
    with paused_gc():  # a report's items make many small dicts and no cycle
        trail.finish(sync_report(result))
    return result


def _apply_groups(plan: Plan, graph: GraphClient, *, trail: RunTrail, options: SyncOptions,
                  timings: dict[str, float], progress: Progress) -> dict[int, WriteOutcome]:
    """The group phase of ``finish_run``, after the user writes (see ``run.group_apply``);
    also records the ledger when only it changed (a group found empty)."""
    writes = sum(1 for c in plan.groups if c.action in GROUP_WRITES)
    applying = time.perf_counter()
    if writes:
        progress.stage("applying group changes", total=writes)

    def done(_: int, change: GroupChange, outcome: WriteOutcome) -> None:
        trail.write_group(change, outcome)
        progress.advance()

    try:
        outcomes = apply_groups(plan, graph, state=options.state, on_outcome=done,
                                on_phase=trail.sync)
    except ConnectorError as exc:
        raise RunInterrupted(
            f"the run stopped while writing group changes, after {trail.lines} writes: "
            f"{exc.detailed()}. Run it again to complete it (see hr-connector runs show "
            f"{trail.run_id})") from exc
    if writes:
        timings["apply_groups"] = time.perf_counter() - applying
    return outcomes


def start_trail(runs_folder: Path, *, run_id: str, started: dt.datetime, dry_run: bool,
                source: str, mapping: str, tenant: str) -> RunTrail:
    """A run's trail (marker and provisioning log), to use as ``with start_trail(...)``."""
    return RunTrail(runs_folder, run_id, started=started, dry_run=dry_run, source=source,
                    mapping=mapping, tenant=tenant)


def run_sync(
    source: Source, mapping: CompiledMapping, graph: GraphClient, *,
    options: SyncOptions, tenant: str, runs_folder: Path,
    now: dt.datetime | None = None, run_id: str | None = None,
    progress: Progress | None = None,
) -> SyncResult:
    """One whole run, logged under ``runs_folder``: its marker is written first, then it
    plans and finishes (``finish_run``); nothing is written on a dry run or when a safety
    threshold trips."""
    started = now or clock.now()
    run_id = run_id or new_run_id(started)
    timings: dict[str, float] = {}
    if options.state is None:
        options = dataclasses.replace(options, state=runs_folder.parent)
    with start_trail(runs_folder, run_id=run_id, started=started, dry_run=options.dry_run,
                     source=source_name(source), mapping=mapping.file,
                     tenant=tenant) as trail:
        plan, warnings = plan_sync(source, mapping, graph, options=options, now=started,
                                   timings=timings, progress=progress)
        return finish_run(plan, graph, trail=trail, options=options,
                          matching=mapping.matching[0], warnings=warnings, timings=timings,
                          progress=progress)

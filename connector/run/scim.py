"""A SCIM run: the HR source posted to an API-driven provisioning job (``bulkUpload``),
for Entra ID or, through the provisioning agent, on-premises AD.

``run_scim_sync`` calls the stages in order, holding no rules of its own:

1. the run's marker (``connector.run.trail``), then the job's status: a job that is not
   running (paused, in quarantine, never started) stops a real run with exit 2 and the
   reason (a dry run says so and goes on); then the job's schema: every custom-extension
   attribute the mapping sends must be in it (exit 2 otherwise, dry run included);
2. read, check and map the source; plan against the run state (``scim.db``: what was
   accepted before, by externalId) with ``connector.scim`` (pure); check every payload
   against SCIM; the safety thresholds; ``--payloads DIR`` gets every request as it
   would be posted;
3. post the sends in batches of 50, managers first, paced to 40 requests per 5 s, every
   attempt counted against the job's 24-hour budget before it is sent: when the budget
   is spent the run stops between two requests (exit 1, the rest unsent and sent by the
   next run); each batch's hashes are committed and its lines logged as its 202 arrives;
4. wait for Entra's outcome of each record in the provisioning logs
   (:mod:`connector.run.scim_results`) for at most ``--wait``; what is still unknown is
   ``pending`` (``runs show RUN --refresh`` reads it later). Failures are reported with
   Entra's error code and exit 1; the next run sends them again.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connector.core import clock
from connector.core.results import SyncResult, WriteOutcome
from connector.errors import ConfigError, ConnectorError, EvaluationError, Problem
from connector.graph import GraphClient
from connector.graph.provisioning import BulkUploadTarget, JobStatus, ProvisioningClient
from connector.mapping import CompiledMapping
from connector.mapping.engine import paused_gc
from connector.mapping.expr import StubDirectory
from connector.report.sync import sync_report
from connector.run.history import new_run_id
from connector.run.outputs import check_folder
from connector.run.prepare import Source, prepare, source_name
from connector.run.scim_results import Waiter, provisioning_section, recover
from connector.run.scim_state import DAILY_BUDGET, DAY, ScimState, state_file
from connector.run.sync import NoProgress, Progress, SyncOptions, planned_result, start_trail
from connector.run.trail import RunTrail
from connector.scim import (
    Provisioned,
    ScimPlan,
    ScimPolicy,
    Send,
    Sent,
    batches,
    build_scim_plan,
    bulk_request,
    check_user,
    in_manager_order,
)


class JobNotRunning(ConnectorError):
    """The provisioning job is paused, in quarantine or not started: nothing is posted
    (exit 2), since Entra would not process it (E3: "nothing in the logs")."""


@dataclass(frozen=True)
class ScimOptions:
    """Where and how a SCIM run posts (the sync command's SCIM options)."""

    bulk_upload_url: str
    #: Send every record, changed or not (``--full``).
    full: bool = False
    #: Seconds to wait for Entra's outcomes in the provisioning logs (``--wait``).
    wait: float = 1200.0
    #: Where a run writes every request it posts, or would post (``--payloads DIR``).
    payloads: Path | None = None
    daily_budget: int = DAILY_BUDGET
    #: How the sync command names the URL in messages (a configuration: its key).
    url_name: str = "--bulk-upload-url"
    #: Whether the tenant is the local sandbox (``runs show --refresh`` reopens it).
    sandbox: bool = False
    #: Seconds between two polls of the logs: the first few, then the last one repeated.
    polls: tuple[float, ...] = field(default=(2.0, 4.0, 8.0, 15.0, 30.0))


class ScimDirectory(StubDirectory):
    """SelectUniqueValue among the export's own records (a SCIM run reads no users); and
    DefaultDomain() only when ``--default-domain`` gives it."""

    def __init__(self, domain: str | None) -> None:
        super().__init__(domain or "")
        self.given = domain

    def default_domain(self) -> str:
        """The domain given, or an error: a SCIM run does not read the tenant's domains."""
        if not self.given:
            raise EvaluationError("DefaultDomain() needs --default-domain (policies."
                                  "default_domain) in a SCIM run, which does not read the "
                                  "tenant")
        return self.given


def plan_scim(source: Source, mapping: CompiledMapping, state: dict[str, Sent], *,
              options: SyncOptions, scim: ScimOptions, now: dt.datetime,
              timings: dict[str, float] | None = None) -> tuple[ScimPlan, list[Problem]]:
    """Everything up to the SCIM plan: nothing is posted here (this is the dry run)."""
    timings = {} if timings is None else timings
    started = time.perf_counter()
    prepared = prepare(source, mapping, now=now, directory=ScimDirectory(options.default_domain),
                       sheet=options.sheet, check_managers=False)
    timings["source"] = time.perf_counter() - started
    started = time.perf_counter()
    policy = ScimPolicy(full_export=not mapping.partial, send_all=scim.full,
                        allow_absent_disables=options.allow_absent_disables,
                        extensions=mapping.scim_extensions)
    with paused_gc():  # many small objects, no cycles (as when mapping)
        plan = build_scim_plan(prepared.mapped, state, policy=policy)
        _check_payloads(plan)
    timings["plan"] = time.perf_counter() - started
    return plan, list(prepared.validation.warnings)


def _check_payloads(plan: ScimPlan) -> None:
    """A payload SCIM would refuse is not sent: its change becomes an error (a bug in a
    rule's output, never a request the service answers with 400 for 49 others)."""
    for send in list(plan.sends):
        problems = check_user(send.data)
        if not problems:
            continue
        change = plan.plan.changes[send.index]
        change.action, change.body = "error", {}
        change.reason = "the payload is not valid SCIM: " + "; ".join(problems)
        change.errors = [Problem(change.reason, row=change.row, key=change.key or None)]
        plan.sends.remove(send)


def custom_attributes(mapping: CompiledMapping) -> list[str]:
    """The custom-extension attributes a mapping sends (what the job's schema must hold)."""
    return [name for name in mapping.rules
            if any(name.startswith(urn + ":") for urn in mapping.scim_extensions)]


def check_job(client: ProvisioningClient, mapping: CompiledMapping, *, dry_run: bool
              ) -> tuple[JobStatus, list[Problem]]:
    """The job's status and schema, before anything is read or posted (see the module)."""
    status = client.job_status()
    warnings: list[Problem] = []
    if not status.running:
        why = f"the provisioning job {client.target.job_id} is {status.code}" + (
            f" ({status.reason})" if status.reason else "")
        if not dry_run:
            raise JobNotRunning(f"{why}: nothing was posted. Start (or restart) provisioning "
                                "for the app in the Entra admin center, then run again")
        warnings.append(Problem(f"{why}: a real run would stop here", severity="warning"))
    schema = client.schema()
    custom = custom_attributes(mapping)
    missing = [name for name in custom if name not in schema.attributes]
    if missing:
        raise ConfigError(
            f"{mapping.file}: the job's schema has no attribute {', '.join(missing)}; Entra "
            "would drop these values. Add them to the app (Provisioning > Mappings > Show "
            "advanced options > Edit attribute list for API), or remove the rules")
    warnings += [Problem(f"{name} is in the job's schema but no attribute mapping of the job "
                         "reads it: Entra keeps it nowhere", severity="warning")
                 for name in custom if schema.mapped and name not in schema.mapped]
    return status, warnings


def write_payloads(folder: Path, requests: list[dict[str, Any]]) -> None:
    """Every request as posted (or as a dry run would post it), ``bulk-0001.json`` on, in
    sending order; earlier ``bulk-*.json`` files there are replaced."""
    try:
        for old in folder.glob("bulk-*.json"):
            old.unlink()
        for number, body in enumerate(requests, 1):
            (folder / f"bulk-{number:04d}.json").write_text(
                json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the payloads to {folder}: {exc.strerror}") from None


def run_scim_sync(
    source: Source, mapping: CompiledMapping, graph: GraphClient, *, options: SyncOptions,
    scim: ScimOptions, tenant: str, state_folder: Path, now: dt.datetime | None = None,
    run_id: str | None = None, progress: Progress | None = None,
) -> SyncResult:
    """One whole SCIM run, logged under ``state_folder/runs`` (see the module)."""
    if mapping.target != "scim":
        raise ConfigError(f"{mapping.file} is a Graph mapping (target: graph); "
                          f"{scim.url_name} needs a mapping with target: scim")
    target = BulkUploadTarget.parse(scim.bulk_upload_url, graph_base=graph.graph_base,
                                    name=scim.url_name)
    if scim.payloads is not None:
        check_folder(scim.payloads, "payloads folder")
    progress = progress or NoProgress()
    client = ProvisioningClient(graph, target)
    started = now or clock.now()
    run_id = run_id or new_run_id(started)
    timings: dict[str, float] = {}
    with start_trail(state_folder / "runs", run_id=run_id, started=started,
                     dry_run=options.dry_run, source=source_name(source), mapping=mapping.file,
                     tenant=tenant) as trail, \
            ScimState(state_file(state_folder), target.job_id) as state:
        progress.stage("reading the provisioning job")
        status, job_warnings = check_job(client, mapping, dry_run=options.dry_run)
        if not options.dry_run:
            job_warnings += recover(client, state)
        progress.stage("reading, checking and mapping the source")
        plan, warnings = plan_scim(source, mapping, state.load(), options=options, scim=scim,
                                   now=started, timings=timings)
        plan.plan.warnings[:0] = job_warnings
        result = planned_result(plan.plan, options=options, run_id=run_id,
                                source=trail.meta["source"], mapping=mapping.file,
                                tenant=tenant, started=started, warnings=warnings)
        result.timings, result.follows = timings, list(trail.follows)
        ordered = in_manager_order(plan.sends)
        requests = [bulk_request([s.data for s in batch]) for batch in batches(ordered)]
        if scim.payloads is not None:
            write_payloads(scim.payloads, requests)
        section = provisioning_section(target, scim, status, state, len(requests))
        result.provisioning = section
        # A dry or stopped run posts nothing, so its log gets no line: its report lists
        # the plan (as a Graph run's does; `runs show` prints it from there).
        if not (options.dry_run or result.stopped) and plan.sends:
            _post(client, plan, ordered, state, trail, result, scim, progress)
        result.finished = clock.now()
        with paused_gc():  # a report's items make many small dicts and no cycle
            trail.finish(sync_report(result))
        return result


def _post(client: ProvisioningClient, plan: ScimPlan, ordered: list[Send], state: ScimState,
          trail: RunTrail, result: SyncResult, scim: ScimOptions, progress: Progress) -> None:
    """Post, then wait for the outcomes (see the module, steps 3 and 4)."""
    section = result.provisioning
    assert section is not None
    changes = plan.plan.changes
    progress.stage("posting to the provisioning job", total=len(ordered))
    posting = time.perf_counter()
    waiter = Waiter(client, state, trail, result, scim)

    def budget() -> bool:
        moment = clock.now().timestamp()
        if state.requests_since(moment - DAY) >= scim.daily_budget:
            return False
        state.count_request(moment)
        section["requests"] += 1
        return True

    unsent: tuple[str, str] | None = None
    accepted_any = False
    for batch in batches(ordered):
        if unsent is not None:
            _not_sent(batch, changes, result, trail, *unsent)
            continue
        try:
            uploaded = client.upload(bulk_request([s.data for s in batch]), before_send=budget)
        except ConnectorError as exc:  # no token any more, say
            if not accepted_any:
                raise
            unsent = ("NotSent", f"not sent: the run stopped ({exc.message})")
            _not_sent(batch, changes, result, trail, *unsent)
            continue
        section["throttled"] += uploaded.throttled
        if uploaded.accepted:
            accepted_any = True
            sent_at = waiter.uploaded(uploaded.date)
            state.accepted(((s.external_id, Sent(s.key, s.hash, s.attributes, s.active))
                            for s in batch), trail.run_id, sent_at)
            for send in batch:
                pending = Provisioned(send.external_id, sent_at=sent_at)
                outcome = WriteOutcome(ok=True, status=uploaded.status,
                                       request_id=uploaded.request_id, entra=pending.as_dict())
                result.outcomes[send.index] = outcome
                trail.write(changes[send.index], outcome)
                waiter.expect(send, sent_at)
            section["accepted"] += 1
            progress.advance(len(batch))
            continue
        if uploaded.error is None:  # the daily budget said no
            unsent = ("DailyBudgetSpent",
                      f"not sent: the job's budget of {scim.daily_budget} requests per 24 "
                      "hours is spent; the next run sends it")
            _not_sent(batch, changes, result, trail, *unsent)
            continue
        error = uploaded.error
        if not accepted_any and error.status not in (429, None) and error.status < 500:
            raise error  # refused before anything was posted: exit 2, nothing written
        _not_sent(batch, changes, result, trail, error.code or f"HTTP {error.status}",
                  error.message, status=error.status, request_id=error.request_id)
        unsent = ("NotSent", f"not sent: an earlier request failed ({error.message})")
    trail.sync()
    result.timings["post"] = time.perf_counter() - posting
    if waiter.pending:
        progress.stage("waiting for Entra's provisioning logs")
        waiter.wait()
    section.update(waiter.summary())


def _not_sent(batch: list[Send], changes: list[Any], result: SyncResult, trail: RunTrail,
              code: str, reason: str, *, status: int | None = None,
              request_id: str | None = None) -> None:
    for send in batch:
        outcome = WriteOutcome(ok=False, code=code, error=reason, status=status,
                               request_id=request_id)
        result.outcomes[send.index] = outcome
        trail.write(changes[send.index], outcome)


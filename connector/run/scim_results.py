"""Entra's outcome of each record a SCIM run posted, read from the provisioning logs.

:class:`Waiter` polls ``/auditLogs/provisioning`` for the job, since just before the first
accepted request (by the server's own clock, its ``Date``), following every page, and
matches entries to records by ``sourceIdentity.id`` = externalId, until every record has
its outcome or ``--wait`` is over (a poll after 2, 4, 8, 15 s, then every 30 s: Entra's
logs lag 5-10 minutes, §2). Each outcome, as it arrives, goes into the run's result (the
report shows Entra's action, status, error code and reason, and its modified properties,
old -> new), the provisioning log and the run state (a failure or a warning makes the
next run send the record again). :func:`refresh_run` does the same later for the records
a run left ``pending`` (``hr-connector runs show RUN --refresh``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connector.core import clock
from connector.core.plan import Change
from connector.core.results import SyncResult, WriteOutcome
from connector.errors import ConfigError, ConnectorError, Problem
from connector.graph import GraphClient
from connector.graph.provisioning import BulkUploadTarget, JobStatus, ProvisioningClient
from connector.report.validation import problem_dict
from connector.run.history import load_run
from connector.run.scim_state import DAY, ScimState, state_file
from connector.run.trail import iso, write_atomically
from connector.scim import STATUSES, Provisioned, Send, outcomes
from connector.scim.results import moment_of

if TYPE_CHECKING:
    from connector.run.scim import ScimOptions
    from connector.run.trail import RunTrail

#: How far before the first accepted request the logs are read (clock differences).
MARGIN_S = 60.0


def provisioning_section(target: BulkUploadTarget, scim: ScimOptions, status: JobStatus,
                         state: ScimState, planned: int) -> dict[str, Any]:
    """The JSON report's ``provisioning`` section, before anything is posted."""
    moment = clock.now().timestamp()
    return {"bulkUploadUrl": target.url, "servicePrincipalId": target.service_principal,
            "jobId": target.job_id, "sandbox": scim.sandbox, "jobStatus": status.code,
            "jobReason": status.reason, "requestsPlanned": planned, "requests": 0,
            "accepted": 0, "throttled": 0,
            "budget": {"limit": scim.daily_budget,
                       "usedBefore": state.requests_since(moment - DAY)},
            "payloads": str(scim.payloads) if scim.payloads is not None else None,
            "wait": scim.wait, "waited": 0.0, "since": None,
            "outcomes": dict.fromkeys(STATUSES, 0)}


def outcome_line(provisioned: Provisioned, key: str) -> dict[str, Any]:
    """A provisioning-log line for one outcome: names and codes, no values."""
    return {"action": "entra", "employee_id": key, "external_id": provisioned.external_id,
            "outcome": f"entra-{provisioned.status}", "entra_action": provisioned.action,
            "object_id": provisioned.user_id, "attributes": sorted(provisioned.modified),
            "error_code": provisioned.code, "error": provisioned.reason,
            "log_ids": provisioned.entries}


def record_outcome(state: ScimState, provisioned: Provisioned) -> None:
    """What the run state learns: success and skipped confirm the externalId; a failure
    or a warning (its code) make the next run send the record again."""
    if provisioned.status in ("success", "skipped"):
        state.outcome(provisioned.external_id, failed=None, confirmed=True)
    elif provisioned.status == "warning":
        state.outcome(provisioned.external_id, failed=provisioned.code or "warning",
                      confirmed=True)
    elif provisioned.status == "failure":
        state.outcome(provisioned.external_id, failed=provisioned.code or "failure")


def write_outcome(outcome: WriteOutcome, provisioned: Provisioned) -> None:
    """Entra's outcome into a write's outcome (a failure is a failed write)."""
    outcome.entra = provisioned.as_dict()
    outcome.ok = not provisioned.failed
    if provisioned.code or provisioned.failed or provisioned.status == "warning":
        outcome.code = provisioned.code
        outcome.error = provisioned.reason
    outcome.user_id = provisioned.user_id or outcome.user_id


class Waiter:
    """Waits for the outcomes of one run's accepted records (see the module)."""

    def __init__(self, client: ProvisioningClient, state: ScimState, trail: RunTrail,
                 result: SyncResult, scim: ScimOptions) -> None:
        self.client, self.state, self.trail, self.result = client, state, trail, result
        self.scim = scim
        self.pending: dict[str, Send] = {}
        self.known: dict[str, Provisioned] = {}
        self.sent_at: dict[str, str] = {}
        self.since: float | None = None
        self.waited = 0.0
        self.warnings: list[Problem] = []

    def uploaded(self, server_date: float | None) -> str:
        """A request was accepted (``server_date``: its answer's ``Date``); returns when,
        by the server's clock: its records' log entries are not older."""
        moment = server_date if server_date is not None else clock.system_time() - MARGIN_S
        if self.since is None:
            self.since = moment - MARGIN_S
        return _iso(moment)

    def expect(self, send: Send, sent_at: str) -> None:
        """Wait for this record's outcome (entries from ``sent_at`` on)."""
        self.pending[send.external_id] = send
        self.sent_at[send.external_id] = sent_at

    def wait(self) -> None:
        """Poll until nothing is pending or ``--wait`` is over."""
        graph = self.client.graph
        start = graph.clock()
        polls = list(self.scim.polls)
        while self.pending:
            left = self.scim.wait - (graph.clock() - start)
            if left <= 0:
                break
            graph.sleep(min(polls[0] if len(polls) == 1 else polls.pop(0), left))
            self.waited = graph.clock() - start
            try:
                self.poll()
            except ConnectorError as exc:
                self.warnings.append(Problem(
                    f"the provisioning logs could not be read ({exc.message}); the records "
                    "still pending are read by runs show RUN --refresh (AuditLog.Read.All)",
                    severity="warning"))
                break
        self.result.plan.warnings.extend(self.warnings)

    def poll(self) -> None:
        """Read the logs once and take every outcome found."""
        assert self.since is not None
        waiting = {external: self.sent_at[external] for external in self.pending}
        found = outcomes(self.client.logs(_iso(self.since)), waiting, self.known)
        for external, provisioned in found.items():
            self.known[external] = provisioned
            if provisioned.status == "pending":
                continue
            send = self.pending.pop(external)
            provisioned.sent_at = self.sent_at[external]
            outcome = self.result.outcomes[send.index]
            write_outcome(outcome, provisioned)
            change = self.result.plan.changes[send.index]
            _entra_attributes(change, provisioned)
            record_outcome(self.state, provisioned)
            self.trail.note(outcome_line(provisioned, send.key))

    def summary(self) -> dict[str, Any]:
        """What the ``provisioning`` section adds once the wait is over."""
        counts = Counter(o.entra["status"] for o in self.result.outcomes.values()
                         if o.entra is not None)
        return {"waited": round(self.waited, 1),
                "since": _iso(self.since) if self.since is not None else None,
                "outcomes": {s: counts.get(s, 0) for s in STATUSES}}


def _entra_attributes(change: Change, provisioned: Provisioned) -> None:
    """Once Entra has said what it changed, that is what the reports show, old -> new."""
    if provisioned.modified:
        change.attributes = dict(provisioned.modified)
    if provisioned.user_id:
        change.user_id = provisioned.user_id


def _iso(epoch: float) -> str:
    return iso(dt.datetime.fromtimestamp(epoch, dt.UTC))


def recover(client: ProvisioningClient, state: ScimState) -> list[Problem]:
    """Complete what earlier runs left open: read Entra's outcomes of the records they
    sent without hearing back (a run killed while waiting, or one whose ``--wait`` ran
    out). A record the logs still do not know is sent again by this run (``OutcomeUnknown``:
    posting it twice is harmless, the job matches it to the same user), so nothing stays
    unchecked. Returns what to tell the reports."""
    unknown = state.unknown()
    if not unknown:
        return []
    moments = [m for m in (moment_of(sent_at) for sent_at, _ in unknown.values())
               if m is not None]
    since = (min(moments).timestamp() if moments else clock.system_time() - DAY) - MARGIN_S
    note = ""
    try:
        found = outcomes(client.logs(_iso(since)),
                         {ext: sent_at for ext, (sent_at, _) in unknown.items()})
    except ConnectorError as exc:
        found, note = {}, f"; the logs could not be read ({exc.message})"
    read = 0
    for external in unknown:
        provisioned = found.get(external)
        if provisioned is not None and provisioned.status != "pending":
            record_outcome(state, provisioned)
            read += 1
        else:
            state.outcome(external, failed="OutcomeUnknown")
    runs = sorted({run for _, run in unknown.values() if run})
    return [Problem(f"{len(unknown)} record(s) sent by run {', '.join(runs)} had no outcome "
                    f"from Entra yet: {read} read from the provisioning logs now, "
                    f"{len(unknown) - read} sent again{note}", severity="warning")]


# --- later: runs show RUN --refresh --------------------------------------------------------

def refresh_run(state_folder: Path, run_id: str, graph: GraphClient) -> dict[str, Any]:
    """Read Entra's outcomes for the records a SCIM run left pending, and update its
    report, provisioning log and the run state; returns the updated report."""
    report, _ = load_run(state_folder / "runs", run_id)
    section = report.get("provisioning")
    if not isinstance(section, dict):
        raise ConfigError(f"run {report.get('run_id')} did not post to a provisioning job: "
                          "--refresh is for SCIM runs")
    items = {str(item["outcome"]["entra"]["externalId"]): item
             for item in report.get("changes", [])
             if isinstance(item.get("outcome"), dict)
             and isinstance(item["outcome"].get("entra"), dict)
             and item["outcome"]["entra"].get("status") == "pending"}
    waiting = {external: item["outcome"]["entra"].get("sentAt")
               for external, item in items.items()}
    if not waiting or not section.get("since"):
        return report
    target = BulkUploadTarget.parse(str(section["bulkUploadUrl"]), graph_base=graph.graph_base,
                                    name=f"the bulkUploadUrl of run {report['run_id']}")
    client = ProvisioningClient(graph, target)
    found = outcomes(client.logs(str(section["since"])), waiting)
    lines = []
    with ScimState(state_file(state_folder), target.job_id) as state:
        for external, provisioned in found.items():
            if provisioned.status == "pending":
                continue
            item = items[external]
            provisioned.sent_at = waiting[external]
            _update_item(item, provisioned)
            record_outcome(state, provisioned)
            lines.append({"time": iso(clock.now()), "run_id": report["run_id"],
                          **outcome_line(provisioned, str(item.get("employeeId") or ""))})
    if lines:
        _recount(report)
        _append(state_folder / "runs" / f"{report['run_id']}.jsonl", lines)
        write_atomically(state_folder / "runs" / f"{report['run_id']}.json",
                         json.dumps(report, indent=2, ensure_ascii=False))
    return report


def _update_item(item: dict[str, Any], provisioned: Provisioned) -> None:
    outcome = item["outcome"]
    outcome["entra"] = provisioned.as_dict()
    outcome["ok"] = not provisioned.failed
    if provisioned.code or provisioned.failed or provisioned.status == "warning":
        outcome["code"], outcome["error"] = provisioned.code, provisioned.reason
    if provisioned.modified:
        item["attributes"] = {k: {"old": o, "new": n} for k, (o, n) in
                              provisioned.modified.items()}
    item["userId"] = provisioned.user_id or item.get("userId")
    item["refreshed"] = iso(clock.now())


def _recount(report: dict[str, Any]) -> None:
    """Counts, failed writes and status after outcomes changed."""
    items = [i for i in report.get("changes", []) if isinstance(i.get("outcome"), dict)]
    failed = [i for i in items if not i["outcome"]["ok"]]
    summary = report.setdefault("summary", {})
    summary["written"] = len(items) - len(failed)
    summary["failed"] = len(failed)
    statuses = Counter(i["outcome"]["entra"]["status"] for i in items
                       if isinstance(i["outcome"].get("entra"), dict))
    report["provisioning"]["outcomes"] = {s: statuses.get(s, 0) for s in STATUSES}
    report["errors"] = [e for e in report.get("errors", []) if "action" not in e] + [
        {**problem_dict(Problem(f"{i['action']} failed: {i['outcome']['error'] or 'no reason'}",
                                row=i.get("row"), key=i.get("employeeId") or None)),
         **{k: v for k, v in (("action", i["action"]), ("code", i["outcome"]["code"]),
                              ("status", i["outcome"]["status"]),
                              ("requestId", i["outcome"]["requestId"])) if v is not None}}
        for i in failed]
    if report.get("status") not in ("dry-run", "stopped"):
        if failed and len(failed) == len(items):
            report["status"] = "failed"
        elif failed or summary.get("error") or summary.get("held"):
            report["status"] = "partial"
        else:
            report["status"] = "ok"


def _append(path: Path, lines: Iterable[Mapping[str, Any]]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())

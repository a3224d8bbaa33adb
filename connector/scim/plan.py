"""The SCIM plan: which records to post, which as ``active: false``, which are unchanged.
Pure, so a dry run is this and nothing more.

Entra decides create or update itself (it matches externalId to employeeId); the plan
names each send by what the run state says about its externalId, in the words every
report uses:

=========  ================================================================================
create     never sent (or sent and refused by Entra before it ever succeeded)
update     sent before; its payload changed (or ``--full``, or Entra refused it last time)
disable    sent active before, now ``active: false``: a leaver, a record gone out of scope,
           a record missing from a full export (these get the minimal payload, §7b), or
           the ``active`` rule turning false
enable     sent inactive before, now active: a rehire
unchanged  the payload is the one last accepted: not sent
skipped    out of scope or a leaver, and never sent (a leaver is never created)
error      the record could not be mapped, has no externalId, or shares one
held       what a flawed row holds back (``connector.core.plan.flawed``): a disable for
           absence while a row has no usable key, a user whose key is on a row with
           errors, a manager on such a row (the record is sent without it)
=========  ================================================================================

Each send's ``Change.body`` is the SCIM User to post. Reports show its attributes by SCIM
name, old -> new, where a value sent before shows as :data:`~.digest.PREVIOUS`. The safety
thresholds (``check_safety``) apply unchanged: disables, enables and overwritten values
count, creates and first values do not; ``Plan.managed`` is the number of externalIds
the state holds (the users this connector provisioned through the job).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.core.plan.flawed import Flawed, find_flawed, rows_text
from connector.core.plan.managers import manager_loops
from connector.core.plan.model import Change, Plan
from connector.core.records import MappedRecord
from connector.errors import Problem
from connector.scim.digest import (
    PREVIOUS,
    Sent,
    attribute_hashes,
    name_key,
    payload_hash,
    record_hash,
)
from connector.scim.payload import inactive_data, user_data


@dataclass(frozen=True)
class ScimPolicy:
    """How a SCIM run treats what it finds."""

    full_export: bool = True
    #: ``--full``: send every record, changed or not.
    send_all: bool = False
    allow_absent_disables: bool = False
    extensions: tuple[str, ...] = ()


@dataclass
class Send:
    """One payload to post: the change it belongs to and what the state keeps of it."""

    index: int
    external_id: str
    key: str
    data: dict[str, Any]
    hash: str
    attributes: dict[str, str]
    active: bool
    #: The externalId of the manager it names (to post managers first).
    manager: str | None = None


@dataclass
class ScimPlan:
    """The plan (every change, for reports and safety) and the payloads to post."""

    plan: Plan
    sends: list[Send] = field(default_factory=list)


def _values(record: MappedRecord) -> dict[str, Any]:
    return {**record.defaults, **record.attributes}


def _check_ids(records: Sequence[MappedRecord]) -> None:
    """Records whose externalId is empty or shared become errors (before flaws are
    found, so they hold back what they could cause like any row with errors)."""
    owners: dict[str, list[MappedRecord]] = {}
    for record in records:
        if record.status != "mapped":
            continue
        external = _values(record).get("externalId")
        if not isinstance(external, str) or not external.strip():
            record.errors = [*record.errors, Problem(
                "externalId: the rule gave no value (every record needs one)",
                row=record.row, key=record.key or None, column="externalId")]
            record.status = "error"
            continue
        owners.setdefault(external, []).append(record)
    for external, shared in owners.items():
        if len(shared) < 2:
            continue
        rows = rows_text([r.row for r in shared])
        for record in shared:
            record.errors = [*record.errors, Problem(
                f"externalId {external!r} is given by {rows}", row=record.row,
                key=record.key or None, column="externalId")]
            record.status = "error"


def build_scim_plan(records: Sequence[MappedRecord], state: Mapping[str, Sent], *,
                    policy: ScimPolicy) -> ScimPlan:
    """Plan every send; ``state`` is what was sent before, by externalId. The records
    given may be marked as errors (empty or shared externalIds), nothing else changes."""
    _check_ids(records)
    flawed = find_flawed(records, {})
    by_key = {sent.key: (external, sent) for external, sent in state.items()}
    result = ScimPlan(Plan(changes=[], managed=len(state), records=len(records)))
    plan = result.plan
    mapped = {r.key: r for r in records if r.status == "mapped" and r.key
              and r.row not in flawed.errors}
    ids = {key: str(_values(r)["externalId"]) for key, r in mapped.items()}
    in_loop = manager_loops(mapped.values(), plan, outcome="not sent")
    present: set[str] = set()
    for record in records:
        if record.key:
            present.add(record.key)
        if record.status == "error":
            errors = flawed.errors.get(record.row, record.errors)
            plan.changes.append(Change(action="error", key=record.key, row=record.row,
                                       errors=list(errors),
                                       reason="; ".join(p.reason for p in errors)))
            continue
        if record.status == "skipped":
            _skipped(result, record, by_key.get(record.key))
            continue
        external = ids[record.key] if record.key in ids else str(_values(record)["externalId"])
        present.add(external)
        manager = None if record.key in in_loop else _manager(plan, record, ids, flawed)
        _record(result, record, external, manager, state.get(external), policy)
    for external, sent in state.items():
        if external in present or sent.key in present:
            continue
        if sent.key in flawed.keys:
            plan.changes.append(Change(action="held", key=sent.key,
                                       reason=flawed.why_left_alone(sent.key)))
            continue
        if not policy.full_export or not sent.active:
            continue
        change = Change(action="disable", key=sent.key, reason="not in the HR export (a full "
                        "export)", attributes={"active": (True, False)})
        if flawed.keyless and not policy.allow_absent_disables:
            change.hold(flawed.why_no_absence())
            plan.changes.append(change)
            continue
        _send(result, change, external, sent.key, inactive_data(external), manager=None,
              before=sent)
    return result


def _manager(plan: Plan, record: MappedRecord, ids: Mapping[str, str],
             flawed: Flawed) -> str | None:
    wanted = record.manager_key
    if not wanted:
        return None
    if wanted == record.key:
        plan.warnings.append(Problem("is their own manager; the manager is not sent",
                                     severity="warning", row=record.row, key=record.key))
        return None
    if wanted in flawed.keys:
        held = Change(action="manager", key=record.key, row=record.row, manager_key=wanted,
                      attributes={"manager": (None, wanted)})
        held.hold(f"held: manager {wanted} is on {rows_text(flawed.keys[wanted])} with "
                  "errors; the record is sent without its manager until it is fixed")
        plan.changes.append(held)
        return None
    if wanted not in ids:
        plan.warnings.append(Problem(
            f"manager key {wanted!r} matches no record in scope; the manager is not sent",
            severity="warning", row=record.row, key=record.key))
        return None
    return ids[wanted]


def _skipped(result: ScimPlan, record: MappedRecord, known: tuple[str, Sent] | None) -> None:
    change = Change(action="skipped", key=record.key, row=record.row, reason=record.reason)
    if known is None or not known[1].active:
        result.plan.changes.append(change)
        return
    external, sent = known
    change.action = "disable"
    change.attributes = {"active": (True, False)}
    _send(result, change, external, record.key, inactive_data(external), manager=None,
          before=sent)


def _record(result: ScimPlan, record: MappedRecord, external: str, manager: str | None,
            before: Sent | None, policy: ScimPolicy) -> None:
    values = _values(record)
    change = Change(action="unchanged", key=record.key, row=record.row,
                    upn=values.get("userName") if isinstance(values.get("userName"), str)
                    else None)
    rule = values.get("active")
    active = (rule if isinstance(rule, bool) else True) and not record.leaver
    if "active" in record.empty:
        change.action, change.reason = "error", ("active: the rule gave no value; active is "
                                                 "always sent (leaving it out disables)")
        change.errors = [Problem(change.reason, row=record.row, key=record.key or None)]
        result.plan.changes.append(change)
        return
    if record.leaver and before is None:
        change.action, change.reason = "skipped", "leaver never sent: not created"
        result.plan.changes.append(change)
        return
    data = user_data(values, active=active, manager=manager, extensions=policy.extensions)
    flat: dict[str, Any] = {**{k: v for k, v in values.items() if k != "active"},
                            "externalId": data["externalId"], "active": active}
    if manager:
        flat["manager"] = manager
    hashes = attribute_hashes(flat)
    digest = record_hash(hashes)
    if (before is not None and before.hash == digest and not before.failed
            and not policy.send_all):
        result.plan.changes.append(change)
        return
    if before is None or (before.failed and not before.confirmed):
        change.action = "create"
    elif active != before.active:
        change.action = "enable" if active else "disable"
        change.reason = ("leaver" if record.leaver else "rehire: the same key is back"
                         if active else "active rule gives False")
    else:
        change.action = "update"
    if before is not None and before.failed:
        why = ("its outcome was never read (an interrupted run)"
               if before.failed == "OutcomeUnknown" else
               f"Entra reported {before.failed} last time")
        change.reason = (f"{change.reason}; " if change.reason else "") + f"{why}: sent again"
    elif before is not None and before.hash == digest:
        change.reason = "unchanged, sent again (--full)"
    _send(result, change, external, record.key, data, manager=manager, before=before,
          flat=flat, hashes=hashes, digest=digest)


def _send(result: ScimPlan, change: Change, external: str, key: str, data: dict[str, Any],
          *, manager: str | None, before: Sent | None, flat: Mapping[str, Any] | None = None,
          hashes: dict[str, str] | None = None, digest: str | None = None) -> None:
    """Record a payload to post: a whole record (``flat``: its values by flat SCIM name,
    with their ``hashes`` and ``digest``), or, without them, the minimal ``active: false``
    payload, which changes nothing else."""
    if flat is None or hashes is None:
        hashes = {**(before.attributes if before else {}), **attribute_hashes({"active": False})}
        change.attributes = {"active": (True, False)}
        digest = payload_hash(data)
    else:
        old = before.attributes if before is not None else {}
        change.attributes = {}
        for name, value in flat.items():
            short = name_key(name)
            digest_now = hashes.get(short)
            if digest_now is not None and old.get(short) != digest_now:
                change.attributes[name] = (PREVIOUS if short in old else None, value)
        if before is not None and "active" in change.attributes:
            change.attributes["active"] = (before.active, flat["active"])
    change.body = data
    result.plan.changes.append(change)
    result.sends.append(Send(len(result.plan.changes) - 1, external, key, data,
                             digest or record_hash(hashes), hashes, bool(data["active"]),
                             manager))


"""Apply: the only module that writes to the tenant.

Two phases, so a manager created in this run can be referenced: first every user write
(creates, updates, disables, enables, deletes) in JSON batches, then every manager change,
with the ids of the users just created filled in. A failed write is recorded and the run
goes on; an empty plan sends nothing. Each outcome is handed to ``on_outcome`` as Graph's
answer arrives (not when the phase ends), so the provisioning log of a run killed midway
holds every write it made. Retries, throttling, replication lag and "was that create
applied?" are the Graph client's job (``connector.graph``).
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Sequence

from connector.core.plan import Change, Plan
from connector.core.results import WriteOutcome
from connector.graph import GraphClient, Operation, OperationResult

OnOutcome = Callable[[int, Change, WriteOutcome], None]
OnPhase = Callable[[], None]

# Entra's complexity rules (graph.md §2.3): 8-256 characters from these classes, at least
# three classes; we use all four and a length well above the minimum.
_SYMBOLS = "@#$%^&*-_!+=[]{}|:',.?/~"
_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, _SYMBOLS)


def new_password(length: int = 20) -> str:
    """A random initial password that meets Entra's complexity rules.

    It goes into the create request and nowhere else: never printed, logged or reported
    (users reset it through the organisation's onboarding, with forceChangePassword).
    """
    chars = [secrets.choice(group) for group in _CLASSES]
    alphabet = "".join(_CLASSES)
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def _user_operation(change: Change, matching: str) -> Operation:
    if change.action == "create":
        body = {**change.body, "passwordProfile": {
            "password": new_password(), "forceChangePasswordNextSignIn": True}}
        value = change.body.get(matching)
        match = (matching, value) if isinstance(value, str) and value else None
        return Operation("create", body=body, match=match, ref=change.key)
    assert change.user_id is not None
    if change.action == "delete":
        return Operation("delete", change.user_id, ref=change.key)
    # disable/enable carry the other attribute differences in the same PATCH.
    return Operation("update", change.user_id, body=change.body, ref=change.key)


def _outcome(result: OperationResult) -> WriteOutcome:
    error = result.error
    return WriteOutcome(
        ok=result.ok, user_id=result.user_id,
        error=error.message if error else None, code=error.code if error else None,
        status=result.status, request_id=result.request_id or (error.request_id if error else None))


def apply_plan(
    plan: Plan, graph: GraphClient, *, matching: str, on_outcome: OnOutcome | None = None,
    on_phase: OnPhase | None = None,
) -> dict[int, WriteOutcome]:
    """Write every change of ``plan``; returns an outcome per written change (by index).
    ``on_outcome`` sees each one as it arrives, ``on_phase`` is called when the user writes
    and when the manager writes are done."""
    outcomes: dict[int, WriteOutcome] = {}
    user_writes = [(i, c) for i, c in enumerate(plan.changes)
                   if c.action in ("create", "update", "disable", "enable", "delete")]
    _run(graph, [(i, c, _user_operation(c, matching)) for i, c in user_writes], outcomes,
         on_outcome)
    if on_phase:
        on_phase()
    created = {c.key: outcomes[i].user_id for i, c in user_writes
               if c.action == "create" and outcomes[i].ok and outcomes[i].user_id}
    failed_creates = {c.key for i, c in user_writes if c.action == "create" and not outcomes[i].ok}
    manager_ops: list[tuple[int, Change, Operation]] = []
    for index, change in enumerate(plan.changes):
        if change.action != "manager":
            continue
        user_id = change.user_id or created.get(change.key)
        manager_id = change.manager_id or (created.get(change.manager_key)
                                           if change.manager_key else None)
        problem = None
        if user_id is None:
            problem = "the user was not created, so no manager can be set"
        elif change.manager_key and manager_id is None:
            problem = (f"manager {change.manager_key} was not created"
                       if change.manager_key in failed_creates else
                       f"manager {change.manager_key} has no account")
        if problem is not None:
            outcomes[index] = WriteOutcome(ok=False, error=problem, code="DependencyFailed")
            if on_outcome:
                on_outcome(index, change, outcomes[index])
            continue
        assert user_id is not None
        operation = (Operation("set_manager", user_id, manager_id=manager_id, ref=change.key)
                     if manager_id else Operation("clear_manager", user_id, ref=change.key))
        manager_ops.append((index, change, operation))
    _run(graph, manager_ops, outcomes, on_outcome)
    if on_phase:
        on_phase()
    return outcomes


def _run(
    graph: GraphClient, work: Sequence[tuple[int, Change, Operation]],
    outcomes: dict[int, WriteOutcome], on_outcome: OnOutcome | None,
) -> None:
    if not work:
        return
    by_operation = {id(op): (index, change) for index, change, op in work}

    def arrived(result: OperationResult) -> None:
        index, change = by_operation[id(result.operation)]
        outcomes[index] = _outcome(result)
        if change.action == "create" and result.ok:
            change.user_id = result.user_id
        if on_outcome:
            on_outcome(index, change, outcomes[index])

    graph.execute([op for _, _, op in work], on_result=arrived)

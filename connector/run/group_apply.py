"""Apply the group changes of a plan, after the user writes (so every member exists).

Phases, each one ``$batch`` run (``GroupsClient.execute``):

1. group creates and updates;
2. member adds, 20 to a ``members@odata.bind`` PATCH per group (so 1,000 new members of
   one group are 50 requests, 20 to a ``$batch``). Before they are sent, the ledger records
   them (write-ahead: a crash leaves the connector knowing every member it may have
   added). A PATCH refused as a whole (one member was already in, or is gone) is retried
   member by member, so one member does not cost the other 19;
3. member removals, one ``DELETE …/members/{id}/$ref`` each;
4. deletes of emptied groups.

Each change's outcome goes to ``on_outcome`` as Graph answers; a change whose group or
user could not be created gets ``DependencyFailed``. Unchanged membership sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from connector.core.plan.group_model import GroupChange, GroupLedger
from connector.core.plan.model import Plan
from connector.core.results import WriteOutcome
from connector.graph import (
    MAX_BIND,
    GraphClient,
    GroupOperation,
    GroupOperationResult,
    GroupsClient,
)
from connector.run.group_ledger import load_ledger, save_ledger

OnGroupOutcome = Callable[[int, GroupChange, WriteOutcome], None]
OnPhase = Callable[[], None]


def _outcome(result: GroupOperationResult) -> WriteOutcome:
    error = result.error
    return WriteOutcome(ok=result.ok, user_id=result.group_id,
                        error=error.message if error else None,
                        code=error.code if error else None, status=result.status,
                        request_id=result.request_id or (error.request_id if error else None))


class _Applier:
    def __init__(self, plan: Plan, graph: GraphClient, state: Path | None,
                 on_outcome: OnGroupOutcome | None) -> None:
        self.plan = plan
        self.client = GroupsClient(graph)
        self.state = state
        self.on_outcome = on_outcome
        self.outcomes: dict[int, WriteOutcome] = {}
        info = plan.group_info
        self.ledger = info.ledger.copy() if info is not None else GroupLedger()
        self.names = dict(info.nicknames) if info is not None else {}
        self.group_ids: dict[str, str] = {}  # nickname -> id of a group created now
        self.failed_groups: set[str] = set()
        self.users = {c.key: c.user_id for c in plan.changes
                      if c.action == "create" and c.user_id}

    def settle(self, index: int, outcome: WriteOutcome) -> None:
        self.outcomes[index] = outcome
        if self.on_outcome is not None:
            self.on_outcome(index, self.plan.groups[index], outcome)

    def of(self, action: str) -> list[tuple[int, GroupChange]]:
        return [(i, c) for i, c in enumerate(self.plan.groups) if c.action == action]

    def run(self, work: Sequence[tuple[Sequence[int], GroupOperation]],
            ) -> list[tuple[Sequence[int], GroupOperationResult]]:
        """Run operations; every change of an operation gets its outcome."""
        if not work:
            return []
        by_op = {id(op): indexes for indexes, op in work}
        done: list[tuple[Sequence[int], GroupOperationResult]] = []

        def arrived(result: GroupOperationResult) -> None:
            indexes = by_op[id(result.operation)]
            done.append((indexes, result))
            if result.ok or not result.split:
                for index in indexes:
                    self.settle(index, _outcome(result))

        self.client.execute([op for _, op in work], on_result=arrived)
        return done

    def groups(self) -> None:
        work: list[tuple[Sequence[int], GroupOperation]] = []
        for index, change in [*self.of("create"), *self.of("update")]:
            if change.action == "create":
                op = GroupOperation("create_group", body=dict(change.body), ref=change.nickname)
            else:
                assert change.group_id is not None
                op = GroupOperation("update_group", change.group_id, body=dict(change.body),
                                    ref=change.nickname)
            work.append(([index], op))
        for indexes, result in self.run(work):
            change = self.plan.groups[indexes[0]]
            if change.action != "create":
                continue
            if result.ok and result.group_id:
                change.group_id = self.group_ids[change.nickname] = result.group_id.lower()
                self.names[change.group_id] = change.nickname
            else:
                self.failed_groups.add(change.nickname)

    def _blocked(self, index: int, why: str) -> None:
        self.settle(index, WriteOutcome(ok=False, error=why, code="DependencyFailed"))

    def adds(self) -> None:
        chunks: dict[str, list[tuple[int, str]]] = {}
        for index, change in self.of("add"):
            group_id = change.group_id or self.group_ids.get(change.nickname)
            member = change.member_id or self.users.get(change.member_key or "")
            if group_id is None:
                self._blocked(index, "the group was not created, so no member can be added")
            elif member is None:
                self._blocked(index, "the user was not created, so they cannot join the group")
            else:
                change.group_id, change.member_id = group_id, member.lower()
                chunks.setdefault(group_id, []).append((index, member.lower()))
        if self.state is not None and self.ledger.known and chunks:
            for group_id, members in chunks.items():
                self.ledger.added.setdefault(group_id, set()).update(m for _, m in members)
                self.ledger.empty_since.pop(group_id, None)
            save_ledger(self.state, self.ledger, self.names)
        work: list[tuple[Sequence[int], GroupOperation]] = []
        for group_id, members in chunks.items():
            for start in range(0, len(members), MAX_BIND):
                part = members[start:start + MAX_BIND]
                work.append(([i for i, _ in part], GroupOperation(
                    "add_members", group_id, members=tuple(m for _, m in part),
                    ref=self.names.get(group_id, group_id))))
        single: list[tuple[Sequence[int], GroupOperation]] = []
        for indexes, result in self.run(work):
            if result.ok or not result.split:
                continue
            op = result.operation
            assert op.group_id is not None
            single.extend(([index], GroupOperation("add_member", op.group_id, members=(member,),
                                                   ref=op.ref))
                          for index, member in zip(indexes, op.members, strict=True))
        self.run(single)

    def removes(self) -> None:
        work = [([index], GroupOperation("remove_member", change.group_id,
                                         members=(change.member_id,), ref=change.nickname))
                for index, change in self.of("remove")
                if change.group_id is not None and change.member_id is not None]
        for indexes, result in self.run(work):
            change = self.plan.groups[indexes[0]]
            if result.ok and change.group_id and change.member_id:
                self.ledger.added.get(change.group_id, set()).discard(change.member_id)

    def deletes(self) -> None:
        work = [([index], GroupOperation("delete_group", change.group_id, ref=change.nickname))
                for index, change in self.of("delete") if change.group_id is not None]
        for indexes, result in self.run(work):
            group_id = self.plan.groups[indexes[0]].group_id
            if result.ok and group_id:
                self.ledger.added.pop(group_id, None)
                self.ledger.empty_since.pop(group_id, None)


def apply_groups(
    plan: Plan, graph: GraphClient, *, state: Path | None,
    on_outcome: OnGroupOutcome | None = None, on_phase: OnPhase | None = None,
) -> dict[int, WriteOutcome]:
    """Write the group changes of ``plan`` (see the module docstring); returns an outcome
    per written change, by its index in ``plan.groups``. The ledger in ``state`` is
    updated as the writes go (nothing is recorded without a state folder)."""
    applier = _Applier(plan, graph, state, on_outcome)
    for phase in (applier.groups, applier.adds, applier.removes, applier.deletes):
        phase()
        if on_phase is not None:
            on_phase()
    if state is not None and applier.ledger.known and plan.group_info is not None:
        if not applier.ledger.same(load_ledger(state)):
            save_ledger(state, applier.ledger, applier.names)
    return applier.outcomes

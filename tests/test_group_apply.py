"""Applying group changes (``run.group_apply``) against the sandbox in-process: phases,
dependencies on users created in the same run, PATCHes split member by member, and the
ledger kept as the writes go."""

from __future__ import annotations

import json
from pathlib import Path

from connector.core.plan import Change, Plan
from connector.core.plan.group_model import GroupChange, GroupLedger
from connector.core.plan.model import GroupInfo
from connector.graph import GroupOperation, GroupsClient, Operation
from connector.run.group_apply import apply_groups
from tests.graph.helpers import make_tenant, user_body

BODY = {"displayName": "Dept - Sales", "mailNickname": "hr-dept-sales", "mailEnabled": False,
        "securityEnabled": True, "groupTypes": []}


def add(key: str, member_id: str | None, group_id: str | None = None) -> GroupChange:
    return GroupChange("add", "Dept - Sales", "hr-dept-sales", "departments", group_id, key,
                       member_id)


def test_groups_first_then_members_and_a_failed_create_blocks_only_its_own_adds(
    tmp_path: Path,
) -> None:
    tenant = make_tenant()
    results = tenant.graph.execute([Operation("create", body=user_body(n, f"E{n}"))
                                    for n in range(3)])
    ids = [r.user_id or "" for r in results]
    users = [Change("create", "E0", user_id=ids[0]), Change("create", "E9")]  # E9 failed
    plan = Plan(changes=users, managed=0, records=2, group_info=GroupInfo(), groups=[
        GroupChange("create", "Dept - Sales", "hr-dept-sales", "departments", body=BODY),
        add("E0", None), add("E9", None), add("E1", ids[1])])
    seen: list[str] = []
    outcomes = apply_groups(plan, tenant.graph, state=tmp_path,
                            on_outcome=lambda i, c, o: seen.append(c.action))
    assert seen[0] == "create" and outcomes[0].ok
    assert outcomes[1].ok and outcomes[3].ok
    assert not outcomes[2].ok and outcomes[2].code == "DependencyFailed"
    group_id = plan.groups[0].group_id
    assert group_id is not None and plan.groups[1].member_id == ids[0].lower()
    members = {m["id"] for m in GroupsClient(tenant.graph).members(group_id)}
    assert members == {ids[0], ids[1]}
    ledger = json.loads((tmp_path / "groups.json").read_text("utf-8"))["groups"]
    assert ledger[group_id]["mailNickname"] == "hr-dept-sales"
    assert set(ledger[group_id]["added"]) == {ids[0].lower(), ids[1].lower()}


def test_a_patch_refused_because_someone_added_a_member_meanwhile_is_split(
    tmp_path: Path,
) -> None:
    tenant = make_tenant()
    client = GroupsClient(tenant.graph)
    ids = [r.user_id or "" for r in tenant.graph.execute(
        [Operation("create", body=user_body(n, f"E{n}")) for n in range(4)])]
    group_id = client.execute([GroupOperation("create_group", body=BODY)])[0].group_id
    assert group_id is not None
    # An admin adds E2 between the dry run and the apply.
    assert client.execute([GroupOperation("add_member", group_id, members=(ids[2],))])[0].ok
    plan = Plan(changes=[], managed=4, records=4, group_info=GroupInfo(),
                groups=[add(f"E{n}", ids[n], group_id) for n in range(4)])
    before = tenant.app.state.stats["operations"]
    outcomes = apply_groups(plan, tenant.graph, state=tmp_path)
    assert [o.ok for o in outcomes.values()] == [True] * 4
    # One PATCH of four refused as a whole, then the four one by one (E2: already in).
    assert tenant.app.state.stats["operations"] - before == 1 + 4
    assert {m["id"] for m in client.members(group_id)} == set(ids)


def test_removals_and_deletes_update_the_ledger(tmp_path: Path) -> None:
    tenant = make_tenant()
    client = GroupsClient(tenant.graph)
    ids = [r.user_id or "" for r in tenant.graph.execute(
        [Operation("create", body=user_body(n, f"E{n}")) for n in range(2)])]
    keep = client.execute([GroupOperation("create_group", body=BODY)])[0].group_id or ""
    empty = client.execute([GroupOperation("create_group", body={
        **BODY, "mailNickname": "hr-dept-old"})])[0].group_id or ""
    assert client.execute([GroupOperation("add_members", keep, members=tuple(ids))])[0].ok
    info = GroupInfo(ledger=GroupLedger({keep: {i.lower() for i in ids}, empty: set()}),
                     nicknames={keep: "hr-dept-sales", empty: "hr-dept-old"})
    plan = Plan(changes=[], managed=2, records=2, group_info=info, groups=[
        GroupChange("remove", "Dept - Sales", "hr-dept-sales", "departments", keep, "E0",
                    ids[0].lower()),
        GroupChange("delete", "Dept - Old", "hr-dept-old", "departments", empty)])
    outcomes = apply_groups(plan, tenant.graph, state=tmp_path)
    assert all(o.ok for o in outcomes.values())
    assert [m["id"] for m in client.members(keep)] == [ids[1]]
    assert [g["id"] for g in client.list_marked("hr-")] == [keep]
    ledger = json.loads((tmp_path / "groups.json").read_text("utf-8"))["groups"]
    assert ledger == {keep: {"mailNickname": "hr-dept-sales", "added": [ids[1].lower()]}}

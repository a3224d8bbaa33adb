"""Groups in a run: the tenant's owned groups read, the group memberships of the
records, and the group plan put together (the ledger of members the connector added is
``run.group_ledger``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from connector.core.plan.group_model import DesiredGroup, TenantGroup
from connector.core.plan.groups import GroupInputs, plan_groups
from connector.core.plan.model import Plan, Policy
from connector.core.records import MappedRecord
from connector.graph import GraphClient, GroupsClient
from connector.mapping.groups import CompiledGroups
from connector.run.group_ledger import load_ledger


def _tenant_group(raw: Mapping[str, Any]) -> TenantGroup:
    return TenantGroup(
        id=str(raw["id"]).lower(), display_name=str(raw.get("displayName") or ""),
        nickname=str(raw.get("mailNickname") or ""), description=raw.get("description"),
        security_enabled=raw.get("securityEnabled") is True,
        mail_enabled=raw.get("mailEnabled") is True,
        group_types=tuple(str(t) for t in raw.get("groupTypes") or ()))


def _with_members(group: TenantGroup, members: Sequence[Mapping[str, Any]]) -> TenantGroup:
    kinds = {str(m["id"]).lower(): str(m["@odata.type"]) for m in members
             if m.get("@odata.type") and m["@odata.type"] != "#microsoft.graph.user"}
    return dataclasses.replace(group, members=frozenset(str(m["id"]).lower() for m in members),
                               kinds=kinds)


def read_groups(graph: GraphClient, marker: str, wanted: Iterable[DesiredGroup],
                ) -> tuple[list[TenantGroup], dict[str, TenantGroup]]:
    """The groups with the marker (members read for those the connector can own), and
    the groups without it named like a group the plan would create (by lower-case
    displayName)."""
    client = GroupsClient(graph)
    marked = [_tenant_group(raw) for raw in client.list_marked(marker)]
    members = client.members_of([g.id for g in marked if g.ownable(marker)])
    tenant = [_with_members(g, members[g.id]) if g.id in members else g for g in marked]
    nicknames = {g.nickname.lower() for g in marked}
    missing = {g.display_name for g in wanted if g.key not in nicknames}
    named: dict[str, TenantGroup] = {}
    for raw in client.find_named(missing) if missing else []:
        group = _tenant_group(raw)
        if not group.nickname.lower().startswith(marker.lower()):
            named.setdefault(group.display_name.lower(), group)
    return tenant, named


def plan_run_groups(
    plan: Plan, groups: CompiledGroups, memberships: Mapping[int, Sequence[DesiredGroup]],
    records: Sequence[MappedRecord], users: Sequence[Mapping[str, Any]], graph: GraphClient,
    *, policy: Policy, state: Path | None, today: dt.date,
) -> None:
    """Read the tenant's groups and the ledger, then plan the group changes into ``plan``."""
    wanted = {g.key: g for groups_of in memberships.values() for g in groups_of}
    tenant, named = read_groups(graph, groups.marker, wanted.values())
    inputs = GroupInputs(marker=groups.marker, rules=groups.group_rules,
                         memberships=memberships, tenant=tenant, named=named,
                         ledger=load_ledger(state))
    plan_groups(plan, records, users, inputs, policy=policy, today=today)

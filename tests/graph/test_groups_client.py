"""``GroupsClient`` against the sandbox in-process (real msal and httpx): reads without a
request per member, group writes through ``$batch``, and what 5xx, lag and "already a
member" mean."""

from __future__ import annotations

from collections import Counter

import httpx

from connector.graph import GroupOperation, GroupsClient, Operation
from connector.sandbox import SandboxConfig
from tests.graph.helpers import Tenant, make_tenant, user_body

SALES = {"displayName": "Dept - Sales", "mailNickname": "hr-dept-sales", "mailEnabled": False,
         "securityEnabled": True, "groupTypes": []}


def users(tenant: Tenant, count: int) -> list[str]:
    results = tenant.graph.execute([
        Operation("create", body=user_body(n, f"E{n:05d}"), match=("employeeId", f"E{n:05d}"))
        for n in range(count)])
    assert all(r.ok for r in results)
    return [r.user_id or "" for r in results]


def create(client: GroupsClient, body: dict[str, object] = SALES) -> str:
    result = client.execute([GroupOperation("create_group", body=body, ref="x")])[0]
    assert result.ok and result.group_id, result.error
    return result.group_id


def add(client: GroupsClient, group_id: str, members: list[str]) -> None:
    ops = [GroupOperation("add_members", group_id, members=tuple(members[i:i + 20]))
           for i in range(0, len(members), 20)]
    assert all(r.ok for r in client.execute(ops))


class Recorder(httpx.BaseTransport):
    """Passes requests on and keeps (method, path) of each, batch items included."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        import json

        if request.url.path.endswith("/$batch"):
            for item in json.loads(request.read())["requests"]:
                self.calls.append((item["method"], item["url"].split("?")[0]))
        else:
            self.calls.append((request.method, request.url.path))
        return self.inner.handle_request(request)


def test_a_big_group_is_read_a_page_of_999_at_a_time() -> None:
    tenant = make_tenant()
    client = GroupsClient(tenant.graph)
    members = users(tenant, 2100)
    group_id = create(client)
    add(client, group_id, members)
    before = tenant.app.state.stats["requests"]
    read = client.members(group_id)
    assert tenant.app.state.stats["requests"] - before == 3  # 999 + 999 + 102
    assert sorted(m["id"] for m in read) == sorted(members)  # batches go side by side
    assert len(read) == 2100 and {m["@odata.type"] for m in read} == {"#microsoft.graph.user"}
    other = create(client, {**SALES, "mailNickname": "hr-x", "displayName": "X"})
    both = client.members_of([group_id, other])
    assert len(both[group_id]) == 2100 and both[other] == []
    assert [g["mailNickname"] for g in client.list_marked("HR-")] == ["hr-dept-sales", "hr-x"]
    assert [g["id"] for g in client.find_named(["X", "Nobody"])] == [other]


def test_twenty_members_go_in_one_patch_and_twenty_patches_in_one_batch() -> None:
    recorder: list[Recorder] = []

    def wrap(inner: httpx.BaseTransport) -> httpx.BaseTransport:
        recorder.append(Recorder(inner))
        return recorder[0]

    tenant = make_tenant(transport_wrapper=wrap)
    client = GroupsClient(tenant.graph)
    members = users(tenant, 400)
    group_id = create(client)
    before = tenant.app.state.stats["requests"]
    add(client, group_id, members)
    assert tenant.app.state.stats["requests"] - before == 1  # 20 PATCHes, one $batch
    patches = [c for c in recorder[0].calls if c[0] == "PATCH"]
    assert len(patches) == 20 and len(client.members(group_id)) == 400


def test_a_create_answered_with_a_5xx_after_commit_is_found_not_made_twice() -> None:
    tenant = make_tenant(SandboxConfig.for_tests(fault_next=1, fault_after_commit=True,
                                                 fault_status=503))
    client = GroupsClient(tenant.graph)
    result = client.execute([GroupOperation("create_group", body=SALES, ref="x")])[0]
    assert result.ok and result.attempts == 2  # the 503, then the lookup that found it
    assert Counter(g["mailNickname"] for g in client.list_marked("hr-")) == {"hr-dept-sales": 1}


def test_a_patch_that_may_have_been_applied_is_done_when_graph_says_already() -> None:
    tenant = make_tenant()
    client = GroupsClient(tenant.graph)
    members = users(tenant, 3)
    group_id = create(client)
    tenant.config.update({"fault_next": 1, "fault_after_commit": True})
    result = client.execute([GroupOperation("add_members", group_id,
                                            members=tuple(members))])[0]
    assert result.ok and result.note == "already a member" and result.attempts == 2
    # Without that earlier attempt, "already" means someone else added one of them:
    # the PATCH failed for all, and is to be split.
    refused = client.execute([GroupOperation("add_members", group_id,
                                             members=tuple(members[:2]))])[0]
    assert not refused.ok and refused.split
    single = client.execute([GroupOperation("add_member", group_id, members=(members[0],))])
    assert single[0].ok and single[0].note == "already a member"


def test_removal_always_uses_ref_and_a_non_member_is_done() -> None:
    recorder: list[Recorder] = []

    def wrap(inner: httpx.BaseTransport) -> httpx.BaseTransport:
        recorder.append(Recorder(inner))
        return recorder[0]

    tenant = make_tenant(transport_wrapper=wrap)
    client = GroupsClient(tenant.graph)
    members = users(tenant, 2)
    group_id = create(client)
    add(client, group_id, members[:1])
    results = client.execute([GroupOperation("remove_member", group_id, members=(m,))
                              for m in members])
    assert [(r.ok, r.note) for r in results] == [(True, None), (True, "not a member")]
    deletes = [path for method, path in recorder[0].calls if method == "DELETE"]
    assert deletes and all(path.endswith("/$ref") for path in deletes)
    assert len(tenant.stored()) == 3 + 2  # nobody deleted


def test_members_added_to_a_group_that_is_still_replicating_wait_for_it() -> None:
    tenant = make_tenant(SandboxConfig.for_tests(replication_lag_requests=2))
    client = GroupsClient(tenant.graph)
    members = users(tenant, 2)
    group_id = create(client)
    result = client.execute([GroupOperation("add_members", group_id, members=tuple(members))])
    assert result[0].ok and result[0].attempts > 1
    assert len(client.members(group_id)) == 2


def test_names_longer_than_an_eq_takes_are_found_by_their_start() -> None:
    tenant = make_tenant()
    client = GroupsClient(tenant.graph)
    long_name = "Dept - " + "Research and Development " * 8
    twin = long_name[:130] + "(another)"
    for n, name in enumerate((long_name, twin, "Dept - Sales")):
        create(client, {**SALES, "displayName": name, "mailNickname": f"g{n}"})
    found = client.find_named([long_name, "Dept - Sales", "Dept - None"])
    assert sorted(g["displayName"] for g in found) == sorted([long_name, "Dept - Sales"])

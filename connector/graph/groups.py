""":class:`GroupsClient`: the groups a provisioning job owns, read and written through a
:class:`~.client.GraphClient` (its HTTP client, retry policy, pacing and ``$batch``).

Reads, without a request per member:

- owned groups: ``GET /groups?$filter=startswith(mailNickname,'hr-')`` with the
  properties that tell whether a group can be owned (``securityEnabled``, ``mailEnabled``,
  ``groupTypes``), 999 a page;
- members: ``GET /groups/{id}/members?$select=id&$top=999``, page after page (a
  50,000-member group is 51 requests), several groups at once;
- groups without the marker that have a name the job would create: ``displayName in
  (...)``, 15 names a request (Graph's default limit for ``in``).

Writes: :meth:`GroupsClient.execute` runs :class:`~.group_writes.GroupOperation` s through
``$batch`` (20 a batch, several batches in flight) with the user writes' pacing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

from .client import GraphClient
from .group_writes import GroupOperation, GroupOperationResult, GroupOperationRun
from .paging import iter_pages, odata_string

#: What a group read selects: enough to tell an ownable group and to compare its names.
GROUP_FIELDS = ("id", "displayName", "mailNickname", "description", "securityEnabled",
                "mailEnabled", "groupTypes")
#: ``in`` takes at most 15 values, ``eq`` 120 characters, without advanced queries
#: (graph.md §4.2 [KI]).
MAX_IN = 15
MAX_EQ = 120
MEMBER_PAGE = 999


class GroupsClient:
    """Groups through one :class:`GraphClient`."""

    def __init__(self, graph: GraphClient) -> None:
        self.graph = graph

    def _fetch(self, label: str) -> Callable[[str, Any], dict[str, Any]]:
        def fetch(url: str, params: Any) -> dict[str, Any]:
            body = self.graph.request("GET", url, label=label, params=params).json()
            return body if isinstance(body, dict) else {}
        return fetch

    def list_marked(self, marker: str) -> list[dict[str, Any]]:
        """Every group whose mailNickname starts with ``marker`` (Graph compares without
        case); the caller decides which of them it can own."""
        params = {"$filter": f"startswith(mailNickname,{odata_string(marker)})",
                  "$select": ",".join(GROUP_FIELDS), "$top": str(self.graph.page_size)}
        groups: list[dict[str, Any]] = []
        for page in iter_pages(self._fetch("list owned groups"), "/groups", params):
            groups.extend(page)
        return groups

    def find_named(self, names: Iterable[str]) -> list[dict[str, Any]]:
        """Groups whose displayName is one of ``names`` (15 names a request). A name longer
        than the 120 characters ``eq`` takes by default is looked up by its first 120
        (``startswith``) and compared here."""
        wanted = sorted(set(names))
        short = [n for n in wanted if len(n) <= MAX_EQ]
        filters = ["displayName in (" + ",".join(map(odata_string, short[i:i + MAX_IN])) + ")"
                   for i in range(0, len(short), MAX_IN)]
        filters += [f"startswith(displayName,{odata_string(n[:MAX_EQ])})"
                    for n in wanted if len(n) > MAX_EQ]
        exact = {n.lower() for n in wanted}
        found: list[dict[str, Any]] = []
        for text in filters:
            params = {"$filter": text, "$select": ",".join(GROUP_FIELDS),
                      "$top": str(self.graph.page_size)}
            for page in iter_pages(self._fetch("find groups by name"), "/groups", params):
                found.extend(g for g in page
                             if str(g.get("displayName") or "").lower() in exact)
        return found

    def members(self, group_id: str) -> list[dict[str, Any]]:
        """The group's direct members: ``{"id", "@odata.type"}`` each, 999 a page."""
        params = {"$select": "id", "$top": str(MEMBER_PAGE)}
        members: list[dict[str, Any]] = []
        path = "/groups/" + quote(group_id, safe="-") + "/members"
        for page in iter_pages(self._fetch(f"list members of group {group_id}"), path, params):
            members.extend({"id": str(m.get("id", "")),
                            "@odata.type": str(m.get("@odata.type") or "")}
                           for m in page if m.get("id"))
        return members

    def members_of(self, group_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Members of several groups, read side by side (the client's concurrency)."""
        if not group_ids:
            return {}
        workers = max(1, min(self.graph.max_concurrency, len(group_ids)))
        with ThreadPoolExecutor(workers, "graph-members") as pool:
            return dict(zip(group_ids, pool.map(self.members, group_ids), strict=True))

    def execute(self, operations: Sequence[GroupOperation], *,
                on_result: Callable[[GroupOperationResult], None] | None = None,
                ) -> list[GroupOperationResult]:
        """Run ``operations`` through ``$batch``; one result per operation, in order. A
        failed one does not stop the others; ``on_result`` sees each as it is known."""
        graph = self.graph
        runs = [GroupOperationRun(i, op, policy=graph.policy, rng=graph.rng, created=graph.created,
                                  graph_base=graph.graph_base,
                                  replication_lag_seconds=graph.replication_lag_seconds)
                for i, op in enumerate(operations)]
        results: dict[int, GroupOperationResult] = {}

        def done(run: GroupOperationRun) -> None:
            assert run.result is not None
            results[run.index] = run.result
            if on_result is not None:
                on_result(run.result)

        graph.run_batched(runs, done)
        return [results[run.index] for run in runs]

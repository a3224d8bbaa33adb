"""Write throughput of ``GraphClient.execute`` against the sandbox at Graph's write quota.

Graph allows 3,000 writes per 2 min 30 s per application and tenant (graph.md §6.1): a
token bucket of 3,000 refilled at 20 writes/s. The benchmark keeps that *rate* and scales
the window down to 10 s (bucket of 200), so a run takes well under a minute: the refill rate
is what bounds a long run (the bucket only adds one initial burst), and 200 / 10 s = 3,000 /
150 s = 20 writes/s. Every other limit stays at Graph's values (none of them binds here).

It serves the sandbox over HTTPS on 127.0.0.1 (real msal, real httpx), sends N writes —
N/2 creates, then N/2 updates of the users just created — through ``execute``, and prints
completed and failed operations, elapsed time, the achieved rate, and two ratios:

- achieved / quota rate (20 writes/s): the headline figure, flattered by the initial burst;
- completed / what the quota allowed in the elapsed time (burst + 20 writes/s × elapsed):
  the strict figure, 100 % = not one write slot wasted. Goal for both: >= 90 %.

Usage: ``python bench/graph_writes.py [--writes N] [--window S] [--concurrency K]``.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

from connector.graph import GraphClient, GraphSettings, Operation, RetryPolicy
from connector.sandbox import SandboxConfig, running_sandbox

GRAPH_WRITE_QUOTA = 3000
GRAPH_WRITE_WINDOW_S = 150.0
PASSWORD = "Xk7#pLm2!qRs"


def user(index: int) -> dict[str, Any]:
    """A create body for user number ``index``."""
    return {"accountEnabled": True, "displayName": f"Bench User {index}",
            "mailNickname": f"bench{index}", "userPrincipalName": f"bench{index}@contoso.com",
            "employeeId": f"B{index:06d}",
            "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": True}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=800, help="total writes (default 800)")
    parser.add_argument("--window", type=float, default=10.0,
                        help="write window in seconds (default 10; Graph: 150)")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    rate = GRAPH_WRITE_QUOTA / GRAPH_WRITE_WINDOW_S  # 20 writes/s
    quota = round(rate * args.window)  # 200 per 10 s: same refill rate
    config = SandboxConfig(write_quota=quota, write_window_s=args.window,
                           batch_shuffle_responses=True)
    creates = args.writes // 2
    updates = args.writes - creates
    with running_sandbox(config=config) as server:
        assert server.ca_path is not None
        settings = GraphSettings(
            tenant_id=server.tenant_id, client_id="hr-connector-bench",
            client_secret="bench-secret", authority_host=server.base_url,
            graph_url=server.base_url, scope="https://graph.microsoft.com/.default",
            ca_files=(str(server.ca_path),))
        stats = server.app.state.stats
        with GraphClient.from_settings(settings, max_concurrency=args.concurrency,
                                       policy=RetryPolicy(seed=1)) as graph:
            graph.list_users(["displayName"])  # token + connection warm-up, not timed
            requests_before = stats["requests"]
            started = time.monotonic()
            created = graph.execute([
                Operation("create", body=user(i), match=("employeeId", f"B{i:06d}"),
                          ref=f"B{i:06d}") for i in range(creates)])
            ids = [r.user_id for r in created if r.ok and r.user_id]
            updated = graph.execute([
                Operation("update", ids[i % len(ids)], {"jobTitle": f"Title {i}"},
                          ref=f"B{i % len(ids):06d}") for i in range(updates)] if ids else [])
            elapsed = time.monotonic() - started
            requests = stats["requests"] - requests_before
    results = created + updated
    done = sum(r.ok for r in results)
    failed = len(results) - done
    achieved = done / elapsed
    allowed = quota + rate * elapsed
    print(f"write quota       : {GRAPH_WRITE_QUOTA}/{GRAPH_WRITE_WINDOW_S:g} s scaled to "
          f"{quota}/{args.window:g} s = {rate:.1f} writes/s (bucket {quota})")
    print(f"writes completed  : {done} of {len(results)} ({creates} creates, {updates} updates)")
    print(f"failed operations : {failed}")
    print(f"elapsed           : {elapsed:.1f} s")
    print(f"achieved          : {achieved:.1f} writes/s")
    print(f"quota             : {rate:.1f} writes/s")
    print(f"ratio             : {achieved / rate:.1%} of the quota rate")
    print(f"ratio (strict)    : {done / allowed:.1%} of the {allowed:.0f} writes the quota "
          f"allowed in {elapsed:.1f} s (bucket + rate x elapsed)")
    print(f"throttled items   : {stats['throttled']}")
    print(f"HTTP requests     : {requests} ($batch calls) vs ceil(N/20) = "
          f"{math.ceil(len(results) / 20)}")


if __name__ == "__main__":
    main()

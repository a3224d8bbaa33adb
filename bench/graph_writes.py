"""Write rate of ``GraphClient.execute`` against the sandbox: no 429s, isolated 429s, and
a spent write quota (sustained 429s), side by side.

Each case runs in a fresh process (``--case``) that serves the sandbox over HTTPS on
127.0.0.1 (real msal, real httpx) and sends N writes — N/2 creates, then N/2 updates of
the users just created — through ``execute`` (4 batches in flight); the no-429 and
isolated cases at each of ``--sizes``, the sustained case at ``--writes``. The sandbox answers
each HTTP request after ``--latency-ms`` (default 400 ms: Graph takes a few hundred ms for
a ``$batch`` of 20 writes, and it puts the fault-free rate near the ~176 writes/s issue 10
quoted; ``--latency-ms 0`` shows the sandbox's raw speed, where a 1 s ``Retry-After`` is
long next to the whole run). Cases:

- ``none``: throttling off, no faults — the fault-free rate;
- ``isolated``: throttling off, but each operation is answered 429 with probability 10 %
  (``throttle_probability``, ``Retry-After: 1``): 429s "below the limits under load"
  (graph.md §6.1). Goal: at least half the fault-free rate;
- ``sustained``: the sandbox's token buckets at Graph's write quota rate — 3,000 writes per
  150 s = 20 writes/s, with the window scaled down to 10 s (bucket of 200) so a run takes
  seconds; the rate is what bounds a long run. Goal: >= 90 % of what the quota allowed in
  the elapsed time (bucket + 20 writes/s x elapsed).

Usage: ``python bench/graph_writes.py [--sizes N,N] [--writes N] [--probability P]
[--window S] [--latency-ms MS]``.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from typing import Any

from connector.graph import GraphClient, GraphSettings, Operation, RetryPolicy
from connector.sandbox import SandboxConfig, running_sandbox

GRAPH_WRITE_QUOTA = 3000
GRAPH_WRITE_WINDOW_S = 150.0
PASSWORD = "Xk7#pLm2!qRs"
CASES = ("none", "isolated", "sustained")


def user(index: int) -> dict[str, Any]:
    """A create body for user number ``index``."""
    return {"accountEnabled": True, "displayName": f"Bench User {index}",
            "mailNickname": f"bench{index}", "userPrincipalName": f"bench{index}@contoso.com",
            "employeeId": f"B{index:06d}",
            "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": True}}


def sandbox_config(case: str, args: argparse.Namespace) -> SandboxConfig:
    """The sandbox of one case."""
    if case == "sustained":
        quota = round(GRAPH_WRITE_QUOTA / GRAPH_WRITE_WINDOW_S * args.window)
        return SandboxConfig(write_quota=quota, write_window_s=args.window,
                             batch_shuffle_responses=True, latency_ms=args.latency_ms)
    return SandboxConfig(throttle_enabled=False, batch_shuffle_responses=True, seed=11,
                         throttle_probability=args.probability if case == "isolated" else 0.0,
                         throttle_next_retry_after_s=1.0, latency_ms=args.latency_ms)


def measure(case: str, args: argparse.Namespace) -> dict[str, Any]:
    """One case in this process: the figures as a dict."""
    creates = args.writes // 2
    updates = args.writes - creates
    with running_sandbox(config=sandbox_config(case, args)) as server:
        assert server.ca_path is not None
        settings = GraphSettings(
            tenant_id=server.tenant_id, client_id="hr-connector-bench",
            client_secret="bench-secret", authority_host=server.base_url,
            graph_url=server.base_url, scope="https://graph.microsoft.com/.default",
            ca_files=(str(server.ca_path),))
        stats = server.app.state.stats
        with GraphClient.from_settings(settings, max_concurrency=4,
                                       policy=RetryPolicy(seed=1)) as graph:
            graph.list_users(["displayName"])  # token + connection warm-up, not timed
            requests_before, throttled_before = stats["requests"], stats["throttled"]
            started = time.monotonic()
            created = graph.execute([
                Operation("create", body=user(i), match=("employeeId", f"B{i:06d}"),
                          ref=f"B{i:06d}") for i in range(creates)])
            ids = [r.user_id for r in created if r.ok and r.user_id]
            updated = graph.execute([
                Operation("update", ids[i % len(ids)], {"jobTitle": f"Title {i}"},
                          ref=f"B{i % len(ids):06d}") for i in range(updates)] if ids else [])
            elapsed = time.monotonic() - started
    results = created + updated
    done = sum(r.ok for r in results)
    return {"case": case, "writes": len(results), "done": done, "failed": len(results) - done,
            "elapsed": elapsed, "rate": done / elapsed,
            "throttled": stats["throttled"] - throttled_before,
            "requests": stats["requests"] - requests_before}


def run_case(case: str, writes: int, args: argparse.Namespace) -> dict[str, Any]:
    """One case in a fresh Python process."""
    command = [sys.executable, __file__, "--case", case, "--writes", str(writes),
               "--probability", str(args.probability), "--window", str(args.window),
               "--latency-ms", str(args.latency_ms)]
    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    figures: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="600,3000",
                        help="writes of the no-429 and isolated cases, comma-separated "
                             "(default 600,3000: 300 and 1,500 people)")
    parser.add_argument("--writes", type=int, default=600,
                        help="writes of the sustained case (default 600)")
    parser.add_argument("--probability", type=float, default=0.10,
                        help="share of operations answered 429 in the isolated case")
    parser.add_argument("--window", type=float, default=10.0,
                        help="write window of the sustained case in seconds (Graph: 150)")
    parser.add_argument("--latency-ms", type=int, default=400,
                        help="the sandbox's answer time per HTTP request (default 400)")
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(measure(args.case, args)))
        return

    rate = GRAPH_WRITE_QUOTA / GRAPH_WRITE_WINDOW_S
    bucket = round(rate * args.window)
    sizes = [int(size) for size in args.sizes.split(",")]
    runs = [(case, size) for size in sizes for case in ("none", "isolated")]
    runs.append(("sustained", args.writes))
    figures = {run: run_case(*run, args) for run in runs}
    labels = {"none": "no 429s", "isolated": f"{args.probability:.0%} isolated 429s",
              "sustained": f"quota spent ({rate:.0f}/s)"}
    print(f"half creates, then half updates; 4 batches in flight; {args.latency_ms} ms per "
          "request; each line a fresh process")
    print(f"{'case':<24}{'writes':>7}{'writes/s':>10}{'elapsed':>10}{'failed':>8}{'429s':>7}"
          f"{'requests':>10}")
    for case, size in runs:
        f = figures[case, size]
        print(f"{labels[case]:<24}{size:>7}{f['rate']:>10.1f}{f['elapsed']:>9.1f}s"
              f"{f['failed']:>8}{f['throttled']:>7}{f['requests']:>10}")
    for size in sizes:
        ratio = figures["isolated", size]["rate"] / figures["none", size]["rate"]
        print(f"{size} writes: isolated / fault-free = {ratio:.0%} (goal >= 50 %)")
    sustained = figures["sustained", args.writes]
    allowed = bucket + rate * sustained["elapsed"]
    print(f"sustained: {sustained['done']} of the {allowed:.0f} writes the quota allowed in "
          f"{sustained['elapsed']:.1f} s (bucket {bucket} + {rate:.0f}/s x elapsed) = "
          f"{sustained['done'] / allowed:.0%} (goal >= 90 %); {sustained['requests']} "
          f"requests, ceil(N/20) = {math.ceil(args.writes / 20)}")


if __name__ == "__main__":
    main()

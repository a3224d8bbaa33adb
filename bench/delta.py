"""Nightly runs over a large tenant: a full read of every user against Graph's delta since
the last run (graph.md §4.6), against the in-process sandbox tenant.

One state folder, N distinct employees (default 100,000, ``sample_data/generate.py`` as
in ``bench/sync.py``) loaded first; then each
night is a whole ``run_sync`` in a fresh process, its HTTP requests counted by an httpx
event hook (a ``$batch`` counts once; msal's discovery and token requests count):

- ``list``: the tenant listed in full, ``/users`` with ``$expand=manager`` (at most 100
  users a page, known issue 13635), no snapshot: what every run did before;
- ``full``: ``--full-read``, a delta round without a token (100 a page) and the snapshot
  saved;
- ``delta``: the snapshot and Graph's delta since the last run.

Nights, in order: the first night after the load (its 100k creates and manager links come
back as changes), an unchanged night, a full read, an unchanged night after it, a night
after 100 users were changed by hand in the tenant (the run corrects them), and an
unchanged night again. Printed per night: requests, writes, the tenant read's seconds,
the whole run's seconds and peak RSS; then the ratios of an unchanged night's delta to a
full list. Usage: ``python bench/delta.py [--employees N] [--touched M]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from connector.core.plan.safety import Thresholds
from connector.mapping import load_mapping
from connector.run.snapshot import DeltaReads
from connector.run.sync import SyncOptions, run_sync
from connector.run.tenant import open_tenant
from connector.sandbox import SandboxConfig

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.sync import make_export  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
UNLIMITED = Thresholds(max_disables=10**9, max_changes=10**9, max_disable_percent=100,
                       max_change_percent=100, min_source_percent=0)


def quiet() -> SandboxConfig:
    """The sandbox without throttling: the quota would measure Graph, not the reads."""
    return SandboxConfig(throttle_enabled=False, batch_shuffle_responses=False)


def night(export: Path, state: Path, mode: str) -> dict[str, Any]:
    """One run (in this process); what it cost."""
    mapping = load_mapping(ROOT / "mappings" / "default.yaml")
    delta = None if mode in ("list", "load") else DeltaReads(state, full_read=mode == "full")
    options = SyncOptions(thresholds=UNLIMITED, delta=delta)
    sent = itertools.count()  # next() is atomic: batches go out from several threads
    with open_tenant(state=state, sandbox_config=quiet()) as tenant:
        # Graph's client and msal's (discovery, token) alike: every request counts.
        clients = [tenant.graph.http, *(getattr(owned, "_http", None)
                                        for owned in tenant.graph._owned)]
        for client in clients:
            if isinstance(client, httpx.Client):
                client.event_hooks["request"].append(lambda _: next(sent))
        started = time.perf_counter()
        result = run_sync(export, mapping, tenant.graph, options=options, tenant=tenant.label,
                          runs_folder=state / "runs")
        seconds = time.perf_counter() - started
        requests = next(sent)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"requests": requests, "writes": len(result.plan.writes),
            "failed": len(result.failed), "tenant_s": result.timings["tenant"],
            "run_s": seconds, "peak_mb": peak}


def touch(state: Path, count: int) -> None:
    """Change ``count`` managed users by hand, as an admin in the portal would."""
    from connector.graph import Operation

    with open_tenant(state=state, sandbox_config=quiet()) as tenant:
        users = [u for u in tenant.graph.list_users(["jobTitle"]) if u.get("employeeId")]
        step = max(1, len(users) // count)
        results = tenant.graph.execute([Operation("update", u["id"], {"jobTitle": "By hand"})
                                        for u in users[::step][:count]])
        assert all(r.ok for r in results)


def fresh(*args: str) -> dict[str, Any]:
    """This script in a new process (a measurement never inherits warm caches)."""
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                          check=True)
    return dict(json.loads(done.stdout.splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--touched", type=int, default=100)
    parser.add_argument("--night", help=argparse.SUPPRESS)
    parser.add_argument("--touch", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    parser.add_argument("--export", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.night:
        print(json.dumps(night(Path(args.export), Path(args.state), args.night)))
        return
    if args.touch:
        touch(Path(args.state), args.touch)
        print("{}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        export, state = Path(tmp) / "employees.csv", Path(tmp) / "state"
        make_export(export, args.employees)  # distinct people (bench/sync.py)
        where = ["--export", str(export), "--state", str(state)]
        print(f"{args.employees} employees, mappings/default.yaml, in-process sandbox "
              "(throttling off), each night a fresh process")
        load = fresh("--night", "load", *where)
        print(f"load: {load['writes']} writes, {load['requests']} requests, "
              f"{load['run_s']:.0f} s")
        rows: list[tuple[str, dict[str, Any]]] = []
        for label, mode in (("full list (no snapshot), the contender", "list"),
                            ("delta: first night after the load", "delta"),
                            ("delta: unchanged night", "delta"),
                            ("full read (--full-read), snapshot saved", "full"),
                            ("delta: unchanged night after it", "delta"),
                            (f"delta: {args.touched} users changed by hand", "delta"),
                            ("delta: unchanged night", "delta")):
            if "by hand" in label:
                fresh("--touch", str(args.touched), *where)
            rows.append((label, fresh("--night", mode, *where)))
        print(f"{'night':44} {'requests':>8} {'writes':>6} {'tenant s':>8} {'run s':>6} "
              f"{'peak MB':>7}")
        for label, row in rows:
            print(f"{label:44} {row['requests']:>8} {row['writes']:>6} {row['tenant_s']:>8.2f} "
                  f"{row['run_s']:>6.1f} {row['peak_mb']:>7.0f}")
        size = sum(p.stat().st_size for p in state.glob("tenant-snapshot-*.jsonl"))
        print(f"snapshot: {size / 1e6:.1f} MB")
        listed, quiet = rows[0][1], rows[4][1]
        print(f"unchanged night, delta vs full list: {quiet['requests']} vs "
              f"{listed['requests']} requests ({listed['requests'] / quiet['requests']:.0f}x "
              f"fewer; goal <= 10), tenant read {quiet['tenant_s']:.2f} s vs "
              f"{listed['tenant_s']:.2f} s ({listed['tenant_s'] / quiet['tenant_s']:.0f}x), "
              f"whole run {quiet['run_s']:.1f} s vs {listed['run_s']:.1f} s "
              f"({listed['run_s'] / quiet['run_s']:.2f}x)")


if __name__ == "__main__":
    main()

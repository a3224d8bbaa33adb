"""The main job at scale, against the sandbox tenant, on distinct people.

Prints, for N employees made by ``sample_data/generate.py`` (default 100,000; distinct
names, hire dates over 15 years, leavers, pre-hires, a six-level hierarchy):

0. the whole ``hr-connector sync --dry-run`` command against an empty tenant, in a fresh
   process: seconds, CPU seconds and peak RSS, beside the same run's read + map + plan
   (the stage timings of a fresh process running ``plan_sync`` alone): goal <= 1.2x;
1. read + map + plan time of the first load (goal <= 10 s), and of an unchanged rerun;
2. HTTP requests used for the writes, against ceil(writes / 20) (the $batch limit) plus
   the reads (token, user pages), and requests per write;
3. writes per second against Graph's modelled write quota, with the sandbox throttling at
   that quota (goal >= 90 %), on a stream of updates;
4. the unchanged rerun's writes (must be 0), requests and seconds.

The first load runs with throttling off: at Graph's real quota (3,000 writes per 150 s)
100k creates and 100k manager links take about three hours by design, which measures the
quota, not the connector. Part 3 measures how close to the quota the connector runs.
``--only-dry-run`` prints part 0 alone (a million employees: ``--employees 1000000``).
Usage: ``python bench/sync.py [--employees N] [--updates M] [--only-dry-run]``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from connector.core.plan.safety import Thresholds
from connector.core.results import SyncResult
from connector.mapping import load_mapping
from connector.run.sync import SyncOptions, run_sync
from connector.run.tenant import open_tenant
from connector.sandbox import SandboxConfig

ROOT = Path(__file__).resolve().parent.parent
# A benchmark changes many users at once on purpose.
UNLIMITED = Thresholds(max_disables=10**9, max_changes=10**9, max_disable_percent=100,
                       max_change_percent=100, min_source_percent=0)


def make_export(path: Path, count: int, *, title_suffix: str = "", changed: int = 0) -> None:
    """``count`` distinct employees from the sample's generator; the first ``changed``
    get ``title_suffix`` on their job title."""
    sys.path.insert(0, str(ROOT))
    from sample_data.generate import COLUMNS, build_rows

    rows = build_rows(count=count)
    title = COLUMNS.index("JobTitle")
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for index, row in enumerate(rows):
            if index < changed:
                row[title] = f"{row[title]}{title_suffix}"
            writer.writerow(row)


# A process forked from this one would report this one's peak as its own, so a small
# launcher starts each command and reports the command's rusage (as bench/readers.py).
_LAUNCHER = """
import os, sys
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)
_, status, usage = os.wait4(pid, 0)
print("\\nPEAK", usage.ru_maxrss, usage.ru_utime + usage.ru_stime,
      os.waitstatus_to_exitcode(status))
"""

_PLAN_ONLY = """
import json, sys, time
from pathlib import Path
from connector.core import clock
from connector.mapping import load_mapping
from connector.run.sync import SyncOptions, plan_sync
from connector.run.tenant import open_tenant
started, cpu = time.perf_counter(), time.process_time()
mapping = load_mapping(sys.argv[2])
timings = {}
with open_tenant(state=Path(sys.argv[3]), environ={}) as tenant:
    plan, _ = plan_sync(sys.argv[1], mapping, tenant.graph, options=SyncOptions(dry_run=True),
                        now=clock.now(), timings=timings)
print("\\nPLAN", json.dumps({**timings, "wall": time.perf_counter() - started,
                              "cpu": time.process_time() - cpu, "writes": len(plan.writes)}))
"""


def fresh(command: list[str], env: dict[str, str]) -> tuple[float, float, float, list[str]]:
    """Seconds, CPU seconds and peak RSS (MB) of a fresh process, and what it printed."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], env=env,  # noqa: S603
                          capture_output=True, text=True, check=True)
    lines = done.stdout.strip().splitlines()
    _, rss, cpu, code = lines.pop().split()
    if int(code) not in (0, 1):
        raise SystemExit(f"{command[1]} exited {code}: {done.stdout[-2000:]}")
    return time.perf_counter() - start, float(cpu), int(rss) / 1024, lines


def dry_run_command(export: Path, folder: Path) -> None:
    """Part 0: the whole command against read + map + plan alone, each a fresh process
    timed from outside (start-up and exit included on both sides)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    mapping = str(ROOT / "mappings" / "default.yaml")
    cli = str(Path(sys.executable).with_name("hr-connector"))
    plan_wall, plan_cpu, plan_rss, out = fresh(
        [sys.executable, "-c", _PLAN_ONLY, str(export), mapping, str(folder / "plan-state")],
        env)
    stages = json.loads(next(line for line in out if line.startswith("PLAN "))[5:])
    work = stages["tenant"] + stages["source"] + stages["plan"]
    state = folder / "cmd-state"
    wall, cpu, rss, _ = fresh([cli, "sync", str(export), "--mapping", mapping, "--dry-run",
                               "--show", "0", "--state-dir", str(state)], env)
    written = sorted((state / "runs").iterdir())
    sizes = ", ".join(f"{p.suffix} {p.stat().st_size / 1e6:,.1f} MB" for p in written)
    print(f"0. sync --dry-run, empty tenant, fresh processes: the command {wall:.1f} s "
          f"({cpu:.1f} s CPU), peak RSS {rss:,.0f} MB; read + map + plan alone "
          f"{plan_wall:.1f} s ({plan_cpu:.1f} s CPU, {plan_rss:,.0f} MB; its stages "
          f"{work:.1f} s): command / plan = {wall / plan_wall:.2f} "
          f"(CPU {cpu / plan_cpu:.2f}; goal <= 1.2); {stages['writes']:,} writes planned; "
          f"runs/ holds {sizes}")
    for path in written:
        path.unlink()  # a million-record report is large


def timed_run(source: Path, state: Path, config: SandboxConfig) -> tuple[SyncResult, int]:
    """One run and the HTTP requests it sent to Graph (counted by an httpx event hook;
    a ``$batch`` counts once)."""
    mapping = load_mapping(ROOT / "mappings" / "default.yaml")
    options = SyncOptions(thresholds=UNLIMITED)
    sent = itertools.count()  # next() is atomic: batches are sent from several threads

    with open_tenant(state=state, sandbox_config=config, max_concurrency=4) as tenant:
        tenant.graph.http.event_hooks["request"].append(lambda _: next(sent))
        result = run_sync(source, mapping, tenant.graph, options=options, tenant=tenant.label,
                          runs_folder=state / "runs")
        return result, next(sent)


def stages(result: SyncResult) -> str:
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.timings.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--updates", type=int, default=1500)
    parser.add_argument("--only-dry-run", action="store_true", help="part 0 alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        state = folder / "state"
        export = folder / "employees.csv"
        make_export(export, args.employees)
        print(f"{args.employees:,} distinct employees, mappings/default.yaml, sandbox tenant")
        dry_run_command(export, folder)
        if args.only_dry_run:
            return
        quiet = SandboxConfig(throttle_enabled=False, batch_shuffle_responses=False)

        result, requests = timed_run(export, state, quiet)
        writes = len(result.plan.writes)
        work = result.timings["source"] + result.timings["plan"]
        print(f"1. first load: read + map + plan {work:.1f} s (goal <= 10 s); {stages(result)}; "
              f"{writes} writes, {len(result.failed)} failed")
        floor = math.ceil(writes / 20)
        print(f"2. HTTP requests: {requests} for {writes} writes ({requests / writes:.3f} a "
              f"write); ceil(writes/20) = {floor}, so {requests - floor} for reads, retries "
              "and the token")

        started = time.perf_counter()
        result, requests = timed_run(export, state, quiet)
        print(f"4. unchanged rerun: {len(result.plan.writes)} writes, {requests} HTTP requests "
              f"(all reads), {time.perf_counter() - started:.1f} s; {stages(result)}")

        moved = folder / "moved.csv"
        make_export(moved, args.employees, title_suffix=" II", changed=args.updates)
        window = 10.0
        quota_per_s = 3000 / 150  # Graph's write quota per app and tenant (graph.md §6.1)
        throttled = SandboxConfig(write_quota=int(quota_per_s * window), write_window_s=window,
                                  batch_shuffle_responses=False)
        result, requests = timed_run(moved, state, throttled)
        updates = len(result.plan.writes)
        failed = len(result.failed)
        # The quota is a bucket of one window's writes refilling at the quota rate, so in
        # T seconds at most (window quota + rate x T) writes can succeed.
        applied = result.timings.get("apply", 0.0)
        possible = quota_per_s * window + quota_per_s * applied
        print(f"3. {updates} updates under the modelled quota ({quota_per_s:.0f} writes/s, "
              f"{int(quota_per_s * window)} per {window:.0f} s window): {applied:.1f} s, "
              f"{failed} failed, {updates / applied:.1f} writes/s; {updates} of the "
              f"{possible:.0f} the quota allows in that time = {100 * updates / possible:.0f}% "
              f"(goal >= 90%)")


if __name__ == "__main__":
    main()

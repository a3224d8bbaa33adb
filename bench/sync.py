"""The main job at scale, against the in-process sandbox tenant.

Prints, for N sample-shaped employees (default 100,000):

1. read + map + plan time of the first load (goal <= 10 s), and of an unchanged rerun;
2. HTTP requests used for the writes, against ceil(writes / 20) (the $batch limit) plus
   the reads (token, user pages);
3. writes per second against Graph's modelled write quota, with the sandbox throttling at
   that quota (goal >= 90 %), on a stream of updates;
4. the unchanged rerun's writes (must be 0).

The first load runs with throttling off: at Graph's real quota (3,000 writes per 150 s)
100k creates and 100k manager links take about three hours by design, which measures the
quota, not the connector. Part 3 measures how close to the quota the connector runs.
Usage: ``python bench/sync.py [--employees N] [--updates M]``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import tempfile
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
    """``count`` employees cycled from the sample, with fresh IDs, distinct names, and
    managers inside the same copy of the organisation."""
    with (ROOT / "sample_data" / "employees.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        base = list(reader)
    size = len(base)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        for index in range(count):
            cycle, offset = divmod(index, size)
            row = dict(base[offset])
            row["EmployeeID"] = f"{cycle:04d}{row['EmployeeID']}"
            if row["ManagerID"]:
                row["ManagerID"] = f"{cycle:04d}{row['ManagerID']}"
            row["LastName"] = f"{row['LastName']}{cycle}" if cycle else row["LastName"]
            if index < changed:
                row["JobTitle"] = f"{row['JobTitle']}{title_suffix}"
            writer.writerow(row)


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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        state = folder / "state"
        export = folder / "employees.csv"
        make_export(export, args.employees)
        quiet = SandboxConfig(throttle_enabled=False, batch_shuffle_responses=False)
        print(f"{args.employees} employees, mappings/default.yaml, in-process sandbox")

        result, requests = timed_run(export, state, quiet)
        writes = len(result.plan.writes)
        work = result.timings["source"] + result.timings["plan"]
        print(f"1. first load: read + map + plan {work:.1f} s (goal <= 10 s); {stages(result)}; "
              f"{writes} writes, {len(result.failed)} failed")
        floor = math.ceil(writes / 20)
        print(f"2. HTTP requests: {requests} for {writes} writes; ceil(writes/20) = {floor}, "
              f"so {requests - floor} for reads, retries and the token")

        result, requests = timed_run(export, state, quiet)
        print(f"4. unchanged rerun: {len(result.plan.writes)} writes, {requests} HTTP requests "
              f"(all reads); {stages(result)}")

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

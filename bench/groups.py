"""Groups at scale: 100,000 employees into 200 groups, against the in-process sandbox.

Each measurement runs in a fresh process on one state folder (users loaded first, without
groups, and not measured here: that is bench/sync.py). Printed per step: the member
changes, the HTTP requests the run sent to Graph (reads: user pages, group list, member
pages, name lookups; writes: ``POST $batch``; msal's token request goes to the identity
platform and is not counted), the Graph operations inside the batches,
and the goal ``requests <= ceil(member changes / 20) + reads``; then the seconds spent
reading the groups and planning them, and applying them.

Steps: 1. first load of the groups (200 creates, 100,000 adds); 2. the same export again
(0 writes); 3. 10,000 people move to another group (10,000 removes, 10,000 adds);
4. one 50,000-member group read and diffed (the team groups' rule swapped for one fixed
group of half the people), then again with nothing to change.

Usage: ``python bench/groups.py [--employees N] [--groups G] [--movers M]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MAPPING = (ROOT / "mappings" / "default.yaml").read_text(encoding="utf-8")
USERS_ONLY = MAPPING[:MAPPING.index("\n# Security groups kept in step")] + "\n"
TEAMS = USERS_ONLY + """
groups:
  marker: hr-
  rules:
    - name: teams
      value: '[Team]'
      displayName: 'Team {value}'
      mailNickname: 'hr-team-{value}'
"""
HALF = USERS_ONLY + """
groups:
  marker: hr-
  rules:
    - name: half
      when:
        filters:
          - clauses: [{attribute: Half, operator: EQUALS, value: A}]
      displayName: 'Half of the company'
      mailNickname: 'hr-half'
"""


def make_export(path: Path, count: int, groups: int, movers: int = 0) -> None:
    """``count`` employees cycled from the sample (fresh IDs and names) with a ``Team``
    column spreading them over ``groups`` teams and a ``Half`` column (A or B); the first
    ``movers`` are in the next team."""
    with (ROOT / "sample_data" / "employees.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header = [*list(reader.fieldnames or []), "Team", "Half"]
        base = list(reader)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        for index in range(count):
            cycle, offset = divmod(index, len(base))
            row = dict(base[offset])
            row["EmployeeID"] = f"{cycle:04d}{row['EmployeeID']}"
            row["ManagerID"] = f"{cycle:04d}{row['ManagerID']}" if row["ManagerID"] else ""
            row["LastName"] = f"{row['LastName']}{cycle}" if cycle else row["LastName"]
            # Everyone in scope and active, so every employee is in a group.
            row.update(Status="Active", TerminationDate="", WorkerType="Employee",
                       HireDate=min(row["HireDate"], "2026-01-01"))
            row["Team"] = f"{(index + (1 if index < movers else 0)) % groups:03d}"
            row["Half"] = "A" if index % 2 else "B"
            writer.writerow(row)


def run_step(source: Path, state: Path, mapping_text: str) -> dict[str, Any]:
    """One run in this process; what it sent, counted by an httpx event hook."""
    from connector.core.plan.safety import Thresholds
    from connector.mapping import compile_mapping_text
    from connector.run.sync import SyncOptions, run_sync
    from connector.run.tenant import open_tenant
    from connector.sandbox import SandboxConfig

    mapping = compile_mapping_text(mapping_text, file="bench")
    limits = Thresholds(max_disables=10**9, max_changes=10**9, max_disable_percent=100,
                        max_change_percent=100, min_source_percent=0,
                        max_member_removals=10**9, max_member_removal_percent=100)
    quiet = SandboxConfig(throttle_enabled=False, batch_shuffle_responses=False)
    requests: Counter[str] = Counter()
    operations: Counter[str] = Counter()
    lock = threading.Lock()

    def count(request: Any) -> None:
        with lock:
            if request.url.path.endswith("/$batch"):
                requests["batch"] += 1
                for item in json.loads(request.read())["requests"]:
                    url = item["url"]
                    kind = ("members@odata.bind" if item["method"] == "PATCH"
                            and "members@odata.bind" in (item.get("body") or {})
                            else f"{item['method']} {'groups' if 'groups' in url else 'users'}")
                    operations[kind] += 1
            elif "oauth2" in request.url.path:
                requests["token"] += 1
            else:
                requests["read"] += 1

    with open_tenant(state=state, sandbox_config=quiet, max_concurrency=4) as tenant:
        tenant.graph.http.event_hooks["request"].append(count)
        result = run_sync(source, mapping, tenant.graph, options=SyncOptions(thresholds=limits),
                          tenant=tenant.label, runs_folder=state / "runs")
    summary = result.plan.groups
    return {"requests": dict(requests), "operations": dict(operations),
            "adds": sum(1 for c in summary if c.action == "add"),
            "removes": sum(1 for c in summary if c.action == "remove"),
            "creates": sum(1 for c in summary if c.action == "create"),
            "failed": len(result.failed) + len(result.group_failed),
            "user_writes": len(result.plan.writes), "timings": result.timings}


def step(label: str, source: Path, state: Path, mapping: Path) -> None:
    """Run one step in a fresh process and print its figures."""
    out = subprocess.run([sys.executable, __file__, "--step", str(source), str(state),
                          str(mapping)], check=True, capture_output=True, text=True).stdout
    data = json.loads(out.splitlines()[-1])
    requests, timings = data["requests"], data["timings"]
    changes = data["adds"] + data["removes"]
    reads = requests.get("read", 0) + requests.get("token", 0)
    total = reads + requests.get("batch", 0)
    bound = math.ceil(changes / 20) + reads
    ops = ", ".join(f"{k} {v}" for k, v in sorted(data["operations"].items())) or "none"
    print(f"{label}: {data['creates']} group creates, {data['adds']} adds, "
          f"{data['removes']} removes, {data['failed']} failed")
    print(f"   requests {total} = {reads} reads (user and member pages, group list "
          f"and name lookups) + {requests.get('batch', 0)} $batch; goal <= ceil({changes}/20)"
          f" + {reads} = {bound}: {'met' if total <= bound else 'NOT met'}")
    print(f"   Graph operations in the batches: {ops}")
    print(f"   seconds: groups read + planned {timings.get('groups', 0):.1f}, applied "
          f"{timings.get('apply_groups', 0):.1f}; source {timings.get('source', 0):.1f}, "
          f"plan {timings.get('plan', 0):.1f}, user writes {data['user_writes']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--movers", type=int, default=10_000)
    parser.add_argument("--step", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        source, state, mapping = args.step
        print(json.dumps(run_step(Path(source), Path(state),
                                  Path(mapping).read_text(encoding="utf-8")), default=str))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        state, export, moved = folder / "state", folder / "export.csv", folder / "moved.csv"
        make_export(export, args.employees, args.groups)
        make_export(moved, args.employees, args.groups, movers=args.movers)
        mappings = {}
        for name, text in (("users", USERS_ONLY), ("teams", TEAMS), ("half", HALF)):
            mappings[name] = folder / f"{name}.yaml"
            mappings[name].write_text(text, encoding="utf-8")
        print(f"{args.employees} employees into {args.groups} groups, in-process sandbox, "
              "each step in a fresh process")
        subprocess.run([sys.executable, __file__, "--step", str(export), str(state),
                        str(mappings["users"])], check=True, capture_output=True)
        step("1. first load", export, state, mappings["teams"])
        step("2. same export again", export, state, mappings["teams"])
        step(f"3. {args.movers} movers", moved, state, mappings["teams"])
        step("4a. a group of half the people, first load", moved, state, mappings["half"])
        step("4b. that group read and diffed again", moved, state, mappings["half"])


if __name__ == "__main__":
    main()

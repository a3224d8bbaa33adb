"""SCIM runs at scale (API-driven inbound provisioning), each figure in a fresh process.

1. ``plan``: a first load of N sample-shaped employees (default 100,000) through
   mappings/default-scim.yaml: read + map + plan + payloads checked against SCIM, and the
   bulk requests built (what ``sync --dry-run --payloads`` does, without the files);
2. ``rerun``: the run state recording every payload as accepted (one commit per request,
   as a run does), then an unchanged rerun's plan (what is sent: must be nothing);
3. ``post``: M records (default 4,000) posted to the in-process sandbox's job at its
   documented limit (40 requests per 5 s): requests per 5 s achieved, 429s, and the time
   to the last outcome in the provisioning logs.

At 40 requests per 5 s and 50 records a request, Entra takes at most 400 records per
second: 100,000 records need 2,000 requests, at least 250 s, and a third of the daily
budget of 6,000 requests. Usage: ``python bench/scim.py [--employees N] [--post M]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MAPPING = ROOT / "mappings" / "default-scim.yaml"


def _export(folder: Path, count: int) -> Path:
    from bench.sync import make_export

    path = folder / f"employees-{count}.csv"
    if not path.exists():
        make_export(path, count)
    return path


def part_plan(folder: Path, count: int) -> dict[str, float]:
    from connector.core import clock
    from connector.mapping import load_mapping
    from connector.run.scim import ScimOptions, plan_scim
    from connector.run.sync import SyncOptions
    from connector.scim import batches, bulk_request, in_manager_order

    source = _export(folder, count)
    mapping = load_mapping(MAPPING)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    plan, _ = plan_scim(source, mapping, {}, options=SyncOptions(),
                        scim=ScimOptions(bulk_upload_url="-"), now=clock.now(),
                        timings=timings)
    built = time.perf_counter()
    requests = [bulk_request([s.data for s in b]) for b in batches(in_manager_order(plan.sends))]
    done = time.perf_counter()
    return {"records": count, "sends": len(plan.sends), "requests": len(requests),
            "read_map_s": timings["source"], "plan_s": timings["plan"],
            "requests_s": done - built, "total_s": done - started}


def part_rerun(folder: Path, count: int) -> dict[str, float]:
    from connector.core import clock
    from connector.mapping import load_mapping
    from connector.run.scim import ScimOptions, plan_scim
    from connector.run.scim_state import ScimState
    from connector.run.sync import SyncOptions
    from connector.scim import Sent, batches, in_manager_order

    source = _export(folder, count)
    mapping = load_mapping(MAPPING)
    scim = ScimOptions(bulk_upload_url="-")
    plan, _ = plan_scim(source, mapping, {}, options=SyncOptions(), scim=scim, now=clock.now())
    path = folder / f"state-{count}.db"
    path.unlink(missing_ok=True)
    with ScimState(path, "bench-job") as state:
        started = time.perf_counter()
        for batch in batches(in_manager_order(plan.sends)):
            state.accepted(((s.external_id, Sent(s.key, s.hash, s.attributes, s.active))
                            for s in batch), "bench")
        recorded = time.perf_counter() - started
        started = time.perf_counter()
        known = state.load()
        loaded = time.perf_counter() - started
    timings: dict[str, float] = {}
    again, _ = plan_scim(source, mapping, known, options=SyncOptions(), scim=scim,
                         now=clock.now(), timings=timings)
    return {"records": count, "state_commit_s": recorded, "state_load_s": loaded,
            "rerun_read_map_s": timings["source"], "rerun_plan_s": timings["plan"],
            "rerun_sends": len(again.sends), "state_mb": path.stat().st_size / 1e6}


def part_post(folder: Path, count: int) -> dict[str, float]:
    from bench.sync import make_export
    from connector.mapping import load_mapping
    from connector.run.scim import ScimOptions, run_scim_sync
    from connector.run.sync import SyncOptions
    from connector.run.tenant import SANDBOX_ROOT, open_tenant, sandbox_path
    from connector.sandbox import SandboxConfig, provisioning_job

    source = folder / f"post-{count}.csv"
    make_export(source, count)
    state = folder / f"post-state-{count}"
    config = SandboxConfig(provisioning_log_lag_s=0, throttle_enabled=False)
    with open_tenant(state=state, sandbox=True, sandbox_config=config) as tenant:
        url = provisioning_job(sandbox_path(state), root=SANDBOX_ROOT)["bulkUploadUrl"]
        started = time.perf_counter()
        result = run_scim_sync(source, load_mapping(MAPPING), tenant.graph,
                               options=SyncOptions(), scim=ScimOptions(bulk_upload_url=url),
                               tenant=tenant.label, state_folder=state)
        elapsed = time.perf_counter() - started
    section = result.provisioning or {}
    post_s = result.timings.get("post", elapsed)
    return {"records": count, "requests": section.get("requests", 0),
            "throttled": section.get("throttled", 0), "post_s": post_s,
            "requests_per_5s": 5 * section.get("requests", 0) / post_s if post_s else 0,
            "outcomes_success": section.get("outcomes", {}).get("success", 0),
            "total_s": elapsed}


PARTS = {"plan": part_plan, "rerun": part_rerun, "post": part_post}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--post", type=int, default=4_000)
    parser.add_argument("--part", choices=sorted(PARTS))
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.part:
        count = args.post if args.part == "post" else args.employees
        print(json.dumps(PARTS[args.part](Path(args.folder), count)))
        return
    with tempfile.TemporaryDirectory() as folder:
        for part in ("plan", "rerun", "post"):
            output = subprocess.run(  # a fresh process per figure
                [sys.executable, __file__, "--part", part, "--folder", folder,
                 "--employees", str(args.employees), "--post", str(args.post)],
                check=True, capture_output=True, text=True).stdout
            figures = json.loads(output.strip().splitlines()[-1])
            print(f"{part:6s} " + ", ".join(
                f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                for k, v in figures.items()))


if __name__ == "__main__":
    main()

"""The safety thresholds against the sandbox tenant with default limits: a first load of
any size goes through, and so does every rerun after a first load that stopped part-way
(writes refused, or a run killed between two writes), leaving every user and manager right.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from connector.core import clock
from connector.core.plan import Plan
from connector.http import RetryPolicy
from connector.mapping import load_mapping
from connector.run.apply import apply_plan
from connector.run.sync import SyncOptions, plan_sync, run_sync
from connector.run.tenant import open_tenant, sandbox_path
from connector.sandbox import SandboxConfig, list_users
from tests.helpers import ROOT
from tests.test_sync import DEFAULT, SEEDED, sync

PEOPLE = 1500


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 people of the sample's generator: a six-level hierarchy, leavers, pre-hires."""
    out = tmp_path_factory.mktemp("export")
    subprocess.run([sys.executable, str(ROOT / "sample_data" / "generate.py"), "--out",
                    str(out), "--count", str(PEOPLE)], check=True, capture_output=True,
                   timeout=120)
    return out / "employees.csv"


def check_complete(state: Path, tmp_path: Path, export: Path, creates: int) -> None:
    """Everyone is there once, and a dry run finds nothing left to write: every attribute
    and every manager link is what the export says."""
    keys = Counter(u.get("employeeId") for u in list_users(sandbox_path(state)))
    assert keys[None] == SEEDED and len(keys) == SEEDED + creates - (SEEDED - 1)
    assert max(n for k, n in keys.items() if k) == 1  # nobody created twice
    code, report, _ = sync(tmp_path, export, "--dry-run")
    assert code == 0, report["stopped"]
    assert report["summary"]["unchanged"] == creates
    assert all(report["summary"][a] == 0 for a in ("create", "update", "disable", "enable",
                                                   "delete", "manager", "held"))


_CREATES: dict[Path, int] = {}


def planned_creates(tmp_path: Path, export: Path) -> int:
    """How many users the first load creates (a dry run into the empty tenant, once)."""
    if export not in _CREATES:
        code, report, _ = sync(tmp_path, export, "--dry-run")
        assert code == 0, report["stopped"]
        assert report["summary"]["manager"] > 1000  # the links that tripped --max-changes
        _CREATES[export] = int(report["summary"]["create"])
    return _CREATES[export]


def test_a_first_load_of_1500_people_with_managers_goes_through_with_default_limits(
    state: Path, tmp_path: Path, export: Path
) -> None:
    creates = planned_creates(tmp_path, export)
    code, report, _ = sync(tmp_path, export)
    assert code == 0, report["stopped"]
    assert report["summary"]["failed"] == 0 and report["summary"]["written"] > 2000
    check_complete(state, tmp_path, export, creates)


def test_a_rerun_after_a_first_load_with_failed_writes_completes_it(
    state: Path, tmp_path: Path, export: Path
) -> None:
    creates = planned_creates(tmp_path, export)
    # Every 7th write answers 500, and this client gives up at the first failure (the
    # connector retries 5xx; an outage longer than its retries leaves the same): creates
    # and links fail, and links to managers whose create failed cannot be made. (A 5xx
    # after the write happened is tests/test_sync.py's: nobody created twice.)
    faults = SandboxConfig.for_tests(fault_status=500, fault_every_n=7)
    with open_tenant(state=state, sandbox_config=faults) as tenant:
        tenant.graph.policy = RetryPolicy(max_attempts=1)
        first = run_sync(export, load_mapping(DEFAULT), tenant.graph, options=SyncOptions(),
                         tenant=tenant.label, runs_folder=state / "runs")
    assert first.stopped == [] and len(first.failed) > 100
    code, report, _ = sync(tmp_path, export)
    assert code == 0, report["stopped"]
    assert report["summary"]["failed"] == 0
    check_complete(state, tmp_path, export, creates)


def test_a_rerun_after_a_first_load_killed_part_way_completes_it(
    state: Path, tmp_path: Path, export: Path
) -> None:
    creates = planned_creates(tmp_path, export)
    # Apply the first 30% of the plan only, as a run killed between two writes leaves it
    # (creates go first, in row order, then the manager links): about half of the people
    # exist, none has a manager yet; the rerun creates the rest and links everyone.
    done = 0.3
    with open_tenant(state=state, sandbox_config=SandboxConfig.for_tests()) as tenant:
        plan, _ = plan_sync(export, load_mapping(DEFAULT), tenant.graph,
                            options=SyncOptions(), now=clock.now())
        part = plan.changes[:int(len(plan.changes) * done)]
        outcomes = apply_plan(Plan(changes=part, managed=plan.managed, records=plan.records),
                              tenant.graph, matching="employeeId")
    assert outcomes and all(o.ok for o in outcomes.values())
    assert not any(c.action == "manager" for c in part)
    code, report, _ = sync(tmp_path, export)
    assert code == 0, report["stopped"]
    summary: dict[str, Any] = report["summary"]
    assert summary["failed"] == 0 and summary["create"] == creates - (
        sum(1 for c in part if c.action == "create"))
    check_complete(state, tmp_path, export, creates)

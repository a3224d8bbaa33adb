"""End to end over real HTTP: each HR API fake served on 127.0.0.1, read through its
preset, synced into the in-process sandbox tenant with the preset's shipped mapping.

The fakes hold a 42-person slice of the sample export (tests.fakes.seed): one leaver (never
created), one person on leave and one pre-hire starting within two weeks (both created
disabled), and everyone else; every supervisor id names someone in the slice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.mapping import load_mapping
from connector.readers.apis.presets import open_api_source
from connector.readers.base import Reader
from connector.run.sync import SyncOptions, run_sync
from connector.run.tenant import open_tenant, sandbox_path
from connector.sandbox import SandboxConfig, list_users
from tests.fakes.bamboohr import API_KEY as BAMBOO_KEY
from tests.fakes.bamboohr import FakeBambooHR
from tests.fakes.personio import CLIENT_ID, CLIENT_SECRET, FakePersonio
from tests.fakes.seed import sample_employees
from tests.fakes.server import serving
from tests.helpers import ROOT

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
SEEDED = 3  # the sandbox's two IT admins and service account
SECRETS = {"BAMBOO_KEY": BAMBOO_KEY, "PERSONIO_SECRET": CLIENT_SECRET}


def resolve(value: Any) -> str:
    """Secrets by reference, as in a configuration file: ``{env: NAME}``."""
    return SECRETS[value["env"]]


def bamboohr_reader(url: str, fake: FakeBambooHR) -> Reader:
    return open_api_source("bamboohr", {"base_url": fake.base_url(url), "name": "bamboohr",
                                        "api_key": {"env": "BAMBOO_KEY"}}, secrets=resolve)


def personio_reader(url: str, fake: FakePersonio) -> Reader:
    return open_api_source("personio", {"base_url": url, "name": "personio",
                                        "client_id": CLIENT_ID, "page_size": 10,
                                        "client_secret": {"env": "PERSONIO_SECRET"}},
                           secrets=resolve)


CASES: dict[str, tuple[Callable[[], Any], Callable[[str, Any], Reader], str]] = {
    "bamboohr": (FakeBambooHR, bamboohr_reader, "bamboohr.yaml"),
    "personio": (lambda: FakePersonio(offset_semantics="pages"), personio_reader,
                 "personio.yaml"),
}


@pytest.fixture(params=sorted(CASES))
def served(request: pytest.FixtureRequest) -> Iterator[tuple[Any, str, Callable[[], Reader],
                                                               Path]]:
    make_fake, make_reader, mapping = CASES[request.param]
    fake = make_fake()
    with serving(fake.app) as url:
        yield fake, request.param, lambda: make_reader(url, fake), ROOT / "mappings" / mapping


def test_a_preset_reader_syncs_people_and_managers_and_a_rerun_writes_nothing(
    served: tuple[Any, str, Callable[[], Reader], Path], tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore log every request at DEBUG/INFO
    fake, preset, open_reader, mapping_path = served
    mapping = load_mapping(mapping_path)
    rows = sample_employees()
    ids = {row["EmployeeID"]: str(int(row["EmployeeID"])) for row in rows}
    leaver = next(ids[r["EmployeeID"]] for r in rows if r["Status"] == "Terminated")
    on_leave = next(ids[r["EmployeeID"]] for r in rows if r["Status"] == "Leave")
    prehire = next(ids[r["EmployeeID"]] for r in rows if r["HireDate"] > NOW.date().isoformat())
    with open_tenant(state=tmp_path, sandbox_config=SandboxConfig.for_tests()) as tenant:
        first = run_sync(open_reader(), mapping, tenant.graph, options=SyncOptions(),
                         tenant=tenant.label, runs_folder=tmp_path / "runs", now=NOW)
        assert first.status == "ok", (first.stopped, first.failed, first.plan.summary)
        summary = first.plan.summary
        assert summary["create"] == len(rows) - 1
        assert summary["manager"] == len(rows) - 2  # everyone created but the top

        users = {u["employeeId"]: u for u in list_users(sandbox_path(tmp_path))
                 if u.get("employeeId")}
        assert len(users) == len(rows) - 1 and leaver not in users
        assert users[on_leave]["accountEnabled"] is False
        assert users[prehire]["accountEnabled"] is False
        by_object = {u["id"]: u["employeeId"] for u in users.values()}
        for row in rows:
            key = ids[row["EmployeeID"]]
            if key in users:
                manager = users[key].get("_managerId")
                expected = ids.get(row["ManagerID"])
                assert (by_object[manager] if manager else None) == expected, key
        ceo = users["1"]
        assert ceo["userPrincipalName"] == "bill.lopez@contoso.com"
        assert ceo["employeeHireDate"].startswith("2013-11-09")  # local date, not UTC's
        assert len(list_users(sandbox_path(tmp_path))) == SEEDED + len(rows) - 1

        calls = len(fake.calls)
        again = run_sync(open_reader(), mapping, tenant.graph, options=SyncOptions(),
                         tenant=tenant.label, runs_folder=tmp_path / "runs", now=NOW)
        assert len(fake.calls) > calls  # the second run read the API again
        assert again.status == "ok" and again.plan.writes == []
        assert again.plan.summary["unchanged"] == len(rows) - 1
    if preset == "personio":  # read through the page-number probe, deduplicated
        assert any("page number" in w.reason for w in first.source_warnings)
    reader = open_reader()
    assert "http://127.0.0.1" in caplog.text  # the HR API requests were logged ...
    for secret in SECRETS.values():
        assert secret not in caplog.text and secret not in repr(vars(reader))  # ... bare

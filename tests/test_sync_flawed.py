"""A flawed row never causes a write to someone else: end to end over the sandbox tenant,
from the sync command and from a configured run (the upload page: tests/web)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from connector.cli.main import main
from connector.config import load_config
from connector.report.sync import sync_dict
from connector.run.job import options_from, run_job
from tests.helpers import ROOT, SAMPLE_CSV, sample_export, write_export
from tests.test_sync import sync, users


def flawed_export(path: Path) -> tuple[Path, list[str]]:
    """The sample with one blank key (person A) and person B's key mistyped as C's.
    Returns the file and the keys of A, B and C."""
    header, rows = sample_export()
    active = [i for i, r in enumerate(rows) if r["Status"] == "Active"
              and r["HireDate"] <= "2026-01-01" and not r["TerminationDate"]]
    a, b, c = active[10:13]
    keys = [rows[i]["EmployeeID"] for i in (a, b, c)]
    rows[a] = {**rows[a], "EmployeeID": ""}
    rows[b] = {**rows[b], "EmployeeID": rows[c]["EmployeeID"]}
    return write_export(path, header, rows), keys


def held(report: dict[str, Any]) -> dict[str, str | None]:
    return {c["employeeId"]: c["heldAction"] for c in report["changes"]
            if c["action"] == "held"}


def test_a_blank_key_and_a_mistyped_key_disable_nobody(state: Path, tmp_path: Path) -> None:
    assert sync(tmp_path, SAMPLE_CSV)[0] == 0
    before = users(state)
    source, (a, b, c) = flawed_export(tmp_path / "flawed.csv")
    code, report, output = sync(tmp_path, source)
    assert code == 1  # rows in error, held changes: finished, not everything done
    assert report["status"] == "partial" and report["stopped"] == []
    assert report["summary"]["error"] == 3 and report["summary"]["disable"] == 0
    assert held(report) == {a: "disable", b: "disable", c: None}
    assert "3 changes held back by rows with errors" in " ".join(output.split())
    after = users(state)
    assert all(after[k]["accountEnabled"] for k in (a, b, c))
    assert after == before  # nothing else was written either
    listed = CliRunner().invoke(main, ["runs"], env={"COLUMNS": "200"}).output
    assert "Held" in listed and f"{report['run_id']}" in listed
    row = next(line for line in listed.splitlines() if report["run_id"] in line)
    assert row.split("│")[-3].strip() == "3"  # the Held column, before Source

    # The operator may allow absence disables for one run; C stays left alone.
    code, report, _ = sync(tmp_path, source, "--allow-absent-disables")
    assert code == 1
    assert sorted(x["employeeId"] for x in report["changes"] if x["action"] == "disable") \
        == sorted([a, b])
    assert held(report) == {c: None}
    after = users(state)
    assert (after[a]["accountEnabled"], after[b]["accountEnabled"],
            after[c]["accountEnabled"]) == (False, False, True)


def test_a_configured_run_holds_them_too_unless_its_policy_allows(
    state: Path, tmp_path: Path
) -> None:
    assert sync(tmp_path, SAMPLE_CSV)[0] == 0
    source, (a, b, c) = flawed_export(tmp_path / "flawed.csv")

    def config(**policies: Any) -> Path:
        path = tmp_path / "hr-connector.yaml"
        path.write_text(yaml.safe_dump({
            "version": 1, "tenant": "sandbox", "source": {"file": str(source)},
            "mapping": str(ROOT / "mappings" / "default.yaml"),
            "paths": {"state": str(state)}, "reports": [], "policies": policies}),
            encoding="utf-8")
        return path

    results: list[Any] = []
    assert options_from(load_config(config())).allow_absent_disables is False
    assert run_job(load_config(config()), on_result=results.append) == 1
    assert held(sync_dict(results[-1])) == {a: "disable", b: "disable", c: None}
    assert all(users(state)[k]["accountEnabled"] for k in (a, b, c))
    allowed = load_config(config(allow_absent_disables=True))
    assert options_from(allowed).allow_absent_disables is True
    assert run_job(allowed, on_result=results.append) == 1
    tenant = users(state)
    assert (tenant[a]["accountEnabled"], tenant[b]["accountEnabled"],
            tenant[c]["accountEnabled"]) == (False, False, True)

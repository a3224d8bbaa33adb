"""Microsoft's own sample export for API-driven inbound provisioning, flaws and all.

Its README (../shared/interop/...) lists the flaws kept on purpose; validate must report
each of them. Skipped when the folder is not there: the project never needs it to run.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from connector.cli.main import main

SCHEMA = ["--key", "WorkerID", "--manager-column", "ManagerID",
          "--country-column", "CountryCode", "--date-column", "HireDate"]


def validate(path: Path) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["validate", str(path), *SCHEMA, "--format", "json"])
    return result.exit_code, json.loads(result.output)


def test_thousand_record_export_reports_every_documented_flaw(interop_dir: Path) -> None:
    code, report = validate(interop_dir / "csv-with-1000-records.csv")
    assert (code, report["verdict"], report["records"]) == (1, "errors", 1000)
    problems = report["problems"]
    duplicates = [p for p in problems if p["severity"] == "error"]
    assert all("is used on" in p["reason"] for p in duplicates)
    # 624 distinct IDs in 1000 rows: 265 IDs repeat, on 641 rows in all.
    assert len({p["key"] for p in duplicates}) == 265
    assert report["records_with_errors"] == 641
    kinds = Counter(
        "dangling" if "matches no record" in p["reason"]
        else "self" if "own manager" in p["reason"]
        else "country" if "ISO 3166" in p["reason"] else "other"
        for p in problems if p["severity"] == "warning"
    )
    assert kinds["dangling"] == 366
    assert kinds["self"] == 1
    assert kinds["country"] > 0
    assert kinds["other"] == 0
    (self_managed,) = [p for p in problems if "own manager" in p["reason"]]
    assert self_managed["key"] == "1961"
    uk = next(p for p in problems if "ISO 3166" in p["reason"])
    assert "'UK'" in uk["reason"]
    assert "did you mean 'GB'" in uk["reason"]


def test_five_record_file_with_crlf_and_trailing_space(interop_dir: Path) -> None:
    path = interop_dir / "csv-with-5-records.txt"
    assert b"\r\n" in path.read_bytes()
    code, report = validate(path)
    assert (code, report["records"]) == (0, 5)
    (space,) = [p for p in report["problems"] if "spaces" in p["reason"]]
    assert (space["row"], space["column"]) == (6, "ZipCode")
    result = CliRunner().invoke(main, ["read", str(path), "--format", "json"])
    assert json.loads(result.output)[4]["values"]["ZipCode"] == "71677 "

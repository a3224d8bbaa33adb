"""Seed data for the HR API fakes: a small, self-contained slice of
``sample_data/employees.csv``.

The slice keeps the cases a sync must get right (a leaver, someone on leave, a pre-hire
starting within two weeks, a contractor, the two John Smiths, José Núñez) and every
manager above each person, so every supervisor id in a fake names someone in the same
fake and a whole tree can be created.
"""

from __future__ import annotations

import csv
import datetime as dt
import unicodedata
from collections.abc import Callable
from pathlib import Path

SAMPLE_CSV = Path(__file__).resolve().parents[2] / "sample_data" / "employees.csv"
#: The date sample_data/generate.py wrote the export for (its --as-of default).
AS_OF = dt.date(2026, 11, 26)


def _read() -> list[dict[str, str]]:
    with SAMPLE_CSV.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def sample_employees(count: int = 40) -> list[dict[str, str]]:
    """About ``count`` rows of the sample export (CSV column names), closed under
    ManagerID, in the file's order (by EmployeeID)."""
    rows = _read()
    by_id = {row["EmployeeID"]: row for row in rows}
    soon = AS_OF + dt.timedelta(days=14)

    def first(test: Callable[[dict[str, str]], bool]) -> list[str]:
        return [r["EmployeeID"] for r in rows if test(r)][:1]

    wanted = [
        *first(lambda r: r["Status"] == "Terminated"),
        *first(lambda r: r["Status"] == "Leave"),
        *first(lambda r: AS_OF < dt.date.fromisoformat(r["HireDate"]) <= soon),
        *first(lambda r: r["WorkerType"] == "Contractor" and r["Status"] == "Active"),
        *[r["EmployeeID"] for r in rows if (r["FirstName"], r["LastName"]) == ("John", "Smith")],
        *first(lambda r: r["LastName"] == "Núñez"),
        *[r["EmployeeID"] for r in rows],
    ]
    chosen: set[str] = set()
    for key in wanted:
        if len(chosen) >= count:
            break
        while key and key not in chosen:  # the person, then their managers up to the top
            chosen.add(key)
            key = by_id[key]["ManagerID"]
    return [row for row in rows if row["EmployeeID"] in chosen]


def email(row: dict[str, str]) -> str:
    """A work address for a sample row (ASCII local part)."""
    name = f"{row['PreferredFirstName'] or row['FirstName']}.{row['LastName']}".lower()
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c for c in ascii_name if c.isalnum() or c in ".-") + "@contoso.com"

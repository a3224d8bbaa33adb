"""Mapping throughput: 100k sample-shaped records through mappings/default.yaml.

Records are built in memory (reading is measured by bench/readers.py), so the figure is
the mapping alone: scope, leaver rule, every attribute rule, type conversion and
SelectUniqueValue against a directory that remembers every UPN handed out.
Usage: ``python bench/mapping.py [--records N] [--repeat K]``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import time
from pathlib import Path

from connector.core.records import Record
from connector.mapping import StubDirectory, load_mapping
from connector.mapping.engine import paused_gc

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)


def make_records(count: int) -> list[Record]:
    """``count`` records cycled from the sample export, each with a fresh ID and name."""
    with (ROOT / "sample_data" / "employees.csv").open(encoding="utf-8", newline="") as handle:
        base = list(csv.DictReader(handle))
    records = []
    for index in range(count):
        values = dict(base[index % len(base)])
        values["EmployeeID"] = f"{index + 1:07d}"
        # Distinct surnames keep SelectUniqueValue on its first candidate, as in a real org.
        values["LastName"] = f"{values['LastName']}{index // len(base)}"
        records.append(Record(row=index + 2, values=values))
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of K runs")
    args = parser.parse_args()
    mapping = load_mapping(ROOT / "mappings" / "default.yaml")
    records = make_records(args.records)
    best = float("inf")
    for _ in range(args.repeat):
        context = mapping.context(now=NOW, directory=StubDirectory())
        start = time.perf_counter()
        with paused_gc():  # as a run maps (connector.run.prepare)
            mapped = [mapping.map_record(record, context) for record in records]
        best = min(best, time.perf_counter() - start)
    errors = sum(1 for m in mapped if m.status == "error")
    rate = args.records / best
    print(f"{args.records} records, {len(mapping.rules)} rules, best of {args.repeat}: "
          f"{best:.2f} s, {rate:,.0f} records/s ({errors} with errors)")
    print(f"  goal 50,000 records/s: {'met' if rate >= 50_000 else 'NOT met'}")


if __name__ == "__main__":
    main()

"""Mapping throughput on realistically varied people, each measurement in a fresh process.

Maps N records (default 100,000) through mappings/default.yaml (scope, leaver rule, every
attribute rule with its type conversion, the three-candidate SelectUniqueValue UPN against
a directory that remembers every UPN handed out), as ``preview`` does.

Two exports, written once to a temporary folder and read (not timed) by each child:

* **distinct people**: ``sample_data/generate.py --count N`` (names from per-country
  syllables with their diacritics and spaces, preferred names, hire dates over 15 years,
  departments, leavers, pre-hires): what a real workforce looks like to memoised rules;
* **repeated sample**: the 360 sample rows cycled with fresh IDs and numbered surnames, as
  this bench measured before (memoised rules then hit 99.6 % of the time).

Each measurement is a fresh ``python`` process (no module, memo or string cache warm from
an earlier one); the figure is records per CPU second of the child (the machine is
shared), the best and the median of K. ``--profile`` prints, for one
more run on the distinct people, the share of the time spent in the UPN chain,
SelectUniqueValue, dates and the rest.
Usage: ``python bench/mapping.py [--records N] [--repeat K] [--profile]``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write_distinct(path: Path, count: int) -> None:
    from sample_data.generate import COLUMNS, build_rows, write_csv

    del COLUMNS
    write_csv(build_rows(count=count), path)


def write_repeated(path: Path, count: int) -> None:
    with (ROOT / "sample_data" / "employees.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        base = list(reader)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        for index in range(count):
            row = dict(base[index % len(base)])
            row["EmployeeID"] = f"{index + 1:07d}"
            row["LastName"] = f"{row['LastName']}{index // len(base)}"
            writer.writerow(row)


def child(path: Path, profile: bool) -> None:
    """Map every record of ``path``; print the seconds the mapping took."""
    import datetime as dt

    from connector.core.records import Record
    from connector.mapping import StubDirectory, load_mapping
    from connector.mapping.engine import paused_gc

    with path.open(encoding="utf-8", newline="") as handle:
        records = [Record(row=n, values=row) for n, row in enumerate(csv.DictReader(handle), 2)]
    mapping = load_mapping(ROOT / "mappings" / "default.yaml")
    context = mapping.context(now=dt.datetime(2026, 11, 26, 9, tzinfo=dt.UTC),
                              directory=StubDirectory())
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    # CPU seconds of this process: the machine is shared, and the mapping is one thread.
    start = time.process_time()
    with paused_gc():  # as a run maps (connector.run.prepare)
        mapped = [mapping.map_record(record, context) for record in records]
    seconds = time.process_time() - start
    if profile:
        profiler.disable()
        shares(pstats.Stats(profiler))
    errors = sum(1 for m in mapped if m.status == "error")
    print(f"RESULT {seconds} {len(records)} {errors}")


def shares(stats: object) -> None:
    """Inclusive time of the named parts of the mapping, as a share of the whole."""
    table = stats.stats  # type: ignore[attr-defined]
    total = max(cumulative for _, _, _, cumulative, _ in table.values())
    parts = {"UPN chain (Join StripSpaces NormalizeDiacritics ToLower Replace)":
             ("replace", "normalize_diacritics", "strip_spaces", "to_lower", "join"),
             "SelectUniqueValue (the candidates and the directory)": ("select_unique_value",),
             "dates (FormatDateTime, DateDiff, CDate)": ("format_date_time", "date_diff",
                                                         "cdate", "_reformat", "_date_diff")}
    for label, names in parts.items():
        spent = max((cumulative for (_, _, name), (_, _, _, cumulative, _) in table.items()
                     if name in names), default=0.0)
        print(f"    {label}: {100 * spent / total:.0f} %")


def measure(path: Path, repeat: int) -> list[float]:
    rates = []
    for _ in range(repeat):
        done = subprocess.run([sys.executable, __file__, "--child", str(path)],  # noqa: S603
                              capture_output=True, text=True, check=True)
        line = done.stdout.strip().splitlines()[-1]
        _, seconds, count, _errors = line.split()
        rates.append(int(count) / float(seconds))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per export")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.profile)
        return
    with tempfile.TemporaryDirectory() as tmp:
        distinct, repeated = Path(tmp) / "distinct.csv", Path(tmp) / "repeated.csv"
        write_distinct(distinct, args.records)
        write_repeated(repeated, args.records)
        print(f"{args.records:,} records through mappings/default.yaml, "
              f"{args.repeat} fresh processes each")
        results = {"distinct people": measure(distinct, args.repeat),
                   "repeated sample (the old bench)": measure(repeated, args.repeat)}
        for label, rates in results.items():
            print(f"  {label:32s} best {max(rates):>8,.0f}  median "
                  f"{statistics.median(rates):>8,.0f} records/s")
        best = max(results["distinct people"])
        ratio = best / max(results["repeated sample (the old bench)"])
        print(f"  distinct / repeated = {ratio:.2f}; goal 50,000 records/s on distinct "
              f"people: {'met' if best >= 50_000 else 'NOT met'}")
        if args.profile:
            print("  where the time goes (distinct people, one profiled run):")
            done = subprocess.run([sys.executable, __file__, "--child", str(distinct),  # noqa: S603
                                   "--profile"], capture_output=True, text=True, check=True)
            print("\n".join(line for line in done.stdout.splitlines()
                            if not line.startswith("RESULT")))


if __name__ == "__main__":
    main()

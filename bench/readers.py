"""Read rates of the CSV and Excel readers on 100k sample-shaped rows (22 columns).

Prints rows/s for our readers and, in the same run, for openpyxl's read-only mode and
pandas with the calamine engine, so the figures can be compared as ratios on a noisy
machine. Usage: ``python bench/readers.py [--rows N] [--repeat K]``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd

from connector.readers import open_source

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "employees.csv"
DATE_COLUMNS = ("HireDate", "TerminationDate")


def make_rows(count: int) -> tuple[list[str], list[list[str]]]:
    """``count`` rows cycled from the sample export, each with a fresh 6-digit ID."""
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        base = list(reader)
    rows = []
    for index in range(count):
        row = list(base[index % len(base)])
        row[0] = f"{index + 1:07d}"
        rows.append(row)
    return header, rows


def write_files(folder: Path, header: list[str], rows: list[list[str]]) -> tuple[Path, Path]:
    csv_path = folder / "bench.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    xlsx_path = folder / "bench.xlsx"
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Employees")
    sheet.append(header)
    dates = [header.index(c) for c in DATE_COLUMNS]
    for row in rows:
        typed: list[object] = list(row)
        for i in dates:
            typed[i] = dt.date.fromisoformat(row[i]) if row[i] else None
        sheet.append(typed)
    workbook.save(xlsx_path)
    return csv_path, xlsx_path


def ours(path: Path) -> int:
    return sum(1 for _ in open_source(path).records())


def openpyxl_read_only(path: Path) -> int:
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    count = sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True)) - 1
    workbook.close()
    return count


def pandas_calamine(path: Path) -> int:
    return len(pd.read_excel(path, engine="calamine", dtype=str))


def rate(func: Callable[[Path], int], path: Path, repeat: int) -> tuple[float, int]:
    best = float("inf")
    count = 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = func(path)
        best = min(best, time.perf_counter() - start)
    return count / best, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of K runs")
    args = parser.parse_args()
    header, rows = make_rows(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path, xlsx_path = write_files(Path(tmp), header, rows)
        print(f"{args.rows} rows x {len(header)} columns; best of {args.repeat} runs")
        results = {
            "csv (ours)": rate(ours, csv_path, args.repeat),
            "xlsx (ours, calamine)": rate(ours, xlsx_path, args.repeat),
            "xlsx (pandas + calamine)": rate(pandas_calamine, xlsx_path, args.repeat),
            "xlsx (openpyxl read-only)": rate(openpyxl_read_only, xlsx_path, 1),
        }
    for name, (per_second, count) in results.items():
        assert count == args.rows, f"{name} read {count} rows, expected {args.rows}"
        print(f"  {name:28s} {per_second:>10,.0f} rows/s")
    ours_xlsx = results["xlsx (ours, calamine)"][0]
    print(f"  xlsx goal 25,000 rows/s: {'met' if ours_xlsx >= 25_000 else 'NOT met'}; "
          f"ours / openpyxl = {ours_xlsx / results['xlsx (openpyxl read-only)'][0]:.1f}x, "
          f"ours / pandas+calamine = {ours_xlsx / results['xlsx (pandas + calamine)'][0]:.2f}x")


if __name__ == "__main__":
    main()

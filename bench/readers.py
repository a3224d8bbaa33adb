"""Read rates of the CSV and Excel readers on 100k sample-shaped rows (22 columns), and
the peak memory of whole commands on large and hostile inputs.

Prints rows/s for our readers and, in the same run, for the standard library's
``csv.DictReader`` and pandas' ``read_csv(dtype=str)`` (CSV), openpyxl's read-only mode and
pandas with the calamine engine (XLSX), so the figures can be compared as ratios on a noisy
machine. Usage: ``python bench/readers.py [--rows N] [--repeat K]``.

``--memory`` instead runs ``hr-connector validate`` and ``sync --dry-run`` (sandbox
tenant) in a fresh process per input and prints each one's peak RSS (the largest of the
command and the workbook helper it starts), exit code and wall time: a valid CSV and XLSX
of ``--rows`` rows, then /dev/zero, a FIFO, a 60 MB line, ``--big-mb`` MB files that are
refused only after streaming (a quote left open near the top; a byte neither UTF-8 nor
cp1252 allows at the very end), random bytes, a workbook declaring 2 GiB unzipped and a
workbook with one value in XFD1048576.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import subprocess
import sys
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
    """``count`` rows cycled from the sample export, each with a fresh 7-digit ID; each
    copy of the sample keeps its own reporting lines (managers are in the same copy)."""
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        base = list(reader)
    position = {row[0]: index for index, row in enumerate(base)}
    manager = header.index("ManagerID")
    rows = []
    for index in range(count):
        copy, offset = divmod(index, len(base))
        row = list(base[offset])
        row[0] = f"{index + 1:07d}"
        if row[manager] in position:
            boss = copy * len(base) + position[row[manager]]
            row[manager] = f"{boss + 1:07d}" if boss < count else ""
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


def stdlib_csv(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def pandas_csv(path: Path) -> int:
    return len(pd.read_csv(path, dtype=str, keep_default_na=False))


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


def hostile_inputs(folder: Path, big_mb: int) -> dict[str, str]:
    """Inputs no reader should hold whole, by what they are."""
    sys.path.insert(0, str(ROOT))
    from tests.readers.crafted import SHEET, cell, declare_size, row, workbook

    os.mkfifo(folder / "fifo.csv")
    with (folder / "line.csv").open("w") as handle:
        handle.write("EmployeeID,FirstName\n1," + "x" * 60_000_000 + "\n")
    line = "{n:07d},Anna,Berg,,Analyst,Finance,Corporate,CC-1,Contoso,,Oslo\n"
    count = big_mb * 1024 * 1024 // len(line.format(n=0))
    with (folder / "open-quote.csv").open("w") as handle:
        handle.write('EmployeeID,FirstName,LastName\n0000001,"Anna\n')
        handle.writelines(line.format(n=n) for n in range(2, count))
    with (folder / "bad-byte-at-end.csv").open("wb") as handle:
        handle.write(b"EmployeeID,FirstName\n")
        handle.writelines(line.format(n=n).encode() for n in range(1, count))
        handle.write(b"9999999,\x81\n")
    (folder / "random.csv").write_bytes(os.urandom(100 * 1024 * 1024))
    bomb = workbook(folder / "bomb.xlsx", row(1, cell("A1", "EmployeeID")))
    declare_size(bomb, SHEET, 2**31)
    workbook(folder / "far.xlsx", row(1, cell("A1", "EmployeeID")), row(2, cell("A2", 1)),
             row(1048576, cell("XFD1048576", 1)))
    names = ["fifo.csv", "line.csv", "open-quote.csv", "bad-byte-at-end.csv", "random.csv",
             "bomb.xlsx", "far.xlsx"]
    return {"/dev/zero": "/dev/zero", **{name: str(folder / name) for name in names}}


# A process forked from this one (which holds the test data) would report this one's peak
# as its own, so a small launcher starts each command and reports the command's rusage.
_LAUNCHER = """
import os, sys
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)
_, status, usage = os.wait4(pid, 0)
print("\\nPEAK", usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def peak(command: list[str], env: dict[str, str]) -> tuple[float, int, float, str]:
    """Peak RSS (MB) of a fresh process and its children, exit code, seconds, message."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        subprocess.run([sys.executable, "-c", _LAUNCHER, *command], stdout=out,  # noqa: S603
                       stderr=subprocess.STDOUT, env=env, check=True)
        out.seek(0)
        text = out.read().decode("utf-8", "replace").strip().splitlines()
    _, rss, code = text.pop().split()
    message = next((t for t in text if "error" in t.lower()), text[-1] if text else "")
    message = " ".join(message.replace("│", " ").split()).removeprefix("error ")
    return int(rss) / 1024, int(code), time.perf_counter() - start, message


def memory(args: argparse.Namespace) -> None:
    cli = str(Path(sys.executable).with_name("hr-connector"))
    mapping = str(ROOT / "mappings" / "default.yaml")
    header, rows = make_rows(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv_path, xlsx_path = write_files(folder, header, rows)
        del rows
        inputs = {f"valid csv, {args.rows:,} rows": str(csv_path),
                  f"valid xlsx, {args.rows:,} rows": str(xlsx_path),
                  **hostile_inputs(folder, args.big_mb)}
        print(f"{'input':28s} {'command':10s} {'peak RSS':>9s} {'exit':>4s} {'seconds':>7s}")
        for label, path in inputs.items():
            size = os.stat(path).st_size if Path(path).is_file() else 0
            for name, command in (
                ("validate", [cli, "validate", path, "--mapping", mapping]),
                ("sync -n", [cli, "sync", path, "--mapping", mapping, "--dry-run",
                             "--show", "0"]),
            ):
                env = {**os.environ, "HRC_STATE_DIR": str(folder / "state"),
                       "COLUMNS": "200"}
                for variable in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"):
                    env.pop(variable, None)
                rss, code, seconds, message = peak(command, env)
                shown = f"{label} ({size / 2**20:,.0f} MB)" if size else label
                print(f"{shown[:28]:28s} {name:10s} {rss:7,.0f} MB {code:4d} {seconds:7.1f}"
                      + (f"  {message[:110]}" if code == 2 else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of K runs")
    parser.add_argument("--memory", action="store_true",
                        help="peak RSS of validate and sync --dry-run on large and hostile "
                             "inputs, each in a fresh process (instead of read rates)")
    parser.add_argument("--big-mb", type=int, default=1024,
                        help="size of the large hostile CSV files (--memory)")
    args = parser.parse_args()
    if args.memory:
        memory(args)
        return
    header, rows = make_rows(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path, xlsx_path = write_files(Path(tmp), header, rows)
        print(f"{args.rows} rows x {len(header)} columns; best of {args.repeat} runs")
        results = {
            "csv (ours)": rate(ours, csv_path, args.repeat),
            "csv (stdlib csv.DictReader)": rate(stdlib_csv, csv_path, args.repeat),
            "csv (pandas, dtype=str)": rate(pandas_csv, csv_path, args.repeat),
            "xlsx (ours, calamine)": rate(ours, xlsx_path, args.repeat),
            "xlsx (pandas + calamine)": rate(pandas_calamine, xlsx_path, args.repeat),
            "xlsx (openpyxl read-only)": rate(openpyxl_read_only, xlsx_path, 1),
        }
    for name, (per_second, count) in results.items():
        assert count == args.rows, f"{name} read {count} rows, expected {args.rows}"
        print(f"  {name:28s} {per_second:>10,.0f} rows/s")
    ours_csv = results["csv (ours)"][0]
    print(f"  csv: ours / stdlib = {ours_csv / results['csv (stdlib csv.DictReader)'][0]:.2f}x, "
          f"ours / pandas = {ours_csv / results['csv (pandas, dtype=str)'][0]:.2f}x")
    ours_xlsx = results["xlsx (ours, calamine)"][0]
    print(f"  xlsx goal 25,000 rows/s: {'met' if ours_xlsx >= 25_000 else 'NOT met'}; "
          f"ours / openpyxl = {ours_xlsx / results['xlsx (openpyxl read-only)'][0]:.1f}x, "
          f"ours / pandas+calamine = {ours_xlsx / results['xlsx (pandas + calamine)'][0]:.2f}x")


if __name__ == "__main__":
    main()

"""``validate`` and ``sync --dry-run`` on files no reader should hold whole: exit 2 with
the cause, before anything is written."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli.main import main
from tests.helpers import ROOT
from tests.readers.crafted import cell, row, workbook

DEFAULT = str(ROOT / "mappings" / "default.yaml")


@pytest.fixture(autouse=True)
def _no_hang() -> Iterator[None]:
    def alarm(signum: int, frame: object) -> None:
        raise TimeoutError("blocked: the command opened what it should have refused")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def fifo(tmp: Path) -> str:
    os.mkfifo(tmp / "export.csv")
    return str(tmp / "export.csv")


def long_line(tmp: Path) -> str:
    path = tmp / "long.csv"
    with path.open("w") as handle:
        handle.write("EmployeeID,FirstName\n1,Ann\n2,")
        handle.write("x" * (6 * 1024 * 1024))  # one 6 MB line, no delimiter in it
        handle.write("\n")
    return str(path)


def binary(tmp: Path) -> str:
    path = tmp / "export.csv"
    path.write_bytes(b"EmployeeID\n\x00\x01\x02" * 100)
    return str(path)


def far_cell(tmp: Path) -> str:
    return str(workbook(tmp / "export.xlsx", row(1, cell("A1", "EmployeeID")),
                        row(2, cell("A2", 1)), row(1048576, cell("XFD1048576", 1))))


CASES: dict[str, tuple[Callable[[Path], str], str]] = {
    "fifo": (fifo, "is a named pipe (FIFO), not a regular file"),
    "device": (lambda tmp: "/dev/zero", "is a device, not a regular file"),
    "long line": (long_line, "line 3 is longer than 4 MiB (4,194,304 characters)"),
    "binary": (binary, "is a binary file, not delimited text"),
    "far cell": (far_cell, "sheet 'Staff' needs more than 2 GiB of memory to read"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_validate_exits_2_naming_the_cause(tmp_path: Path, case: str) -> None:
    make, message = CASES[case]
    result = CliRunner().invoke(main, ["validate", make(tmp_path), "--key", "EmployeeID",
                                       "--format", "json"])
    assert result.exit_code == 2, result.output
    assert message in result.output


@pytest.mark.parametrize("case", list(CASES))
def test_sync_dry_run_exits_2_before_any_write(tmp_path: Path, state: Path, case: str) -> None:
    make, message = CASES[case]
    report = tmp_path / "plan.json"
    result = CliRunner().invoke(main, ["sync", make(tmp_path), "--mapping", DEFAULT,
                                       "--dry-run", "--report", str(report)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not report.exists()
    runs = state / "runs"
    assert not runs.exists() or not any(runs.iterdir())

"""The command line as a user meets it: help, exit codes, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from connector.cli.main import COMMANDS, EXIT_INTERNAL, handle_errors, main
from connector.errors import SourceError
from tests.helpers import ROOT, SAMPLE_XLSX


def test_python_dash_m_runs_the_same_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "connector", "--help"], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "validate" in result.stdout and "read" in result.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(name: str) -> None:
    command = main.get_command(click.Context(main), name)
    assert command is not None and command.help and len(command.help.strip()) > 20
    # --help lists each command from COMMANDS without importing it: the same words.
    assert COMMANDS[name][2] == command.get_short_help_str(limit=1000)
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0


def test_missing_file_is_a_message_not_a_traceback() -> None:
    result = CliRunner().invoke(main, ["read", "no/such/file.csv"])
    assert result.exit_code == 2
    assert "error: no/such/file.csv: does not exist" in result.output
    assert "Traceback" not in result.output


def test_unknown_column_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["read", str(SAMPLE_XLSX), "--column", "Salary"])
    assert result.exit_code == 2
    assert "Salary not in the source" in result.output


def test_read_limits_and_formats() -> None:
    result = CliRunner().invoke(main, ["read", str(SAMPLE_XLSX), "--limit", "2", "--format",
                                       "csv", "--column", "EmployeeID"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "Row,EmployeeID"
    assert len(lines) == 3 and lines[1].startswith("2,0")


def test_connector_errors_become_exit_codes_and_bugs_exit_70(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    @handle_errors
    def unusable() -> None:
        raise SourceError("is empty", file="x.csv")

    @handle_errors
    def buggy() -> None:
        raise RuntimeError("boom")

    monkeypatch.delenv("HRC_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        unusable()
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        buggy()
    assert exit_info.value.code == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "error: x.csv: is empty" in err
    assert "internal error: RuntimeError: boom" in err and "Traceback" not in err


def test_usage_errors_keep_click_exit_code() -> None:
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    assert "Missing argument 'SOURCE'" in result.output

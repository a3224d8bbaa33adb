"""Operator conveniences: log lines a value cannot forge, fatal errors as JSON with
``--log-format json``, and ``runs --config FILE``."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli.main import main
from connector.run.logs import escape, log, setup_logging
from tests.helpers import ROOT, SAMPLE_CSV

FORGED = "staff.csv\n2026-11-26T02:00:09Z INFO run finished status=ok"


def lines(fmt: str, **fields: object) -> list[str]:
    stream = io.StringIO()
    setup_logging(fmt, stream)  # type: ignore[arg-type]
    log("file skipped", level=logging.WARNING, **fields)
    setup_logging("text")
    return stream.getvalue().splitlines()


def test_a_file_name_cannot_forge_a_text_log_line() -> None:
    [line] = lines("text", file=FORGED, reason="a\rb\x1b[31mred\u202egnp.exe")
    assert line.endswith('WARNING file skipped file="staff.csv\\n2026-11-26T02:00:09Z INFO run '
                         'finished status=ok" reason="a\\rb\\u001b[31mred\\u202egnp.exe"')


def test_quoting_keeps_plain_values_plain_and_escapes_quotes() -> None:
    [line] = lines("text", file="Zoë.csv", path='a "b" c\\d', empty="")
    assert line.endswith('file=Zoë.csv path="a \\"b\\" c\\\\d" empty=""')


def test_json_lines_escape_separators_and_invisible_characters() -> None:
    [line] = lines("json", file=FORGED + "\u2028\u0085\U000e0001", name="Zoë")
    event = json.loads(line)
    assert event["file"] == FORGED + "\u2028\u0085\U000e0001" and event["name"] == "Zoë"
    assert "\u2028" not in line and "\u0085" not in line and "\\u2028" in line
    assert "\\udb40\\udc01" in line  # an invisible tag character, as a surrogate pair


def test_escape_leaves_ordinary_text_alone() -> None:
    assert escape("Zoë Núñez, 北京") == "Zoë Núñez, 北京"
    assert escape("tab\there") == "tab\\there"


def write_config(folder: Path, source: Path, extra: str = "") -> Path:
    config = folder / "hr-connector.yaml"
    config.write_text(f"""tenant: sandbox
source: {{file: {source}}}
mapping: {ROOT / "mappings" / "default.yaml"}
parameters: {{upn_domain: contoso.com}}
paths: {{state: state, reports: reports}}
{extra}""", encoding="utf-8")
    return config


@pytest.mark.parametrize(("text", "words"), [
    ("tenant: sandbox\nsource:\n\tfile: x.csv\n", "a tab at line 3, column 1"),
    ("tenant: sandbox\npolicies: {max_disable: 3}\n", "policies.max_disable: unknown key"),
])
def test_fatal_errors_are_json_events_with_log_format_json(tmp_path: Path, text: str,
                                                          words: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "--config", str(config), "--log-format", "json"])
    assert result.exit_code == 2
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert events[-1]["event"] == "run failed" and events[-1]["level"] == "ERROR"
    assert events[-1]["exit_code"] == 2 and words in events[-1]["error"]
    # without JSON lines the same error is a plain message, and the next command is plain too
    plain = CliRunner().invoke(main, ["run", "--config", str(config)])
    assert plain.exit_code == 2 and plain.stderr.startswith("error: ")
    assert words in plain.stderr


def test_a_missing_source_is_a_json_event_after_the_run_started(tmp_path: Path) -> None:
    config = write_config(tmp_path, tmp_path / "missing.csv")
    result = CliRunner().invoke(main, ["run", "--config", str(config), "--log-format", "json"])
    assert result.exit_code == 2
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert [e["event"] for e in events][-1] == "run failed"
    assert "missing.csv" in events[-1]["error"] and "does not exist" in events[-1]["error"]


def test_runs_with_config_reads_the_state_folder_of_the_config(tmp_path: Path) -> None:
    small = tmp_path / "staff.csv"
    small.write_text("".join(SAMPLE_CSV.read_text(encoding="utf-8").splitlines(True)[:6]),
                     encoding="utf-8")
    config = write_config(tmp_path, small)
    runner = CliRunner()
    done = runner.invoke(main, ["run", "--config", str(config), "--dry-run"])
    assert done.exit_code == 0, done.output
    [report] = (tmp_path / "state" / "runs").glob("*.json")
    listed = runner.invoke(main, ["runs", "--config", str(config)], terminal_width=250)
    assert listed.exit_code == 0, listed.output
    assert str(tmp_path / "state" / "runs") in listed.output.replace("\n", "")
    assert report.stem in listed.output and "dry run" in listed.output
    shown = runner.invoke(main, ["runs", "show", report.stem[:16], "--config", str(config),
                                 "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["report"]["run_id"] == report.stem
    before = runner.invoke(main, ["runs", "--config", str(config), "show", report.stem,
                                  "--format", "json"])
    assert before.exit_code == 0 and report.stem in before.output
    both = runner.invoke(main, ["runs", "--config", str(config), "--state-dir",
                                str(tmp_path)])
    assert both.exit_code == 2 and "not both" in both.output

"""The one clock: HRC_NOW, the hidden --now option, and a sync a year later."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli.main import main
from connector.core import clock
from connector.run.tenant import sandbox_path
from connector.sandbox import list_users
from tests.helpers import ROOT, SAMPLE_CSV

DEFAULT = str(ROOT / "mappings" / "default.yaml")
UTC = dt.UTC


def test_moments_are_read_as_utc_and_bad_text_is_named() -> None:
    assert clock.parse_moment("2026-11-26") == dt.datetime(2026, 11, 26, tzinfo=UTC)
    assert clock.parse_moment("2026-11-26T05:00:00+02:00") == dt.datetime(2026, 11, 26, 3,
                                                                         tzinfo=UTC)
    with pytest.raises(ValueError, match="'26/11/2026' is not an ISO 8601"):
        clock.parse_moment("26/11/2026")


def test_hrc_now_starts_the_clock_there_and_it_runs_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.ENV, "2030-01-02T03:04:05Z")
    first = clock.now()
    assert dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC) <= first
    assert first - dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC) < dt.timedelta(seconds=5)
    assert clock.now() >= first and clock.today() == dt.date(2030, 1, 2)
    monkeypatch.delenv(clock.ENV)
    assert abs(clock.now().timestamp() - clock.system_time()) < 5


def test_an_injected_clock_wins_inside_its_block() -> None:
    fixed = clock.FixedClock(dt.datetime(2031, 5, 6, 7, 8, 9))
    with clock.use_clock(fixed):
        assert clock.now() == dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
        fixed.advance(days=1)
        assert clock.today() == dt.date(2031, 5, 7)
    assert clock.today() == dt.date(2026, 11, 26)  # the tests' pinned day again


def test_the_hidden_now_option_sets_the_clock_for_one_command() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["--now", "2027-03-01T10:00:00Z", "expr", "Now()"])
    assert result.exit_code == 0 and result.output.startswith("3/1/2027 10:00:")
    # The next command without it is back on the default clock (HRC_NOW, pinned by tests).
    result = runner.invoke(main, ["expr", "Now()"])
    assert result.output.startswith("11/26/2026 9:00:")
    bad = runner.invoke(main, ["--now", "yesterday", "expr", "Now()"])
    assert bad.exit_code == 2 and "'yesterday' is not an ISO 8601" in bad.output
    assert "--now" not in runner.invoke(main, ["--help"]).output


def _sync(state: Path, tmp: Path, when: str) -> dict[str, object]:
    report = tmp / f"report-{when}.json"
    result = CliRunner().invoke(main, ["--now", when, "sync", str(SAMPLE_CSV), "--mapping",
                                       DEFAULT, "--state-dir", str(state),
                                       "--report", str(report), "--show", "0"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(report.read_text("utf-8"))
    return data


def test_a_sync_a_year_later_sees_a_year_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sample's people as of 2027-11-26: every pre-hire has started (created and
    enabled), and the run is stamped with that day. Nothing depends on the day the test
    runs: the same export is planned the same way on any real date."""
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    on_the_day = _sync(tmp_path / "then", tmp_path, "2026-11-26T09:00:00Z")
    year_later = _sync(tmp_path / "later", tmp_path, "2027-11-26T09:00:00Z")
    assert str(on_the_day["run_id"]).startswith("20261126T09")
    assert str(year_later["run_id"]).startswith("20271126T09")
    assert str(year_later["started"]).startswith("2027-11-26T09:")

    def reasons(report: dict[str, object]) -> list[str]:
        changes = report["changes"]
        assert isinstance(changes, list)
        return [str(c.get("reason")) for c in changes if c["action"] == "skipped"]

    assert any("pre-hire starting" in r for r in reasons(on_the_day))
    assert not any("pre-hire starting" in r for r in reasons(year_later))
    later = {u.get("employeeId"): u for u in list_users(sandbox_path(tmp_path / "later"))}
    then = {u.get("employeeId"): u for u in list_users(sandbox_path(tmp_path / "then"))}
    # 083004 starts on 2026-12-13: outside the 14-day window on the day, long started later.
    assert "083004" not in then
    assert later["083004"]["accountEnabled"] is True

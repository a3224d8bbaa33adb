"""The HR drop folder: arrival order, stability, markers, skipped entries, path safety,
duplicates and the ledger. A fake clock and sleep keep every test instant."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.config import FolderSource
from connector.errors import ConfigError
from connector.run.dropfolder import Candidate, DropFolder, Taken, name_problem

posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX file system features")


class Clock:
    """Wall-clock based (file change times are real), advanced only by hand or sleep()."""

    def __init__(self) -> None:
        self.now = time.time()
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "drop"
    path.mkdir()
    return path.resolve()


def drop(folder: Path, clock: Clock, *, stable_seconds: float = 10,
         require_ready_marker: bool = False) -> DropFolder:
    return DropFolder(folder, stable_seconds=stable_seconds, clock=clock, sleep=clock.sleep,
                      require_ready_marker=require_ready_marker)


def put(folder: Path, name: str, content: str = "id,name\n1,Ann\n", *,
        mtime: float | None = None) -> Path:
    path = folder / name
    path.write_text(content, encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def names(candidates: list[Candidate]) -> list[str]:
    return [c.name for c in candidates]


def take(dropper: DropFolder, candidate: Candidate) -> Taken:
    taken = dropper.take(candidate)
    assert isinstance(taken, Taken), taken
    return taken


def take_first(dropper: DropFolder) -> Taken:
    return take(dropper, dropper.pending()[0])


def test_files_are_offered_in_arrival_order(folder: Path, clock: Clock) -> None:
    put(folder, "c.csv", "3\n", mtime=clock.now - 300)
    put(folder, "a.csv", "1\n", mtime=clock.now - 100)
    put(folder, "b.csv", "2\n", mtime=clock.now - 100)  # same time as a.csv: by name
    clock.now += 60  # past stable_seconds for every file, change time included
    dropper = drop(folder, clock)
    found = dropper.pending()
    assert names(found) == ["c.csv", "a.csv", "b.csv"]
    taken = take(dropper, found[0])
    assert taken.size == 2 and taken.sha256 == hashlib.sha256(b"3\n").hexdigest()
    assert taken.same_as is None and taken.previously_rejected is None
    assert taken.path.read_bytes() == b"3\n" and taken.path.parent.name == "work"


def test_a_growing_file_waits_until_it_is_stable(folder: Path, clock: Clock) -> None:
    dropper = drop(folder, clock, stable_seconds=10)
    path = put(folder, "staff.csv", "id\n1\n", mtime=clock.now)
    assert dropper.pending() == []
    assert dropper.skipped() == [("staff.csv", "still being written (changed less than 10s "
                                               "ago)")]
    clock.now += 5
    with path.open("a") as handle:
        handle.write("2\n")
    os.utime(path, (clock.now, clock.now))
    clock.now += 7  # 12s since the first look, but it changed 7s ago
    assert dropper.pending() == []
    clock.now += 4
    assert names(dropper.pending()) == ["staff.csv"]
    assert dropper.skipped() == []


def test_unchanged_across_two_looks_is_stable_even_with_a_future_time(
        folder: Path, clock: Clock) -> None:
    dropper = drop(folder, clock, stable_seconds=10)
    put(folder, "staff.csv", mtime=clock.now + 3600)  # a share's clock an hour ahead
    assert dropper.pending() == []
    clock.now += 10
    assert names(dropper.pending()) == ["staff.csv"]


def test_pending_can_wait_once_for_young_files(folder: Path, clock: Clock) -> None:
    put(folder, "staff.csv", mtime=clock.now - 4)
    found = drop(folder, clock, stable_seconds=10).pending(wait=True)
    assert names(found) == ["staff.csv"]
    assert clock.slept and 5.9 < clock.slept[0] <= 10


def test_ready_marker_mode(folder: Path, clock: Clock) -> None:
    dropper = drop(folder, clock, stable_seconds=0, require_ready_marker=True)
    put(folder, "staff.csv")
    assert dropper.pending() == []
    assert dropper.skipped() == [("staff.csv", "no staff.csv.ready marker yet")]
    (folder / "staff.csv.ready").touch()
    found = dropper.pending()
    assert names(found) == ["staff.csv"]
    dropper.finish(take(dropper, found[0]), ok=True, run_id="r1")
    assert not (folder / "staff.csv.ready").exists()


def test_from_config(folder: Path, clock: Clock) -> None:
    source = FolderSource(path=folder, stable_seconds=3, require_ready_marker=True)
    dropper = DropFolder.from_config(source, clock=clock, sleep=clock.sleep)
    assert (dropper.stable_seconds, dropper.require_ready_marker) == (3.0, True)


def test_temporary_hidden_and_lock_files_are_left_alone(folder: Path, clock: Clock) -> None:
    for name in (".hidden.csv", "staff.csv.part", "x.tmp", "~$staff.xlsx", "dl.crdownload",
                 "backup.csv~", "Thumbs.db", "orphan.csv.ready"):
        put(folder, name)
    (folder / "sub").mkdir()
    put(folder / "sub", "inner.csv")
    dropper = drop(folder, clock, stable_seconds=0)
    assert dropper.pending() == []
    reasons = dict(dropper.skipped())
    assert reasons["sub"].startswith("a folder")
    assert reasons[".hidden.csv"] == "a hidden file"
    assert reasons["orphan.csv.ready"] == "a ready marker without its file"
    assert {n for n, r in reasons.items() if r == "a temporary or lock file"} == {
        "staff.csv.part", "x.tmp", "~$staff.xlsx", "dl.crdownload", "backup.csv~", "Thumbs.db"}


@pytest.mark.parametrize("name", ["bad\nname.csv", "a\\b.csv", "evil\u202ecsv.exe", "tab\t.csv"])
def test_unsafe_names_are_skipped(folder: Path, clock: Clock, name: str) -> None:
    if os.name == "nt":
        pytest.skip("Windows refuses these names itself")
    put(folder, name)
    dropper = drop(folder, clock, stable_seconds=0)
    assert dropper.pending() == []
    assert [n for n, _ in dropper.skipped()] == [name]


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "../x", "x\0y"])
def test_name_problem_refuses_path_tricks(name: str) -> None:
    assert name_problem(name) is not None


@posix_only
def test_symlinks_are_skipped_and_nothing_outside_is_touched(tmp_path: Path, folder: Path,
                                                            clock: Clock) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_text("secret", encoding="utf-8")
    real = put(folder, "real.csv", "real\n")
    (folder / "evil.csv").symlink_to(outside)
    (folder / "alias.csv").symlink_to(real)
    (folder / "dirlink").symlink_to(tmp_path)
    before = outside.stat()
    dropper = drop(folder, clock, stable_seconds=0)
    found = dropper.pending()
    assert names(found) == ["real.csv"]
    reasons = dict(dropper.skipped())
    assert {n for n, r in reasons.items() if r.startswith("a link")} == {
        "evil.csv", "alias.csv", "dirlink"}
    dropper.finish(take(dropper, found[0]), ok=True, run_id="r1", reports={"json": "{}"})
    assert outside.read_text(encoding="utf-8") == "secret"
    assert outside.stat().st_mtime_ns == before.st_mtime_ns
    assert (folder / "evil.csv").is_symlink() and (folder / "alias.csv").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["drop", "outside.csv"]


@posix_only
def test_hard_links_fifos_and_a_linked_processed_folder_are_refused(
        tmp_path: Path, folder: Path, clock: Clock) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_text("secret", encoding="utf-8")
    os.link(outside, folder / "hard.csv")
    os.mkfifo(folder / "pipe.csv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (folder / "processed").symlink_to(elsewhere)
    put(folder, "staff.csv")
    dropper = drop(folder, clock, stable_seconds=0)
    found = dropper.pending()
    reasons = dict(dropper.skipped())
    assert reasons["hard.csv"].startswith("has other hard links")
    assert reasons["pipe.csv"] == "not a regular file"
    with pytest.raises(ConfigError, match="not a file or a link"):
        dropper.finish(take(dropper, found[0]), ok=True, run_id="r1")
    assert list(elsewhere.iterdir()) == [] and (folder / "staff.csv").exists()
    # the ledger entry is only written once the destination is known to be safe
    assert not (folder / ".hr-connector" / "ledger.json").exists()


@posix_only
def test_a_folder_given_as_a_link_is_worked_in_where_it_points(
        tmp_path: Path, folder: Path, clock: Clock) -> None:
    link = tmp_path / "link"
    link.symlink_to(folder)
    put(folder, "staff.csv")
    dropper = drop(link, clock, stable_seconds=0)
    assert dropper.folder == folder
    moved = dropper.finish(take_first(dropper), ok=True, run_id="r1")
    assert moved.parent == folder / "processed"


def test_missing_folder_is_a_config_error(tmp_path: Path, clock: Clock) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        drop(tmp_path / "nope", clock)


def test_finish_moves_with_a_timestamped_name_and_never_overwrites(
        folder: Path, clock: Clock) -> None:
    clock.now = 1795667712.0  # 2026-11-26T04:35:12Z
    put(folder, "staff.csv", "new\n", mtime=clock.now - 60)
    (folder / "processed").mkdir()
    taken = folder / "processed" / "20261126T043512Z-staff.csv"
    taken.write_text("old", encoding="utf-8")
    dropper = drop(folder, clock, stable_seconds=0)
    moved = dropper.finish(take_first(dropper), ok=True, run_id="r1")
    assert moved.name == "20261126T043512Z-2-staff.csv"
    assert taken.read_text(encoding="utf-8") == "old"
    assert moved.read_text(encoding="utf-8") == "new\n" and not (folder / "staff.csv").exists()
    put(folder, "staff.csv", "newer\n", mtime=clock.now - 60)
    again = dropper.finish(take_first(dropper), ok=True, run_id="r2")
    assert again.name == "20261126T043512Z-3-staff.csv"


def test_a_long_name_is_cut_to_fit_keeping_its_extension(folder: Path, clock: Clock) -> None:
    name = "\u00fc" * 120 + ".csv"  # 244 bytes: a valid name, too long with a time stamp
    put(folder, name)
    dropper = drop(folder, clock, stable_seconds=0)
    moved = dropper.finish(take_first(dropper), ok=False, run_id="r1", reports={"html": "x"})
    assert len(moved.name.encode()) <= 200 and moved.name.endswith("\u00fc.csv")
    assert (moved.parent / f"{moved.name}.report.html").exists()
    assert dropper.ledger()[0].name == name


def test_reports_are_written_beside_the_moved_file(tmp_path: Path, folder: Path,
                                                   clock: Clock) -> None:
    put(folder, "staff.csv")
    dropper = drop(folder, clock, stable_seconds=0)
    moved = dropper.finish(take_first(dropper), ok=True, run_id="r1", reports={
        "json": '{"ok": true}', "html": b"<p>ok</p>", "../../evil": "x", "/etc/passwd": "y"})
    beside = sorted(p.name for p in moved.parent.iterdir())
    assert beside == sorted([moved.name, f"{moved.name}.report.json",
                             f"{moved.name}.report.html", f"{moved.name}.report.evil",
                             f"{moved.name}.report.etc_passwd",
                             f"{moved.name}.report.file.json"])
    assert (moved.parent / f"{moved.name}.report.html").read_bytes() == b"<p>ok</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["drop"]


def test_same_content_as_the_last_applied_is_taken_and_says_so(folder: Path,
                                                                clock: Clock) -> None:
    put(folder, "monday.csv", "id\n1\n", mtime=clock.now - 60)
    dropper = drop(folder, clock, stable_seconds=0)
    dropper.finish(take_first(dropper), ok=True, run_id="r1")
    put(folder, "monday (copy).csv", "id\n1\n")
    again = take_first(dropper)
    assert again.same_as is not None
    assert again.same_as.describe() == "monday.csv (r1)"
    moved = dropper.finish(again, ok=True, run_id="r2")
    assert moved.parent.name == "processed"
    note = json.loads((moved.parent / f"{moved.name}.report.file.json").read_text("utf-8"))
    assert note["outcome"] == "applied" and note["run_id"] == "r2"
    assert note["message"] == "same content as monday.csv (r1), the last file applied"
    assert note["same_content_as"]["run_id"] == "r1"
    assert note["sha256"] == hashlib.sha256(b"id\n1\n").hexdigest()
    assert [e.outcome for e in dropper.ledger()] == ["applied", "applied"]


def test_an_earlier_export_dropped_again_is_not_the_same_as_the_last(folder: Path,
                                                                    clock: Clock) -> None:
    dropper = drop(folder, clock, stable_seconds=0)
    for name, content in (("monday.csv", "id\n1\n"), ("tuesday.csv", "id\n2\n")):
        put(folder, name, content)
        dropper.finish(take_first(dropper), ok=True, run_id=name)
    put(folder, "monday again.csv", "id\n1\n")
    again = take_first(dropper)
    assert again.same_as is None  # applied before, but not last: it changes things back


def test_several_files_with_the_same_content_are_all_offered(folder: Path,
                                                            clock: Clock) -> None:
    put(folder, "a.csv", "same\n", mtime=clock.now - 60)
    put(folder, "b.csv", "same\n", mtime=clock.now - 30)
    dropper = drop(folder, clock, stable_seconds=0)
    found = dropper.pending()
    assert names(found) == ["a.csv", "b.csv"]
    dropper.finish(take(dropper, found[0]), ok=True, run_id="r1")
    second = take(dropper, found[1])
    assert second.same_as is not None and second.same_as.name == "a.csv"


def test_a_rejected_file_goes_to_rejected_with_its_report(folder: Path, clock: Clock) -> None:
    put(folder, "bad.csv", "no header\n")
    dropper = drop(folder, clock, stable_seconds=0)
    moved = dropper.finish(take_first(dropper), ok=False, run_id="r1",
                           reports={"json": '{"error": "no header"}'})
    assert moved.parent == folder / "rejected"
    assert (moved.parent / f"{moved.name}.report.json").exists()
    assert dropper.ledger()[0].outcome == "rejected"
    assert dropper.ledger()[0].moved_to == f"rejected/{moved.name}"
    # the same content again is taken again (the mapping may have been fixed) and says so
    put(folder, "bad again.csv", "no header\n")
    again = take_first(dropper)
    assert again.same_as is None
    assert again.previously_rejected is not None and again.previously_rejected.run_id == "r1"


def test_a_file_changed_before_it_is_taken_waits(folder: Path, clock: Clock) -> None:
    path = put(folder, "staff.csv", "v1\n", mtime=clock.now - 60)
    dropper = drop(folder, clock, stable_seconds=0)
    candidate = dropper.pending()[0]
    path.write_text("version 2\n", encoding="utf-8")
    assert dropper.take(candidate) == ("changed since it was found; it is looked at again "
                                       "next time")
    assert list((folder / ".hr-connector" / "work").iterdir()) == []


def test_what_is_kept_is_what_was_read_even_if_the_writer_goes_on(folder: Path,
                                                                  clock: Clock) -> None:
    path = put(folder, "staff.csv", "id,name\n1,Ann\n", mtime=clock.now - 60)
    dropper = drop(folder, clock, stable_seconds=0)
    taken = take_first(dropper)
    with path.open("a", encoding="utf-8") as handle:  # the writer was not done after all
        handle.write("2,Bob\n")
    kept = dropper.finish(taken, ok=True, run_id="r1")
    assert kept.read_bytes() == b"id,name\n1,Ann\n"
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == taken.sha256
    assert path.read_text(encoding="utf-8") == "id,name\n1,Ann\n2,Bob\n"  # for next time
    note = json.loads((kept.parent / f"{kept.name}.report.file.json").read_text("utf-8"))
    assert note["dropped_file_removed"] is False


def test_the_ledger_survives_a_new_instance(folder: Path, clock: Clock) -> None:
    put(folder, "staff.csv", "content\n")
    dropper = drop(folder, clock, stable_seconds=0)
    dropper.finish(take_first(dropper), ok=True, run_id="r1")
    put(folder, "staff.csv", "content\n")
    fresh = drop(folder, clock, stable_seconds=0)
    assert fresh.ledger() == dropper.ledger()
    assert take_first(fresh).same_as == dropper.ledger()[0]


@pytest.mark.parametrize("text", ["{not json", '{"version": 1, "entries": [{"sha256": 1}]}',
                                  "[]", "\xff"])
def test_a_corrupted_ledger_is_a_config_error_naming_it(folder: Path, clock: Clock,
                                                        text: str) -> None:
    (folder / ".hr-connector").mkdir()
    ledger = folder / ".hr-connector" / "ledger.json"
    ledger.write_bytes(text.encode("latin-1"))
    with pytest.raises(ConfigError, match="ledger.json is corrupted"):
        drop(folder, clock)


def _outside(root: Path, folder: Path) -> dict[str, tuple[int, int, int]]:
    """Everything under root but outside folder: path -> (mode, size, mtime)."""
    seen: dict[str, tuple[int, int, int]] = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(top, name)
            if path != folder and not path.is_relative_to(folder):
                info = path.lstat()
                seen[str(path)] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return seen


_PLAIN = st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp"))
_FILE_NAMES = st.one_of(st.text(min_size=1, max_size=60), st.text(_PLAIN, min_size=1,
                                                                 max_size=70))
_KEYS = st.one_of(st.text(max_size=20), st.sampled_from(
    ["../x", "..", "/etc/passwd", "a/../../b", "..\\..\\c", "json", ".json", ""]))


@settings(max_examples=80, deadline=None)
@given(file_names=st.lists(_FILE_NAMES, min_size=1, max_size=4, unique=True),
       report_keys=st.lists(_KEYS, max_size=3), ok=st.booleans(), markers=st.booleans())
def test_no_name_ever_reaches_outside_the_folder(file_names: list[str], report_keys: list[str],
                                                 ok: bool, markers: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        folder = root / "drop"
        folder.mkdir()
        (root / "outside.csv").write_text("secret", encoding="utf-8")
        (root / "sibling").mkdir()
        for name in file_names:
            # Only a name the file system can hold as one entry of the folder can be dropped.
            if "/" in name or "\0" in name or name in (".", "..") or \
                    name in ("processed", "rejected", ".hr-connector") or \
                    (sys.platform == "win32" and name_problem(name)):
                continue
            try:
                (folder / name).write_bytes(b"x" + name.encode("utf-8", "surrogatepass")
                                            + b"\n")
                if markers:
                    (folder / f"{name}.ready").touch()
            except (OSError, ValueError):
                continue  # too long or not encodable here
        before = _outside(root, folder)
        clock = Clock()
        dropper = DropFolder(folder, stable_seconds=0, clock=clock, sleep=clock.sleep,
                             require_ready_marker=markers)
        for candidate in dropper.pending():
            taken = dropper.take(candidate)
            if isinstance(taken, str):
                assert "looked at again next time" in taken  # a name with a line break
                continue
            moved = dropper.finish(taken, ok=ok, run_id="r/../1",
                                   reports={key: "r" for key in report_keys})
            assert moved.parent.parent == folder
        assert _outside(root, folder) == before
        for top, _, files in os.walk(folder):
            for name in files:
                path = Path(top, name)
                assert not path.is_symlink()
                assert path.resolve().is_relative_to(folder)
                assert len(name.encode("utf-8", "surrogateescape")) <= 255

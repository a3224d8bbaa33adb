"""A dropped file is applied only once whole; what is kept is pruned by its name only.
A fake clock and sleep stand in for time: no test waits."""

from __future__ import annotations

import datetime as dt
import os
import threading
import zipfile
from pathlib import Path

import pytest

from connector.run.dropfolder import GIVE_UP_SECONDS, DropFolder, Taken
from connector.run.dropfolder.ready import incomplete
from tests.helpers import SAMPLE_CSV, SAMPLE_XLSX
from tests.test_dropfolder import Clock, put, take_first


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "drop"
    path.mkdir()
    return path.resolve()


def test_a_writer_pausing_longer_than_stable_seconds_is_not_applied_half_written(
        folder: Path, clock: Clock) -> None:
    """The issue's case: 29 people disabled by a half file. The writer writes half the
    export, pauses 30 s (past stable_seconds: 10), then finishes."""
    export = SAMPLE_CSV.read_bytes()
    half = len(export) // 2
    path = folder / "staff.csv"
    half_written, resume = threading.Event(), threading.Event()

    def writer() -> None:
        with path.open("wb") as handle:
            handle.write(export[:half])
            handle.flush()
            half_written.set()
            resume.wait(timeout=30)
            handle.write(export[half:])

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert half_written.wait(timeout=30)
        dropper = DropFolder(folder, stable_seconds=10, clock=clock, sleep=clock.sleep)
        clock.now += 30  # the writer's pause: the file looks stable by its times
        [candidate] = dropper.pending(wait=True)
        assert dropper.take(candidate) == ("does not end with a line break: its last line "
                                           "is cut short; it is looked at again next time")
        assert path.exists() and not (folder / "processed").exists()
        assert list((folder / ".hr-connector" / "work").iterdir()) == []
    finally:
        resume.set()
        thread.join(timeout=30)
    clock.now += 1
    ready = dropper.pending(wait=True)
    taken = take_first_of(dropper, ready)
    assert taken.path.read_bytes() == export


def take_first_of(dropper: DropFolder, found: list) -> Taken:  # type: ignore[type-arg]
    taken = dropper.take(found[0])
    assert isinstance(taken, Taken), taken
    return taken


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "is empty"),
    (b"id,name,dept\n1,Ann,HR\n2,Bo", "does not end with a line break"),
    (b"id,name,dept\n1,Ann,HR\n2,Bob\n", "its last record (line 3) has 2 field(s) where the "
                                         "header has 3"),
    (b'id,name,address\n1,Ann,"Main St\n', "ends inside a quoted value"),
    ("id;name\r\n1;Zoë\r\n2".encode("utf-16"), "does not end with a line break"),
])
def test_text_cut_short_is_not_ready(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "staff.csv"
    path.write_bytes(content)
    found = incomplete(path)
    assert found is not None and reason in found


@pytest.mark.parametrize("content", [
    b"id,name,dept\n1,Ann,HR\n2,Bob,IT\n",
    b"Staff export\nid,name,dept\n1,Ann,HR\n\n\n",  # a title row, blank lines at the end
    b'id,name,address\n1,Ann,"Main St\n4"\n',  # a quoted line break, closed
    b"id,name,dept\r\n1,Ann,HR\r\n",
    "id;name\r\n1;Zoë\r\n".encode("utf-16"),
    b"%PDF-1.7 not an export",  # not text: the reader refuses it with its own message
])
def test_whole_text_is_ready(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "staff.csv"
    path.write_bytes(content)
    assert incomplete(path) is None


def test_a_workbook_is_ready_only_with_its_zip_directory(tmp_path: Path) -> None:
    whole = SAMPLE_XLSX.read_bytes()
    path = tmp_path / "staff.xlsx"
    path.write_bytes(whole)
    assert incomplete(path) is None
    path.write_bytes(whole[: len(whole) - 100])  # the end of the directory is missing
    assert "without the end of its directory" in (incomplete(path) or "")
    with zipfile.ZipFile(SAMPLE_XLSX) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        part = archive.getinfo("xl/workbook.xml")
    offset = part.header_offset + 30 + len(part.filename.encode()) + len(part.extra)
    data[offset + 5] ^= 0xFF  # damage the workbook part: its checksum fails
    path.write_bytes(bytes(data))
    assert "does not read back whole" in (incomplete(path) or "")


def test_a_file_cut_short_for_a_day_is_handed_over_to_be_rejected(folder: Path,
                                                                 clock: Clock) -> None:
    put(folder, "staff.csv", "id,name\n1,Ann\n2,B", mtime=clock.now - 60)
    dropper = DropFolder(folder, stable_seconds=10, clock=clock, sleep=clock.sleep)
    clock.now += 60
    assert isinstance(dropper.take(dropper.pending()[0]), str)
    clock.now += GIVE_UP_SECONDS
    taken = take_first(dropper)
    assert taken.incomplete is not None and "line break" in taken.incomplete
    kept = dropper.finish(taken, ok=False, run_id="unusable")
    assert kept.parent.name == "rejected" and not (folder / "staff.csv").exists()


def test_a_dry_run_copies_outside_the_drop_folder(folder: Path, clock: Clock,
                                                  tmp_path: Path) -> None:
    put(folder, "staff.csv", mtime=clock.now - 60)
    dropper = DropFolder(folder, stable_seconds=0, clock=clock, sleep=clock.sleep)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    taken = dropper.take(dropper.pending()[0], work=scratch)
    assert isinstance(taken, Taken) and taken.path.parent == scratch
    dropper.discard(taken)
    assert sorted(p.name for p in folder.iterdir()) == ["staff.csv"]


def test_copies_left_by_a_crash_are_cleared(folder: Path, clock: Clock) -> None:
    put(folder, "staff.csv", mtime=clock.now - 60)
    dropper = DropFolder(folder, stable_seconds=0, clock=clock, sleep=clock.sleep)
    taken = take_first(dropper)  # and then the run died
    stray = taken.path.parent / "notes.txt"
    stray.write_text("not ours", encoding="utf-8")
    assert dropper.clear_work() == 1
    assert not taken.path.exists() and stray.exists()
    assert (folder / "staff.csv").exists()  # the next run applies it


def _age(path: Path, days: float) -> None:
    moment = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).timestamp()
    os.utime(path, (moment, moment))


def test_retention_deletes_only_the_files_the_drop_folder_kept(folder: Path) -> None:
    clock = Clock()
    dropper = DropFolder(folder, stable_seconds=0, clock=clock, sleep=clock.sleep)
    clock.now -= 40 * 86400  # forty days ago
    put(folder, "old.csv", mtime=clock.now)
    old = dropper.finish(take_first(dropper), ok=True, run_id="r-old",
                         reports={"json": "{}"})
    rejected = put(folder, "bad.csv", "x\n", mtime=clock.now)
    bad = dropper.finish(take_first(dropper), ok=False, run_id="unusable")
    clock.now += 40 * 86400  # today
    put(folder, "new.csv", mtime=clock.now)
    new = dropper.finish(take_first(dropper), ok=True, run_id="r-new")
    for path in (*old.parent.iterdir(), *bad.parent.iterdir()):
        if not path.name.startswith(new.name):
            _age(path, 40)
    mine = old.parent / "budget-2026.xlsx"  # somebody's file: not the connector's
    mine.write_bytes(b"numbers")
    _age(mine, 400)
    restored = old.parent / "20261001T000000Z-restored.csv"  # old name, copied back today
    restored.write_text("id\n", encoding="utf-8")
    assert not rejected.exists()
    assert dropper.prune(days=30) == 5  # old + 2 reports, bad + its file report
    left = sorted(p.name for p in old.parent.iterdir())
    assert left == sorted(["budget-2026.xlsx", restored.name, new.name,
                           f"{new.name}.report.file.json"])
    assert list(bad.parent.iterdir()) == []
    assert [e.run_id for e in dropper.ledger()] == ["r-new"]
    assert [e.run_id for e in DropFolder(folder, clock=clock).ledger()] == ["r-new"]

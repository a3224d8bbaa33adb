"""The HR drop folder: HR, or their export job, drops files into one folder, and each new
file is applied once it is ready, in arrival order; several files waiting are all handled
in one run.

Layout, inside the folder (sub-folders are created on first use)::

    staff.csv                       a new file, waiting (files sit at the top level)
    processed/20261126T043512Z-staff.csv              the exact bytes applied
    processed/20261126T043512Z-staff.csv.report.json  its reports, beside it
    processed/20261126T043512Z-staff.csv.report.file.json  the file, SHA-256, outcome
    rejected/20261126T043512Z-staff.csv               not applied, with its reports
    .hr-connector/ledger.json       the content (SHA-256) of every file kept, with its
                                    outcome, run id and date
    .hr-connector/work/             the copy a run is reading (private; emptied by the
                                    next run after a crash)

What is picked up: regular files at the top level. Left alone, and listed with a reason
for the log: hidden names (starting with ``.``), ``*.ready`` markers, temporary and lock
files (``*.part``, ``*.partial``, ``*.tmp``, ``*.temp``, ``*.crdownload``, ``*.download``,
``*.swp``, ``*~``, ``~$*`` from Excel, ``Thumbs.db``, ``desktop.ini``), sub-folders, links
of any kind (symbolic links, junctions, files with more than one hard link: a link is never
followed, so nothing outside the folder is ever read or moved), pipes and devices, and
names with control or invisible characters, a backslash, or bytes that are not text.

A file is applied only when it is ready (:mod:`.ready`): *stable*, unchanged (size,
modification and change time) for ``stable_seconds`` — its last change is at least that
old, or two looks that far apart saw it the same — and *whole*: a workbook has the end
of its ZIP directory and reads back, delimited text ends with a line break and its last
record has the header's field count. With ``require_ready_marker``, ``NAME`` also waits
for ``NAME.ready`` (removed with the file; ``stable_seconds: 0`` relies on the marker
alone). A one-off run waits once, up to ``stable_seconds``, for files not stable yet. A
file that stays cut short for 24 hours unchanged is rejected: its writer has died.

What is applied is a copy: the file's bytes are read once into ``.hr-connector/work/``,
hashed, checked, and the run reads that copy, which is then kept in ``processed/`` (or
``rejected/``): the kept file is exactly what was applied, its SHA-256 in its
``report.file.json``. A writer still appending cannot change what is applied; the
dropped file is removed only if it is still what was copied, otherwise its new content
is taken by the next run.

Every new file is applied, even one with the same content as a file applied before:
applying an export again is idempotent (an unchanged tenant gets no writes), and HR
dropping an earlier export again means it (undoing a mistaken termination, say). A file
with the same content as the last one applied is reported as "same content as <file>
(<run id>)" and planned as usual. Content rejected before is taken again too (the
mapping may have been fixed).

Arrival order is the files' modification time, then name: a copy that keeps the export's
time keeps its place too. Moves and writes never overwrite (a name already taken gets a
number: ``20261126T043512Z-2-staff.csv``), every path is built from the resolved folder
and one name and checked to stay in it, and the ledger is replaced atomically. A crash at
any moment leaves the dropped file in place, so the next run applies it (again): no
writes, or the ones the crash prevented. A folder given as a link is resolved once and
worked in where it points; ``processed``, ``rejected`` or ``.hr-connector`` being a link
or a file stops the run.

Retention (:meth:`DropFolder.prune`) deletes only the files the connector kept, by their
time-stamped names, once both the name and the modification time are older than
``retention.hr_files_days``; the ledger forgets what is gone.
"""

from connector.run.dropfolder.files import Candidate, Taken
from connector.run.dropfolder.folder import GIVE_UP_SECONDS, DropFolder
from connector.run.dropfolder.ledger import LedgerEntry, LedgerOutcome
from connector.run.dropfolder.names import MARKER, PROCESSED, REJECTED, STATE, name_problem

__all__ = ["GIVE_UP_SECONDS", "MARKER", "PROCESSED", "REJECTED", "STATE", "Candidate",
           "DropFolder", "LedgerEntry", "LedgerOutcome", "Taken", "name_problem"]

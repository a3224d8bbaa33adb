"""The format of an HR file, decided by its first bytes rather than its name, and the
reader for it (``open_source``)."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

from connector.errors import SourceError
from connector.readers.base import Reader
from connector.readers.files.csv import CsvReader
from connector.readers.files.excel import ExcelReader
from connector.readers.files.limits import open_regular

#: How many bytes ``sniff_format`` looks at (it needs no more).
HEAD_BYTES = 16
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
_TEXT_SUFFIXES = {".csv", ".txt", ".tsv", ".tab", ".psv", ""}
_OTHER_SIGNATURES = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x1f\x8b": "a gzip archive",
    b"{\\rtf": "an RTF document",
    b"\x7fELF": "a program (ELF executable)",
    b"7z\xbc\xaf\x27\x1c": "a 7-Zip archive",
    b"Rar!\x1a\x07": "a RAR archive",
    b"\xfd7zXZ\x00": "an xz archive",
    b"\x28\xb5\x2f\xfd": "a zstd archive",
    b"SQLite format 3\x00": "an SQLite database",
}


def sniff_format(path: Path, head: bytes) -> str:
    """``xlsx`` or ``csv`` for what the bytes are; ``SourceError`` for anything else."""
    name = str(path)
    suffix = path.suffix.lower()
    if head.startswith(_OLE2):
        raise SourceError(
            "is a legacy Excel 97-2003 workbook (.xls) or another old Office document, "
            "which is not supported; open it in Excel and save it as Excel Workbook (.xlsx) "
            "or CSV UTF-8",
            file=name,
        )
    if head.startswith(_ZIP):
        if not _is_workbook(path):
            raise SourceError("is a ZIP archive but not an Excel workbook", file=name)
        return "xlsx"
    for signature, what in _OTHER_SIGNATURES.items():
        if head.startswith(signature):
            raise SourceError(f"is {what}, not an HR export (CSV or XLSX)", file=name)
    if suffix in _EXCEL_SUFFIXES:
        raise SourceError(
            f"has the extension {path.suffix} but is not an Excel workbook "
            "(it does not start like one); is it a renamed CSV?",
            file=name,
        )
    if suffix == ".xls":
        # Some HR systems write an HTML table or tab-separated text and call it .xls;
        # guessing which would risk misreading it, so say what it is not.
        raise SourceError(
            "has the extension .xls but is not an Excel 97-2003 workbook; if it is "
            "delimited text, rename it to .csv, otherwise save it as .xlsx",
            file=name,
        )
    if suffix not in _TEXT_SUFFIXES:
        raise SourceError(
            f"has the extension {path.suffix}, which is not a format this tool reads "
            "(CSV, TSV, TXT, XLSX, XLSM)",
            file=name,
        )
    return "csv"


def _is_workbook(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def open_source(
    path: str | Path,
    *,
    sheet: str | None = None,
    hint: Sequence[str] = (),
) -> Reader:
    """Open an HR export file and return its reader, header already read.

    ``sheet`` picks a worksheet by name (default: the first). ``hint`` lists column
    names the caller expects, which helps find the header under title rows.
    """
    path = Path(path)
    name = str(path)
    handle = open_regular(path, name)  # a FIFO, a device, a folder ... is refused here
    try:
        try:
            head = handle.read(HEAD_BYTES)
        except OSError as exc:
            raise SourceError(f"cannot be read: {exc.strerror}", file=name) from None
        if sniff_format(path, head) == "xlsx":
            handle.close()
            return ExcelReader(path, name=name, sheet=sheet, hint=hint)
        if sheet is not None:
            raise SourceError("is a text file; --sheet applies to Excel workbooks only",
                              file=name)
        return CsvReader(path, name=name, hint=hint, handle=handle)
    except BaseException:
        handle.close()
        raise

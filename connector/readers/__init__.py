"""Readers: HR sources in, ``Record`` values (row number + column -> text) out.

``open_source(path)`` looks at a file's first bytes, not only its name, and returns the
reader for what it really is (``files.detect``); a file that is not what its extension
says, or a format we do not read (legacy ``.xls``), gets a clear ``SourceError``. HR REST
APIs are read by ``apis`` (the generic reader and the BambooHR and Personio presets).
"""

from connector.core.records import Record
from connector.readers.base import Reader
from connector.readers.files.csv import CsvReader
from connector.readers.files.detect import HEAD_BYTES, open_source, sniff_format
from connector.readers.files.excel import ExcelReader

__all__ = ["HEAD_BYTES", "CsvReader", "ExcelReader", "Reader", "Record", "open_source",
           "sniff_format"]

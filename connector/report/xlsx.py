"""The sync report as an Excel workbook (``--report plan.xlsx``, ``reports: [xlsx]``), for
HR to sort and filter in Excel. Rendered from the JSON report like every format. Pure: it
returns the workbook's bytes, the caller writes them.

Sheets:

* **Summary**: the headline, the run (id, status, source, mapping, tenant, times, counts of
  records and managed users), the safety stop's reasons, and the count of every action.
* **Changes**: one row per attribute change, as the CSV report has it (action, key, UPN,
  row, attribute, old, new, reason, outcome); a change without attributes (a delete, a
  skipped record) has one row with an empty attribute. Past Excel's 1,048,576 rows a sheet,
  the rows go on in "Changes 2", "Changes 3" ...
* **Groups** (when the mapping keeps groups): one row per group change and attribute
  (action, group, mailNickname, member key, UPN, attribute, old, new, reason, outcome);
  a member joining reads ``group``: empty -> the group.
* **Problems**: record errors and failed writes, then warnings: where (file, row, column,
  key), why, and Graph's error code and request-id for a failed write.

Every value from HR or Graph is a text cell holding exactly the value, never a formula: a
value such as ``=HYPERLINK(...)`` is stored as text (data type ``s``), so a spreadsheet
shows it and never runs it (the CSV report, which has no cell types, prefixes ``'``
instead). A CR becomes a line break (LF), characters XML cannot hold (``NOT_XML``)
become U+FFFD, and a value longer than Excel's 32,767 characters a cell is cut there and
ends with ``…``. The workbook is written row by row (openpyxl's write-only mode), so
rendering it holds no cell objects, only the finished file; about 4,000 change rows a
second.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from connector.core.plan.group_model import GROUP_LABELS
from connector.report.groups import group_pairs
from connector.report.html import headline, value_text

#: Excel's limits: rows a sheet (the header included) and characters a cell.
MAX_ROWS = 1_048_576
MAX_CELL = 32_767

#: (header, width) of the Changes sheet's columns.
CHANGE_COLUMNS = (("Action", 10), ("Key", 12), ("UPN", 34), ("Row", 7), ("Attribute", 24),
                  ("Old", 34), ("New", 34), ("Reason", 40), ("Outcome", 40))
GROUP_COLUMNS = (("Action", 14), ("Group", 30), ("mailNickname", 26), ("Member", 12),
                 ("UPN", 34), ("Attribute", 14), ("Old", 30), ("New", 30), ("Reason", 40),
                 ("Outcome", 40))
PROBLEM_COLUMNS = (("Severity", 10), ("File", 28), ("Row", 10), ("Column", 20), ("Key", 12),
                   ("Problem", 70), ("Action", 10), ("Code", 24), ("Request id", 38))
_RUN = (("Run", "run_id"), ("Status", "status"), ("Source", "source"),
        ("Mapping", "mapping"), ("Tenant", "tenant"), ("Started", "started"),
        ("Finished", "finished"), ("Records", "records"), ("Managed users", "managed"))
_BOLD = Font(bold=True)
#: What XML 1.0 cannot hold: control characters but tab and line breaks (what openpyxl
#: refuses), the noncharacters U+FFFE and U+FFFF (which openpyxl writes and no reader
#: parses), and lone surrogates (which a JSON API may send and UTF-8 cannot encode).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

#: How a change went, for the Outcome column (``report.sync`` knows dry and stopped runs).
OutcomeText = Callable[[Mapping[str, Any]], str]


def _text(value: Any) -> str:
    """A value as the cell's text: as the other reports show it, within Excel's limits."""
    # XML reads a CR as a line break anyway (as the CSV report writes it): say so here.
    text = value_text(value).replace("\r\n", "\n").replace("\r", "\n")
    text = NOT_XML.sub("\ufffd", text)
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 1] + "…"


def _cell(sheet: WriteOnlyWorksheet, value: Any, *, bold: bool = False) -> Cell:
    """A cell for ``value``: whole numbers stay numbers; everything else is text, set as
    text so that openpyxl never reads a leading ``=`` as a formula."""
    if isinstance(value, int) and not isinstance(value, bool):
        cell = WriteOnlyCell(sheet, value)
    else:
        cell = WriteOnlyCell(sheet, _text(value))
        cell.data_type = "s"
    if bold:
        cell.font = _BOLD
    return cell


def _widths(sheet: WriteOnlyWorksheet, widths: Sequence[int]) -> None:
    """Column widths, set before the first row (write-only sheets write them first)."""
    for index, width in enumerate(widths, start=1):
        # The stubs miss write-only sheets' column_dimensions (openpyxl has them).
        sheet.column_dimensions[get_column_letter(index)].width = width  # type: ignore[attr-defined]


def _sheet(book: Workbook, title: str, columns: Sequence[tuple[str, int]]
           ) -> WriteOnlyWorksheet:
    """A sheet with a bold header row, frozen under it, and the columns' widths."""
    sheet: WriteOnlyWorksheet = book.create_sheet(title)
    sheet.freeze_panes = "A2"
    _widths(sheet, [width for _, width in columns])
    sheet.append([_cell(sheet, name, bold=True) for name, _ in columns])
    return sheet


def _rows(book: Workbook, title: str, columns: Sequence[tuple[str, int]],
          rows: Iterable[Sequence[Any]]) -> None:
    """Write ``rows`` under a header, going on in a new sheet when one is full."""
    sheet, used, part = _sheet(book, title, columns), 1, 1
    for row in rows:
        if used == MAX_ROWS:
            part += 1
            sheet, used = _sheet(book, f"{title} {part}", columns), 1
        sheet.append([_cell(sheet, value) for value in row])
        used += 1


def _summary(book: Workbook, report: Mapping[str, Any], counted: Sequence[str]) -> None:
    sheet: WriteOnlyWorksheet = book.create_sheet("Summary")
    _widths(sheet, [28, 80])
    rows: list[list[Any]] = [[_cell(sheet, "HR sync report", bold=True)],
                             [_cell(sheet, headline(report))], []]
    rows.extend([_cell(sheet, label, bold=True), _cell(sheet, report[name])]
                for label, name in _RUN)
    rows.append([_cell(sheet, "Dry run", bold=True),
                 _cell(sheet, "yes: nothing was written" if report["dry_run"] else "no")])
    if report["stopped"]:
        rows.extend([[], [_cell(sheet, "Stopped by the safety checks: nothing was written",
                                bold=True)]])
        rows.extend([_cell(sheet, reason)] for reason in report["stopped"])
    rows.extend([[], [_cell(sheet, "Action", bold=True), _cell(sheet, "Count", bold=True)]])
    rows.extend([_cell(sheet, action), _cell(sheet, report["summary"][action])]
                for action in counted)
    groups = (report.get("groups") or {}).get("summary")
    if groups:
        rows.extend([[], [_cell(sheet, "Group action", bold=True),
                          _cell(sheet, "Count", bold=True)]])
        rows.extend([_cell(sheet, name), _cell(sheet, count)]
                    for name, count in groups.items()
                    if not (report["dry_run"] and name in ("written", "failed")))
    for row in rows:
        sheet.append(row)


def _change_rows(report: Mapping[str, Any], outcome_of: OutcomeText) -> Iterator[list[Any]]:
    for item in report["changes"]:
        start = [item["action"], item["employeeId"], item["userPrincipalName"], item["row"]]
        end = [item["reason"], outcome_of(item)]
        if not item["attributes"]:
            yield [*start, None, None, None, *end]
        for name, change in item["attributes"].items():
            yield [*start, name, change["old"], change["new"], *end]


def _problem_rows(report: Mapping[str, Any]) -> Iterator[list[Any]]:
    for problem in [*report["errors"], *report["warnings"]]:
        rows = problem.get("row", ", ".join(str(r) for r in problem.get("rows", [])))
        yield [problem["severity"], problem.get("file"), rows, problem.get("column"),
               problem.get("key"), problem["reason"], problem.get("action"),
               problem.get("code"), problem.get("requestId")]


def _group_rows(report: Mapping[str, Any], outcome_of: OutcomeText) -> Iterator[list[Any]]:
    for item in report["groups"]["changes"]:
        start = [GROUP_LABELS[item["action"]], item["group"], item["mailNickname"],
                 item["member"], item["userPrincipalName"]]
        for name, old, new in group_pairs(item):
            yield [*start, name, old, new, item["reason"], outcome_of(item)]


def xlsx_workbook(report: Mapping[str, Any], *, counted: Sequence[str],
                  outcome_of: OutcomeText,
                  group_outcome_of: OutcomeText = lambda item: "") -> bytes:
    """The workbook for a report dict (``report.sync.sync_dict``). ``counted`` names the
    actions the summary counts and ``outcome_of(item)`` says how a change went, as the
    other formats do (``report.sync`` passes both, and ``group_outcome_of`` for group
    changes)."""
    book = Workbook(write_only=True)
    _summary(book, report, counted)
    _rows(book, "Changes", CHANGE_COLUMNS, _change_rows(report, outcome_of))
    if report.get("groups") is not None:
        _rows(book, "Groups", GROUP_COLUMNS, _group_rows(report, group_outcome_of))
    _rows(book, "Problems", PROBLEM_COLUMNS, _problem_rows(report))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


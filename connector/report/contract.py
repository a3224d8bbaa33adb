"""The JSON report of a sync run (the contract ``connector.report.sync`` documents), made
so that a run of a million changes costs what it shows. Pure.

``sync_report(result)`` is the report every format renders: its small parts (run
metadata, the summary, warnings, errors) are built at once, its ``changes`` are a
``ChangeItems``, made one item at a time each time a format reads them and never held
together. ``sync_dict(result)`` is the same report as plain JSON data (every item in a
list), for callers that want it whole. ``write_json`` streams a report to a file, with
orjson (the standard library's indenting encoder took longer to write a report than the
run took to plan it).
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import IO, Any

import orjson

from connector.core.plan import ACTIONS, Change
from connector.core.results import SyncResult, WriteOutcome
from connector.errors import Problem
from connector.report import groups as group_report
from connector.report.items import LazyItems
from connector.report.validation import problem_dict

#: Items written to the file at a time when a report is streamed.
_CHUNK = 1000


def iso(value: dt.datetime | None) -> str | None:
    """``2026-11-26T09:00:00Z``: how reports write times (a naive time is taken as UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:  # the pipeline works in UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def json_value(value: Any) -> Any:
    """A value as JSON holds it: date-times in UTC with Z, tuples as lists."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)


#: Types JSON holds as they are (nearly every value is text or null).
_PLAIN = frozenset({str, type(None), bool, int, float})


def _json_default(value: Any) -> Any:
    # What orjson does not write itself (date-times are passed here: ``iso``), as
    # ``json_value`` writes it.
    return json_value(value)


#: How the report's JSON is written: orjson, with date-times (and anything else it does
#: not hold natively) as ``json_value`` writes them.
_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _outcome_dict(outcome: WriteOutcome | None) -> dict[str, Any] | None:
    if outcome is None:
        return None
    item: dict[str, Any] = {"ok": outcome.ok, "error": outcome.error, "code": outcome.code,
                            "status": outcome.status, "requestId": outcome.request_id}
    if outcome.entra is not None:
        item["entra"] = outcome.entra
    return item


def change_item(change: Change, outcome: WriteOutcome | None) -> dict[str, Any]:
    """One item of the report's ``changes``."""
    item: dict[str, Any] = {
        "action": change.action,
        "employeeId": change.key,
        "userPrincipalName": change.upn,
        "row": change.row,
        "userId": change.user_id or (outcome.user_id if outcome else None),
        "reason": change.reason,
        # A create's values come from the mapping, as JSON holds them (text, booleans,
        # lists of text), read in one merge: one small dict each and nothing else.
        "attributes": ({name: {"old": None, "new": new} for name, new in created.items()}
                       if (created := change.created_values()) is not None else
                       {name: {"old": old if type(old) in _PLAIN else json_value(old),
                               "new": new if type(new) in _PLAIN else json_value(new)}
                        for name, old, new in change.attribute_items()}),
        "outcome": _outcome_dict(outcome),
    }
    if change.action == "held":
        item["heldAction"] = change.held
    if "manager" in (change.action, change.held):
        item["managerKey"], item["managerId"] = change.manager_key, change.manager_id
    return item


class ChangeItems(LazyItems):
    """The report's ``changes``: every change but ``unchanged``, in plan order, each item
    made when it is read (``LazyItems``); ``rows`` says how many lines of one row per
    attribute they take."""

    def __init__(self, result: SyncResult) -> None:
        self._result = result
        self._count: int | None = None

    def _listed(self) -> Iterator[tuple[int, Change]]:
        for index, change in enumerate(self._result.plan.changes):
            if change.action != "unchanged":
                yield index, change

    def __iter__(self) -> Iterator[dict[str, Any]]:
        outcomes = self._result.outcomes
        for index, change in self._listed():
            yield change_item(change, outcomes.get(index))

    def __len__(self) -> int:
        if self._count is None:
            self._count = sum(1 for _ in self._listed())
        return self._count

    def rows(self) -> int:
        """Lines the changes take at one per attribute (one for a change without
        attributes), counted without making their items."""
        return sum(change.attribute_count or 1 for _, change in self._listed())


def _failed_write(change: Change, outcome: WriteOutcome) -> dict[str, Any]:
    problem = Problem(f"{change.action} failed: {outcome.error or 'no reason given'}",
                      row=change.row, key=change.key or None)
    extras = {"action": change.action, "code": outcome.code, "status": outcome.status,
              "requestId": outcome.request_id}
    return {**problem_dict(problem), **{k: v for k, v in extras.items() if v is not None}}


def sync_report(result: SyncResult) -> dict[str, Any]:
    """The report every format renders: the JSON contract with ``changes`` as
    ``ChangeItems`` (made when read). Build it once per run and hand it to each format."""
    plan = result.plan
    counts = Counter(change.action for change in plan.changes)
    summary: dict[str, int] = {action: counts[action] for action in ACTIONS}
    summary["written"] = sum(1 for o in result.outcomes.values() if o.ok)
    failed = result.failed
    summary["failed"] = len(failed)
    report: dict[str, Any] = {
        "run_id": result.run_id,
        "status": result.status,
        "dry_run": result.dry_run,
        "source": result.source,
        "mapping": result.mapping,
        "tenant": result.tenant,
        "started": iso(result.started),
        "finished": iso(result.finished),
        "records": plan.records,
        "managed": plan.managed,
        "stopped": list(result.stopped),
        "summary": summary,
        "changes": ChangeItems(result),
        "warnings": [problem_dict(p) for p in [*result.source_warnings, *plan.warnings]],
        "errors": [*(problem_dict(p) for p in plan.errors),
                   *(_failed_write(c, o) for c, o in failed)],
    }
    if result.provisioning is not None:
        report["provisioning"] = result.provisioning
    section = group_report.groups_section(result)
    if section is not None:  # the mapping keeps groups (connector.report.groups)
        report["groups"] = section
        report["errors"].extend(group_report.group_errors(result))
    return report


def sync_dict(result: SyncResult) -> dict[str, Any]:
    """The JSON report as plain data, every change in a list (a contract: see
    ``connector.report.sync``). Large runs: prefer ``sync_report``, which holds no item."""
    report = sync_report(result)
    report["changes"] = list(report["changes"])
    if "groups" in report:
        report["groups"] = {**report["groups"], "changes": list(report["groups"]["changes"])}
    return report


def write_json(report: Mapping[str, Any], handle: IO[bytes]) -> None:
    """Write the report to ``handle`` as UTF-8 JSON, streaming: the same text as
    ``json.dumps(sync_dict(result), indent=2, ensure_ascii=False)`` plus a newline, with
    its ``LazyItems`` (``changes``, the groups' ``changes``) encoded a chunk at a time and
    never held whole. orjson writes it about 35 times as fast as the standard library's
    indenting encoder (README "Speed")."""
    _write_object(report, handle, 0)
    handle.write(b"\n")


def _streamed(value: Any) -> bool:
    # An object written key by key: it holds items made when read.
    return isinstance(value, Mapping) and any(isinstance(v, LazyItems) for v in value.values())


def _write_object(value: Mapping[str, Any], handle: IO[bytes], depth: int) -> None:
    pad = b"\n" + b"  " * (depth + 1)
    handle.write(b"{")
    for number, (name, item) in enumerate(value.items()):
        handle.write(b"," + pad if number else pad)
        handle.write(orjson.dumps(name))
        handle.write(b": ")
        if isinstance(item, LazyItems):
            _write_items(item, handle, depth + 1)
        elif _streamed(item):
            _write_object(item, handle, depth + 1)
        else:
            handle.write(_indented(item, depth + 1))
    handle.write(b"\n" + b"  " * depth + b"}")


def _indented(value: Any, depth: int) -> bytes:
    # A value ``depth`` levels down: orjson's two-space indentation, shifted.
    text = orjson.dumps(value, option=_OPTIONS, default=_json_default)
    return text.replace(b"\n", b"\n" + b"  " * depth) if depth else text


def _frame(depth: int) -> tuple[int, int]:
    """How much of a chunk encoded ``depth`` objects down (``{"": {"": [...]}}``) comes
    before its first item and after its last: the items then come out indented as the
    report's are, with no pass over the text to shift them."""
    probe: Any = [0]
    for _ in range(depth):
        probe = {"": probe}
    text = orjson.dumps(probe, option=_OPTIONS)
    head = text.index(b"0")
    return head, len(text) - head - 1


def _write_items(items: LazyItems, handle: IO[bytes], depth: int) -> None:
    head, tail = _frame(depth)
    pad = b"\n" + b"  " * (depth + 1)
    iterator = iter(items)
    first = True
    while chunk := list(islice(iterator, _CHUNK)):
        wrapped: Any = chunk
        for _ in range(depth):
            wrapped = {"": wrapped}
        text = orjson.dumps(wrapped, option=_OPTIONS, default=_json_default)
        handle.write(b"[" + pad if first else b"," + pad)
        handle.write(memoryview(text)[head:-tail])
        first = False
    handle.write(b"[]" if first else b"\n" + b"  " * depth + b"]")


def json_bytes(report: Mapping[str, Any]) -> bytes:
    """The whole JSON report as bytes (``write_json`` to memory)."""
    buffer = io.BytesIO()
    write_json(report, buffer)
    return buffer.getvalue()

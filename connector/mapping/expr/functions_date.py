"""Date functions: CDate, Now, DateAdd, DateDiff, DateFromNum, NumFromDate, FormatDateTime.

Dates travel between functions as strings, as in Entra: CDate, DateAdd, DateFromNum and
Now write ``M/d/yyyy h:mm:ss tt`` in UTC, and every function that takes a date reads that,
ISO 8601 (``2021-06-30``, ``2020-03-16-07:00``, ``2009-06-15T01:45:30-07:00``,
``2020-12-31 23:59:59-08:00``) and ``M/d/yyyy`` with an optional time. A null date gives
null, so IgnoreFlowIfNullOrEmpty and mapping defaults can deal with missing dates.

DateAdd and DateDiff follow Microsoft.VisualBasic.DateAndTime (the intervals, the clamping
of Feb 29 and month ends, and DateDiff's truncation toward zero).
"""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Final

from connector.errors import EvaluationError

from .dotnet_datetime import DateFormat, compile_format
from .spec import Arg, Compiled, FunctionSpec, Site, eager, guarded
from .values import EvalContext, Record, Value, single, to_int

_OFFSET = r"(?:\s*(Z|[+-]\d{2}(?::?\d{2})?))?"
_ISO: Final = re.compile(
    r"\s*(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:(?:T|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?" + _OFFSET + r"\s*\Z",
    re.IGNORECASE,
)
_US: Final = re.compile(
    r"\s*(\d{1,2})/(\d{1,2})/(\d{4})"
    r"(?:\s+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:\s*([AaPp][Mm]))?)?" + _OFFSET + r"\s*\Z",
    re.IGNORECASE,
)
_EPOCH_1601: Final = datetime(1601, 1, 1)
_DATE_HELP = "expected ISO 8601 such as 2021-06-30T08:00:00+02:00, or M/d/yyyy h:mm:ss tt"


@functools.lru_cache(maxsize=4096)
def parse_date(raw: str) -> datetime:
    """A date string as naive UTC; raises EvaluationError."""
    pm: str | None = None
    if match := _ISO.match(raw):
        year, month, day, hour, minute, second, fraction, zone = match.groups()
    elif match := _US.match(raw):
        month, day, year, hour, minute, second, fraction, pm, zone = match.groups()
    else:
        raise EvaluationError(f"can't read {raw!r} as a date; {_DATE_HELP}")
    hours = int(hour or 0)
    if pm is not None:
        if not 1 <= hours <= 12:
            raise EvaluationError(f"can't read {raw!r} as a date: hour {hours} with {pm}")
        hours = hours % 12 + (12 if pm.upper() == "PM" else 0)
    try:
        result = datetime(
            int(year),
            int(month),
            int(day),
            hours,
            int(minute or 0),
            int(second or 0),
            int(((fraction or "") + "000000")[:6]),
        )
        if zone and zone.upper() != "Z":
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            result -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    except (ValueError, OverflowError) as error:
        raise EvaluationError(f"{raw!r} is not a valid date: {error}") from None
    return result


def date_arg(value: Value) -> datetime | None:
    """The date in ``value`` (null stays None)."""
    raw = single(value)
    if raw is None:
        return None
    return parse_date(raw)


def format_date(value: datetime) -> str:
    """``M/d/yyyy h:mm:ss tt``, the format Entra's date functions return."""
    hour = value.hour
    return "%d/%d/%04d %d:%02d:%02d %s" % (  # noqa: UP031 -- twice as fast as an f-string
        value.month,
        value.day,
        value.year,
        hour % 12 or 12,
        value.minute,
        value.second,
        "PM" if hour >= 12 else "AM",
    )


@functools.lru_cache(maxsize=4096)
def _cdate_text(raw: str) -> str:
    # HR dates repeat (hire dates, period ends), so the text round trip is cached.
    return format_date(parse_date(raw))


def _cdate(value: Value) -> Value:
    raw = single(value)
    return None if raw is None else _cdate_text(raw)


def _build_now(args: Sequence[Arg], site: Site) -> Compiled:
    # One context serves a whole run, so remember the last answer.
    last: list[tuple[datetime, str]] = []

    def now(record: Record, context: EvalContext) -> Value:
        moment = context.now
        if last and last[0][0] is moment:
            return last[0][1]
        utc = moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
        text = format_date(utc)
        last[:] = [(moment, text)]
        return text

    return guarded(now, site)


_INTERVALS: Final = {
    "yyyy": "year",
    "q": "quarter",
    "m": "month",
    "y": "day",
    "d": "day",
    "w": "weekday",
    "ww": "week",
    "h": "hour",
    "n": "minute",
    "s": "second",
}


def _interval(value: Value) -> str:
    raw = single(value)
    interval = _INTERVALS.get(raw or "") or _INTERVALS.get((raw or "").strip().lower())
    if interval is None:
        raise EvaluationError(f"interval must be one of yyyy, q, m, d, ww, h, n, s; got {raw!r}")
    return interval


def _add_months(value: datetime, months: int) -> datetime:
    total = value.year * 12 + value.month - 1 + months
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise EvaluationError("the result is outside the years 1 to 9999")
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


def _date_add(interval: Value, number: Value, date: Value) -> Value:
    unit = _interval(interval)
    raw = single(number)
    try:
        amount = int(Decimal((raw or "").strip()))  # VB: Fix(Number), toward zero
    except (InvalidOperation, ValueError, OverflowError):
        raise EvaluationError(f"value must be a number, got {raw!r}") from None
    start = date_arg(date)
    if start is None:
        return None
    if unit in ("year", "quarter", "month"):
        return format_date(_add_months(start, amount * {"year": 12, "quarter": 3}.get(unit, 1)))
    try:
        return format_date(start + amount * _STEPS[unit])
    except OverflowError:
        raise EvaluationError("the result is outside the years 1 to 9999") from None


_STEPS: Final = {
    "day": timedelta(days=1),
    "weekday": timedelta(days=1),
    "week": timedelta(weeks=1),
    "hour": timedelta(hours=1),
    "minute": timedelta(minutes=1),
    "second": timedelta(seconds=1),
}
_ZERO: Final = timedelta(0)
_DAY: Final = timedelta(days=1)


def _truncated(delta: timedelta, unit: timedelta) -> int:
    whole = abs(delta) // unit
    return whole if delta >= _ZERO else -whole


def _sunday_week_start(value: datetime) -> datetime:
    # VB's GetDayOfWeek with FirstDayOfWeek.Sunday: Sunday is 1 ... Saturday 7, and DateDiff
    # subtracts that many days, keeping the time of day.
    return value - timedelta(days=(value.weekday() + 1) % 7 + 1)


def _date_diff(interval: Value, first: Value, second: Value) -> Value:
    unit = _interval(interval)
    start, end = date_arg(first), date_arg(second)
    if start is None or end is None:
        return None
    if unit == "year":
        return str(end.year - start.year)
    if unit == "month":
        return str((end.year - start.year) * 12 + end.month - start.month)
    if unit == "quarter":
        return str((end.year - start.year) * 4 + (end.month - 1) // 3 - (start.month - 1) // 3)
    if unit == "week":
        days = _truncated(_sunday_week_start(end) - _sunday_week_start(start), _DAY)
        return str(int(days / 7))
    if unit == "weekday":
        return str(int(_truncated(end - start, _DAY) / 7))
    return str(_truncated(end - start, _STEPS[unit]))


def _date_from_num(value: Value) -> Value:
    if single(value) is None:
        return None
    ticks = to_int(value, "value")
    try:
        if ticks < 0:
            raise OverflowError
        return format_date(_EPOCH_1601 + timedelta(microseconds=ticks // 10))
    except OverflowError:
        raise EvaluationError(f"{ticks} is not a FILETIME between 1601 and 9999") from None


def _num_from_date(value: Value) -> Value:
    parsed = date_arg(value)
    if parsed is None:
        return None
    if parsed < _EPOCH_1601:
        raise EvaluationError("dates before 1601 have no FILETIME")
    return str((parsed - _EPOCH_1601) // timedelta(microseconds=1) * 10)


_STYLES: Final = {
    "none": 0,
    "allowleadingwhite": 1,
    "allowtrailingwhite": 2,
    "allowinnerwhite": 4,
    "allowwhitespaces": 7,
    "nocurrentdatedefault": 8,
    "adjusttouniversal": 16,
    "assumelocal": 32,
    "assumeuniversal": 64,
    "roundtripkind": 128,
}


def parse_styles(value: Value) -> int:
    """DateTimeStyles flags from names such as "AllowWhiteSpaces, AssumeUniversal".

    Only the whitespace flags change anything: the engine's clock is UTC, so the time-zone
    flags would make no difference.
    """
    raw = single(value)
    if not raw:
        return 3  # the documented default includes AllowLeadingWhite and AllowTrailingWhite
    flags = 0
    for name in re.split(r"[\s,|]+", raw.strip()):
        key = name.lower().removeprefix("datetimestyles.")
        if key not in _STYLES:
            raise EvaluationError(f"{name!r} is not a DateTimeStyles value")
        flags |= _STYLES[key]
    return flags


def _reformat(source: Value, styles: int, parser: DateFormat, writer: DateFormat) -> Value:
    raw = single(source)
    if raw is None:
        return None
    parsed, kind = parser.parse(raw, bool(styles & 1), bool(styles & 2))
    return writer.format(parsed, kind)


def _build_format(args: Sequence[Arg], site: Site) -> Compiled:
    source, styles_arg, input_arg, output_arg = args
    try:
        styles = parse_styles(styles_arg.value) if styles_arg.is_const else None
        parser = writer = None
        if input_arg.is_const:
            parser = compile_format(single(input_arg.value) or "", bool((styles or 0) & 4))
        if output_arg.is_const:
            writer = compile_format(single(output_arg.value) or "")
    except EvaluationError as error:
        raise site.compile_error(error.message) from None

    def format_date_time(record: Record, context: EvalContext) -> Value:
        flags = parse_styles(styles_arg.fn(record, context)) if styles is None else styles
        read = parser or compile_format(
            single(input_arg.fn(record, context)) or "", bool(flags & 4)
        )
        write = writer or compile_format(single(output_arg.fn(record, context)) or "")
        return _reformat(source.fn(record, context), flags, read, write)

    return guarded(format_date_time, site)


SPECS = (
    FunctionSpec("CDate", "CDate(expression)", 1, 1, eager(_cdate)),
    FunctionSpec("Now", "Now()", 0, 0, _build_now, pure=False),
    FunctionSpec("DateAdd", "DateAdd(interval, value, dateTime)", 3, 3, eager(_date_add)),
    FunctionSpec("DateDiff", "DateDiff(interval, date1, date2)", 3, 3, eager(_date_diff)),
    FunctionSpec("DateFromNum", "DateFromNum(value)", 1, 1, eager(_date_from_num)),
    FunctionSpec("NumFromDate", "NumFromDate(value)", 1, 1, eager(_num_from_date)),
    FunctionSpec(
        "FormatDateTime",
        "FormatDateTime(source, dateTimeStyles, inputFormat, outputFormat) "
        '(leave dateTimeStyles empty for the default: FormatDateTime([x], , "in", "out"))',
        4,
        4,
        _build_format,
    ),
)

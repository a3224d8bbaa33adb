""".NET date/time format strings (invariant culture), for parsing and for formatting.

FormatDateTime takes .NET custom format strings such as ``yyyyMMddHHmmss.fZ`` or
``M/d/yyyy hh:mm:ss tt``; Python's strptime speaks another dialect, so each format is
compiled once into a regex (to parse) and a list of writers (to format).

Dates are naive UTC ``datetime`` values throughout: Entra's engine runs in UTC, so .NET's
"local" time is UTC too, and an offset in the input is applied when parsing.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, cast

from connector.errors import EvaluationError

MONTHS: Final = (
    "January February March April May June July August September October November December"
).split()
DAYS: Final = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
# Invariant-culture expansions of the one-letter standard formats.
STANDARD: Final = {
    "d": "MM/dd/yyyy",
    "D": "dddd, dd MMMM yyyy",
    "f": "dddd, dd MMMM yyyy HH:mm",
    "F": "dddd, dd MMMM yyyy HH:mm:ss",
    "g": "MM/dd/yyyy HH:mm",
    "G": "MM/dd/yyyy HH:mm:ss",
    "m": "MMMM dd",
    "M": "MMMM dd",
    "o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "r": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "R": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
    "t": "HH:mm",
    "T": "HH:mm:ss",
    "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
    "U": "dddd, dd MMMM yyyy HH:mm:ss",
    "y": "yyyy MMMM",
    "Y": "yyyy MMMM",
}
_SPECIFIERS: Final = frozenset("dfFghHKmMstyz")
#: Two-digit years at or below this (49) are 20xx, as in current .NET and Windows.
TWO_DIGIT_YEAR_MAX: Final = 2049

Writer = Callable[[datetime, str], str]


def tokenize_format(fmt: str) -> list[tuple[bool, str]]:
    """(is_specifier, text) pairs; raises EvaluationError for a malformed format."""
    if len(fmt) == 1 and fmt in STANDARD:
        fmt = STANDARD[fmt]
    elif len(fmt) == 1 and fmt not in _SPECIFIERS:
        raise EvaluationError(f"{fmt!r} is not a .NET standard date format")
    tokens: list[tuple[bool, str]] = []
    pos, length = 0, len(fmt)
    while pos < length:
        char = fmt[pos]
        if char in "'\"":
            close = fmt.find(char, pos + 1)
            if close < 0:
                raise EvaluationError(f"unclosed quote {char} in date format {fmt!r}")
            tokens.append((False, fmt[pos + 1 : close]))
            pos = close + 1
        elif char == "\\" or char == "%":
            if pos + 1 >= length:
                raise EvaluationError(f"date format {fmt!r} ends with {char}")
            nxt = fmt[pos + 1]
            tokens.append((char == "%" and nxt in _SPECIFIERS, nxt))
            pos += 2
        elif char in _SPECIFIERS:
            end = pos
            while end < length and fmt[end] == char:
                end += 1
            tokens.append((True, fmt[pos:end]))
            pos = end
        else:
            tokens.append((False, char))
            pos += 1
    return tokens


def _pattern(spec: str) -> str:
    char, count = spec[0], len(spec)
    if char in "fF":
        if count > 7:
            raise EvaluationError(f"{spec!r}: at most 7 fraction digits")
        return rf"(\d{{{count}}})" if char == "f" else rf"(\d{{0,{count}}})"
    if char == "y":
        if count >= 4:
            return rf"(\d{{{count}}})"
        return (r"(\d{1,2})", r"(\d{2})", r"(\d{3,4})")[count - 1]
    if char in "dM" and count >= 3:
        return r"([A-Za-z]+)"
    if char == "t":
        return "([AaPp])" if count == 1 else "([AaPp][Mm])"
    if char == "z":
        return r"([+-]\d{1,2}(?::?\d{2})?)"
    if char == "K":
        return r"(Z|z|[+-]\d{2}:?\d{2})?"
    if char == "g":
        return r"(A\.D\.|AD)"
    return r"(\d{1,2})" if count == 1 else r"(\d{2})"


def _offset_minutes(raw: str) -> int:
    sign = -1 if raw[0] == "-" else 1
    digits = raw[1:].replace(":", "")
    hours, minutes = (digits, "0") if len(digits) <= 2 else (digits[:-2], digits[-2:])
    return sign * (int(hours) * 60 + int(minutes))


def _name_index(raw: str, names: tuple[str, ...] | list[str], short: bool) -> int:
    folded = raw.lower()
    for index, name in enumerate(names):
        if folded == (name[:3] if short else name).lower():
            return index
    raise EvaluationError(f"{raw!r} is not a{' short' if short else ''} name")


@dataclass(frozen=True, slots=True)
class DateFormat:
    """One compiled .NET format string."""

    text: str
    regex: re.Pattern[str]
    specs: tuple[str, ...]
    writers: tuple[Writer | str, ...]
    #: Fast paths for the common all-numeric formats (yyyy-MM-dd HH:mm:ss and the like):
    #: for parsing, the datetime() argument each group fills; for writing, a str.format
    #: %-template with the datetime attributes it needs. None when the format needs the
    #: general code.
    slots: tuple[int, ...] | None = None
    template: tuple[str, Callable[[datetime], tuple[int, ...]]] | None = None

    def parse(
        self, raw: str, strip_leading: bool = True, strip_trailing: bool = True
    ) -> tuple[datetime, str]:
        """(naive UTC datetime, kind) where kind is "utc", "local" or "unspecified"."""
        if strip_leading:
            raw = raw.lstrip()
        if strip_trailing:
            raw = raw.rstrip()
        match = self.regex.fullmatch(raw)
        if not match:
            raise EvaluationError(f"{raw!r} does not match the date format {self.text!r}")
        if self.slots is not None:
            fields = [1, 1, 1, 0, 0, 0]
            for slot, value in zip(self.slots, match.groups(), strict=True):
                fields[slot] = int(value)
            try:
                year, month, day, hour, minute, second = fields
                return datetime(year, month, day, hour, minute, second), "unspecified"
            except ValueError as error:
                raise EvaluationError(f"{raw!r} is not a valid date: {error}") from None
        parts = {"year": 1, "month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0}
        micro, pm, offset, kind, weekday = 0, None, None, "unspecified", None
        for spec, value in zip(self.specs, match.groups(), strict=True):
            char, count = spec[0], len(spec)
            if value is None:
                continue
            if char == "y":
                year = int(value)
                if count <= 2:
                    century = TWO_DIGIT_YEAR_MAX // 100 * 100
                    year += century if year <= TWO_DIGIT_YEAR_MAX % 100 else century - 100
                parts["year"] = year
            elif char == "M":
                parts["month"] = (
                    int(value) if count <= 2 else _name_index(value, MONTHS, count == 3) + 1
                )
            elif char == "d":
                if count <= 2:
                    parts["day"] = int(value)
                else:
                    weekday = _name_index(value, DAYS, count == 3)
            elif char in "hH":
                parts["hour"] = int(value)
            elif char == "m":
                parts["minute"] = int(value)
            elif char == "s":
                parts["second"] = int(value)
            elif char in "fF":
                micro = int((value + "000000")[:6]) if value else 0
            elif char == "t":
                pm = value[0] in "Pp"
            elif char in "zK":
                if value in "Zz":
                    offset, kind = 0, "utc"
                else:
                    offset, kind = _offset_minutes(value), "local"
            elif char == "Z":
                offset, kind = 0, "utc"
        if pm is not None:
            if not 1 <= parts["hour"] <= 12:
                raise EvaluationError(f"hour {parts['hour']} doesn't go with AM/PM")
            parts["hour"] = parts["hour"] % 12 + (12 if pm else 0)
        try:
            result = datetime(
                parts["year"],
                parts["month"],
                parts["day"],
                parts["hour"],
                parts["minute"],
                parts["second"],
                micro,
            )
            if offset:
                result -= timedelta(minutes=offset)
        except (ValueError, OverflowError) as error:
            raise EvaluationError(f"{raw!r} is not a valid date: {error}") from None
        if weekday is not None and weekday != result.weekday():
            raise EvaluationError(f"{raw!r}: the day name doesn't match the date")
        return result, kind

    def format(self, value: datetime, kind: str = "utc") -> str:
        """``value`` written in this format."""
        if self.template is not None:
            pattern, fields = self.template
            return pattern % fields(value)
        out: list[str] = []
        for writer in self.writers:
            if isinstance(writer, str):
                out.append(writer)
            elif (piece := writer(value, kind)) or not out or out[-1] != ".":
                out.append(piece)
            else:
                out.pop()  # an all-zero F fraction takes its decimal point with it
        return "".join(out)


def _hour12(value: datetime) -> int:
    return value.hour % 12 or 12


def _writer(spec: str) -> Writer:
    char, count = spec[0], len(spec)
    two = count >= 2
    simple: dict[str, Callable[[datetime], int]] = {
        "d": lambda v: v.day,
        "h": _hour12,
        "H": lambda v: v.hour,
        "m": lambda v: v.minute,
        "M": lambda v: v.month,
        "s": lambda v: v.second,
    }
    if char in "dM" and count >= 3:
        if char == "d":
            return lambda v, k: DAYS[v.weekday()][: 3 if count == 3 else None]
        return lambda v, k: MONTHS[v.month - 1][: 3 if count == 3 else None]
    if char in simple:
        get = simple[char]
        return (lambda v, k: f"{get(v):02d}") if two else (lambda v, k: str(get(v)))
    if char in "fF":

        def fraction(v: datetime, k: str) -> str:
            digits = f"{v.microsecond:06d}0"[:count]
            return digits if char == "f" else digits.rstrip("0")

        return fraction
    if char == "y":
        if count <= 2:
            return (lambda v, k: f"{v.year % 100:02d}") if two else (lambda v, k: str(v.year % 100))
        return lambda v, k: f"{v.year:0{count}d}"
    if char == "t":
        return lambda v, k: ("PM" if v.hour >= 12 else "AM")[: 1 if count == 1 else 2]
    if char == "z":
        return lambda v, k: ("+0", "+00", "+00:00")[min(count, 3) - 1]
    if char == "K":
        return lambda v, k: {"utc": "Z", "local": "+00:00"}.get(k, "")
    return lambda v, k: "A.D."


@functools.lru_cache(maxsize=512)
def compile_format(fmt: str, inner_white: bool = False) -> DateFormat:
    """The compiled form of a .NET format string (cached)."""
    if not fmt:
        raise EvaluationError("the date format is empty")
    regex: list[str] = []
    specs: list[str] = []
    writers: list[Writer | str] = []
    template: tuple[str, Callable[[datetime], tuple[int, ...]]] | None = None
    for is_spec, piece in tokenize_format(fmt):
        if is_spec:
            regex.append(_pattern(piece))
            specs.append(piece)
            writers.append(_writer(piece))
        elif piece in "Zz" and piece:
            # .NET reads a literal Z in a parse format as "this is UTC".
            regex.append("([Zz])")
            specs.append("Z")
            writers.append(piece)
        else:
            literal = re.escape(piece)
            if inner_white:
                literal = re.sub(r"(\\\s|\s)+", r"\\s*", literal)
            regex.append(literal)
            writers.append(piece)
    slots = tuple(_SLOTS.get(spec, -1) for spec in specs)
    pattern: list[str] = []
    attributes: list[str] = []
    for is_spec, piece in tokenize_format(fmt):
        if not is_spec:
            pattern.append(piece.replace("%", "%%"))
        elif piece in _TEMPLATE_FIELDS:
            attribute, conversion = _TEMPLATE_FIELDS[piece]
            pattern.append(conversion)
            attributes.append(attribute)
        else:
            break
    else:
        if attributes:
            template = ("".join(pattern), _field_getter(attributes))
    return DateFormat(
        fmt,
        re.compile("".join(regex)),
        tuple(specs),
        tuple(writers),
        slots=None if -1 in slots else slots,
        template=template,
    )


def _field_getter(names: list[str]) -> Callable[[datetime], tuple[int, ...]]:
    if len(names) > 1:
        return cast(Callable[[datetime], tuple[int, ...]], operator.attrgetter(*names))
    name = names[0]

    def one_field(value: datetime) -> tuple[int, ...]:
        return (int(getattr(value, name)),)

    return one_field


# Specifiers the fast paths handle: datetime() argument index, and str.format field.
_SLOTS: Final = {
    "yyyy": 0, "M": 1, "MM": 1, "d": 2, "dd": 2, "H": 3, "HH": 3, "m": 4, "mm": 4,
    "s": 5, "ss": 5,
}  # fmt: skip
_TEMPLATE_FIELDS: Final = {
    "yyyy": ("year", "%04d"), "MM": ("month", "%02d"), "M": ("month", "%d"),
    "dd": ("day", "%02d"), "d": ("day", "%d"), "HH": ("hour", "%02d"), "H": ("hour", "%d"),
    "mm": ("minute", "%02d"), "m": ("minute", "%d"), "ss": ("second", "%02d"),
    "s": ("second", "%d"),
}  # fmt: skip

"""Runtime values, the evaluation context, and the coercions every function shares.

Values are what Entra's engine passes around: strings, multi-valued lists of strings, and
null. Booleans are the strings ``"True"``/``"False"`` and numbers are decimal strings, so
anything an expression yields can go straight into a Graph payload.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Protocol, TypeAlias

from connector.core import clock
from connector.errors import EvaluationError


class Ignore:
    """A marker value that says "leave this attribute (or object) out of the flow".

    There are exactly two instances, :data:`IGNORE` and :data:`IGNORE_OBJECT`; compare with
    ``is``.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> str:
        # Pickling by name keeps the instances singletons across processes.
        return self.name


#: IgnoreFlowIfNullOrEmpty met null/empty, or the keyword IgnoreAttributeFlow was reached:
#: the attribute is dropped from this record's flow (neither set nor cleared).
IGNORE: Final = Ignore("IGNORE")
#: The keyword IgnoreObjectFlow was reached: the whole record should be skipped.
IGNORE_OBJECT: Final = Ignore("IGNORE_OBJECT")

#: What an expression (or any function inside it) produces.
Value: TypeAlias = str | list[str] | None | Ignore
#: One HR record: attribute name -> value. A missing key is null.
Record: TypeAlias = Mapping[str, str | list[str] | None]

TRUE: Final = "True"
FALSE: Final = "False"


class FlowSignal(BaseException):
    """Carries an :class:`Ignore` marker from deep inside an expression to its top.

    A BaseException so that the ``except Exception`` guards that turn bugs into
    EvaluationError let it through; it never leaves :class:`Expression.evaluate`.
    """

    def __init__(self, marker: Ignore) -> None:
        super().__init__(marker.name)
        self.marker = marker


class Directory(Protocol):
    """What the expression engine needs to know about the target tenant."""

    def default_domain(self) -> str:
        """The tenant's default verified domain ("" if there is none)."""
        ...

    def is_unique(self, value: str) -> bool:
        """True if no existing object already uses ``value`` (for SelectUniqueValue)."""
        ...

    def take(self, value: str) -> None:
        """Reserve ``value``: the mapping chose it for a record of this run, so the next
        SelectUniqueValue must not pick it again (two new John Smiths)."""
        ...


class StubDirectory:
    """An in-memory :class:`Directory` for tests and previews.

    ``taken`` is compared case-insensitively, as Entra compares UPNs and mail addresses.
    """

    def __init__(self, domain: str = "contoso.com", taken: set[str] | None = None) -> None:
        self.domain = domain
        self.taken = {value.casefold() for value in taken or ()}

    def default_domain(self) -> str:
        """The configured domain."""
        return self.domain

    def is_unique(self, value: str) -> bool:
        """True unless ``value`` is in ``taken`` (ignoring case)."""
        return value.casefold() not in self.taken

    def take(self, value: str) -> None:
        """Mark ``value`` as used, e.g. after a create in the same run chose it."""
        folded = value.casefold()
        # A value already in folded form is kept as it is: one string, not two, per UPN.
        self.taken.add(value if folded == value else folded)


def _utc_now() -> datetime:
    return clock.now()


@dataclass(frozen=True, slots=True)
class EvalContext:
    """Everything an expression may read besides the record.

    ``now`` is what Now() returns (naive values are taken as UTC); inject a fixed value to
    make evaluation deterministic. ``params`` holds the mapping parameters read by
    ``[%NAME%]``.
    """

    now: datetime = field(default_factory=_utc_now)
    params: Mapping[str, str] = field(default_factory=dict)
    directory: Directory = field(default_factory=StubDirectory)


# --- coercions shared by the function modules -------------------------------------------


def _unexpected(value: object) -> BaseException:
    if isinstance(value, Ignore):
        return FlowSignal(value)
    # Only a reader bug puts anything else in a record; say so instead of crashing.
    return EvaluationError(f"expected text, got {type(value).__name__}")


def single(value: Value) -> str | None:
    """The one string in ``value``: lists of one unwrap, empty lists are null."""
    if type(value) is str or value is None:
        return value
    if isinstance(value, list):
        if not value:
            return None
        if len(value) == 1:
            return value[0]
        raise EvaluationError(f"expected a single value, got {len(value)} values")
    raise _unexpected(value)


def text(value: Value) -> str:
    """Like :func:`single`, with null read as ""."""
    result = single(value)
    return "" if result is None else result


def values_of(value: Value) -> list[str]:
    """Every value as a list: null is [], a string is [it]."""
    if type(value) is str:
        return [value]
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise _unexpected(value)


def is_empty(value: Value) -> bool:
    """Null, "", or a list with no non-empty item."""
    if type(value) is str:
        return not value
    if value is None:
        return True
    if isinstance(value, list):
        return not any(value)
    raise _unexpected(value)


_NUMBER = re.compile(r"\s*([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))\s*\Z")
_HEX = re.compile(r"\s*&[Hh]([0-9A-Fa-f]+)\s*\Z")


def to_int(value: Value, what: str) -> int:
    """A whole number from a decimal string ("7", "-10", "3.0") or VB hex ("&HF")."""
    raw = single(value)
    if raw is None:
        raise EvaluationError(f"{what} is empty; expected a whole number")
    match = _NUMBER.match(raw)
    if match:
        sign, whole, fraction, only_fraction = match.groups()
        if not (fraction or only_fraction or "").strip("0"):
            number = int(whole or "0")
            return -number if sign == "-" else number
    else:
        hex_match = _HEX.match(raw)
        if hex_match:
            return int(hex_match.group(1), 16)
    raise EvaluationError(f"{what} must be a whole number, got {raw!r}")


def is_number(raw: str) -> bool:
    """True if ``raw`` reads as a decimal number (no exponent, no thousands separators)."""
    return _NUMBER.match(raw) is not None


def to_bool(value: Value, what: str) -> bool:
    """ "True"/"False" in any case, as .NET Boolean.Parse reads them."""
    raw = single(value)
    if raw is None:
        raise EvaluationError(f"{what} is empty; expected True or False")
    folded = raw.strip().lower()
    if folded == "true":
        return True
    if folded == "false":
        return False
    raise EvaluationError(f"{what} must be True or False, got {raw!r}")


def lower(raw: str) -> str:
    """Invariant lower case, one character for one (.NET maps İ to i, Python to i + dot)."""
    result = raw.lower()
    if len(result) == len(raw):
        return result
    return "".join(c.lower()[0] for c in raw)


def upper(raw: str) -> str:
    """Invariant upper case, one character for one (.NET keeps ß; Python makes it SS)."""
    result = raw.upper()
    if len(result) == len(raw):
        return result
    return "".join(u if len(u := c.upper()) == 1 else c for c in raw)

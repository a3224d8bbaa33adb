"""String functions: Append, Join, Left, Mid, Len, Word, InStr, Split, StripSpaces, casing,
NormalizeDiacritics and the two encoders."""

from __future__ import annotations

import base64
import functools
import operator
import re
import unicodedata
from collections.abc import Sequence

from connector.errors import EvaluationError

from .diacritics import normalize_diacritics
from .spec import Arg, Compiled, FunctionSpec, Site, Step, eager
from .values import EvalContext, Record, Value, lower, single, text, to_int, upper, values_of


def const_int(arg: Arg, what: str, site: Site) -> int | None:
    """The argument as an int if it is a constant (checked now), else None."""
    if not arg.is_const:
        return None
    try:
        return to_int(arg.value, what)
    except EvaluationError as error:
        raise site.compile_error(error.message, arg) from None


def _append(source: Value, suffix: Value) -> Value:
    return text(source) + text(suffix)


def _join_parts(values: Sequence[Value]) -> list[str]:
    parts: list[str] = []
    for value in values:
        if type(value) is str:
            if value:
                parts.append(value)
        elif value is not None:
            # Multi-valued sources are expanded; empty items are skipped like empty
            # sources (the documented "Doe, John" example needs that).
            parts.extend(item for item in values_of(value) if item)
    return parts


def _build_join(args: Sequence[Arg], site: Site) -> Compiled:
    separator_fn = args[0].fn
    fns = tuple(arg.fn for arg in args[1:])
    separator = args[0].const_text()
    if separator is not None and len(fns) == 2:
        # Join(" ", [first], [last]) as most mappings write it: two strings, added (an
        # [attribute] read here, not by its closure).
        # (an empty value is skipped whether it reads as "" or null).
        first_fn, second_fn = fns
        first_column, second_column = args[1].column, args[2].column

        def join_two(record: Record, context: EvalContext) -> Value:
            try:
                first = (first_fn(record, context) if first_column is None
                         else record.get(first_column))
                second = (second_fn(record, context) if second_column is None
                          else record.get(second_column))
                if type(first) is str and type(second) is str:
                    return first + separator + second if first and second else first or second
                return separator.join(_join_parts((first, second)))
            except EvaluationError as error:
                site.locate(error)
                raise
            except Exception as error:
                raise site.wrap(error) from error

        return join_two

    def join(record: Record, context: EvalContext) -> Value:
        try:
            parts = _join_parts([fn(record, context) for fn in fns])
            return text(separator_fn(record, context)).join(parts)
        except EvaluationError as error:
            site.locate(error)
            raise
        except Exception as error:
            raise site.wrap(error) from error

    return join


def _left(source: Value, count: Value) -> Value:
    raw = text(source)
    number = to_int(count, "NumChars")
    return raw if number < 0 else raw[:number]


def _build_left(args: Sequence[Arg], site: Site) -> Compiled:
    count = const_int(args[1], "NumChars", site)
    if count is None:
        return eager(_left)(args, site)
    source_fn = args[0].fn
    end = None if count < 0 else count

    def left(record: Record, context: EvalContext) -> Value:
        try:
            return text(source_fn(record, context))[:end]
        except EvaluationError as error:
            site.locate(error)
            raise
        except Exception as error:
            raise site.wrap(error) from error

    return left


def _build_mid(args: Sequence[Arg], site: Site) -> Compiled:
    start_const = const_int(args[1], "start", site)
    length_const = const_int(args[2], "length", site)
    if start_const is not None and start_const < 1:
        raise site.compile_error("start is 1-based and must be 1 or more", args[1])
    if length_const is not None and length_const < 0:
        raise site.compile_error("length can't be negative", args[2])
    source_fn, start_fn, length_fn = (arg.fn for arg in args)

    def mid(record: Record, context: EvalContext) -> Value:
        try:
            raw = text(source_fn(record, context))
            start = start_const
            if start is None:
                start = to_int(start_fn(record, context), "start")
                if start < 1:
                    raise EvaluationError(f"start is 1-based and must be 1 or more, got {start}")
            length = length_const
            if length is None:
                length = to_int(length_fn(record, context), "length")
                if length < 0:
                    raise EvaluationError(f"length can't be negative, got {length}")
            return raw[start - 1 : start - 1 + length]
        except EvaluationError as error:
            site.locate(error)
            raise
        except Exception as error:
            raise site.wrap(error) from error

    return mid


def _len(source: Value) -> Value:
    return str(len(text(source)))


def _strip_spaces(source: Value) -> Value:
    raw = single(source)
    return None if raw is None else raw.replace(" ", "")


def _normalize(source: Value) -> Value:
    raw = single(source)
    return None if raw is None else normalize_diacritics(raw)


_CULTURE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*\Z")
_TURKIC = ("tr", "az")


def _check_culture(culture: str | None) -> str:
    """ "" for invariant, else the language code; raises for malformed names."""
    if not culture:
        return ""
    if not _CULTURE.match(culture):
        raise EvaluationError(f"culture must look like 'en-US' or 'tr-TR', got {culture!r}")
    return culture[:3].split("-")[0].split("_")[0].lower()


def _to_lower(source: Value, culture: Value = None) -> Value:
    raw = single(source)
    if raw is None:
        return None
    if _check_culture(single(culture)) in _TURKIC:
        raw = raw.replace("I", "\u0131").replace("\u0130", "i")
    return lower(raw)


def _to_upper(source: Value, culture: Value = None) -> Value:
    raw = single(source)
    if raw is None:
        return None
    if _check_culture(single(culture)) in _TURKIC:
        raw = raw.replace("i", "\u0130").replace("\u0131", "I")
    return upper(raw)


# .NET TextInfo.IsWordSeparator: spaces, controls, punctuation and symbols end a word;
# letters, marks and digits do not.
_SEPARATOR_CATEGORIES = frozenset("Zs Zl Zp Cc Cf Pc Pd Ps Pe Pi Pf Po Sm Sc Sk So".split())
_LETTER_CATEGORIES = frozenset("Lu Ll Lt Lm Lo".split())


def _title(char: str) -> str:
    result = char.title()
    return result if len(result) == 1 else char


def _title_case(raw: str) -> str:
    # .NET ToTitleCase keeps all-caps words ("USA") as they are; Entra's examples lower
    # them ("PABLO" -> "Pablo"), so lower first. An apostrophe continues a word ("John's").
    out: list[str] = []
    in_word = False
    category = unicodedata.category
    for char in lower(raw):
        kind = category(char)
        if in_word:
            if kind in _SEPARATOR_CATEGORIES and char != "'":
                in_word = False
            out.append(char)
        elif kind in _LETTER_CATEGORIES:
            out.append(_title(char))
            in_word = True
        else:
            out.append(char)
    return "".join(out)


def _pcase(source: Value, separators: Value = None) -> Value:
    raw = single(source)
    if raw is None:
        return None
    chosen = single(separators)
    if not chosen:
        return _title_case(raw)
    out: list[str] = []
    at_start = True
    for char in raw:
        if char in chosen:
            out.append(char)
            at_start = True
        elif at_start:
            out.append(upper(char))
            at_start = False
        else:
            out.append(lower(char))
    return "".join(out)


@functools.lru_cache(maxsize=256)
def _splitter(delimiters: str) -> re.Pattern[str]:
    return re.compile("[" + re.escape(delimiters) + "]+")


def _word(source: Value, number: Value, delimiters: Value) -> Value:
    raw = text(source)
    index = to_int(number, "WordNumber")
    chosen = single(delimiters)
    words = raw.split() if not chosen else [w for w in _splitter(chosen).split(raw) if w]
    return words[index - 1] if 1 <= index <= len(words) else ""


def _compare_mode(value: Value) -> bool:
    """True for vbTextCompare (case-insensitive)."""
    raw = single(value)
    if raw is None or raw.strip() in ("0", "vbBinaryCompare"):
        return False
    if raw.strip() in ("1", "vbTextCompare"):
        return True
    raise EvaluationError(f"compareType must be vbBinaryCompare or vbTextCompare, got {raw!r}")


def _instr(haystack: Value, needle: Value, start: Value = None, compare: Value = None) -> Value:
    raw = single(haystack)
    wanted = text(needle)
    first = 1 if single(start) is None else to_int(start, "start")
    if first < 1:
        raise EvaluationError(f"start is 1-based and must be 1 or more, got {first}")
    if raw is None:
        return "0"
    if first > len(raw):
        return "0"
    if not wanted:
        return str(first)
    if _compare_mode(compare):
        raw, wanted = lower(raw), lower(wanted)
    return str(raw.find(wanted, first - 1) + 1)


def _split(source: Value, delimiter: Value) -> Value:
    raw = single(source)
    if raw is None:
        return None
    separator = single(delimiter)
    if not separator:
        raise EvaluationError("the delimiter is empty")
    # Not trimmed (like .NET String.Split); empty items are dropped because a
    # multi-valued attribute can't hold empty values.
    return [item for item in raw.split(separator) if item]


def _encode(raw: str, encoding: str) -> bytes:
    try:
        return raw.encode(encoding)
    except UnicodeEncodeError:
        # Lone surrogates (possible in JSON input) become U+FFFD, as .NET encoders do.
        return re.sub("[\ud800-\udfff]", "\ufffd", raw).encode(encoding)


def _base64(source: Value) -> Value:
    raw = single(source)
    return None if raw is None else base64.b64encode(_encode(raw, "utf-16-le")).decode()


def _utf8_hex(source: Value) -> Value:
    raw = single(source)
    return None if raw is None else _encode(raw, "utf-8").hex().upper()


def _check_case_culture(args: Sequence[Arg], site: Site) -> None:
    if len(args) == 2 and args[1].is_const:
        try:
            _check_culture(args[1].const_text())
        except EvaluationError as error:
            raise site.compile_error(error.message, args[1]) from None


# Chains of text calls (``FunctionSpec.step``): what each call does to a string.
_strip_step = operator.methodcaller("replace", " ", "")


def _turkic(args: Sequence[Arg]) -> bool | None:
    """Whether a constant culture is Turkish or Azeri (None: not known until run time)."""
    if len(args) < 2:
        return False
    if not args[1].is_const:
        return None
    try:
        return _check_culture(single(args[1].value)) in _TURKIC
    except EvaluationError:
        return None  # the call reports it


def _lower_step(args: Sequence[Arg]) -> Step | None:
    turkic = _turkic(args)
    if turkic is None:
        return None
    if turkic:
        return lambda raw: lower(raw.replace("I", "\u0131").replace("\u0130", "i"))
    return lower


def _upper_step(args: Sequence[Arg]) -> Step | None:
    turkic = _turkic(args)
    if turkic is None:
        return None
    if turkic:
        return lambda raw: upper(raw.replace("i", "\u0130").replace("\u0131", "I"))
    return upper


def _build_to_lower(args: Sequence[Arg], site: Site) -> Compiled:
    _check_case_culture(args, site)
    return eager(_to_lower)(args, site)


def _build_to_upper(args: Sequence[Arg], site: Site) -> Compiled:
    _check_case_culture(args, site)
    return eager(_to_upper)(args, site)


SPECS = (
    FunctionSpec("Append", "Append(source, suffix)", 2, 2, eager(_append)),
    FunctionSpec("Join", "Join(separator, source1, source2, ...)", 2, None, _build_join),
    FunctionSpec("Left", "Left(String, NumChars)", 2, 2, _build_left),
    FunctionSpec("Mid", "Mid(source, start, length)", 3, 3, _build_mid),
    FunctionSpec("Len", "Len(String)", 1, 1, eager(_len)),
    FunctionSpec("StripSpaces", "StripSpaces(source)", 1, 1, eager(_strip_spaces),
                 step=lambda args: _strip_step),
    FunctionSpec("NormalizeDiacritics", "NormalizeDiacritics(source)", 1, 1, eager(_normalize),
                 step=lambda args: normalize_diacritics),
    FunctionSpec("ToLower", "ToLower(source, culture)", 1, 2, _build_to_lower,
                 step=_lower_step),
    FunctionSpec("ToUpper", "ToUpper(source, culture)", 1, 2, _build_to_upper,
                 step=_upper_step),
    FunctionSpec("PCase", "PCase(source, wordSeparators)", 1, 2, eager(_pcase)),
    FunctionSpec("Word", "Word(String, WordNumber, Delimiters)", 3, 3, eager(_word)),
    FunctionSpec("InStr", "InStr(value1, value2, start, compareType)", 2, 4, eager(_instr)),
    FunctionSpec("Split", "Split(source, delimiter)", 2, 2, eager(_split)),
    FunctionSpec("ConvertToBase64", "ConvertToBase64(source)", 1, 1, eager(_base64)),
    FunctionSpec("ConvertToUTF8Hex", "ConvertToUTF8Hex(source)", 1, 1, eager(_utf8_hex)),
)

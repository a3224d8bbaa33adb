"""Control flow and value tests: IIF, Switch, Coalesce, the Is* tests, Not, conversions,
multi-value helpers, IgnoreFlowIfNullOrEmpty and Redact.

IIF, Switch and Coalesce evaluate lazily: only the branch that is chosen runs, so an
error in the other branch (a bad date, say) does not fail the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from connector.errors import EvaluationError

from .spec import Arg, Compiled, FunctionSpec, Site, eager, guarded
from .values import (
    FALSE,
    IGNORE,
    TRUE,
    EvalContext,
    FlowSignal,
    Ignore,
    Record,
    Value,
    is_empty,
    is_number,
    single,
    to_bool,
    to_int,
    values_of,
)

_EMPTY_CONDITION = (
    "the condition is empty; IIF fails when an attribute it tests is empty "
    '(use Switch with a "" key, Coalesce, or the mapping\'s default)'
)


def _condition(value: Value) -> bool:
    if value is None:
        raise EvaluationError(_EMPTY_CONDITION)
    return to_bool(value, "the condition")


def _build_iif(args: Sequence[Arg], site: Site) -> Compiled:
    condition, if_true, if_false = args
    true_fn, false_fn = if_true.fn, if_false.fn
    if condition.is_const and isinstance(condition.value, str | None):
        try:
            chosen = _condition(condition.value)
        except EvaluationError as error:
            raise site.compile_error(error.message, condition) from None
        return true_fn if chosen else false_fn
    predicate = condition.predicate
    if predicate is not None:

        def iif_compare(record: Record, context: EvalContext) -> Value:
            # Comparisons locate their own errors; the branches are already guarded.
            if predicate(record, context):
                return true_fn(record, context)
            return false_fn(record, context)

        return iif_compare
    condition_fn = condition.fn

    def iif(record: Record, context: EvalContext) -> Value:
        if _condition(condition_fn(record, context)):
            return true_fn(record, context)
        return false_fn(record, context)

    return guarded(iif, site)


def _switch_key(value: Value) -> str:
    # Null and "" are the same key, so Switch([x], [x], "", "Other") also covers an
    # absent attribute (the documented workaround for IIF on empty values).
    raw = single(value)
    return "" if raw is None else raw


def _build_switch(args: Sequence[Arg], site: Site) -> Compiled:
    source_fn, default_fn = args[0].fn, args[1].fn
    keys, results = args[2::2], args[3::2]
    if all(key.is_const for key in keys):
        table: dict[str, Compiled] = {}
        for key, result in zip(keys, results, strict=True):
            try:
                table.setdefault(_switch_key(key.value), result.fn)
            except (EvaluationError, FlowSignal):
                raise site.compile_error("a key must be a single string", key) from None

        def switch(record: Record, context: EvalContext) -> Value:
            chosen = table.get(_switch_key(source_fn(record, context)), default_fn)
            return chosen(record, context)

        return guarded(switch, site)
    pairs = tuple((key.fn, result.fn) for key, result in zip(keys, results, strict=True))

    def switch_dynamic(record: Record, context: EvalContext) -> Value:
        source = _switch_key(source_fn(record, context))
        for key_fn, result_fn in pairs:
            if _switch_key(key_fn(record, context)) == source:
                return result_fn(record, context)
        return default_fn(record, context)

    return guarded(switch_dynamic, site)


def _switch_pairs(count: int) -> str | None:
    if count % 2:
        return (
            f"Switch needs its keys and values in pairs (an even number of arguments); "
            f"got {count}. Leave the default empty with ', ,' if there is none"
        )
    return None


def _build_coalesce(args: Sequence[Arg], site: Site) -> Compiled:
    fns = tuple(arg.fn for arg in args)
    if all(arg.column is not None for arg in args):
        # Coalesce([PreferredFirstName], [FirstName]): the record read here, not by a
        # closure per attribute.
        names = tuple(arg.column or "" for arg in args)
        keep_empty = not args[0].null_empty

        def coalesce_columns(record: Record, context: EvalContext) -> Value:
            try:
                get = record.get
                value = None
                for name in names:
                    value = get(name)
                    if value and (type(value) is str or not is_empty(value)):
                        return value
                return "" if keep_empty and value == "" else None
            except EvaluationError as error:
                site.locate(error)
                raise
            except Exception as error:
                raise site.wrap(error) from error

        return coalesce_columns

    def coalesce(record: Record, context: EvalContext) -> Value:
        value: Value = None
        for fn in fns:
            value = fn(record, context)
            if not is_empty(value):
                return value
        # Nothing had a value: a "" default still counts (the doc allows it).
        return "" if value == "" else None

    return guarded(coalesce, site)


def _reject_marker(value: Value) -> None:
    if isinstance(value, Ignore):
        raise FlowSignal(value)


def _is_null(value: Value) -> Value:
    _reject_marker(value)
    return TRUE if value is None or value == [] else FALSE


def _is_null_or_empty(value: Value) -> Value:
    return TRUE if is_empty(value) else FALSE


def _is_present(value: Value) -> Value:
    return FALSE if is_empty(value) else TRUE


def _is_string(value: Value) -> Value:
    _reject_marker(value)
    return TRUE if isinstance(value, str) else FALSE


def _not(value: Value) -> Value:
    # As documented: "If source value is True, returns False. Otherwise, returns True."
    raw = single(value)
    return FALSE if raw is not None and raw.strip().lower() == "true" else TRUE


def _cbool(value: Value) -> Value:
    raw = single(value)
    if raw is None:
        return FALSE
    folded = raw.strip().lower()
    if folded in ("true", "false"):
        return TRUE if folded == "true" else FALSE
    if is_number(raw):
        return TRUE if Decimal(raw.strip()) != 0 else FALSE
    return TRUE if to_int(raw, "the expression") != 0 else FALSE


def _cstr(value: Value) -> Value:
    return single(value)


def _bit_and(first: Value, second: Value) -> Value:
    return str(to_int(first, "value1") & to_int(second, "value2"))


def _count(value: Value) -> Value:
    if value == "":
        return "0"
    return str(len(values_of(value)))


def _item(value: Value, index: Value) -> Value:
    items = values_of(value)
    number = to_int(index, "index")
    if number < 1:
        raise EvaluationError(f"index is 1-based and must be 1 or more, got {number}")
    return items[number - 1] if number <= len(items) else None


def _remove_duplicates(value: Value) -> Value:
    if isinstance(value, list):
        return list(dict.fromkeys(value))
    _reject_marker(value)
    return value


def _ignore_if_empty(value: Value) -> Value:
    return IGNORE if is_empty(value) else value


def _build_redact(args: Sequence[Arg], site: Site) -> Compiled:
    # The value flows unchanged; Expression.redacted tells reports to show "[Redact]".
    return args[0].fn


SPECS = (
    FunctionSpec("IIF", "IIF(condition, valueIfTrue, valueIfFalse)", 3, 3, _build_iif),
    FunctionSpec(
        "Switch",
        "Switch(source, defaultValue, key1, value1, key2, value2, ...)",
        4,
        None,
        _build_switch,
        count_rule=_switch_pairs,
    ),
    FunctionSpec(
        "Coalesce", "Coalesce(source1, source2, ..., defaultValue)", 1, None, _build_coalesce
    ),
    FunctionSpec("IsNull", "IsNull(Expression)", 1, 1, eager(_is_null)),
    FunctionSpec("IsNullOrEmpty", "IsNullOrEmpty(Expression)", 1, 1, eager(_is_null_or_empty)),
    FunctionSpec("IsPresent", "IsPresent(Expression)", 1, 1, eager(_is_present)),
    FunctionSpec("IsString", "IsString(Expression)", 1, 1, eager(_is_string)),
    FunctionSpec("Not", "Not(source)", 1, 1, eager(_not)),
    FunctionSpec("CBool", "CBool(Expression)", 1, 1, eager(_cbool)),
    FunctionSpec("CStr", "CStr(value)", 1, 1, eager(_cstr)),
    FunctionSpec("BitAnd", "BitAnd(value1, value2)", 2, 2, eager(_bit_and)),
    FunctionSpec("Count", "Count(attribute)", 1, 1, eager(_count)),
    FunctionSpec("Item", "Item(attribute, index)", 2, 2, eager(_item)),
    FunctionSpec(
        "RemoveDuplicates", "RemoveDuplicates(attribute)", 1, 1, eager(_remove_duplicates)
    ),
    FunctionSpec(
        "IgnoreFlowIfNullOrEmpty",
        "IgnoreFlowIfNullOrEmpty(expression)",
        1,
        1,
        eager(_ignore_if_empty),
    ),
    FunctionSpec("Redact", "Redact(value)", 1, 1, _build_redact),
)

"""Replace, in its five modes.

Which mode applies is decided at compile time from which arguments are *given* (an empty
positional argument is "not given"; "" is given). Arguments a mode does not use are
errors, because they are nearly always a comma in the wrong place::

    Replace(source, oldValue, regexPattern, regexGroupName, replacementValue,
            replacementAttributeName, template)

1. oldValue + replacementValue: every occurrence of oldValue in source is replaced.
2. oldValue + template: every oldValue in template is replaced by source.
3. regexPattern + replacementValue: regex replace; ``${name}``/``$1`` refer to groups.
4. regexPattern + regexGroupName + replacementValue: the named group's text in every match
   is replaced by replacementValue (taken literally).
5. regexPattern + regexGroupName + replacementAttributeName: source if it has a value,
   else the named group from the first match in replacementAttributeName's value (null if
   it does not match).

All comparisons are case-sensitive, as in Entra.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from connector.errors import EvaluationError

from .dotnet_regex import DotNetRegex, Expander, compile_dotnet, expander
from .spec import Arg, Compiled, FunctionSpec, Site, Step, guarded
from .values import EvalContext, Record, Value, single, text

_NAMES = (
    "source",
    "oldValue",
    "regexPattern",
    "regexGroupName",
    "replacementValue",
    "replacementAttributeName",
    "template",
)
_MODES = {
    # given arguments (by index) -> mode
    frozenset({1, 4}): 1,
    frozenset({1, 6}): 2,
    frozenset({2, 4}): 3,
    frozenset({2, 3, 4}): 4,
    frozenset({2, 3, 5}): 5,
}
_HELP = (
    "Replace needs one of: oldValue + replacementValue, oldValue + template, "
    "regexPattern + replacementValue, regexPattern + regexGroupName + replacementValue, or "
    "regexPattern + regexGroupName + replacementAttributeName; "
    'leave the other positions empty, e.g. Replace([mail], "@contoso.com", , , "", , )'
)


def _mode(args: Sequence[Arg], site: Site) -> int:
    given = frozenset(i for i in range(1, 7) if not args[i].empty)
    mode = _MODES.get(given)
    if mode is None:
        listed = ", ".join(_NAMES[i] for i in sorted(given)) or "nothing"
        raise site.compile_error(f"given {listed}. {_HELP}")
    return mode


def _replace_group(raw: str, regex: DotNetRegex, group: int, value: str) -> str:
    out: list[str] = []
    last = 0
    for match in regex.compiled.finditer(raw):
        start, end = match.span(group)
        if start < 0 or start < last:
            continue
        out.append(raw[last:start])
        out.append(value)
        last = end
    out.append(raw[last:])
    return "".join(out)


def _group_of(regex: DotNetRegex, name: str | None) -> int:
    index = regex.group_index(name or "")
    if index is None:
        raise EvaluationError(f"the regex {regex.pattern!r} has no group named {name!r}")
    return index


def _build_replace(args: Sequence[Arg], site: Site) -> Compiled:
    mode = _mode(args, site)
    source_fn, old_fn, pattern_fn, group_fn, value_fn, other_fn, template_fn = (
        arg.fn for arg in args
    )
    if mode == 1:

        def replace_text(record: Record, context: EvalContext) -> Value:
            raw = single(source_fn(record, context))
            old = text(old_fn(record, context))
            if raw is None or not old:
                return raw
            return raw.replace(old, text(value_fn(record, context)))

        return guarded(replace_text, site)
    if mode == 2:

        def fill_template(record: Record, context: EvalContext) -> Value:
            raw = single(source_fn(record, context))
            if raw is None:
                return None
            return text(template_fn(record, context)).replace(text(old_fn(record, context)), raw)

        return guarded(fill_template, site)

    fixed: DotNetRegex | None = None
    group: int | None = None
    replacement: Expander | str | None = None
    current = args[2]  # the argument being checked, for the error position
    try:
        if args[2].is_const:
            fixed = compile_dotnet(text(args[2].value))
            if mode in (4, 5) and args[3].is_const:
                current = args[3]
                group = _group_of(fixed, single(args[3].value))
            if mode == 3 and args[4].is_const:
                replacement = expander(fixed, text(args[4].value))
    except EvaluationError as error:
        raise site.compile_error(error.message, current) from None

    def regex_of(record: Record, context: EvalContext) -> DotNetRegex:
        return fixed or compile_dotnet(text(pattern_fn(record, context)))

    def group_of(regex: DotNetRegex, record: Record, context: EvalContext) -> int:
        return _group_of(regex, single(group_fn(record, context))) if group is None else group

    if mode == 3:

        def replace_regex(record: Record, context: EvalContext) -> Value:
            raw = single(source_fn(record, context))
            if raw is None:
                return None
            regex = regex_of(record, context)
            repl = replacement
            if repl is None:
                repl = expander(regex, text(value_fn(record, context)))
            if isinstance(repl, str) and "\\" in repl:
                # re would read \ escapes in a string replacement; a function is literal.
                literal = repl
                return regex.compiled.sub(lambda _: literal, raw)
            return regex.compiled.sub(repl, raw)

        return guarded(replace_regex, site)
    if mode == 4:

        def replace_in_group(record: Record, context: EvalContext) -> Value:
            raw = single(source_fn(record, context))
            if raw is None:
                return None
            regex = regex_of(record, context)
            value = text(value_fn(record, context))
            return _replace_group(raw, regex, group_of(regex, record, context), value)

        return guarded(replace_in_group, site)

    def extract_from_other(record: Record, context: EvalContext) -> Value:
        raw = single(source_fn(record, context))
        if raw:
            return raw
        other = single(other_fn(record, context))
        if not other:
            return None
        regex = regex_of(record, context)
        match = regex.compiled.search(other)
        return match.group(group_of(regex, record, context)) if match else None

    return guarded(extract_from_other, site)


def _replace_step(args: Sequence[Arg]) -> Step | None:
    """A regex replace (mode 3) with a constant pattern and replacement, as a text step:
    ``ToLower(...)`` then this, say, run as one closure (``FunctionSpec.step``)."""
    given = frozenset(i for i in range(1, 7) if not args[i].empty)
    if _MODES.get(given) != 3 or not (args[2].is_const and args[4].is_const):
        return None
    try:
        regex = compile_dotnet(text(args[2].value))
        repl = expander(regex, text(args[4].value))
    except EvaluationError:
        return None  # the call reports it
    if isinstance(repl, str) and "\\" in repl:
        literal = repl  # re would read \ escapes in a string replacement
        return functools.partial(regex.compiled.sub, lambda _: literal)
    return functools.partial(regex.compiled.sub, repl)


SPECS = (
    FunctionSpec(
        "Replace",
        "Replace(source, oldValue, regexPattern, regexGroupName, replacementValue, "
        "replacementAttributeName, template)",
        7,
        7,
        _build_replace,
        step=_replace_step,
    ),
)

"""Functions that read the tenant or make up values: SelectUniqueValue, DefaultDomain,
Guid and RandomString. None of them is folded at compile time."""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import Sequence

from connector.errors import EvaluationError

from .spec import Arg, Compiled, FunctionSpec, Site, eager, guarded
from .values import EvalContext, Record, Value, single, to_int


def _build_select_unique(args: Sequence[Arg], site: Site) -> Compiled:
    fns = tuple(arg.fn for arg in args)

    def select_unique_value(record: Record, context: EvalContext) -> Value:
        try:
            is_unique = context.directory.is_unique
            # Lazily, in order: later rules are only built when earlier values are taken.
            for fn in fns:
                candidate = single(fn(record, context))
                if candidate and is_unique(candidate):
                    return candidate
            tried = [c for fn in fns if (c := single(fn(record, context)))]
            if not tried:
                raise EvaluationError("every rule produced an empty value")
            listed = ", ".join(repr(value) for value in tried)
            raise EvaluationError(f"every candidate is already taken: {listed}")
        except EvaluationError as error:
            site.locate(error)
            raise
        except Exception as error:
            raise site.wrap(error) from error

    return select_unique_value


def _build_default_domain(args: Sequence[Arg], site: Site) -> Compiled:
    def default_domain(record: Record, context: EvalContext) -> Value:
        domain = context.directory.default_domain()
        if not domain:
            raise EvaluationError("the tenant has no default verified domain")
        return domain

    return guarded(default_domain, site)


def _guid() -> Value:
    return str(uuid.uuid4())


# The special characters of Windows' password complexity rules, which the doc links to.
SPECIAL_CHARACTERS = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/"
_POOLS = (string.digits, SPECIAL_CHARACTERS, string.ascii_uppercase, string.ascii_lowercase)
_POOL_NAMES = ("MinimumNumbers", "MinimumSpecialCharacters", "MinimumCapital", "MinimumLowerCase")
MAX_RANDOM_LENGTH = 256


def _random_plan(
    length: int, minimums: Sequence[int], avoid: str
) -> tuple[list[str], list[int], str]:
    """Validated pools (minus the characters to avoid), minimums and the full alphabet."""
    if not 1 <= length <= MAX_RANDOM_LENGTH:
        raise EvaluationError(f"Length must be 1 to {MAX_RANDOM_LENGTH}, got {length}")
    pools = ["".join(c for c in pool if c not in avoid) for pool in _POOLS]
    for name, minimum, pool in zip(_POOL_NAMES, minimums, pools, strict=True):
        if minimum < 0:
            raise EvaluationError(f"{name} can't be negative, got {minimum}")
        if minimum and not pool:
            raise EvaluationError(f"{name} is {minimum} but CharactersToAvoid excludes them all")
    if sum(minimums) > length:
        raise EvaluationError(f"the minimums add up to {sum(minimums)}, more than Length {length}")
    alphabet = "".join(pools)
    if not alphabet:
        raise EvaluationError("CharactersToAvoid excludes every character")
    return pools, list(minimums), alphabet


def _random_string(*args: Value) -> Value:
    length = to_int(args[0], "Length")
    minimums = [to_int(arg, name) for arg, name in zip(args[1:5], _POOL_NAMES, strict=True)]
    avoid = (single(args[5]) or "") if len(args) > 5 else ""
    pools, counts, alphabet = _random_plan(length, minimums, avoid)
    chars = [
        secrets.choice(pool)
        for pool, count in zip(pools, counts, strict=True)
        for _ in range(count)
    ]
    chars.extend(secrets.choice(alphabet) for _ in range(length - len(chars)))
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def _build_random_string(args: Sequence[Arg], site: Site) -> Compiled:
    if all(arg.is_const for arg in args):
        # Check literal arguments now rather than on the first record.
        try:
            _random_string(*(arg.value for arg in args))
        except EvaluationError as error:
            raise site.compile_error(error.message) from None
    return eager(_random_string)(args, site)


SPECS = (
    FunctionSpec(
        "SelectUniqueValue",
        "SelectUniqueValue(uniqueValueRule1, uniqueValueRule2, ...)",
        2,
        None,
        _build_select_unique,
        pure=False,
    ),
    FunctionSpec("DefaultDomain", "DefaultDomain()", 0, 0, _build_default_domain, pure=False),
    FunctionSpec("Guid", "Guid()", 0, 0, eager(_guid), pure=False),
    FunctionSpec(
        "RandomString",
        "RandomString(Length, MinimumNumbers, MinimumSpecialCharacters, MinimumCapital, "
        "MinimumLowerCase, CharactersToAvoid)",
        5,
        6,
        _build_random_string,
        pure=False,
    ),
)

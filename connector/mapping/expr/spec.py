"""How functions are declared and turned into closures.

Each function has a :class:`FunctionSpec` with its arity (checked at compile time, never per
call) and a *builder*. The compiler hands the builder the already-compiled arguments; the
builder returns one closure ``(record, context) -> Value``. Builders see which arguments are
constants, so they can precompile regexes and date formats and validate literals once.

Every closure guards itself with ``try``/``except`` (free in Python 3.11 until something is
raised) so that an error names the function and points at it, and so that no bare Python
exception escapes an evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

from connector.errors import EvaluationError, MappingError

from .values import EvalContext, Record, Value, single

Compiled: TypeAlias = Callable[[Record, EvalContext], Value]
Predicate: TypeAlias = Callable[[Record, EvalContext], bool]
#: A function of one string, for a call that only transforms its first argument's text
#: (``FunctionSpec.step``): it never sees null and cannot fail on a string.
Step: TypeAlias = Callable[[str], str]


class _NotConstant:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_CONSTANT"


#: ``Arg.const`` for an argument whose value depends on the record or the context.
NOT_CONSTANT: Final = _NotConstant()


@dataclass(frozen=True, slots=True)
class Arg:
    """One compiled argument, as a builder sees it."""

    fn: Compiled
    position: int
    #: The argument's value if it is the same for every record, else NOT_CONSTANT.
    const: Value | _NotConstant = NOT_CONSTANT
    #: True for an argument left empty by position (it evaluates to null).
    empty: bool = False
    #: For comparisons: the same test returning a bool, so IIF skips "True"/"False" strings.
    predicate: Predicate | None = None
    #: For a chain of text steps (``FunctionSpec.step``): the innermost argument, the steps
    #: in order and the innermost call's site; an outer step extends the chain.
    chain: tuple[Compiled, tuple[Step, ...], Site] | None = None
    #: For ``[attribute]``: its name, so a builder may read the record itself instead of
    #: calling ``fn``; ``null_empty``: "" reads as null there (``empty_is_null``).
    column: str | None = None
    null_empty: bool = False

    @property
    def is_const(self) -> bool:
        return self.const is not NOT_CONSTANT

    @property
    def value(self) -> Value:
        """The constant value; only meaningful when ``is_const``."""
        const = self.const
        return None if isinstance(const, _NotConstant) else const

    def const_text(self) -> str | None:
        """The constant as one string (None if null or not a single-string constant)."""
        value = self.const
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Site:
    """Where a call is, for error messages."""

    name: str
    position: int
    text: str

    def locate(self, error: EvaluationError) -> None:
        """Give an error from inside this call its position (once; inner calls win)."""
        if error.position is None:
            error.message = f"{self.name}: {error.message}"
            error.args = (error.message,)
            error.expression = self.text
            error.position = self.position

    def wrap(self, error: Exception) -> EvaluationError:
        """An unexpected Python error inside this call, as an EvaluationError."""
        return EvaluationError(
            f"{self.name} failed: {type(error).__name__}: {error}",
            expression=self.text,
            position=self.position,
        )

    def compile_error(self, message: str, arg: Arg | None = None) -> MappingError:
        """A problem a builder finds in constant arguments, before any record is read."""
        position = self.position if arg is None else arg.position
        return MappingError(f"{self.name}: {message}", expression=self.text, position=position)


Builder: TypeAlias = Callable[[Sequence[Arg], Site], Compiled]


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """A function of the language: name, arity, how to build it, and its properties."""

    name: str
    #: For messages, e.g. ``Mid(source, start, length)``.
    signature: str
    min_args: int
    #: None for "no upper bound".
    max_args: int | None
    build: Builder
    #: Same arguments give the same result and the context is not read: calls with only
    #: constant arguments are evaluated once, at compile time.
    pure: bool = True
    #: An extra rule on the argument count (Switch needs pairs); returns a message or None.
    count_rule: Callable[[int], str | None] | None = None
    #: For a call that, with these arguments, only transforms the text of its first one
    #: (null stays null, a list of one is its value): that transformation as a ``Step``,
    #: else None. The compiler runs a chain of such calls (``ToLower(StripSpaces(x))``)
    #: as one closure.
    step: Callable[[Sequence[Arg]], Step | None] | None = None

    def arity_problem(self, count: int) -> str | None:
        """Why ``count`` arguments are wrong for this function, or None."""
        low, high = self.min_args, self.max_args
        if low <= count and (high is None or count <= high):
            return self.count_rule(count) if self.count_rule else None
        if high == low:
            wanted = f"{low} argument{'s' if low != 1 else ''}"
        elif high is None:
            wanted = f"at least {low} arguments"
        else:
            wanted = f"{low} to {high} arguments"
        return f"{self.name} takes {wanted}: {self.signature}; got {count}"


def eager(impl: Callable[..., Value]) -> Builder:
    """A builder for a function that simply takes its evaluated arguments.

    The closures are specialised by argument count so that a call costs one Python call per
    argument plus one for ``impl``, with no list building.
    """

    def build(args: Sequence[Arg], site: Site) -> Compiled:
        fns = [arg.fn for arg in args]
        count = len(fns)
        if count == 1:
            (first,) = fns

            def call1(record: Record, context: EvalContext) -> Value:
                try:
                    return impl(first(record, context))
                except EvaluationError as error:
                    site.locate(error)
                    raise
                except Exception as error:
                    raise site.wrap(error) from error

            return call1
        if count == 2:
            first, second = fns

            def call2(record: Record, context: EvalContext) -> Value:
                try:
                    return impl(first(record, context), second(record, context))
                except EvaluationError as error:
                    site.locate(error)
                    raise
                except Exception as error:
                    raise site.wrap(error) from error

            return call2

        def call(record: Record, context: EvalContext) -> Value:
            try:
                return impl(*[fn(record, context) for fn in fns])
            except EvaluationError as error:
                site.locate(error)
                raise
            except Exception as error:
                raise site.wrap(error) from error

        return call

    return build


def guarded(fn: Compiled, site: Site) -> Compiled:
    """Wrap a hand-written closure with the standard error handling."""

    def call(record: Record, context: EvalContext) -> Value:
        try:
            return fn(record, context)
        except EvaluationError as error:
            site.locate(error)
            raise
        except Exception as error:
            raise site.wrap(error) from error

    return call


def constant(value: Value) -> Compiled:
    """A closure that always returns ``value``."""

    def const(record: Record, context: EvalContext) -> Value:
        return value

    return const


def chained(source: Compiled, steps: tuple[Step, ...], inner: Site, outer: Site) -> Compiled:
    """One closure for a chain of text steps on ``source``: what the nested calls return,
    with one call and one guard instead of one per function. An error from ``source`` (a
    list of several values, say) is located at the innermost call, as the nested calls
    would; the steps cannot fail on a string (anything unexpected names the outermost)."""

    def chain(record: Record, context: EvalContext) -> Value:
        try:
            raw = single(source(record, context))
        except EvaluationError as error:
            inner.locate(error)
            raise
        except Exception as error:
            raise inner.wrap(error) from error
        if raw is None:
            return None
        try:
            for step in steps:
                raw = step(raw)
        except Exception as error:
            raise outer.wrap(error) from error
        return raw

    return chain

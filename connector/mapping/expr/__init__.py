"""Entra ID attribute-mapping expressions: compile once, evaluate per HR record.

    >>> from connector.mapping.expr import EvalContext, compile_expression
    >>> expr = compile_expression('Join("@", ToLower([givenName]), DefaultDomain())')
    >>> expr.evaluate({"givenName": "Zoë"}, EvalContext())
    'zoë@contoso.com'

The language is the one Entra's provisioning service uses (see Microsoft's "Reference for
writing expressions for attribute mappings"), with the 43 functions that apply to inbound
HR data. Pipeline: :mod:`.lexer` -> :mod:`.parser` -> :mod:`.checker` -> :mod:`.compiler`
(closures built by the function modules registered in :mod:`.functions`).

Syntax
------
* ``Name(arg, ...)`` calls, nested freely (64 levels at most). Names are case-sensitive;
  ``join(...)`` is an error that suggests ``Join``.
* ``[attribute]``: any characters but ``]`` and newlines, taken verbatim (case-sensitive).
  A missing attribute is null; "" is an empty string; a list is a multi-valued attribute.
* ``[%NAME%]`` *(our extension)*: the mapping parameter NAME from ``EvalContext.params``
  (letters, digits, ``_ . -``). An unknown name fails the record; loaders can check
  ``Expression.parameters`` up front.
* ``"strings"``: ``\\\\`` is a backslash and ``\\"`` a quote; any other backslash is kept as
  written (so ``"\\d"`` and ``"\\\\d"`` both reach a regex as ``\\d``).
* Numbers: ``7``, ``-10``, ``42568.75`` and VB hex ``&HF7`` (unsigned). They are decimal
  strings at run time (``007`` is ``"7"``).
* Empty positional arguments (``Replace([x], , "re", , "", , )``) are null.
* Bare words: ``vbBinaryCompare`` ("0"), ``vbTextCompare`` ("1"), ``IgnoreAttributeFlow``
  (:data:`IGNORE`) and ``IgnoreObjectFlow`` (:data:`IGNORE_OBJECT`, "skip the record").
* Comparisons ``= <> < <= > >=`` between two values, allowed anywhere, giving "True" or
  "False". Two numbers compare as numbers (so "10" > "9", and "007" = "7"), anything else
  ordinally and case-sensitively. A null side fails the record (Entra: "IIF fails on an
  empty attribute"); chains like ``a = b = c`` are rejected. No AND/OR: nest IIF.
* At most 10,000 characters; whitespace and newlines between tokens are free.

Semantics where Entra's documentation is silent or contradicts itself
---------------------------------------------------------------------
* Booleans are "True"/"False"; conditions accept any case. IIF evaluates only the branch
  it picks; its condition may be any "True"/"False" value (including IsPresent and
  IsNullOrEmpty, which Entra's doc lists as unsupported there but its own guides use); a
  null condition fails. IgnoreFlowIfNullOrEmpty inside a condition is a compile error.
* :data:`IGNORE` anywhere an argument is *used* (not merely passed through IIF, Switch or
  Redact) drops the attribute: ``Join(",", IgnoreFlowIfNullOrEmpty([a]))`` is IGNORE when
  [a] is empty. IgnoreObjectFlow wins over IgnoreAttributeFlow the same way.
* Functions on a list with one item use the item; with more, they fail. Lists are taken by
  Join, Count, Item, RemoveDuplicates, Coalesce, IgnoreFlowIfNullOrEmpty, Redact and the
  Is* tests, and pass through IIF and Switch branches. A returned list may be the record's
  own list object: don't mutate it.
* Null passes through string and date functions (ToLower(null) is null, CDate(null) is
  null); Left, Mid and Word give "" and Len gives 0 for null, as the doc says for Left.
* Join skips null and "" sources and empty list items; a null separator is "".
* Coalesce skips null *and* "" (HR files write missing values as ""); if nothing has a
  value the last argument decides ("" stays "", anything else is null).
* Switch compares case-sensitively; a null source matches the key "" (so the documented
  ``Switch([x], [x], "", "Other")`` covers absent attributes); the first matching key wins.
* Split does not trim items (like .NET) but drops empty ones; the doc's sample output,
  which shows a trimmed second item, is not reproduced.
* PCase without separators lower-cases, then applies .NET ToTitleCase (so all-caps words
  become "Pablo"; an apostrophe continues a word: "John's"). With separators, the first
  character after each separator is upper-cased and the rest lower-cased. "" separators
  mean the default.
* ToLower/ToUpper are invariant one-for-one mappings (ß stays ß); cultures tr/az switch to
  dotted/dotless i; other well-formed culture names behave as invariant.
* NormalizeDiacritics maps exactly the documented table (composed or decomposed input),
  upper case to upper case (Ł -> L, Æ -> AE); anything else is kept (đ, þ, œ, ẞ).
* Mid(start < 1) and negative lengths fail; Item(index < 1) fails, past the end is null;
  InStr returns "0" when not found and ``start`` when the search text is "".
* Dates: see :mod:`.functions_date`. DateDiff truncates toward zero like VB.NET (the
  reference implementation), which agrees with every documented example.
* Replace: mode chosen at compile time from the given arguments; unused arguments are
  errors. See :mod:`.functions_regex` and :mod:`.dotnet_regex` for .NET regex support.
* SelectUniqueValue must be outermost; it tries its rules lazily and in order, skips empty
  values, asks ``Directory.is_unique`` and fails the record naming every candidate if all
  are taken. It does not reserve the value it picks: the caller should mark it taken.
* RandomString uses ``secrets``; "special" characters are Windows' password complexity
  set; Guid() is a random (v4) lower-case GUID.
* Not(x) is "False" only for "True" (any case), else "True", as documented (so Not(null)
  is "True"). CBool: null is "False", numbers are compared with 0, "True"/"False" pass.
  Count("") is 0. IsString is "True" for any single string, "False" for null and lists.
* A call whose arguments are all literals (and that reads no context) is evaluated once at
  compile time; if it can only fail (``CDate("31.12.2020")``), compiling fails.
"""

from __future__ import annotations

from .compiler import MAX_LENGTH, Expression, SharedCalls, compile_expression
from .dotnet_regex import compile_regex
from .functions import FUNCTIONS, KEYWORDS
from .spec import FunctionSpec
from .values import (
    FALSE,
    IGNORE,
    IGNORE_OBJECT,
    TRUE,
    Directory,
    EvalContext,
    Ignore,
    Record,
    StubDirectory,
    Value,
)

__all__ = [
    "FALSE",
    "FUNCTIONS",
    "IGNORE",
    "IGNORE_OBJECT",
    "KEYWORDS",
    "MAX_LENGTH",
    "TRUE",
    "Directory",
    "EvalContext",
    "Expression",
    "SharedCalls",
    "FunctionSpec",
    "Ignore",
    "Record",
    "StubDirectory",
    "Value",
    "compile_expression",
    "compile_regex",
]

"""The function registry: every function of Entra's expression language that makes sense
for inbound HR provisioning (43 of the 45; the two app-role functions are outbound only).

Names are case-sensitive, as in Entra. :func:`suggest` turns a wrong name into a hint.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from . import functions_date, functions_logic, functions_misc, functions_regex, functions_text
from .spec import FunctionSpec
from .values import IGNORE, IGNORE_OBJECT, Value

FUNCTIONS: Final[Mapping[str, FunctionSpec]] = MappingProxyType(
    {
        spec.name: spec
        for module in (
            functions_text,
            functions_logic,
            functions_date,
            functions_regex,
            functions_misc,
        )
        for spec in module.SPECS
    }
)

#: Bare words and what they evaluate to.
KEYWORDS: Final[Mapping[str, Value]] = MappingProxyType(
    {
        "vbBinaryCompare": "0",
        "vbTextCompare": "1",
        "IgnoreAttributeFlow": IGNORE,
        "IgnoreObjectFlow": IGNORE_OBJECT,
    }
)

#: In Entra's list, but they work on outbound app-role data, never on an HR record.
OUTBOUND_ONLY: Final = frozenset({"AppRoleAssignmentsComplex", "SingleAppRoleAssignment"})

# Names people reach for from Excel, SQL or other languages.
_ALIASES: Final = {
    "concat": "Join",
    "concatenate": "Join",
    "if": "IIF",
    "lower": "ToLower",
    "lcase": "ToLower",
    "upper": "ToUpper",
    "ucase": "ToUpper",
    "substring": "Mid",
    "substr": "Mid",
    "right": "Mid",
    "trim": "StripSpaces",
    "len": "Len",
    "length": "Len",
    "isempty": "IsNullOrEmpty",
    "isblank": "IsNullOrEmpty",
    "propercase": "PCase",
    "titlecase": "PCase",
    "newguid": "Guid",
    "today": "Now",
    "regexreplace": "Replace",
    "nz": "Coalesce",
    "ifnull": "Coalesce",
    "case": "Switch",
    "choose": "Switch",
}


def suggest(name: str, candidates: Mapping[str, object] | None = None) -> str | None:
    """The registered name ``name`` most likely meant, or None."""
    pool = list(FUNCTIONS if candidates is None else candidates)
    folded = name.casefold()
    for candidate in pool:
        if candidate.casefold() == folded:
            return candidate
    alias = _ALIASES.get(folded)
    if alias and alias in pool:
        return alias
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if close:
        return close[0]
    lowered = {candidate.casefold(): candidate for candidate in pool}
    close = difflib.get_close_matches(folded, list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None

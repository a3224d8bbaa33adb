"""NormalizeDiacritics, exactly as Entra's table lists it (reference §2.4).

Only the listed characters change; anything else (đ, þ, œ without a macron, ẞ ...) stays as
it is. Upper-case counterparts map to upper case (Æ -> AE, Ø -> OE, Ł -> L, İ -> I); ß has
no upper-case entry. Sequences written with combining marks (ā́ = ā + U+0301) are matched
in both their composed and decomposed spellings, so text from any source normalises alike.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# Transcribed from the Entra documentation table; escapes keep combining marks legible.
_TABLE: Final = (
    (
        "a",
        "\u00e4 \u00e0 \u00e2 \u00e3 \u00e5 \u00e1 \u0105 \u0103 \u0101 \u0101\u0301"
        " \u0101\u0300 \u0101\u0302 \u0101\u0303 \u01df \u0101\u0308 \u01e1 a\u0331 \u00e5\u0304",
    ),
    ("ae", "\u00e6 \u01e3"),
    ("c", "\u00e7 \u010d \u0107 c\u0304 c\u0331"),
    ("d", "\u010f d\u0304 \u1e0f"),
    (
        "e",
        "\u00eb \u00e8 \u00e9 \u00ea \u0119 \u011b \u0117 \u0113 \u1e17 \u1e15 \u0113\u0302"
        " \u0113\u0303 \u00ea\u0304 e\u0331 \u00eb\u0304 e\u030a\u0304",
    ),
    ("g", "\u011f \u1e21 g\u0331"),
    (
        "i",
        "\u00ef \u00ee \u00ec \u00ed \u0131 \u012b \u012b\u0301 \u012b\u0300 \u012b\u0302"
        " \u012b\u0303 i\u0331",
    ),
    ("l", "\u013e \u0142 l\u0304 \u1e39 \u1e3b"),
    ("n", "\u00f1 \u0144 \u0148 n\u0304 \u1e49"),
    (
        "o",
        "\u00f6 \u00f2 \u0151 \u00f5 \u00f4 \u00f3 \u014d \u1e53 \u1e51 \u014d\u0302"
        " \u014d\u0303 \u022b \u014d\u0308 \u01ed \u022d \u0231 o\u0331",
    ),
    ("oe", "\u00f8 \u00f8\u0304 \u0153\u0304"),
    ("r", "\u0159 r\u0304 \u1e5f \u1e5d"),
    ("ss", "\u00df"),
    ("s", "\u0161 \u015b \u0219 \u015f s\u0304 s\u0331"),
    ("t", "\u0165 \u021b t\u0304 \u1e6f"),
    (
        "u",
        "\u00fc \u00f9 \u00fb \u00fa \u016f \u0171 \u016b \u016b\u0301 \u016b\u0300"
        " \u016b\u0302 \u016b\u0303 u\u0307\u0304 \u01d6 \u1e7b \u1e73\u0304 u\u0331",
    ),
    ("y", "\u00ff \u00fd \u0233 \u0233\u0301 \u0233\u0300 \u0233\u0303 y\u0331"),
    ("z", "\u017a \u017e \u017c z\u0304 \u1e95"),
)
# Lower-case only per the table; "ẞ" is not listed, and "SS" for ß's upper case would be
# a guess. İ is listed explicitly among the upper-case i's.
_NO_UPPER: Final = frozenset({"\u00df"})
_EXTRA_UPPER: Final = (("\u0130", "I"),)


def _spellings(sequence: str) -> set[str]:
    """Composed, decomposed and partly composed forms of one table entry."""
    decomposed = unicodedata.normalize("NFD", sequence)
    forms = {sequence, unicodedata.normalize("NFC", sequence), decomposed}
    for cut in range(1, len(decomposed)):
        forms.add(unicodedata.normalize("NFC", decomposed[:cut]) + decomposed[cut:])
    return forms


def _build() -> tuple[dict[int, str], dict[str, str]]:
    singles: dict[int, str] = {}
    sequences: dict[str, str] = {}
    pairs: list[tuple[str, str]] = list(_EXTRA_UPPER)
    for target, sources in _TABLE:
        for source in sources.split():
            pairs.append((source, target))
            upper = source.upper()
            if source not in _NO_UPPER and not upper.isascii():
                pairs.append((upper, target.upper()))
    for source, target in pairs:
        for form in _spellings(source):
            if len(form) == 1:
                singles[ord(form)] = target
            else:
                sequences[form] = target
    return singles, sequences


_SINGLES, _SEQUENCES = _build()
# Longest first, so ā́ wins over ā followed by a stray accent.
_SEQUENCE_RE: Final = re.compile(
    "|".join(re.escape(s) for s in sorted(_SEQUENCES, key=len, reverse=True))
)
_COMBINING: Final = re.compile("[\u0300-\u036f]")


def normalize_diacritics(raw: str) -> str:
    """``raw`` with every character of the table replaced by its plain spelling."""
    if raw.isascii():
        return raw
    if _COMBINING.search(raw):
        raw = _SEQUENCE_RE.sub(lambda m: _SEQUENCES[m.group()], raw)
    return raw.translate(_SINGLES)

"""``LazyItems``: a report's list of items made one at a time each time a format reads
them, never held together (a million changes cost what a format shows of them). Pure."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any


class LazyItems:
    """Items made when read: iterate as often as needed; ``len`` counts without making
    items; a slice makes only the items it takes. Subclasses say what the items are."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, part: slice) -> list[dict[str, Any]]:
        if not isinstance(part, slice):
            raise TypeError("report items are read in order or by slice")
        return list(islice(self, part.start, part.stop, part.step))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyItems | list):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

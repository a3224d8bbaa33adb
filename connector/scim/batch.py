"""Order and batch the sends of a plan. Pure.

Entra resolves ``manager.value`` against users it has already processed (E10: "the
manager record must have been processed before the report's record"), so
:func:`in_manager_order` posts every manager before the people who report to them (a
breadth-first walk from the top; anything left, a loop the plan let through, keeps its
order). :func:`batches` cuts the result into requests of at most 50 operations (§1).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence

from connector.scim.payload import MAX_OPERATIONS
from connector.scim.plan import Send


def in_manager_order(sends: Sequence[Send]) -> list[Send]:
    """``sends`` with each manager before their reports (stable otherwise)."""
    by_id = {s.external_id: s for s in sends}
    reports: dict[str, list[Send]] = {}
    roots: list[Send] = []
    for send in sends:
        if send.manager and send.manager in by_id and send.manager != send.external_id:
            reports.setdefault(send.manager, []).append(send)
        else:
            roots.append(send)
    ordered: list[Send] = []
    seen: set[str] = set()
    queue = deque(roots)
    while queue:
        send = queue.popleft()
        if send.external_id in seen:
            continue
        seen.add(send.external_id)
        ordered.append(send)
        queue.extend(reports.get(send.external_id, ()))
    ordered += [s for s in sends if s.external_id not in seen]
    return ordered


def batches(sends: Sequence[Send], size: int = MAX_OPERATIONS) -> Iterator[list[Send]]:
    """Consecutive requests of at most ``size`` operations."""
    if not 0 < size <= MAX_OPERATIONS:
        raise ValueError(f"a bulk request holds 1..{MAX_OPERATIONS} operations")
    for start in range(0, len(sends), size):
        yield list(sends[start:start + size])

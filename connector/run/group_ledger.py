"""The group ledger, ``<state>/groups.json``: which members of each owned group the
connector added, and since when a group has been empty.

**Which members are the connector's.** A member the connector adds is recorded here before
the request that adds it is sent (write-ahead, so a crash never loses one), and forgotten
when it is removed. A run removes a member that HR data no longer puts in a group only
when the ledger has it, or when the rule is ``exclusive``: a person an admin added by
hand stays. The ledger only ever narrows what is removed: a lost ledger means no member
is known to be the connector's, so nobody is removed from a non-exclusive group (the run
warns), never that somebody is removed wrongly.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from connector.core.plan.group_model import GroupLedger
from connector.errors import ConfigError
from connector.run.trail import write_atomically

#: The ledger's file in the state folder.
LEDGER_FILE = "groups.json"


def ledger_path(state: Path) -> Path:
    """``<state>/groups.json``."""
    return state / LEDGER_FILE


def load_ledger(state: Path | None) -> GroupLedger:
    """The ledger in ``state`` (empty when there is none yet); without a state folder, an
    unknown ledger. A file that cannot be read is a ``ConfigError`` naming it."""
    if state is None:
        return GroupLedger(known=False)
    path = ledger_path(state)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return GroupLedger()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"the group ledger {path} cannot be read ({exc}); move it away to "
                          "start a new one (then no member is known to be hr-connector's "
                          "until it adds them again)") from None
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, dict):
        raise ConfigError(f"the group ledger {path} is not one hr-connector wrote")
    ledger = GroupLedger()
    for group_id, entry in groups.items():
        if not isinstance(entry, dict):
            continue
        ledger.added[str(group_id).lower()] = {str(m).lower() for m in entry.get("added", [])}
        since = entry.get("emptySince")
        if isinstance(since, str):
            try:
                ledger.empty_since[str(group_id).lower()] = dt.date.fromisoformat(since)
            except ValueError:
                pass
    return ledger


def save_ledger(state: Path, ledger: GroupLedger, names: Mapping[str, str]) -> None:
    """Replace the ledger in one step (a crash leaves the old file or the new one)."""
    groups: dict[str, Any] = {}
    for group_id in sorted(set(ledger.added) | set(ledger.empty_since)):
        if not ledger.added.get(group_id) and group_id not in ledger.empty_since:
            continue
        entry: dict[str, Any] = {"mailNickname": names.get(group_id),
                                 "added": sorted(ledger.added.get(group_id, ()))}
        if group_id in ledger.empty_since:
            entry["emptySince"] = ledger.empty_since[group_id].isoformat()
        groups[group_id] = entry
    write_atomically(ledger_path(state), json.dumps({"version": 1, "groups": groups},
                                                    indent=1, ensure_ascii=False) + "\n")

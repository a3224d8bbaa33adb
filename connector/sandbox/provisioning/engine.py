"""The sandbox's provisioning engine: applies uploaded SCIM users to the sandbox's users
with the job's attribute mapping (:mod:`.schema`) and writes one provisioning-log entry per
record (api-driven-inbound.md §2, §8, §9).

Per record, in upload order:

* **match** on externalId <-> employeeId; two matches fail the record;
* ``active`` -> accountEnabled; a record without ``active`` disables the user (I1);
* no match: **create** (userPrincipalName from userName and mailNickname from nickName or
  the UPN's local part, a random password); the Graph rules of the sandbox's ``/users``
  apply: a UPN in a domain the tenant does not have, or one already taken, fails with
  ``AzureActiveDirectoryInvalidUserPrincipalName``, any other invalid value with
  ``AzureActiveDirectoryInvalidValue`` [INF: Entra's exact codes besides the UPN one are
  not documented];
* a match: **update** of what differs (``disable`` when accountEnabled turns false);
  nothing different is ``skipped``;
* ``manager.value``: the user whose employeeId is that externalId, when it was processed
  before; otherwise the record's other changes stand and the entry is a ``warning`` with
  ``ReferenceResolutionFailed`` [INF] (a "reference failure", E9, E10).
"""

from __future__ import annotations

import secrets
import string
import uuid
from typing import Any

from ..envelope import GraphError, iso_z
from ..state import SandboxState
from ..store import UserRow
from ..users import parse_datetime, validate_write
from .schema import FLOWS, value_at

_UPN_CODE = "AzureActiveDirectoryInvalidUserPrincipalName"


def _password(upn: str) -> str:
    """A random password Graph's rules take: four classes, without the user's name."""
    alphabet = string.ascii_letters + string.digits + "!#$%&*+-=?@^_"
    local = upn.partition("@")[0].lower()
    while True:
        chars = [secrets.choice(string.ascii_lowercase), secrets.choice(string.ascii_uppercase),
                 secrets.choice(string.digits), secrets.choice("!#$%&*+-=?@^_")]
        chars += [secrets.choice(alphabet) for _ in range(16)]
        password = "".join(chars)
        if len(local) < 3 or local not in password.lower():
            return password


def _enabled(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() == "true"


class Engine:
    """Applies uploads for one sandbox (see the module docstring)."""

    def __init__(self, state: SandboxState, service_principal: str, job_id: str) -> None:
        self.state = state
        self.service_principal = service_principal
        self.job_id = job_id

    def process(self, body: dict[str, Any], now: float) -> list[dict[str, Any]]:
        """Apply every operation of one bulk request; returns its log entries (one cycle)."""
        cycle = str(uuid.uuid4())
        return [self._record(op.get("data") or {}, cycle, now)
                for op in body.get("Operations") or [] if isinstance(op, dict)]

    # --- one record -------------------------------------------------------------------------
    def _desired(self, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], Any]:
        """(always, on create only, manager externalId) Entra values from a SCIM user."""
        always: dict[str, Any] = {"accountEnabled": _enabled(data.get("active"))}
        create: dict[str, Any] = {}
        manager: Any = None
        for flow in FLOWS:
            if flow.source == "active":
                continue
            present, value = value_at(data, flow.source)
            if not present or value in (None, ""):
                continue
            if flow.target == "manager":
                manager = value
                continue
            if flow.target == "businessPhones":
                value = [value]
            elif flow.target in ("employeeHireDate", "employeeLeaveDateTime") and isinstance(
                    value, str):
                value = parse_datetime(value) or value
            (create if flow.on_create else always)[flow.target] = value
        return always, create, manager

    def _record(self, data: dict[str, Any], cycle: str, now: float) -> dict[str, Any]:
        external = str(data.get("externalId") or "")
        always, create, manager = self._desired(data)
        store = self.state.store
        matches = list(store.scan(0, ("employee_id", [external]))) if external else []
        entry = _Entry(self, data, cycle, now)
        if len(matches) > 1:
            return entry.fail("other", "AzureActiveDirectoryMultipleMatches",
                              f"{len(matches)} users have employeeId {external!r}")
        try:
            if matches:
                row = matches[0]
                action = self._update(row, always, entry)
            else:
                action, row = "create", self._create(always, create, entry)
        except GraphError as error:
            code = _UPN_CODE if "userPrincipalName" in error.message or any(
                d.get("target") == "userPrincipalName" for d in error.details or []) \
                else "AzureActiveDirectoryInvalidValue"
            entry.modified.clear()  # nothing was written
            return entry.fail("create" if not matches else "update", code, error.message)
        warning = self._manager(row, manager, entry)
        if warning:
            return entry.done(action, "warning", *warning)
        if action == "update" and not entry.modified:
            return entry.done("other", "skipped", None, None)
        return entry.done(action, "success", None, None)

    def _create(self, always: dict[str, Any], create: dict[str, Any],
                entry: _Entry) -> UserRow:
        upn = create.get("userPrincipalName")
        body = {**always, **create}
        if isinstance(upn, str) and "mailNickname" not in body:
            body["mailNickname"] = upn.partition("@")[0]
        if "usageLocation" in body and isinstance(body["usageLocation"], str):
            body["usageLocation"] = body["usageLocation"].upper()
        profile = {"password": _password(str(upn or "")),
                   "forceChangePasswordNextSignIn": True}
        changes = validate_write({**_nested(body), "passwordProfile": profile}, None,
                                 domains=self.state.store.domains(),
                                 extensions=self.state.config.extension_properties)
        store = self.state.store
        upn = changes.get("userPrincipalName", "")
        if store.conflicts("upn_lower", upn, None, self.state.config.soft_deleted_upn_blocks):
            raise GraphError(400, "Request_BadRequest", "The userPrincipalName value is "
                             "invalid or already in use.",
                             details=[{"target": "userPrincipalName", "code": "ObjectConflict"}])
        object_id = str(uuid.uuid4())
        created = iso_z(entry.now)
        doc = {"id": object_id, "createdDateTime": created, "creationType": None,
               "lastPasswordChangeDateTime": created, **changes}
        store.insert(doc)
        for name, value in body.items():
            entry.modified.append({"displayName": name, "oldValue": None,
                                   "newValue": _shown(value)})
        row = store.get(object_id)
        assert row is not None
        return row

    def _update(self, row: UserRow, always: dict[str, Any], entry: _Entry) -> str:
        doc = row.doc
        changed: dict[str, Any] = {}
        for name, value in always.items():
            head, dot, part = name.partition(".")
            current = (doc.get(head) or {}).get(part) if dot else doc.get(name)
            if current != value:
                changed[name] = value
                entry.modified.append({"displayName": name, "oldValue": _shown(current),
                                       "newValue": _shown(value)})
        if changed:
            body = _nested(changed)
            if "employeeOrgData" in body:  # Graph replaces it whole (graph.md §1.2)
                body["employeeOrgData"] = {**(doc.get("employeeOrgData") or {}),
                                           **body["employeeOrgData"]}
            store_changes = validate_write(body, doc, domains=self.state.store.domains(),
                                           extensions=self.state.config.extension_properties)
            self.state.store.update(row.id, store_changes)
        if changed.get("accountEnabled") is False:
            return "disable"
        return "update"

    def _manager(self, row: UserRow, manager: Any, entry: _Entry) -> tuple[str, str] | None:
        if not manager:
            return None
        store = self.state.store
        found = [m for m in store.scan(0, ("employee_id", [str(manager)])) if m.id != row.id]
        if len(found) != 1:
            return ("ReferenceResolutionFailed",
                    f"the manager with externalId {manager!r} was not found among the "
                    "users processed so far (process managers first)")
        if row.manager_id != found[0].id:
            old = store.get(row.manager_id) if row.manager_id else None
            store.set_manager(row.id, found[0].id)
            entry.modified.append({"displayName": "manager",
                                   "oldValue": old.doc.get("employeeId") if old else None,
                                   "newValue": str(manager)})
        return None


class _Entry:
    """Builds one provisioningObjectSummary (§8)."""

    def __init__(self, engine: Engine, data: dict[str, Any], cycle: str, now: float) -> None:
        self.engine, self.data, self.cycle, self.now = engine, data, cycle, now
        self.modified: list[dict[str, Any]] = []
        self.target: dict[str, Any] = {"id": "", "displayName": "", "identityType": "User",
                                       "details": {}}

    def fail(self, action: str, code: str, reason: str) -> dict[str, Any]:
        return self.done(action, "failure", code, reason)

    def done(self, action: str, status: str, code: str | None,
             reason: str | None) -> dict[str, Any]:
        engine, data = self.engine, self.data
        external = str(data.get("externalId") or "")
        rows = list(engine.state.store.scan(0, ("employee_id", [external]))) if external else []
        if len(rows) == 1:
            self.target = {"id": rows[0].id, "displayName": rows[0].doc.get("displayName") or "",
                           "identityType": "User", "details": {}}
        error = None if code is None else {
            "errorCode": code, "reason": reason, "additionalDetails": None,
            "errorCategory": "nonServiceFailure",
            "recommendedAction": "Fix the record in the HR source and send it again."}
        return {
            "id": str(uuid.uuid4()), "activityDateTime": iso_z(self.now),
            "tenantId": engine.state.tenant_id, "jobId": engine.job_id, "cycleId": self.cycle,
            "changeId": str(uuid.uuid4()), "provisioningAction": action,
            "durationInMilliseconds": 40,
            "initiatedBy": {"id": "", "displayName": "Microsoft Entra Provisioning Service",
                            "initiatorType": "system"},
            "servicePrincipal": {"id": engine.service_principal,
                                 "displayName": "API-driven provisioning (sandbox)"},
            "sourceSystem": {"id": "api", "displayName": "API", "details": {}},
            "targetSystem": {"id": "aad", "displayName": "Microsoft Entra ID", "details": {}},
            "sourceIdentity": {"id": external, "displayName": str(data.get("displayName") or ""),
                               "identityType": "User", "details": {}},
            "targetIdentity": self.target,
            "modifiedProperties": self.modified,
            "provisioningSteps": _steps(external, action, status, reason),
            "provisioningStatusInfo": {"status": status, "errorInformation": error},
        }


def _steps(external: str, action: str, status: str, reason: str | None) -> list[dict[str, Any]]:
    final = "success" if status in ("success", "skipped") else status
    return [
        {"name": "EntryImport", "provisioningStepType": "import", "status": "success",
         "description": f"Retrieved User '{external}' from API", "details": {}},
        {"name": "EntrySynchronizationScoping", "provisioningStepType": "scoping",
         "status": "success", "description": "Determine if User is in scope", "details": {}},
        {"name": "EntryMatching", "provisioningStepType": "matching", "status": "success",
         "description": f"Match user (employeeId eq '{external}')", "details": {}},
        {"name": "EntryExport", "provisioningStepType": "export", "status": final,
         "description": reason or f"Provision User: {action}", "details": {}},
    ]


def _nested(flat: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for name, value in flat.items():
        head, dot, rest = name.partition(".")
        if dot:
            nested.setdefault(head, {})[rest] = value
        else:
            nested[name] = value
    return nested


def _shown(value: Any) -> Any:
    """How the log shows a value: text (True/False for booleans), or null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)

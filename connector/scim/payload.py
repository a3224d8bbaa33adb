"""SCIM payloads for Entra's ``bulkUpload`` (api-driven-inbound.md §1, §7). Pure.

:func:`user_data` turns a record's mapped values (flat SCIM attribute names, see
``connector.mapping.scim``) into the ``data`` of one bulk operation: ``schemas`` (core,
enterprise and each custom extension used), ``externalId``, ``active`` (always: omitting it
disables the account, I1), the enterprise ``manager.value`` (the manager's externalId) and
every other value where SCIM puts it. :func:`bulk_request` wraps operations in the
BulkRequest envelope; :func:`check_request` checks a request the way the service does
(§1, §9), so a dry run can say a payload would be refused before anything is posted.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from connector.mapping.scim import CORE, ENTERPRISE, ScimPath, parse

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
CONTENT_TYPE = "application/scim+json"
#: Operations per request (§1 Limits).
MAX_OPERATIONS = 50


@functools.lru_cache(maxsize=4096)
def _path(name: str, extensions: tuple[str, ...]) -> ScimPath:
    path = parse(name, extensions)
    if isinstance(path, str):  # the loader refused it already; a bug if we get here
        raise ValueError(path)
    return path


def user_data(values: Mapping[str, Any], *, active: bool, manager: str | None = None,
              extensions: tuple[str, ...] = ()) -> dict[str, Any]:
    """The SCIM User of one record. ``values`` are flat SCIM names -> mapped values
    (``active`` among them is ignored: the ``active`` argument decides)."""
    data: dict[str, Any] = {"schemas": [CORE, ENTERPRISE]}
    used: list[str] = []
    for name, value in values.items():
        if name == "active" or value is None or value == "":
            continue
        path = _path(name, extensions)
        if path.schema is not None:
            if path.schema not in used and path.schema != ENTERPRISE:
                used.append(path.schema)
            data.setdefault(path.schema, {})[path.attribute] = value
        elif path.type is not None:
            items = data.setdefault(path.attribute, [])
            item = next((i for i in items if i.get("type") == path.type), None)
            if item is None:
                item = {"type": path.type}
                items.append(item)
            item[path.sub] = value
        elif path.sub is not None:
            data.setdefault(path.attribute, {})[path.sub] = value
        else:
            data[path.attribute] = value
    data["active"] = active
    if manager:
        data.setdefault(ENTERPRISE, {})["manager"] = {"value": manager}
    data["schemas"] += sorted(used)
    return data


def inactive_data(external_id: str) -> dict[str, Any]:
    """The smallest payload that disables a user: ``externalId`` and ``active: false``
    (Graph example 3, §7b); attributes left out are not cleared."""
    return {"schemas": [CORE, ENTERPRISE], "externalId": external_id, "active": False}


def operation(data: Mapping[str, Any]) -> dict[str, Any]:
    """One bulk operation; its ``bulkId`` is the record's externalId (unique per request,
    and what the docs suggest: the HR employee id)."""
    return {"method": "POST", "bulkId": str(data["externalId"]), "path": "/Users",
            "data": dict(data)}


def bulk_request(datas: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A BulkRequest of at most :data:`MAX_OPERATIONS` users."""
    if not 0 < len(datas) <= MAX_OPERATIONS:
        raise ValueError(f"a bulk request holds 1..{MAX_OPERATIONS} operations")
    return {"schemas": [BULK_REQUEST], "Operations": [operation(d) for d in datas],
            "failOnErrors": None}


def check_request(body: Any) -> list[str]:
    """Why the service would refuse ``body`` (400), per the documented rules; empty when
    it is a valid BulkRequest."""
    if not isinstance(body, Mapping):
        return ["the body is not a JSON object"]
    problems: list[str] = []
    if body.get("schemas") != [BULK_REQUEST]:
        problems.append(f"schemas must be [{BULK_REQUEST!r}]")
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations:
        return [*problems, "Operations must be a non-empty list"]
    if len(operations) > MAX_OPERATIONS:
        problems.append(f"{len(operations)} operations, at most {MAX_OPERATIONS} per request")
    bulk_ids: set[str] = set()
    for number, op in enumerate(operations, 1):
        problems += [f"operation {number}: {p}" for p in _check_operation(op, bulk_ids)]
    return problems


def _check_operation(op: Any, bulk_ids: set[str]) -> list[str]:
    if not isinstance(op, Mapping):
        return ["not a JSON object"]
    problems: list[str] = []
    if op.get("method") != "POST":
        problems.append("method must be POST")
    if op.get("path") != "/Users":
        problems.append("path must be /Users")
    bulk_id = op.get("bulkId")
    if not isinstance(bulk_id, str) or not bulk_id:
        problems.append("bulkId is missing")
    elif bulk_id in bulk_ids:
        problems.append(f"bulkId {bulk_id!r} is used twice")
    else:
        bulk_ids.add(bulk_id)
    data = op.get("data")
    if not isinstance(data, Mapping):
        return [*problems, "data must be a SCIM User object"]
    return problems + check_user(data)


def check_user(data: Mapping[str, Any]) -> list[str]:
    """SCIM rules for one User (RFC 7643 and the service's own, §1): schemas, externalId,
    a boolean ``active``, extension objects declared in ``schemas``, simple values."""
    problems: list[str] = []
    schemas = data.get("schemas")
    if not isinstance(schemas, list) or not {CORE, ENTERPRISE} <= set(schemas):
        problems.append("data.schemas must hold the core and enterprise User schemas")
        schemas = []
    external = data.get("externalId")
    if not isinstance(external, str) or not external.strip():
        problems.append("externalId is missing")
    if not isinstance(data.get("active"), bool):
        problems.append("active must be true or false (and always be sent)")
    for name, value in data.items():
        if name.startswith("urn:"):
            if name not in schemas:
                problems.append(f"{name} is used but not listed in schemas")
            if not isinstance(value, Mapping):
                problems.append(f"{name} must be an object")
                continue
            for attribute, item in value.items():
                if attribute == "manager" and name == ENTERPRISE:
                    if not (isinstance(item, Mapping) and isinstance(item.get("value"), str)):
                        problems.append("manager must be {\"value\": externalId}")
                elif not isinstance(item, str):
                    problems.append(f"{name}:{attribute} must be text")
        elif name in ("emails", "phoneNumbers", "addresses", "ims"):
            if not isinstance(value, list) or not all(
                    isinstance(i, Mapping) and isinstance(i.get("type"), str) for i in value):
                problems.append(f"{name} must be a list of typed values")
            else:
                types = [i["type"] for i in value]
                if len(set(types)) != len(types):
                    problems.append(f"{name} has two values of one type")
        elif name == "name" and not isinstance(value, Mapping):
            problems.append("name must be an object")
        elif name not in ("schemas", "active", "name") and not isinstance(value, str):
            problems.append(f"{name} must be text")
    return problems

"""The group resource as data: properties, what a create or an update may carry, query
options of the group endpoints. Facts and sources: ``GROUPS.md`` in this package.

Texts marked [INF] in GROUPS.md are our guesses where Microsoft documents only the status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from .envelope import CIDict, GraphError, bad_request, unsupported_query
from .filters import MAX_EQ_LENGTH, MAX_IN_VALUES, Any_, BoolOp, Compare, Func, In, Node, Not
from .filters import parse_filter as _parse

#: [G-RES] limits and filter operators (default; ``ne``/``not``/``eq null`` need advanced
#: query parameters, as for users).
MAX_DISPLAY_NAME = 256
MAX_NICKNAME = 64
MAX_DESCRIPTION = 1024  # [INF]: not stated on the resource page
MAX_LINKS = 20  # [G-ADD] Example 2, [I-20]
NICKNAME_FORBIDDEN = frozenset('@()\\[]";:.<>, ')
_FILTERS: dict[str, frozenset[str]] = {
    "id": frozenset({"eq", "in"}),
    "displayName": frozenset({"eq", "in", "startsWith", "ge", "le"}),
    "mailNickname": frozenset({"eq", "in", "startsWith", "ge", "le"}),
    "description": frozenset({"eq", "startsWith", "ge", "le"}),
    "mail": frozenset({"eq", "in", "startsWith", "ge", "le"}),
    "securityEnabled": frozenset({"eq", "in"}),
    "mailEnabled": frozenset({"eq"}),
    "groupTypes": frozenset({"any:eq"}),
}
_BOOLEANS = frozenset({"securityEnabled", "mailEnabled", "isAssignableToRole"})
#: Properties every group answer carries unless ``$select`` says otherwise [G-RES].
DEFAULT_SET = ("id", "createdDateTime", "description", "displayName", "groupTypes", "mail",
               "mailEnabled", "mailNickname", "securityEnabled", "visibility",
               "membershipRule", "membershipRuleProcessingState", "isAssignableToRole",
               "proxyAddresses", "renewedDateTime", "securityIdentifier")
SELECTABLE = frozenset(DEFAULT_SET) | {"expirationDateTime", "onPremisesSyncEnabled"}
_CREATE = frozenset({"displayName", "mailNickname", "mailEnabled", "securityEnabled",
                     "description", "groupTypes", "visibility", "isAssignableToRole",
                     "membershipRule", "membershipRuleProcessingState", "members@odata.bind",
                     "owners@odata.bind"})
_UPDATE = frozenset({"displayName", "mailNickname", "description", "visibility",
                     "membershipRule", "membershipRuleProcessingState", "members@odata.bind",
                     "owners@odata.bind"})
_REQUIRED = ("displayName", "mailEnabled", "mailNickname", "securityEnabled")


def invalid(prop: str) -> GraphError:
    """The per-property invalid value of a group (the users' [I-NICK] pattern)."""
    return GraphError(400, "Request_BadRequest",
                      f"Invalid value specified for property '{prop}' of resource 'Group'.",
                      details=[{"code": "InvalidValue", "target": prop}])


def _string(body: dict[str, Any], prop: str, limit: int, *, empty: bool = False) -> None:
    value = body.get(prop)
    if value is None and empty:
        return
    if not isinstance(value, str) or (not value.strip() and not empty) or len(value) > limit:
        raise invalid(prop)


def _nickname(value: Any) -> None:
    if (not isinstance(value, str) or not value or len(value) > MAX_NICKNAME
            or any(c in NICKNAME_FORBIDDEN or ord(c) > 127 or not c.isprintable()
                   for c in value)):
        raise invalid("mailNickname")


def validate_create(body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The properties of a new group and the ids of ``members@odata.bind`` ([G-POST])."""
    unknown = sorted(set(body) - _CREATE)
    if unknown:
        raise bad_request(f"Invalid property '{unknown[0]}'.")  # [INF] text, as for users
    for prop in _REQUIRED:
        if body.get(prop) is None or body.get(prop) == "":
            raise bad_request(f"Property {prop} value is required but is empty or missing.")
    for prop in _BOOLEANS & set(body):
        if not isinstance(body[prop], bool):
            raise bad_request("Cannot convert a primitive value to the expected type "
                              "'Edm.Boolean'. See the inner exception for more details.",
                              code="BadRequest")
    _string(body, "displayName", MAX_DISPLAY_NAME)
    _string(body, "description", MAX_DESCRIPTION, empty=True)
    _nickname(body["mailNickname"])
    types = body.get("groupTypes") or []
    if not isinstance(types, list) or not set(types) <= {"Unified", "DynamicMembership"}:
        raise invalid("groupTypes")
    if body["mailEnabled"] and "Unified" not in types:
        # [G-POST]: only Microsoft 365 and security groups can be created ([INF] text).
        raise bad_request("The service does not currently support writes of mail-enabled "
                          "groups. Please ensure that the mail-enablement property is unset "
                          "or is set to false.")
    if "DynamicMembership" in types and not body.get("membershipRule"):
        raise invalid("membershipRule")  # [INF]
    members = bind_ids(body.get("members@odata.bind"), body.get("owners@odata.bind"))
    doc = {k: v for k, v in body.items() if not k.endswith("@odata.bind")}
    doc["groupTypes"] = list(types)
    return doc, members


def validate_update(body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The changed properties and the ids of ``members@odata.bind`` ([G-UPD], [G-ADD])."""
    unknown = sorted(set(body) - _UPDATE)
    if unknown:
        raise bad_request(f"Invalid property '{unknown[0]}'.")  # [INF]: read-only or unknown
    if "displayName" in body:
        _string(body, "displayName", MAX_DISPLAY_NAME)  # cannot be cleared [G-RES]
    if "description" in body:
        _string(body, "description", MAX_DESCRIPTION, empty=True)
    if "mailNickname" in body:
        _nickname(body["mailNickname"])
    members = bind_ids(body.get("members@odata.bind"), body.get("owners@odata.bind"))
    return {k: v for k, v in body.items() if not k.endswith("@odata.bind")}, members


def bind_ids(members: Any, owners: Any) -> list[str]:
    """Object ids of ``members@odata.bind`` (URLs of directoryObjects, users or groups);
    with the owners, at most 20 links in one request ([I-20])."""
    links: list[str] = []
    for value in (members, owners):
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad_request("Invalid value for the members@odata.bind annotation.")  # [INF]
        links.extend(value)
    if len(links) > MAX_LINKS:
        raise bad_request("A resource cannot contain more than 20 link changes.")  # [I-20]
    return [object_id(link) for link in (members or [])]


def object_id(link: str) -> str:
    """The object id at the end of ``https://graph.microsoft.com/v1.0/directoryObjects/{id}``
    (or ``/users/{id}``, ``/groups/{id}``); 400 for anything else ([INF] text)."""
    segments = [s for s in unquote(urlsplit(link).path).split("/") if s]
    if len(segments) < 2 or segments[-2] not in ("directoryObjects", "users", "groups"):
        raise bad_request(f"Invalid object identifier '{link}'.")
    return segments[-1].lower()


@dataclass
class GroupQuery:
    """The query options of a group endpoint."""

    select: list[str] | None = None
    filter: Node | None = None
    top: int | None = None
    skiptoken: str | None = None
    pairs: tuple[tuple[str, str], ...] = ()


def parse_group_query(query: list[tuple[str, str]], headers: CIDict, *,
                      allowed: frozenset[str]) -> GroupQuery:
    """``$select``, ``$filter``, ``$top`` (1..999) and ``$skiptoken`` of a group request."""
    seen: dict[str, str] = {}
    for name, value in query:
        key = name.lower()
        if not key.startswith("$"):
            continue
        if key in seen:
            raise bad_request(f"Query option '{name}' was specified more than once, but it must "
                              "be specified at most once.", code="BadRequest")
        if key not in allowed:
            raise bad_request(f"Query option '{name}' is not supported.", code="BadRequest")
        seen[key] = value
    options = GroupQuery(pairs=tuple((k, v) for k, v in seen.items() if k != "$skiptoken"),
                         skiptoken=seen.get("$skiptoken"))
    if "$select" in seen:
        options.select = [n.strip() for n in seen["$select"].split(",") if n.strip()]
        for name in options.select:
            if name not in SELECTABLE:
                raise GraphError(400, "BadRequest", f"Could not find a property named "
                                 f"'{name}' on type 'microsoft.graph.group'.")
    if "$top" in seen:
        text = seen["$top"]
        if not text.isdigit() or not 1 <= int(text) <= 999:
            raise bad_request(f"Invalid page size specified: '{text}'. Must be between 1 and "
                              "999 inclusive.")
        options.top = int(text)
    if "$filter" in seen:
        options.filter = _parse(seen["$filter"])
        _check(options.filter)
    return options


def _check(node: Node) -> None:
    """Only what the group page lists works without advanced queries ([G-RES], [KI])."""
    if isinstance(node, BoolOp):
        _check(node.left)
        _check(node.right)
        return
    if isinstance(node, Not):
        raise _unsupported("not")
    if isinstance(node, Any_):
        body = node.body
        op = f"any:{body.op}" if isinstance(body, Compare) else "any:?"
        path = node.path
    elif isinstance(node, Compare):
        op, path = ("null" if node.lit.kind == "null" else node.op), node.path
        if isinstance(node.lit.value, str) and len(node.lit.value) > MAX_EQ_LENGTH:
            raise _unsupported_clause(path)
        if (path in _BOOLEANS) != (node.lit.kind == "bool") and node.lit.kind != "null":
            raise _unsupported_clause(path)
    elif isinstance(node, In):
        op, path = "in", node.path
        if len(node.lits) > MAX_IN_VALUES:
            raise unsupported_query(
                "Too many child clauses specified in search filter expression containing "
                f"'OR' operators: {len(node.lits)}. Max allowed: {MAX_IN_VALUES}.")
    else:
        assert isinstance(node, Func)
        op, path = node.name, node.path
    if op not in _FILTERS.get(path, frozenset()):
        raise _unsupported_clause(path)


def _unsupported(op: str) -> GraphError:
    return unsupported_query(
        f"Operator '{op}' is not supported because the required parameters might be missing. "
        "Try adding $count=true query parameter and ConsistencyLevel:eventual header. "
        "Refer to https://aka.ms/graph-docs/advanced-queries for more information")


def _unsupported_clause(path: str) -> GraphError:
    return unsupported_query("Unsupported or invalid query filter clause specified for "
                             f"property '{path}' of resource 'Group'.")


def represent_group(doc: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
    """A group's JSON: the default set or exactly ``$select``; unset properties are null
    (collections ``[]``)."""
    lists = {"groupTypes", "proxyAddresses"}
    return {name: doc.get(name, [] if name in lists else None)
            for name in (select or DEFAULT_SET)}

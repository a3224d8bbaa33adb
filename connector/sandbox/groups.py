"""The Graph v1.0 groups surface of the sandbox: ``/groups`` (create, get, list with
``$filter``, update, delete), members (list with paging, ``members@odata.bind``, ``$ref``
add and remove), also inside ``$batch`` (items go through :meth:`Graph.execute`).

Behaviour follows Microsoft's documentation as recorded in ``GROUPS.md`` (source keys in
brackets there), never the connector's client.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from .envelope import Context, GraphError, GraphRequest, GraphResponse, bad_request, iso_z
from .group_rules import (
    SELECTABLE,
    object_id,
    parse_group_query,
    represent_group,
    validate_create,
    validate_update,
)
from .group_store import GroupStore
from .schema import PROPS
from .users import parse_body, represent

if TYPE_CHECKING:
    from .graph import Graph, Handler

_READ = frozenset({"Group.Read.All", "Group.ReadWrite.All", "GroupMember.Read.All",
                   "GroupMember.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"})
_WRITE = frozenset({"Group.ReadWrite.All", "Directory.ReadWrite.All"})
_MEMBERS = frozenset({"GroupMember.ReadWrite.All", "Group.ReadWrite.All",
                      "Directory.ReadWrite.All"})
#: [G-ADD] 400 texts (the wording comes from real responses: GROUPS.md).
ALREADY_MEMBER = ("One or more added object references already exist for the following "
                  "modified properties: 'members'.")
NOT_REPLICATED = "The source resource object or one of the objects being referenced do not exist."
_NOT_FOUND = ("Resource '{key}' does not exist or one of its queried reference-property "
              "objects are not present.")
_LIST = frozenset({"$select", "$filter", "$top", "$skiptoken"})
_MEMBER_LIST = frozenset({"$top", "$skiptoken"})
_DEFAULT_PAGE = 100


def _require(ctx: Context, roles: frozenset[str], extra: frozenset[str] = frozenset()) -> None:
    if not ctx.roles & (roles | extra):
        raise GraphError(403, "Authorization_RequestDenied",
                         "Insufficient privileges to complete the operation.")


def _not_found(key: str) -> GraphError:
    return GraphError(404, "Request_ResourceNotFound", _NOT_FOUND.format(key=key))


class Groups:
    """Handlers for ``/groups`` of one :class:`Graph`."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.state = graph.state
        self.store = GroupStore(graph.state.store)

    def route(self, seg: list[str], method: str) -> tuple[Handler, str | None, bool]:
        """(handler, group id, is-collection GET) for ``/groups...``; 400/405 otherwise."""
        shape = tuple("*" if n in (1, 3) else s for n, s in enumerate(seg))
        table: dict[tuple[str, ...], dict[str, Handler]] = {
            ("groups",): {"GET": self.list_groups, "POST": self.create_group},
            ("groups", "*"): {"GET": self.get_group, "PATCH": self.update_group,
                              "DELETE": self.delete_group},
            ("groups", "*", "members"): {"GET": self.list_members},
            ("groups", "*", "members", "$ref"): {"POST": self.add_member},
            ("groups", "*", "members", "*"): {"DELETE": self.delete_member_object},
            ("groups", "*", "members", "*", "$ref"): {"DELETE": self.remove_member},
        }
        if len(seg) == 4 and seg[3] == "$ref":
            shape = ("groups", "*", "members", "$ref")
        methods = table.get(shape)
        if methods is None:
            raise bad_request(f"Resource not found for the segment '{seg[-1]}'.",
                              code="BadRequest")
        if method not in methods:
            raise GraphError(405, "Request_BadRequest",
                             "Specified HTTP method is not allowed for the request target.")
        key = seg[1] if len(seg) > 1 else None
        return methods[method], key, method == "GET" and shape in (
            ("groups",), ("groups", "*", "members"))

    # --- helpers ----------------------------------------------------------------------------
    def _group(self, key: str | None, *, adding: bool = False) -> dict[str, Any]:
        """A group by id; 404 (or, when adding members to a group the replica does not know
        yet, [G-ADD]'s 400) while it is missing or lagging."""
        assert key is not None
        doc = self.store.get(key)
        if doc is None:
            raise _not_found(key)
        if self.state.lagging(doc["id"], addressed=True):
            raise bad_request(NOT_REPLICATED) if adding else _not_found(key)
        return doc

    def _member(self, member_id: str) -> tuple[str, dict[str, Any]]:
        """("user" | "group", document) of an object to add; 404 echoing its id."""
        group = self.store.get(member_id)
        if group is not None:
            return "group", group
        if (user := self.state.store.get(member_id)) is not None:
            if not self.state.lagging(user.id, addressed=True):
                return "user", user.doc
        raise _not_found(member_id)

    def _add(self, group: dict[str, Any], ids: list[str]) -> None:
        """Add members all or nothing ([G-ADD]: "no members are added")."""
        if "DynamicMembership" in (group.get("groupTypes") or []):
            raise bad_request("Insufficient privileges to complete the operation: the group "
                              "has dynamic membership.")  # [INF] text
        if len(set(ids)) != len(ids):
            raise bad_request(ALREADY_MEMBER)
        for member_id in ids:
            self._member(member_id)
        if self.store.member_ids(group["id"], ids):
            raise bad_request(ALREADY_MEMBER)

    # --- /groups ----------------------------------------------------------------------------
    def list_groups(self, req: GraphRequest, ctx: Context, key: str | None) -> GraphResponse:
        """``GET /groups`` with ``$filter``, ``$select``, ``$top`` and paging."""
        from .filters import evaluate
        from .graph import build_link, link_root, query_fingerprint

        _require(ctx, _READ)
        query = parse_group_query(req.query, req.headers, allowed=_LIST)
        size = query.top or _DEFAULT_PAGE
        fingerprint = query_fingerprint(list(query.pairs))
        after = 0
        if query.skiptoken is not None:
            token = self.state.signer.open(query.skiptoken)
            if token is None or token.get("k") != "groups" or token.get("q") != fingerprint:
                raise bad_request("Invalid $skiptoken value.")
            after = int(token["a"])
        page: list[tuple[int, dict[str, Any]]] = []
        more = False
        for seq, doc in self.store.scan(after):
            if self.state.lagging(doc["id"], addressed=False):
                continue
            if query.filter is not None and not evaluate(query.filter, doc):
                continue
            if len(page) == size:
                more = True
                break
            page.append((seq, doc))
        root = link_root(self.state, ctx)
        body: dict[str, Any] = {"@odata.context": f"{root}/$metadata#groups"}
        if more:
            sealed = self.state.signer.seal({"k": "groups", "q": fingerprint, "a": page[-1][0]})
            body["@odata.nextLink"] = build_link(root, "/groups",
                                                 [*query.pairs, ("$skiptoken", sealed)])
        body["value"] = [represent_group(doc, query.select) for _, doc in page]
        return GraphResponse(200, body)

    def get_group(self, req: GraphRequest, ctx: Context, key: str | None) -> GraphResponse:
        """``GET /groups/{id}``."""
        from .graph import link_root

        _require(ctx, _READ)
        query = parse_group_query(req.query, req.headers, allowed=frozenset({"$select"}))
        doc = self._group(key)
        return GraphResponse(200, {
            "@odata.context": f"{link_root(self.state, ctx)}/$metadata#groups/$entity",
            **represent_group(doc, query.select)})

    def create_group(self, req: GraphRequest, ctx: Context, key: str | None) -> GraphResponse:
        """``POST /groups`` → 201 with the group ([G-POST]); up to 20 members bound."""
        from .graph import link_root

        _require(ctx, _WRITE, frozenset({"Group.Create"}))
        doc, members = validate_create(parse_body(req.body))
        if self.store.nickname_taken(doc["mailNickname"]):
            raise GraphError(400, "Request_BadRequest",  # [G-RES] "unique"; text [INF]
                             "Another object with the same value for property mailNickname "
                             "already exists.",
                             details=[{"target": "mailNickname", "code": "ObjectConflict"}])
        for member_id in members:
            self._member(member_id)
        if len(set(members)) != len(members):
            raise bad_request(ALREADY_MEMBER)
        now = iso_z(ctx.now)
        group_id = str(uuid.uuid4())
        doc = {"id": group_id, "createdDateTime": now, "renewedDateTime": now, "mail": None,
               "proxyAddresses": [], "visibility": None,
               "securityIdentifier": f"S-1-12-1-{uuid.UUID(group_id).int % 4294967296}",
               **doc}
        self.store.insert(doc, members)
        self.state.start_lag(group_id)
        root = link_root(self.state, ctx)
        return GraphResponse(201, {"@odata.context": f"{root}/$metadata#groups/$entity",
                                   **represent_group(doc, None)})

    def update_group(self, req: GraphRequest, ctx: Context, key: str | None) -> GraphResponse:
        """``PATCH /groups/{id}`` → 204; ``members@odata.bind`` adds up to 20, all or
        nothing ([G-ADD] Example 2)."""
        body = parse_body(req.body)
        changes, members = validate_update(body)
        _require(ctx, _MEMBERS if set(body) == {"members@odata.bind"} else _WRITE)
        doc = self._group(key, adding=bool(members))
        if "mailNickname" in changes and self.store.nickname_taken(changes["mailNickname"],
                                                                   doc["id"]):
            raise GraphError(400, "Request_BadRequest",
                             "Another object with the same value for property mailNickname "
                             "already exists.",
                             details=[{"target": "mailNickname", "code": "ObjectConflict"}])
        if members:
            self._add(doc, members)
        self.store.update(doc["id"], changes, members)
        return GraphResponse(204)

    def delete_group(self, req: GraphRequest, ctx: Context, key: str | None) -> GraphResponse:
        """``DELETE /groups/{id}`` → 204; a security group is gone for good ([G-DEL])."""
        _require(ctx, _WRITE)
        doc = self._group(key)
        self.store.delete(doc["id"])
        return GraphResponse(204)

    # --- members ----------------------------------------------------------------------------
    def list_members(self, req: GraphRequest, ctx: Context, key: str | None) -> GraphResponse:
        """``GET /groups/{id}/members``: directoryObjects with ``@odata.type``, 100 a page
        by default, ``$top`` up to 999 ([G-LIST])."""
        from .graph import build_link, link_root, query_fingerprint

        _require(ctx, _READ)
        select_text = next((v for k, v in req.query if k.lower() == "$select"), None)
        rest = [(k, v) for k, v in req.query if k.lower() != "$select"]
        query = parse_group_query(rest, req.headers, allowed=_MEMBER_LIST)
        select = [s.strip() for s in select_text.split(",") if s.strip()] if select_text else None
        for name in select or ():
            if name not in PROPS and name not in SELECTABLE:
                raise GraphError(400, "BadRequest", f"Could not find a property named "
                                 f"'{name}' on type 'microsoft.graph.directoryObject'.")
        doc = self._group(key)
        pairs = [*query.pairs, *([("$select", select_text)] if select_text else [])]
        fingerprint = query_fingerprint(pairs + [("g", doc["id"])])
        after = 0
        if query.skiptoken is not None:
            token = self.state.signer.open(query.skiptoken)
            if token is None or token.get("k") != "members" or token.get("q") != fingerprint:
                raise bad_request("Invalid $skiptoken value.")
            after = int(token["a"])
        size = query.top or _DEFAULT_PAGE
        rows = self.store.member_page(doc["id"], after, size + 1)
        page, more = rows[:size], len(rows) > size
        root = link_root(self.state, ctx)
        body: dict[str, Any] = {"@odata.context": f"{root}/$metadata#directoryObjects"}
        if more:
            sealed = self.state.signer.seal({"k": "members", "q": fingerprint,
                                             "a": page[-1][0]})
            body["@odata.nextLink"] = build_link(root, f"/groups/{doc['id']}/members",
                                                 [*pairs, ("$skiptoken", sealed)])
        body["value"] = [self._represent_member(member_id, kind, select)
                         for _, member_id, kind in page]
        return GraphResponse(200, body)

    def _represent_member(self, member_id: str, kind: str,
                          select: list[str] | None) -> dict[str, Any]:
        if select == ["id"]:  # the common read: no document needed
            return {"@odata.type": f"#microsoft.graph.{kind}", "id": member_id}
        group = self.store.get(member_id) if kind == "group" else None
        if group is not None:
            names = [n for n in select if n in SELECTABLE] if select else None
            return {"@odata.type": "#microsoft.graph.group", **represent_group(group, names)}
        user = self.state.store.get(member_id)
        doc = user.doc if user is not None else {"id": member_id}
        names = [n for n in select if n in PROPS] if select else None
        return {"@odata.type": "#microsoft.graph.user", **represent(doc, names)}

    def add_member(self, req: GraphRequest, ctx: Context, key: str | None) -> GraphResponse:
        """``POST /groups/{id}/members/$ref`` → 204; 400 when already a member, 404 when
        the object does not exist ([G-ADD])."""
        _require(ctx, _MEMBERS)
        body = parse_body(req.body)
        link = body.get("@odata.id")
        if not isinstance(link, str) or not link:
            raise bad_request("The '@odata.id' property is required in the request body.",
                              code="BadRequest")  # [INF] text, as for the manager
        doc = self._group(key, adding=True)
        member_id = object_id(link)
        self._add(doc, [member_id])
        self.store.update(doc["id"], {}, [member_id])
        return GraphResponse(204)

    def remove_member(self, req: GraphRequest, ctx: Context, key: str | None) -> GraphResponse:
        """``DELETE /groups/{id}/members/{member}/$ref`` → 204; 404 when it is not a
        member ([G-DEL-M]; status [INF])."""
        _require(ctx, _MEMBERS)
        doc = self._group(key)
        member_id = req.path.rstrip("/").split("/")[-2]
        if "DynamicMembership" in (doc.get("groupTypes") or []):
            raise bad_request("Insufficient privileges to complete the operation: the group "
                              "has dynamic membership.")  # [INF]
        if not self.store.remove_member(doc["id"], member_id):
            raise _not_found(member_id)
        return GraphResponse(204)

    def delete_member_object(self, req: GraphRequest, ctx: Context,
                             key: str | None) -> GraphResponse:
        """``DELETE /groups/{id}/members/{member}`` without ``/$ref``: Graph deletes the
        member object itself when the app may ([G-DEL-M] caution). Emulated, so a client
        that forgets ``/$ref`` is caught."""
        _require(ctx, _MEMBERS)
        doc = self._group(key)
        member_id = req.path.rstrip("/").split("/")[-1].lower()
        if not self.store.member_ids(doc["id"], [member_id]):
            raise _not_found(member_id)
        user = self.state.store.get(member_id)
        if user is None or not ctx.roles & {"User.ReadWrite.All", "Directory.ReadWrite.All"}:
            raise GraphError(403, "Authorization_RequestDenied",
                             "Insufficient privileges to complete the operation.")
        self.store.remove_member(doc["id"], member_id)
        self.state.store.soft_delete(user.id, ctx.now)
        return GraphResponse(204)

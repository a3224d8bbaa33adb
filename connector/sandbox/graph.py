"""The Graph v1.0 users surface: routing, throttling/faults per operation, and the handlers
for ``/users`` (§2–§4) and ``$count`` (§4.3). Manager links live in :mod:`.manager`, delta in
:mod:`.delta`, ``$batch`` in :mod:`.batch`."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from .auth import require_role
from .envelope import (
    Context,
    GraphError,
    GraphRequest,
    GraphResponse,
    bad_request,
    iso_z,
    not_found,
    throttled_response,
)
from .faults import Faults
from .query import (
    COUNT_OPTIONS,
    EXPAND_PAGE_LIMIT,
    GET_OPTIONS,
    LIST_OPTIONS,
    QueryOptions,
    parse_options,
    search_matches,
)
from .state import SandboxState
from .store import UserRow
from .throttle import Throttle, request_cost
from .users import parse_body, represent, validate_write

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_KEY_SEGMENT = re.compile(r"^users\('(.+)'\)$")  # /users('$x@y.com') form (§3.2)
_LIFECYCLE = frozenset({"User-LifeCycleInfo.ReadWrite.All"})
_DELTA = {"delta", "delta()", "microsoft.graph.delta", "microsoft.graph.delta()"}

METHOD_NOT_ALLOWED = "Specified HTTP method is not allowed for the request target."

Handler = Callable[[GraphRequest, Context, str | None], GraphResponse]


def link_root(state: SandboxState, ctx: Context) -> str:
    """Root of @odata links: the configured public base URL or the request's (§8)."""
    return (state.config.public_base_url or ctx.base_url).rstrip("/") + "/v1.0"


def query_fingerprint(pairs: list[tuple[str, str]]) -> str:
    """Binds a page token to the query options it was issued for (§4.5)."""
    return hashlib.sha256(json.dumps(sorted(pairs)).encode()).hexdigest()[:16]


def build_link(root: str, path: str, pairs: list[tuple[str, str]]) -> str:
    """An absolute link carrying ``pairs`` as its query (``$`` and ``,`` kept readable)."""
    return f"{root}{path}?" + urlencode(pairs, quote_via=quote, safe="$,()'")


def split_path(path: str) -> list[str]:
    """Path segments below the version root; ``users('key')`` becomes ``users``, ``key``."""
    segments = [s for s in path.split("/") if s]
    if segments and (match := _KEY_SEGMENT.match(segments[0])):
        segments[:1] = ["users", match.group(1)]
    return segments


class Graph:
    """Executes Graph operations against one sandbox state."""

    def __init__(self, state: SandboxState, throttle: Throttle, faults: Faults) -> None:
        self.state = state
        self.throttle = throttle
        self.faults = faults
        self.pages_served = 0
        from .delta import Delta  # local: these import helpers from this module
        from .groups import Groups
        from .manager import Managers

        self.delta = Delta(self)
        self.managers = Managers(self)
        self.groups = Groups(self)

    # --- routing ----------------------------------------------------------------------------
    def route(self, req: GraphRequest) -> tuple[Handler, str | None, bool]:
        """(handler, user key, is-collection GET) for a request, or a 400/405 GraphError."""
        seg = split_path(req.path)
        method = req.method.upper()
        if seg and seg[0] == "groups":  # /groups and its members: .groups
            return self.groups.route(seg, method)
        table: dict[tuple[str, ...], dict[str, Handler]] = {
            ("users",): {"GET": self.list_users, "POST": self.create_user},
            ("users", "$count"): {"GET": self.count_users},
            ("users", "delta"): {"GET": self.delta.handle},
            ("users", "*"): {"GET": self.get_user, "PATCH": self.update_user,
                             "DELETE": self.delete_user},
            ("users", "*", "manager"): {"GET": self.managers.get_manager},
            ("users", "*", "manager", "$ref"): {"GET": self.managers.get_manager_ref,
                                                "PUT": self.managers.put_manager_ref,
                                                "DELETE": self.managers.delete_manager_ref},
        }
        key: str | None = None
        shape: tuple[str, ...]
        if len(seg) >= 2 and seg[0] == "users" and seg[1] not in {"$count"} | _DELTA:
            key = seg[1]
            shape = ("users", "*", *seg[2:])
        else:
            shape = tuple("delta" if s in _DELTA else s for s in seg)
        methods = table.get(shape)
        if methods is None:
            known = {"users", "*", "manager", "$ref", "$count", "delta"}
            bad = next((s for s, t in zip(seg, shape, strict=False) if t not in known),
                       seg[-1] if seg else "")
            raise bad_request(f"Resource not found for the segment '{bad}'.", code="BadRequest")
        if method not in methods:
            raise GraphError(405, "Request_BadRequest", METHOD_NOT_ALLOWED)
        return methods[method], key, shape == ("users",) and method == "GET"

    def execute(self, req: GraphRequest, ctx: Context) -> GraphResponse:
        """Run one operation: route, throttle (§6), inject faults, handle."""
        self.state.stats["operations"] += 1
        try:
            handler, key, collection = self.route(req)
        except GraphError as error:
            return error.response(ctx)
        names = {k.lower() for k, _ in req.query}
        top = next((v for k, v in req.query if k.lower() == "$top"), None)
        ru, writes = request_cost(req.method.upper(), collection, select="$select" in names,
                                  expand="$expand" in names,
                                  top=int(top) if top and top.isdigit() else None)
        decision = self.throttle.charge(ctx.app_id, req.method.upper(), ru, writes, ctx.now)
        headers = {"x-ms-resource-unit": str(ru)}
        if decision.limit_percentage is not None:
            headers["x-ms-throttle-limit-percentage"] = f"{decision.limit_percentage:.1f}"
        if decision.retry_after_s is not None:
            self.state.stats["throttled"] += 1
            headers["x-ms-throttle-scope"] = decision.scope
            headers["x-ms-throttle-information"] = decision.information
            return throttled_response(
                ctx, self.throttle.retry_after_header(decision.retry_after_s), headers)
        fault = self.faults.server_error()
        if fault is not None and not self.state.config.fault_after_commit:
            response = self.faults.response(fault, ctx)
        else:
            try:
                response = handler(req, ctx, key)
            except GraphError as error:
                response = error.response(ctx)
            if fault is not None:
                response = self.faults.response(fault, ctx)
        response.headers.update(headers)
        return response

    # --- helpers ----------------------------------------------------------------------------
    def resolve(self, key: str, *, addressed: bool = True) -> UserRow:
        """A user by id or UPN (case-insensitive); 404 echoing ``key`` (§3.3), also while
        the replica has not seen a just-created user (§8)."""
        row = (self.state.store.get(key) if _GUID.match(key)
               else self.state.store.get_by_upn(key) if "@" in key else None)
        if row is None or self.state.lagging(row.id, addressed=addressed):
            raise not_found(key)
        return row

    def visible(self, row: UserRow) -> bool:
        """Whether lists see ``row`` yet (time-based lag only)."""
        return not self.state.lagging(row.id, addressed=False)

    def manager_of(self, row: UserRow) -> UserRow | None:
        """The active, replicated manager of ``row`` (see :mod:`.manager`)."""
        return self.managers.manager_of(row)

    def link_root(self, ctx: Context) -> str:
        """Root of @odata links for this request."""
        return link_root(self.state, ctx)

    @staticmethod
    def split_path(path: str) -> list[str]:
        """Path segments below the version root."""
        return split_path(path)

    def options(self, req: GraphRequest, allowed: frozenset[str], single: bool) -> QueryOptions:
        """Parse the request's query options for one endpoint."""
        return parse_options(req.query, req.headers, allowed=allowed, single=single,
                             extensions=self.state.config.extension_properties)

    def _matches(self, opts: QueryOptions, after_seq: int) -> Any:
        from .filters import evaluate, indexed_keys

        narrow = indexed_keys(opts.filter) if opts.filter is not None else None
        for row in self.state.store.scan(after_seq, narrow):
            if not self.visible(row):
                continue
            if opts.filter is not None and not evaluate(opts.filter, row.doc):
                continue
            if opts.search is not None and not search_matches(opts.search, row.doc):
                continue
            yield row

    # --- /users -----------------------------------------------------------------------------
    def list_users(self, req: GraphRequest, ctx: Context, key: str | None) -> GraphResponse:
        """``GET /users`` with paging by opaque ``$skiptoken`` (§4.1–§4.5)."""
        require_role(ctx, write=False)
        opts = self.options(req, LIST_OPTIONS, single=False)
        size = opts.top or self.state.config.default_page_size
        if opts.select and "signInActivity" in opts.select:
            size = min(size, 120)  # §4.1
        if opts.expand is not None:  # whatever $top says (a larger one is not refused)
            size = min(size, EXPAND_PAGE_LIMIT)
        fingerprint = query_fingerprint(opts.pairs)
        after, offset, first = 0, 0, True
        if opts.skiptoken is not None:
            token = self.state.signer.open(opts.skiptoken)
            if token is None or token.get("k") != "list" or token.get("q") != fingerprint:
                raise bad_request("Invalid $skiptoken value.")  # §4.5 [INF] text
            after, offset, first = int(token["a"]), int(token["o"]), False
        every = self.state.config.empty_page_every_n
        with self.state.lock:
            self.pages_served += 1
            empty = every > 0 and self.pages_served % every == 0
        if opts.orderby:
            rows = list(self._matches(opts, 0))
            for prop, descending in reversed(opts.orderby):
                rows.sort(key=_sorter(prop), reverse=descending)
            page, more = rows[offset:offset + size], len(rows) > offset + size
            total = len(rows)
        else:
            matches = self._matches(opts, after)
            page = [row for _, row in zip(range(size), matches, strict=False)]
            more = next(matches, None) is not None
            total = None
        if empty and (page or more):  # same position again, nothing in this page (§4.4)
            page, more = [], True
        root = link_root(self.state, ctx)
        body: dict[str, Any] = {"@odata.context": f"{root}/$metadata#users" + (
            f"({','.join(opts.select)})" if opts.select else "")}
        if opts.count and first:  # §4.3: on the first page only
            body["@odata.count"] = total if total is not None else sum(
                1 for _ in self._matches(opts, 0))
        if more:
            skiptoken = self.state.signer.seal({
                "k": "list", "q": fingerprint, "a": page[-1].seq if page else after,
                "o": offset + len(page)})
            body["@odata.nextLink"] = build_link(root, "/users",
                                                 [*opts.pairs, ("$skiptoken", skiptoken)])
        values = []
        for row in page:
            item = represent(row.doc, opts.select)
            if opts.expand is not None:
                manager = self.managers.expand_manager(row, opts.expand)
                if manager is not None:
                    item["manager"] = manager
            values.append(item)
        body["value"] = values
        return GraphResponse(200, body)

    def count_users(self, req: GraphRequest, ctx: Context, key: str | None) -> GraphResponse:
        """``GET /users/$count``: needs ConsistencyLevel: eventual (§4.3), plain text."""
        require_role(ctx, write=False)
        if (req.headers.get_ci("consistencylevel") or "").strip().lower() != "eventual":
            raise bad_request("$count is not currently supported.")
        opts = parse_options(req.query, req.headers, allowed=COUNT_OPTIONS, single=False,
                             extensions=self.state.config.extension_properties,
                             count_implied=True)
        count = sum(1 for _ in self._matches(opts, 0))
        return GraphResponse(200, text=str(count),
                             headers={"Content-Type": "text/plain;charset=utf-8"})

    def get_user(self, req: GraphRequest, ctx: Context, key: str | None) -> GraphResponse:
        """``GET /users/{id | userPrincipalName}`` (§3.2)."""
        require_role(ctx, write=False)
        assert key is not None
        opts = self.options(req, GET_OPTIONS, single=True)
        row = self.resolve(key)
        sel = f"({','.join(opts.select)})" if opts.select else ""
        body = {"@odata.context": f"{link_root(self.state, ctx)}/$metadata#users{sel}/$entity",
                **represent(row.doc, opts.select)}
        if opts.expand is not None:
            manager = self.managers.expand_manager(row, opts.expand)
            if manager is not None:
                body["manager"] = manager
        return GraphResponse(200, body)

    def _check_unique(self, changes: dict[str, Any], exclude: str | None) -> None:
        store, cfg = self.state.store, self.state.config
        upn = changes.get("userPrincipalName")
        if upn and store.conflicts("upn_lower", upn, exclude, cfg.soft_deleted_upn_blocks):
            raise GraphError(  # §2.3, case-insensitive
                400, "Request_BadRequest",
                "Another object with the same value for property userPrincipalName already "
                "exists.", details=[{"target": "userPrincipalName", "code": "ObjectConflict"}])
        mail = changes.get("mail")
        if mail and store.conflicts("mail_lower", mail, exclude):
            raise GraphError(  # proxyAddresses must be unique (§8); text [INF]
                400, "Request_BadRequest",
                "Another object with the same value for property proxyAddresses already exists.",
                details=[{"target": "proxyAddresses", "code": "ObjectConflict"}])

    def _write_roles(self, ctx: Context, body: dict[str, Any]) -> None:
        extra = frozenset({"User.EnableDisableAccount.All"}) if set(body) == {
            "accountEnabled"} else frozenset()
        require_role(ctx, write=True, extra=extra)
        if "employeeLeaveDateTime" in body and not ctx.roles & _LIFECYCLE:
            raise GraphError(403, "Authorization_RequestDenied",  # §1.1 footnote *
                             "Insufficient privileges to complete the operation.")

    def create_user(self, req: GraphRequest, ctx: Context, key: str | None) -> GraphResponse:
        """``POST /users`` → 201 with the default properties and a Location (§2.1)."""
        require_role(ctx, write=True)
        body = parse_body(req.body)
        self._write_roles(ctx, body)
        changes = validate_write(body, None, domains=self.state.store.domains(),
                                 extensions=self.state.config.extension_properties)
        self._check_unique(changes, None)
        object_id = str(uuid.uuid4())
        created = iso_z(ctx.now)
        doc = {"id": object_id, "createdDateTime": created, "creationType": None,
               "lastPasswordChangeDateTime": created, **changes}
        self.state.store.insert(doc)
        self.state.start_lag(object_id)
        origin = (self.state.config.public_base_url or ctx.base_url).rstrip("/")
        location = (f"{origin}/v2/{self.state.tenant_id}/directoryObjects/{object_id}/"
                    "Microsoft.DirectoryServices.User")
        root = link_root(self.state, ctx)
        return GraphResponse(201, {"@odata.context": f"{root}/$metadata#users/$entity",
                                   **represent(doc, None)}, {"Location": location})

    def update_user(self, req: GraphRequest, ctx: Context, key: str | None) -> GraphResponse:
        """``PATCH /users/{key}`` → 204 (§3.1)."""
        assert key is not None
        body = parse_body(req.body)
        self._write_roles(ctx, body)
        if "passwordProfile" in body and "User-PasswordProfile.ReadWrite.All" not in ctx.roles:
            raise GraphError(403, "Authorization_RequestDenied",
                             "Insufficient privileges to complete the operation.")
        row = self.resolve(key)
        changes = validate_write(body, row.doc, domains=self.state.store.domains(),
                                 extensions=self.state.config.extension_properties)
        self._check_unique(changes, row.id)
        if isinstance(body.get("passwordProfile"), dict) and body["passwordProfile"].get(
                "password"):
            changes["lastPasswordChangeDateTime"] = iso_z(ctx.now)
        self.state.store.update(row.id, changes)
        return GraphResponse(204)

    def delete_user(self, req: GraphRequest, ctx: Context, key: str | None) -> GraphResponse:
        """``DELETE /users/{key}`` → 204; the user goes to deleted items (§3.4)."""
        require_role(ctx, write=True)
        assert key is not None
        row = self.resolve(key)
        if row.doc.get("_sandboxAdmin"):
            raise GraphError(403, "Authorization_RequestDenied",  # §3.4: admin targets
                             "Insufficient privileges to complete the operation.")
        self.state.store.soft_delete(row.id, ctx.now)
        return GraphResponse(204)

def _sorter(prop: str) -> Callable[[UserRow], tuple[int, Any]]:
    def key(row: UserRow) -> tuple[int, Any]:
        value = row.doc.get(prop)
        if value is None:
            return (1, "")
        return (0, value.casefold() if isinstance(value, str) else value)
    return key

"""Manager links (§3.5): ``/users/{key}/manager``, ``manager/$ref`` and ``$expand=manager``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .auth import require_role
from .envelope import Context, GraphRequest, GraphResponse, bad_request, not_found
from .query import MANAGER_OPTIONS, Expand
from .schema import DEFAULT_SET
from .store import UserRow
from .users import parse_body, represent

if TYPE_CHECKING:
    from .graph import Graph

MANAGER_NOT_FOUND = "manager"  # §3.5: "Resource 'manager' does not exist or ..."
_DEFAULT_MINUS_ID = [name for name in DEFAULT_SET if name != "id"]


class Managers:
    """Handlers for the manager relationship of one :class:`Graph`."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.state = graph.state

    def manager_of(self, row: UserRow) -> UserRow | None:
        """The active, replicated manager of ``row``."""
        if row.manager_id is None:
            return None
        manager = self.state.store.get(row.manager_id)
        return manager if manager is not None and self.graph.visible(manager) else None

    def expand_manager(self, row: UserRow, expand: Expand, depth: int = 0) -> dict[str, Any] | None:
        """The ``manager`` of an ``$expand`` (omitted when there is none, §3.5)."""
        manager = self.manager_of(row)
        if manager is None:
            return None
        out = {"@odata.type": "#microsoft.graph.user",
               **represent(manager.doc, expand.select or ["id", *_DEFAULT_MINUS_ID])}
        if depth + 1 < expand.levels and manager.id != row.id:
            nested = self.expand_manager(manager, expand, depth + 1)
            if nested is not None:
                out["manager"] = nested
        return out

    def get_manager(self, req: GraphRequest, ctx: Context, key: str | None) -> GraphResponse:
        """``GET /users/{key}/manager`` → the manager, or 404 ``Resource 'manager' ...``."""
        require_role(ctx, write=False)
        assert key is not None
        opts = self.graph.options(req, MANAGER_OPTIONS, single=True)
        manager = self.manager_of(self.graph.resolve(key))
        if manager is None:
            raise not_found(MANAGER_NOT_FOUND)
        root = self.graph.link_root(ctx)
        return GraphResponse(200, {"@odata.context": f"{root}/$metadata#directoryObjects/$entity",
                                   "@odata.type": "#microsoft.graph.user",
                                   **represent(manager.doc, opts.select)})

    def get_manager_ref(self, req: GraphRequest, ctx: Context, key: str | None) -> GraphResponse:
        """``GET /users/{key}/manager/$ref`` → ``{"@odata.id": …}`` ([OBS] shape)."""
        require_role(ctx, write=False)
        assert key is not None
        manager = self.manager_of(self.graph.resolve(key))
        if manager is None:
            raise not_found(MANAGER_NOT_FOUND)
        root = self.graph.link_root(ctx)
        return GraphResponse(200, {
            "@odata.context": f"{root}/$metadata#$ref",
            "@odata.id": f"{root}/directoryObjects/{manager.id}/Microsoft.DirectoryServices.User"})

    def put_manager_ref(self, req: GraphRequest, ctx: Context, key: str | None) -> GraphResponse:
        """``PUT /users/{key}/manager/$ref`` with ``{"@odata.id": ".../users/{id}"}`` → 204."""
        require_role(ctx, write=True)
        assert key is not None
        body = parse_body(req.body)
        target = body.get("@odata.id")
        if not isinstance(target, str) or not target:
            raise bad_request("The '@odata.id' property is required in the request body.",
                              code="BadRequest")  # [INF] text
        row = self.graph.resolve(key)
        segments = self.graph.split_path(unquote(urlsplit(target).path))
        if len(segments) < 2 or segments[-2] not in {"users", "directoryObjects"}:
            raise bad_request(f"Invalid object identifier '{target}'.")  # [INF] text
        manager = self.graph.resolve(segments[-1])
        if manager.id == row.id:
            raise bad_request("One or more properties contains invalid values.")  # [INF]
        self.state.store.set_manager(row.id, manager.id)
        return GraphResponse(204)

    def delete_manager_ref(self, req: GraphRequest, ctx: Context,
                           key: str | None) -> GraphResponse:
        """``DELETE /users/{key}/manager/$ref`` → 204 (status [INF], §3.5)."""
        require_role(ctx, write=True)
        assert key is not None
        row = self.graph.resolve(key)
        if self.manager_of(row) is None:
            raise not_found(MANAGER_NOT_FOUND)
        self.state.store.set_manager(row.id, None)
        return GraphResponse(204)

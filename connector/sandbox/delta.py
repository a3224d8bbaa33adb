"""``GET /users/delta`` (§4.6).

A round starts without a token (or with an empty one) and pages through the users that exist
now with ``$skiptoken`` nextLinks; its last page carries a ``$deltatoken`` deltaLink holding a
change-log watermark. Calling the deltaLink reports every user changed since then: the current
representation, ``@removed: changed`` for soft-deleted users, ``@removed: deleted`` for purged
ones. ``$select`` and the ``$filter=id eq …`` list are encoded in the tokens; with ``$select``
only changes to selected properties surface; ``manager`` in ``$select`` reports the link as
``manager@delta``. Users still hidden by replication lag hold the watermark back, so their
changes arrive in a later round (replays are allowed, [DQ]). Tokens expire after
``delta_token_lifetime_s`` (7 days, §4.6) and when the tenant is reset: 410 Gone with
``syncStateNotFound`` and a Location to start again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .auth import require_role
from .envelope import Context, GraphError, GraphRequest, GraphResponse, bad_request
from .filters import BoolOp, Compare, Node
from .query import DELTA_OPTIONS, parse_options
from .schema import DEFAULT_SET
from .store import UserRow
from .users import value_of

if TYPE_CHECKING:
    from .graph import Graph

MAX_DELTA_IDS = 50  # §4.6


def _ids_of(node: Node | None) -> list[str] | None:
    """The ids of ``id eq 'a' or id eq 'b'``; anything else is unsupported on delta."""
    if node is None:
        return None
    if isinstance(node, Compare) and node.path == "id" and node.op == "eq" and isinstance(
            node.lit.value, str):
        return [node.lit.value.lower()]
    if isinstance(node, BoolOp) and node.op == "or":
        left, right = _ids_of(node.left), _ids_of(node.right)
        if left is not None and right is not None:
            return left + right
    raise GraphError(400, "Request_UnsupportedQuery",  # [INF] text
                     "Only 'id eq' clauses joined by 'or' are supported in $filter on delta.")


class Delta:
    """Delta rounds over the store's change log."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.state = graph.state

    def _gone(self, ctx: Context, token: dict[str, Any], code: str, message: str) -> GraphError:
        from .graph import build_link, link_root

        location = build_link(link_root(self.state, ctx), "/users/delta",
                              [*[(k, v) for k, v in token["p"]], ("$deltatoken", "")])
        return GraphError(410, code, message, headers={"Location": location})

    def _watermark(self) -> int:
        """The newest version every replica has: held back by users still lagging."""
        version = self.state.store.version()
        for object_id in list(self.state.lag):
            if self.state.lagging(object_id, addressed=False):
                first = self.state.store.first_change(object_id)
                if first is not None:
                    version = min(version, first - 1)
        return version

    def item(self, row: UserRow, token: dict[str, Any], only: set[str] | None) -> dict[str, Any]:
        """A created/changed user: selected (or default) properties that were ever set."""
        select = token["s"] or list(DEFAULT_SET)
        out: dict[str, Any] = {}
        for name in select:
            if name == "manager" or (only is not None and name not in only):
                continue
            present, value = value_of(row.doc, name)
            if present:
                out[name] = value
        out["id"] = row.id
        if "manager" in select and (only is None or "manager" in only):
            manager = self.graph.manager_of(row)
            out["manager@delta"] = [] if manager is None else [
                {"@odata.type": "#microsoft.graph.user", "id": manager.id}]
        return out

    def handle(self, req: GraphRequest, ctx: Context, key: str | None) -> GraphResponse:
        """Serve one delta page."""
        require_role(ctx, write=False)
        opts = parse_options(req.query, req.headers, allowed=DELTA_OPTIONS, single=False,
                             extensions=self.state.config.extension_properties,
                             select_extra=frozenset({"manager"}))
        signer, cfg = self.state.signer, self.state.config
        raw = opts.skiptoken or opts.deltatoken
        if raw and raw != "latest":
            token = signer.open(raw)
            if token is None or token.get("k") not in {"init", "changes", "delta"}:
                raise bad_request("Invalid delta token.")  # [INF] text
            if cfg.delta_reset_next > 0:
                cfg.delta_reset_next -= 1
                raise self._gone(ctx, token, "resyncRequired",  # §4.6 reset → 410 [INF] text
                                 "Resync required. Replace any local cached data with a full "
                                 "sync from a fresh delta request.")
            if (ctx.now - float(token["t"]) > cfg.delta_token_lifetime_s
                    or int(token["w"]) <= self.state.store.reset_version()):
                # §4.6 expiry [INF] text; a reset tenant has lost the changes the token
                # counts from, so its tokens end the same way.
                raise self._gone(ctx, token, "syncStateNotFound",
                                 "The sync state generation is not found. Start a new sync.")
        else:
            ids = _ids_of(opts.filter)
            if ids is not None and len(ids) > MAX_DELTA_IDS:
                raise GraphError(400, "Request_UnsupportedQuery",
                                 f"At most {MAX_DELTA_IDS} ids may be tracked by one delta query.")
            minimal = "return=minimal" in (req.headers.get_ci("prefer") or "").lower()
            token = {"k": "init", "p": opts.pairs, "s": opts.select, "f": ids, "t": ctx.now,
                     "w": self._watermark(), "a": 0, "m": minimal}
            if raw == "latest":  # §4.6: "sync from now", no data
                token = {**token, "k": "delta"}
                return self._page(ctx, token, [], None, first=True)
        if token["k"] == "delta":  # a deltaLink call starts a changes round
            minimal = "return=minimal" in (req.headers.get_ci("prefer") or "").lower()
            token = {**token, "k": "changes", "u": self._watermark(), "c": token["w"],
                     "m": minimal}
            return self._changes(ctx, token, first=True)
        if token["k"] == "changes":
            return self._changes(ctx, token, first=False)
        return self._initial(ctx, token, first=not (opts.skiptoken or opts.deltatoken))

    def _initial(self, ctx: Context, token: dict[str, Any], first: bool) -> GraphResponse:
        size = self.state.config.default_page_size
        narrow = ("id", token["f"]) if token["f"] is not None else None
        items: list[dict[str, Any]] = []
        last = int(token["a"])
        more = False
        for row in self.state.store.scan(last, narrow):
            if not self.graph.visible(row):
                continue
            if len(items) == size:
                more = True
                break
            items.append(self.item(row, token, None))
            last = row.seq
        next_token = {**token, "a": last} if more else None
        return self._page(ctx, {**token, "k": "delta", "t": ctx.now}, items, next_token, first)

    def _changes(self, ctx: Context, token: dict[str, Any], first: bool) -> GraphResponse:
        """One page of a changes round: every user changed in ``(w, u]`` once, at its last
        change in the round (so pages follow the change log and a long round costs no
        more per page than a short one); ``c`` is how far the log has been read."""
        store, size = self.state.store, self.state.config.default_page_size
        after, upto, cursor = int(token["w"]), int(token["u"]), int(token["c"])
        items: list[dict[str, Any]] = []
        more = False
        for version, user_id in store.change_cursor(cursor, upto):
            item = None
            if token["f"] is None or user_id in token["f"]:
                history = store.user_changes(user_id, after, upto)
                if history[-1][0] == version:  # else it is reported at its last change
                    item = self._change_item(user_id, history, token)
            if item is not None:
                if len(items) == size:
                    more = True
                    break
                items.append(item)
            cursor = version
        next_token = {**token, "c": cursor} if more else None
        done = {**token, "k": "delta", "w": upto, "t": ctx.now}
        return self._page(ctx, done, items, next_token, first)

    def _change_item(self, user_id: str, history: list[tuple[int, str, list[str]]],
                     token: dict[str, Any]) -> dict[str, Any] | None:
        """What a changes round says about one user: removed, its representation, or
        nothing when only untracked properties changed (§4.6)."""
        row = self.state.store.get(user_id, include_deleted=True)
        if row is None:
            return {"id": user_id, "@removed": {"reason": "deleted"}}
        if row.deleted_at is not None:
            return {"id": user_id, "@removed": {"reason": "changed"}}
        changed = {name for _, _, props in history for name in props}
        tracked = set(token["s"]) if token["s"] else None
        if tracked is not None and not changed & tracked:
            return None
        return self.item(row, token, changed if token["m"] else None)

    def _page(self, ctx: Context, delta_token: dict[str, Any], items: list[dict[str, Any]],
              next_token: dict[str, Any] | None, first: bool) -> GraphResponse:
        from .graph import link_root

        root = link_root(self.state, ctx)
        select = delta_token["s"]
        context = f"{root}/$metadata#users" + (f"({','.join(select)})" if select and first
                                                 else "")
        body: dict[str, Any] = {"@odata.context": context}
        if next_token is not None:
            body["@odata.nextLink"] = (f"{root}/users/delta?$skiptoken="
                                       f"{self.state.signer.seal(next_token)}")
        else:
            body["@odata.deltaLink"] = (f"{root}/users/delta?$deltatoken="
                                        f"{self.state.signer.seal(delta_token)}")
        body["value"] = items
        return GraphResponse(200, body)

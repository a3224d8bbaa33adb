"""The sandbox's own admin API under ``/_sandbox`` (not part of Graph).

Unauthenticated by design: the server only binds loopback addresses. Endpoints:

- ``GET /_sandbox/config`` / ``PATCH /_sandbox/config`` (JSON subset of :class:`SandboxConfig`)
- ``POST /_sandbox/reset`` — reseed users, refill throttle buckets, clear lag and counters
- ``GET /_sandbox/tenant`` — tenant id, domains, authority and endpoints
- ``POST /_sandbox/domains`` — ``{"name", "isVerified"?, "federated"?}``
- ``GET /_sandbox/users[?include_deleted=true]`` — stored documents (with internal fields)
- ``POST /_sandbox/users`` — insert a raw document, bypassing validation (e.g. a synced user)
- ``DELETE /_sandbox/users/{id}`` — purge permanently (delta then says ``deleted``)
- ``POST /_sandbox/throttle/reset``, ``POST /_sandbox/expire-tokens``, ``GET /_sandbox/stats``
- ``GET /_sandbox/provisioning`` (the job's bulkUpload URL and status) / ``POST`` with
  ``{"status": "Paused" | "Quarantine" | "Active", "reason"?}``
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .envelope import iso_z
from .store import UserRow

if TYPE_CHECKING:
    from .app import SandboxApp


def user_record(row: UserRow) -> dict[str, Any]:
    """A stored user with its link columns, as the admin API and ``list_users`` show it."""
    return {**row.doc, "_managerId": row.manager_id, "_deleted": row.deleted_at is not None}


def admin_routes(app: SandboxApp) -> list[Route]:
    """Routes of the admin API bound to one sandbox."""
    state = app.state

    async def get_config(request: Request) -> Response:
        return JSONResponse(state.config.model_dump())

    async def patch_config(request: Request) -> Response:
        try:
            changes = json.loads(await request.body() or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("expected a JSON object")
            state.config.update(changes)
        except (ValueError, ValidationError) as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse(state.config.model_dump())

    async def reset(request: Request) -> Response:
        app.reset()
        return JSONResponse({"tenantId": state.tenant_id})

    async def tenant(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSONResponse({
            "tenantId": state.tenant_id, "domains": state.store.domains(),
            "authority": f"{base}/{state.tenant_id}",
            "tokenEndpoint": f"{base}/{state.tenant_id}/oauth2/v2.0/token",
            "graphUrl": f"{base}/v1.0"})

    async def add_domain(request: Request) -> Response:
        body = json.loads(await request.body() or b"{}")
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            return JSONResponse({"error": "expected {\"name\": ...}"}, status_code=400)
        state.store.add_domain(body["name"], verified=bool(body.get("isVerified", True)),
                               federated=bool(body.get("federated", False)))
        return JSONResponse({"domains": state.store.domains()})

    async def users(request: Request) -> Response:
        deleted = request.query_params.get("include_deleted", "").lower() in {"1", "true"}
        rows = state.store.scan(0, None, include_deleted=deleted)
        return JSONResponse({"value": [user_record(row) for row in rows]})

    async def insert_user(request: Request) -> Response:
        doc = json.loads(await request.body() or b"{}")
        if not isinstance(doc, dict) or not isinstance(doc.get("userPrincipalName"), str):
            return JSONResponse({"error": "a user needs userPrincipalName"}, status_code=400)
        doc = {"id": str(uuid.uuid4()), "createdDateTime": iso_z(state.clock()), **doc}
        doc["id"] = str(doc["id"]).lower()
        state.store.insert(doc)
        return JSONResponse(doc, status_code=201)

    async def purge_user(request: Request) -> Response:
        gone = state.store.purge(request.path_params["object_id"])
        return Response(status_code=204 if gone else 404)

    async def throttle_reset(request: Request) -> Response:
        app.throttle.reset()
        return Response(status_code=204)

    async def expire_tokens(request: Request) -> Response:
        state.config.tokens_not_before = state.clock()
        return Response(status_code=204)

    async def stats(request: Request) -> Response:
        return JSONResponse(dict(state.stats))

    async def provisioning(request: Request) -> Response:
        job = app.provisioning
        if request.method == "POST":
            body = json.loads(await request.body() or b"{}")
            try:
                job.set_status(str(body.get("status")), body.get("reason"), now=state.clock())
            except (ValueError, AttributeError) as error:
                return JSONResponse({"error": str(error)}, status_code=400)
        code, reason = job.store.status()
        base = str(request.base_url).rstrip("/")
        return JSONResponse({"bulkUploadUrl": job.bulk_url(f"{base}/v1.0"), "status": code,
                             "reason": reason, "staged": job.store.staged_count()})

    return [
        Route("/_sandbox/config", get_config, methods=["GET"]),
        Route("/_sandbox/config", patch_config, methods=["PATCH", "POST"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/tenant", tenant, methods=["GET"]),
        Route("/_sandbox/domains", add_domain, methods=["POST"]),
        Route("/_sandbox/users", users, methods=["GET"]),
        Route("/_sandbox/users", insert_user, methods=["POST"]),
        Route("/_sandbox/users/{object_id}", purge_user, methods=["DELETE"]),
        Route("/_sandbox/throttle/reset", throttle_reset, methods=["POST"]),
        Route("/_sandbox/expire-tokens", expire_tokens, methods=["POST"]),
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/provisioning", provisioning, methods=["GET", "POST"]),
    ]

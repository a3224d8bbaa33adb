"""``POST /v1.0/$batch`` (§5).

At most 20 requests; ids unique (case-insensitively); ``headers`` with ``Content-Type``
required when ``body`` is present; ``dependsOn`` ids must exist. Items run in dependency order
(a failed item makes its dependants 424), each through the same path as a plain request —
so every item is charged and may be throttled (429 + ``Retry-After`` in its headers) or hit
an injected fault on its own (§5, [THR]). The batch itself answers 200 (or 424 when an item
was throttled and ``batch_throttled_outer_status`` says so), with responses shuffled by the
seeded RNG because Graph may answer out of order.

Texts of the whole-batch 400s are not captured in graph.md; ours are marked [INF].
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .envelope import (
    JSON_CONTENT_TYPE,
    CIDict,
    Context,
    GraphError,
    GraphRequest,
    GraphResponse,
    bad_request,
)
from .graph import Graph

MAX_REQUESTS = 20


def _invalid(message: str) -> GraphError:
    return bad_request(message, code="BadRequest")  # [INF] texts


def _parse(raw: bytes | None) -> list[dict[str, Any]]:
    try:
        payload = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError):
        payload = None
    requests = payload.get("requests") if isinstance(payload, dict) else None
    if not isinstance(requests, list) or not requests:
        raise _invalid("Invalid batch payload format.")
    if len(requests) > MAX_REQUESTS:
        raise _invalid(f"The number of requests in a batch cannot exceed {MAX_REQUESTS}.")
    seen: set[str] = set()
    for item in requests:
        if not isinstance(item, dict):
            raise _invalid("Invalid batch payload format.")
        item_id, method, url = item.get("id"), item.get("method"), item.get("url")
        if not (isinstance(item_id, str) and item_id and isinstance(method, str)
                and isinstance(url, str) and url):
            raise _invalid("Each batch request needs 'id', 'method' and 'url'.")
        if item_id.lower() in seen:
            raise _invalid(f"Batch request ids must be unique; '{item_id}' appears twice.")
        seen.add(item_id.lower())
        headers = item.get("headers")
        if headers is not None and not (isinstance(headers, dict) and all(
                isinstance(v, str) for v in headers.values())):
            raise _invalid(f"Invalid headers in batch request '{item_id}'.")
        if "body" in item and item["body"] is not None and not CIDict(headers or {}).get_ci(
                "content-type"):
            raise _invalid(f"Batch request '{item_id}' has a body but no Content-Type header.")
        depends = item.get("dependsOn", [])
        if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
            raise _invalid(f"Invalid dependsOn in batch request '{item_id}'.")
    ids = {item["id"].lower() for item in requests}
    for item in requests:
        for dep in item.get("dependsOn", []):
            if dep.lower() not in ids or dep.lower() == item["id"].lower():
                raise _invalid(f"Batch request '{item['id']}' depends on unknown id '{dep}'.")
    return requests


def _order(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dependency order, stable with respect to the request order; cycles are rejected."""
    done: set[str] = set()
    ordered: list[dict[str, Any]] = []
    pending = list(requests)
    while pending:
        ready = [r for r in pending
                 if all(d.lower() in done for d in r.get("dependsOn", []))]
        if not ready:
            raise _invalid("The dependsOn graph of the batch has a cycle.")
        for item in ready:
            ordered.append(item)
            done.add(item["id"].lower())
            pending.remove(item)
    return ordered


def _item_request(item: dict[str, Any]) -> GraphRequest | GraphError:
    url: str = item["url"]
    if urlsplit(url).scheme:
        return bad_request("Invalid request URL: batch URLs are relative to the version root.",
                           code="BadRequest")
    parts = urlsplit(url if url.startswith("/") else "/" + url)
    body = item.get("body")
    raw = None if body is None else (body.encode() if isinstance(body, str)
                                     else json.dumps(body).encode())
    path = unquote(parts.path)
    if path.strip("/").lower() == "$batch":
        return bad_request("Nested batch requests are not supported.", code="BadRequest")
    return GraphRequest(item["method"].upper(), path,
                        parse_qsl(parts.query, keep_blank_values=True),
                        CIDict(item.get("headers") or {}), raw, in_batch=True)


def _render(item_id: str, response: GraphResponse) -> dict[str, Any]:
    headers = {"Cache-Control": "no-cache", "OData-Version": "4.0"}
    if response.status != 204:
        headers["Content-Type"] = JSON_CONTENT_TYPE
    headers.update(response.headers)
    out: dict[str, Any] = {"id": item_id, "status": response.status, "headers": headers}
    if response.text is not None:
        out["body"] = response.text
    elif response.status != 204 and response.body is not None:
        out["body"] = response.body
    return out


def handle_batch(graph: Graph, raw: bytes | None, ctx: Context) -> GraphResponse:
    """Run a JSON batch; whole-batch problems raise a 400 :class:`GraphError`."""
    ordered = _order(_parse(raw))
    statuses: dict[str, int] = {}
    responses: list[dict[str, Any]] = []
    for item in ordered:
        failed = [d for d in item.get("dependsOn", []) if statuses.get(d.lower(), 200) >= 400]
        if failed:
            response = GraphError(424, "FailedDependency",  # [INF] text
                                  f"Failed dependency: request '{failed[0]}' failed.").response(ctx)
        else:
            request = _item_request(item)
            response = (request.response(ctx) if isinstance(request, GraphError)
                        else graph.execute(request, ctx))
        statuses[item["id"].lower()] = response.status
        responses.append(_render(item["id"], response))
    if graph.state.config.batch_shuffle_responses:
        graph.state.shuffle(responses)
    throttled = any(r["status"] == 429 for r in responses)
    status = graph.state.config.batch_throttled_outer_status if throttled else 200
    return GraphResponse(status, {"responses": responses})

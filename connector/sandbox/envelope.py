"""Requests, responses and Graph's error envelope, independent of Starlette.

The same :class:`GraphRequest` → :class:`GraphResponse` path serves a plain HTTP call and each
item of a ``$batch`` (§5), so both see identical validation, throttling and faults.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: Content-Type of Graph JSON responses (§8).
JSON_CONTENT_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)

#: Graph's "not found" text; the quoted key is what the caller sent (§3.3).
NOT_FOUND_TEMPLATE = (
    "Resource '{key}' does not exist or one of its queried reference-property objects are not "
    "present."
)


def utc_stamp(epoch: float) -> str:
    """``innerError.date``: UTC ``YYYY-MM-DDTHH:MM:SS`` without fraction or ``Z`` (§2.2)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def iso_z(epoch: float) -> str:
    """A body timestamp: ISO 8601 UTC with ``Z`` (§8)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CIDict(dict[str, str]):
    """Header names are case-insensitive; keys are stored lower-cased."""

    def __init__(self, items: dict[str, str] | None = None) -> None:
        super().__init__()
        for key, value in (items or {}).items():
            self[key.lower()] = value

    def get_ci(self, name: str, default: str | None = None) -> str | None:
        """The value of header ``name`` in any case."""
        return self.get(name.lower(), default)


@dataclass
class Context:
    """What one HTTP request to the sandbox carries through every layer."""

    request_id: str
    client_request_id: str
    base_url: str  # e.g. "https://127.0.0.1:8443" (no trailing slash)
    now: float
    app_id: str = ""
    roles: frozenset[str] = frozenset()

    @classmethod
    def create(cls, client_request_id: str | None, base_url: str, now: float) -> Context:
        """A context with a fresh request id; client-request-id defaults to it (§2.2)."""
        request_id = str(uuid.uuid4())
        return cls(request_id, client_request_id or request_id, base_url.rstrip("/"), now)

    @property
    def graph_root(self) -> str:
        """The version root, ``{base}/v1.0``."""
        return f"{self.base_url}/v1.0"


@dataclass
class GraphRequest:
    """One Graph operation: a top-level request or a ``$batch`` item."""

    method: str
    path: str  # below the version root, decoded, e.g. "/users/abc/manager/$ref"
    query: list[tuple[str, str]]  # decoded query pairs, in order
    headers: CIDict
    body: bytes | None = None
    in_batch: bool = False


@dataclass
class GraphResponse:
    """A Graph answer: JSON ``body`` or plain ``text`` (``$count``), never both."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None


class GraphError(Exception):
    """A Graph error answer, raised anywhere below the dispatcher (§2.2)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def response(self, ctx: Context) -> GraphResponse:
        """The envelope: code, message, innerError (date, request-id, client-request-id),
        and ``details`` when present (§2.2)."""
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "innerError": {
                "date": utc_stamp(ctx.now),
                "request-id": ctx.request_id,
                "client-request-id": ctx.client_request_id,
            },
        }
        if self.details is not None:
            error["details"] = self.details
        return GraphResponse(self.status, {"error": error}, dict(self.headers))


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphError:
    """A 400 with Graph's directory code by default."""
    return GraphError(400, code, message)


def invalid_value(prop: str) -> GraphError:
    """The per-property "invalid value" row of §2.3 (pattern of [I-NICK])."""
    return GraphError(
        400,
        "Request_BadRequest",
        f"Invalid value specified for property '{prop}' of resource 'User'.",
        details=[{"code": "InvalidValue", "target": prop}],
    )


def required(prop: str) -> GraphError:
    """§2.3: required property missing or empty."""
    return bad_request(f"Property {prop} value is required but is empty or missing.")


def not_found(key: str) -> GraphError:
    """§3.3: 404 Request_ResourceNotFound echoing the caller's key."""
    return GraphError(404, "Request_ResourceNotFound", NOT_FOUND_TEMPLATE.format(key=key))


def unsupported_query(message: str) -> GraphError:
    """§4.2: 400 Request_UnsupportedQuery."""
    return GraphError(400, "Request_UnsupportedQuery", message)


def forbidden() -> GraphError:
    """§2.3/§7.4: missing permission."""
    return GraphError(
        403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
    )


def no_such_property(name: str) -> GraphError:
    """§4.2: unknown property in ``$select``/``$filter``/``$orderby`` (OData-layer text;
    the code is unverified, we use the OData layer's ``BadRequest``)."""
    return GraphError(400, "BadRequest",
                      f"Could not find a property named '{name}' on type 'microsoft.graph.user'.")


def throttled_response(ctx: Context, retry_after: str, headers: dict[str, str]) -> GraphResponse:
    """§6.2: the 429 body, whose innerError has its own shape (code/status/message)."""
    body = {
        "error": {
            "code": "TooManyRequests",
            "innerError": {
                "code": "429",
                "date": utc_stamp(ctx.now),
                "message": "Please retry after",
                "request-id": ctx.request_id,
                "status": "429",
            },
            "message": "Please retry again later.",
        }
    }
    return GraphResponse(429, body, {"Retry-After": retry_after, **headers})

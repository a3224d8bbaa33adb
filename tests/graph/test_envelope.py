"""GraphError contents from Graph's error envelope (graph.md §2.2), as tables."""

from __future__ import annotations

import httpx
import pytest

from connector.errors import FatalGraphError, RetriableGraphError
from connector.graph import error_info, graph_error

REQUEST = httpx.Request("GET", "https://graph.microsoft.com/v1.0/users")


def response(status: int, headers: dict[str, str] | None = None,
             body: object = None) -> httpx.Response:
    return httpx.Response(status, headers=headers or {}, json=body)


@pytest.mark.parametrize(("headers", "inner", "expected_id"), [
    ({"request-id": "from-header"}, {"request-id": "from-inner"}, "from-inner"),
    ({"request-id": "from-header"}, {}, "from-header"),
    ({}, {"request-id": "from-inner"}, "from-inner"),
    ({}, {}, None),
])
def test_graph_error_keeps_code_message_and_request_id(
        headers: dict[str, str], inner: dict[str, str], expected_id: str | None) -> None:
    body = {"error": {"code": "Request_BadRequest", "message": "Property x is invalid.",
                      "innerError": inner,
                      "details": [{"target": "userPrincipalName", "code": "ObjectConflict"}]}}
    error = graph_error(response(400, headers, body), "create user E1")
    assert isinstance(error, FatalGraphError)
    assert (error.status, error.code, error.request_id) == (400, "Request_BadRequest",
                                                           expected_id)
    assert error.message == "create user E1: Property x is invalid."
    assert error_info(response(400, headers, body)).has_detail("ObjectConflict",
                                                                "userPrincipalName")


def test_graph_error_for_throttling_and_transport_failures() -> None:
    throttled = response(429, {"Retry-After": "2"}, {"error": {
        "code": "TooManyRequests", "message": "Please retry again later.",
        "innerError": {"code": "429", "request-id": "r-429", "status": "429"}}})
    error = graph_error(throttled, "update user E2")
    assert isinstance(error, RetriableGraphError)
    assert (error.code, error.request_id) == ("TooManyRequests", "r-429")
    dropped = graph_error(httpx.RemoteProtocolError("gone", request=REQUEST), "list users")
    assert isinstance(dropped, RetriableGraphError)
    assert "RemoteProtocolError" in dropped.message
    odd = graph_error(httpx.Response(502, text="<html>bad gateway</html>"), "list users")
    assert isinstance(odd, RetriableGraphError) and odd.code is None  # worth a later try
    assert odd.message == "list users: Bad Gateway"
    refused = graph_error(httpx.Response(403, text="no"), "list users")
    assert isinstance(refused, FatalGraphError) and refused.status == 403

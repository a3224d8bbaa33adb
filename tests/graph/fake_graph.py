"""A small stateful Graph for precise failure sequences (``httpx.MockTransport`` app).

It keeps users and manager links, serves ``/users`` (POST, GET with ``$filter=x eq 'y'``,
GET/PATCH/DELETE by id), ``manager/$ref`` (PUT/DELETE) and ``$batch``, and takes a script
of faults keyed by operation number (a plain request or one batch item, 1-based) or by HTTP
call number, e.g. "429 with Retry-After 2 on operation 3", "commit the create, then time
out". Tests assert on its final state, not on calls made.

Why a second Graph beside the sandbox: these tests need one exact sequence each — "the
7th operation answers 429", "HTTP call 1 raises ConnectError before sending" versus
"ReadTimeout after the create was committed", "the list hides the new user for exactly two
lookups" — which the sandbox's knobs (next N, every Nth, by chance, lag by time or count,
dropped connections only) reach only indirectly. The sandbox stays the faithful emulator
for everything end to end (tests/graph/test_client_sandbox.py, tests/test_sync.py).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx

Answer = tuple[int, dict[str, str], Any]


@dataclass
class Fault:
    """``status``: answer it (with ``headers``); ``after_commit``: run the operation first.
    ``exception``: raise it instead of answering (HTTP-call faults only)."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    after_commit: bool = False
    exception: type[httpx.RequestError] | None = None


def envelope(code: str, message: str, request_id: str, **extra: Any) -> dict[str, Any]:
    """Graph's error body (graph.md §2.2)."""
    error: dict[str, Any] = {"code": code, "message": message,
                             "innerError": {"request-id": request_id,
                                            "date": "2025-01-01T00:00:00"}}
    error.update(extra)
    return {"error": error}


class FakeGraph:
    """Callable ``(httpx.Request) -> httpx.Response``."""

    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.managers: dict[str, str] = {}
        self.operations: list[str] = []  # "METHOD /path" of every operation, in order
        self.http_calls = 0
        self.op_faults: dict[int, Fault] = {}
        self.http_faults: dict[int, Fault] = {}
        self.lag: dict[str, int] = {}  # id -> 404s still to give (replication lag)
        self.lag_next_creates = 0
        self.batch_sizes: list[int] = []
        self.batch_outer_status = 200
        self.reverse_batch = True

    def add_user(self, **doc: Any) -> str:
        user_id = str(uuid.uuid4())
        self.users[user_id] = {"id": user_id, **doc}
        return user_id

    # --- HTTP ---------------------------------------------------------------------------------
    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.http_calls += 1
        fault = self.http_faults.get(self.http_calls)
        if fault and fault.exception and not fault.after_commit:
            raise fault.exception("injected", request=request)
        url = urlsplit(str(request.url))
        path = unquote(url.path).removeprefix("/v1.0")
        body = json.loads(request.content) if request.content else None
        if path == "/$batch":
            assert isinstance(body, dict)
            status, headers, out = self.batch(body)
        else:
            status, headers, out = self.operation(request.method, path,
                                                  dict(parse_qsl(url.query)), body)
        if fault and fault.exception:
            raise fault.exception("injected after commit", request=request)
        if fault and fault.status:
            status, headers = fault.status, fault.headers
            out = envelope("serviceNotAvailable", "injected", "rid-http")
        return httpx.Response(status, headers={"request-id": f"rid-{self.http_calls}",
                                               **headers}, json=out)

    def batch(self, body: dict[str, Any]) -> Answer:
        requests = body["requests"]
        assert len(requests) <= 20
        self.batch_sizes.append(len(requests))
        responses = []
        for item in requests:
            split = urlsplit(item["url"])
            status, headers, out = self.operation(item["method"], unquote(split.path),
                                                  dict(parse_qsl(split.query)), item.get("body"))
            entry: dict[str, Any] = {"id": item["id"], "status": status, "headers": headers}
            if out is not None:
                entry["body"] = out
            responses.append(entry)
        if self.reverse_batch:
            responses.reverse()  # Graph may answer out of order (§5)
        return self.batch_outer_status, {}, {"responses": responses}

    # --- one operation ------------------------------------------------------------------------
    def operation(self, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
        self.operations.append(f"{method} {path}")
        number = len(self.operations)
        rid = f"op-{number}"
        fault = self.op_faults.get(number)
        if fault and fault.status and not fault.after_commit:
            code = "TooManyRequests" if fault.status == 429 else "serviceNotAvailable"
            return fault.status, dict(fault.headers), envelope(code, "injected", rid)
        answer = self.handle(method, path, query, body, rid)
        if fault and fault.status:
            return fault.status, dict(fault.headers), envelope("serviceNotAvailable",
                                                               "injected", rid)
        return answer

    def _missing(self, key: str, rid: str) -> Answer:
        return 404, {}, envelope("Request_ResourceNotFound",
                                 f"Resource '{key}' does not exist or one of its queried "
                                 "reference-property objects are not present.", rid)

    def _visible(self, user_id: str) -> bool:
        if self.lag.get(user_id, 0) > 0:
            self.lag[user_id] -= 1
            return False
        return user_id in self.users

    def handle(self, method: str, path: str, query: dict[str, str], body: Any,
               rid: str) -> Answer:
        parts = [p for p in path.split("/") if p]
        if parts == ["users"] and method == "POST":
            upn = str(body.get("userPrincipalName", "")).lower()
            if upn and any(u.get("userPrincipalName", "").lower() == upn
                           for u in self.users.values()):
                return 400, {}, envelope(
                    "Request_BadRequest", "Another object with the same value for property "
                    "userPrincipalName already exists.", rid,
                    details=[{"target": "userPrincipalName", "code": "ObjectConflict"}])
            user_id = self.add_user(**body)
            if self.lag_next_creates:
                self.lag[user_id] = self.lag_next_creates
            return 201, {"request-id": rid}, {"id": user_id, **body}
        if parts == ["users"] and method == "GET":
            match = re.fullmatch(r"(\w+) eq '((?:[^']|'')*)'", query.get("$filter", ""))
            users = list(self.users.values())
            if match:
                value = match.group(2).replace("''", "'")
                users = [u for u in users if u.get(match.group(1)) == value]
            return 200, {}, {"value": [{"id": u["id"]} for u in users]}
        user_id = parts[1]
        if not self._visible(user_id):
            return self._missing(user_id, rid)
        if len(parts) == 2 and method == "GET":
            return 200, {}, self.users[user_id]
        if len(parts) == 2 and method == "PATCH":
            self.users[user_id].update(body)
            return 204, {}, None
        if len(parts) == 2 and method == "DELETE":
            del self.users[user_id]
            return 204, {}, None
        if parts[2:] == ["manager", "$ref"] and method == "PUT":
            manager = body["@odata.id"].rsplit("/", 1)[-1]
            if not self._visible(manager):
                return self._missing(manager, rid)
            self.managers[user_id] = manager
            return 204, {}, None
        if parts[2:] == ["manager", "$ref"] and method == "DELETE":
            if user_id not in self.managers:
                return self._missing("manager", rid)
            del self.managers[user_id]
            return 204, {}, None
        return 405, {}, envelope("Request_BadRequest", "not in the fake", rid)


def fake_client(fake: FakeGraph) -> httpx.Client:
    """An httpx client whose requests the fake answers."""
    return httpx.Client(transport=httpx.MockTransport(fake))

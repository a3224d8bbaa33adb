"""What the HR API fakes share: a request log, faults injected on the Nth call, and the
two ways to reach a fake (in-process transport, or a real server via ``serving``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from connector.sandbox.inprocess import SyncASGITransport


@dataclass
class Fault:
    """An answer given instead of the real one: a status and, if set, ``Retry-After``."""

    status: int
    retry_after: str | None = None


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    """A JSON answer (non-ASCII kept, as the real APIs send it)."""
    return Response(json.dumps(body, ensure_ascii=False), status_code=status,
                    headers=headers, media_type="application/json")


class FakeApi:
    """Base of the fakes: ``calls`` logs ``METHOD /path?query`` of every request, and
    ``faults`` maps a 1-based call number to the :class:`Fault` answered instead."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.faults: dict[int, Fault] = {}
        self.app: Any = None  # set by the subclass: a Starlette app

    def fail_call(self, number: int, status: int, retry_after: str | None = "1") -> None:
        """Answer call ``number`` (1-based, every request counted) with ``status``."""
        self.faults[number] = Fault(status, retry_after)

    def gate(self, request: Request) -> Response | None:
        """Log the request; the injected fault for this call, if any."""
        query = f"?{request.url.query}" if request.url.query else ""
        self.calls.append(f"{request.method} {request.url.path}{query}")
        fault = self.faults.pop(len(self.calls), None)
        if fault is None:
            return None
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        return json_response({"error": "injected fault"}, fault.status, headers)

    def count(self, fragment: str) -> int:
        """How many logged calls contain ``fragment``."""
        return sum(1 for call in self.calls if fragment in call)

    def transport(self) -> httpx.BaseTransport:
        """An httpx transport answering in-process (no socket, no thread)."""
        return SyncASGITransport(self.app)

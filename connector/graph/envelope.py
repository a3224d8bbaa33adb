"""Graph's error envelope (graph.md §2.2): :func:`error_info` reads it, :func:`graph_error`
turns a failed answer into the :class:`~connector.errors.GraphError` a caller sees. Whether
an answer is retried is decided in :mod:`connector.http` (:func:`~connector.http.classify`),
not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from connector.errors import FatalGraphError, GraphError, RetriableGraphError
from connector.http import Verdict, classify


@dataclass(frozen=True)
class ErrorInfo:
    """The parts of Graph's error envelope a client acts on (§2.2)."""

    code: str | None
    message: str
    request_id: str | None
    detail_codes: tuple[tuple[str, str], ...] = ()  # (target, code) of error.details[]

    def has_detail(self, code: str, target: str | None = None) -> bool:
        """Whether ``error.details`` holds ``code`` (for ``target``, when given)."""
        return any(c == code and (target is None or t == target) for t, c in self.detail_codes)


def error_info(response: httpx.Response) -> ErrorInfo:
    """Read the error envelope; every key is optional (older payloads lack some, §2.2)."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    inner = error.get("innerError") or error.get("innererror") or {}
    inner = inner if isinstance(inner, dict) else {}
    # innerError first: inside a $batch it names the item, the header only the batch call;
    # on a plain response both are the same (§2.2).
    request_id = inner.get("request-id") or response.headers.get("request-id")
    details = tuple(
        (str(d.get("target") or ""), str(d.get("code") or ""))
        for d in error.get("details") or [] if isinstance(d, dict))
    code = error.get("code")
    message = error.get("message")
    return ErrorInfo(str(code) if code else None,
                     str(message) if message else response.reason_phrase or "",
                     str(request_id) if request_id else None, details)


def graph_error(subject: httpx.Response | BaseException, context: str,
                verdict: Verdict | None = None) -> GraphError:
    """A :class:`RetriableGraphError` (the verdict was retriable) or
    :class:`FatalGraphError` for a failed call.

    ``context`` names the operation and the user key (never a request body); Graph's
    ``error.code``, ``error.message`` and ``request-id`` are kept.
    """
    verdict = verdict or classify(subject)
    cls = RetriableGraphError if verdict.retriable else FatalGraphError
    if isinstance(subject, httpx.Response):
        info = error_info(subject)
        return cls(f"{context}: {info.message}", status=subject.status_code, code=info.code,
                   request_id=info.request_id)
    return cls(f"{context}: {verdict.reason or type(subject).__name__} ({subject})")

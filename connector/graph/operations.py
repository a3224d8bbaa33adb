"""Writes as data: :class:`Operation`, its :class:`OperationResult`, and the per-operation
state machine (:class:`OperationRun`) shared by single requests and ``$batch`` items.

One state machine decides, for each answer, whether an operation is done or when to try
again, so a write behaves the same whether it went alone or inside a batch:

- every answer is judged by :func:`connector.http.classify`; every write but a create can
  be sent twice (PATCH sets properties, PUT/DELETE of ``manager/$ref`` and DELETE of a user
  leave the same state), so 429, 5xx, dropped connections and timeouts wait ``Retry-After``
  or a jittered backoff and go again, within the :class:`~connector.http.RetryPolicy`
  bounds: ``max_attempts`` counts failed answers of the operation (a 429 is not one, nor
  a create lookup that finds nothing), ``max_wait_seconds`` the time since its first send;
- a create whose outcome is unknown (the verdict "verify": timeout, dropped connection or
  5xx after sending) is looked up by its matching attribute
  (``GET /users?$filter={attr} eq '{value}'``) after the wait and re-POSTed only if absent,
  and a 400 ``ObjectConflict`` on ``userPrincipalName`` after such a retry is resolved the
  same way, so a user is never created twice (graph.md §6.3);
- a 404 from a user this client just created (or a manager it just created) is replication
  lag (§8): retried with backoff for at most ``replication_lag_seconds``, never re-created;
- deleting, or clearing a manager, that answers 404 after an attempt that may have been
  applied is already done.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlencode

import httpx

from connector.errors import FatalGraphError, GraphError
from connector.http import RetryPolicy, Verdict, classify

from .envelope import error_info, graph_error
from .paging import eq_filter

OperationKind = Literal["create", "update", "disable", "enable", "delete", "set_manager",
                        "clear_manager"]
KINDS: tuple[str, ...] = ("create", "update", "disable", "enable", "delete", "set_manager",
                          "clear_manager")


@dataclass(frozen=True)
class Operation:
    """One write. ``ref`` is the caller's key (e.g. the employee id) used in messages.

    ``create`` has no ``user_id``; its ``match`` = (attribute, value), e.g.
    ``("employeeId", "E123")``, finds the user again if the create's outcome is unknown
    (default: the body's ``userPrincipalName``). ``set_manager`` needs ``manager_id``.
    """

    kind: OperationKind
    user_id: str | None = None
    body: dict[str, Any] = field(default_factory=dict)
    match: tuple[str, str] | None = None
    ref: str = ""
    manager_id: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown operation kind {self.kind!r}")
        if (self.kind == "create") != (self.user_id is None):
            needs = "None" if self.kind == "create" else "set"
            raise ValueError(f"{self.kind}: user_id must be {needs}")
        if self.kind == "set_manager" and not self.manager_id:
            raise ValueError("set_manager needs manager_id")

    def __repr__(self) -> str:  # bodies carry PII and passwords: never in a repr
        return (f"Operation(kind={self.kind!r}, ref={self.ref!r}, user_id={self.user_id!r}, "
                f"manager_id={self.manager_id!r}, fields={sorted(self.body)})")

    @property
    def label(self) -> str:
        """``create user E123``: what messages call this operation (no body, no PII)."""
        return f"{self.kind} user {self.ref or self.user_id or '?'}"

    def lookup(self) -> tuple[str, str] | None:
        """The (attribute, value) that identifies a create's user."""
        if self.match is not None:
            return self.match
        upn = self.body.get("userPrincipalName")
        return ("userPrincipalName", upn) if isinstance(upn, str) and upn else None


@dataclass
class OperationResult:
    """How an :class:`Operation` ended. ``user_id`` is the new id for creates."""

    operation: Operation
    ok: bool
    status: int | None
    user_id: str | None
    error: GraphError | None = None
    request_id: str | None = None
    attempts: int = 0


@dataclass(frozen=True)
class RequestSpec:
    """One HTTP request: ``path`` is relative to the version root and already encoded."""

    method: str
    path: str
    body: dict[str, Any] | None = None


def user_path(user_id: str) -> str:
    """``/users/{id}`` with the key percent-encoded (``#`` in B2B UPNs → ``%23``, §3.2)."""
    return "/users/" + quote(user_id, safe="@'()-._~")


def request_for(op: Operation, graph_base: str) -> RequestSpec:
    """The Graph request that performs ``op`` (§2–§3)."""
    if op.kind == "create":
        return RequestSpec("POST", "/users", op.body)
    assert op.user_id is not None
    path = user_path(op.user_id)
    if op.kind == "update":
        return RequestSpec("PATCH", path, op.body)
    if op.kind in ("disable", "enable"):  # disable = PATCH accountEnabled false (§3.1)
        return RequestSpec("PATCH", path, {**op.body, "accountEnabled": op.kind == "enable"})
    if op.kind == "delete":
        return RequestSpec("DELETE", path)
    if op.kind == "set_manager":  # §3.5
        return RequestSpec("PUT", f"{path}/manager/$ref",
                           {"@odata.id": f"{graph_base}/users/{op.manager_id}"})
    return RequestSpec("DELETE", f"{path}/manager/$ref")


def lookup_request(attribute: str, value: str) -> RequestSpec:
    """``GET /users?$filter={attribute} eq '{value}'&$select=id`` (§4.2)."""
    query = urlencode({"$filter": eq_filter(attribute, value), "$select": "id"},
                      quote_via=quote, safe="$,()'")
    return RequestSpec("GET", f"/users?{query}")


class CreatedUsers:
    """Ids this client created, with when: a 404 from one of them is replication lag."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._created: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, user_id: str) -> None:
        """Remember a new user id."""
        with self._lock:
            self._created[user_id.lower()] = self._clock()

    def age(self, user_id: str | None) -> float | None:
        """Seconds since this client created ``user_id`` (None if it did not)."""
        if not user_id:
            return None
        with self._lock:
            created = self._created.get(user_id.lower())
        return None if created is None else self._clock() - created


class OperationRun:
    """The life of one operation: the next request to send, and what each answer means."""

    def __init__(self, index: int, op: Operation, *, policy: RetryPolicy, rng: random.Random,
                 created: CreatedUsers, graph_base: str,
                 replication_lag_seconds: float = 120.0) -> None:
        self.index = index
        self.op = op
        self.policy = policy
        self.rng = rng
        self.created = created
        self.graph_base = graph_base
        self.replication_lag_seconds = replication_lag_seconds
        self.attempts = 0  # answers taken (requests sent, lookups included)
        self.failures = 0  # failed answers counted against max_attempts (429s are not)
        self.retries = 0  # waits so far (the backoff's exponent)
        self.first_sent: float | None = None
        self.not_before = 0.0
        self.result: OperationResult | None = None
        self._verify = False  # next request: look the create up instead of re-POSTing
        self._maybe_applied = False  # an earlier attempt may have changed the directory
        self._conflict = False  # a re-POST answered ObjectConflict: the user exists

    def request(self) -> RequestSpec:
        """What to send next."""
        lookup = self.op.lookup()
        if self._verify and lookup is not None:
            return lookup_request(*lookup)
        return request_for(self.op, self.graph_base)

    @property
    def idempotent(self) -> bool:
        """Whether the next request may be sent twice: all but a create's POST."""
        return self.op.kind != "create" or self._verify

    def settle(self, subject: httpx.Response | BaseException, now: float,
               wall: float | None = None) -> float | None:
        """Take one answer. None: finished (``result`` set); else seconds until the retry."""
        self.attempts += 1
        if self.first_sent is None:
            self.first_sent = now
        verdict = classify(subject, idempotent=self.idempotent, now=wall)
        if self._verify:
            return self._settle_lookup(subject, verdict, now)
        if verdict.ok:
            assert isinstance(subject, httpx.Response)
            return self._succeed(subject, self._new_id(subject))
        error = graph_error(subject, self.op.label, verdict)
        if self.op.kind == "create":
            return self._settle_create(subject, verdict, error, now)
        response = subject if isinstance(subject, httpx.Response) else None
        if response is not None and response.status_code == 404:
            if self._already_done(response):
                return self._succeed(response, self.op.user_id)
            if self._lagging():
                return self._retry(verdict, error, now)
        if verdict.retriable:
            self._maybe_applied |= verdict.maybe_applied
            return self._retry(verdict, error, now)
        return self._fail(error)

    # --- creates ------------------------------------------------------------------------------
    def _settle_create(self, subject: httpx.Response | BaseException, verdict: Verdict,
                       error: GraphError, now: float) -> float | None:
        can_look = self.op.lookup() is not None
        if verdict.kind == "verify":  # it may have been applied: look before re-POSTing
            self._maybe_applied = True
            if not can_look:  # a re-POST could duplicate the user: stop here
                return self._fail(FatalGraphError(
                    f"{error.message} (the create may have been applied; no matching "
                    "attribute to check it)", status=error.status, code=error.code,
                    request_id=error.request_id))
            self._verify = True
            return self._retry(verdict, error, now)
        if (self._maybe_applied and isinstance(subject, httpx.Response) and can_look
                and subject.status_code == 400
                and error_info(subject).has_detail("ObjectConflict", "userPrincipalName")):
            # Our own earlier attempt probably created it (§6.3): find it, don't fail.
            self._verify = self._conflict = True
            return self._retry(verdict, error, now)
        if verdict.retriable:
            return self._retry(verdict, error, now)
        return self._fail(error)

    def _settle_lookup(self, subject: httpx.Response | BaseException, verdict: Verdict,
                       now: float) -> float | None:
        label = f"{self.op.label} (checking whether it was created)"
        if not verdict.ok:
            error = graph_error(subject, label, verdict)
            return self._retry(verdict, error, now) if verdict.retriable else self._fail(error)
        assert isinstance(subject, httpx.Response)
        values = _values(subject)
        ids = [str(v["id"]) for v in values if v.get("id")]
        if len(ids) == 1:
            self.created.add(ids[0])
            return self._succeed(subject, ids[0])
        if len(ids) > 1:
            return self._fail(FatalGraphError(f"{label}: {len(ids)} users match",
                                              status=subject.status_code, code="AmbiguousMatch"))
        if self._conflict:
            # The UPN exists but the lookup does not see it yet: replication lag (§8).
            error = FatalGraphError(f"{label}: userPrincipalName is taken but no user "
                                    "matches", status=400, code="ObjectConflict")
            return self._retry(Verdict("retry"), error, now)
        self._verify = False  # not there: POST again (the wait already happened)
        return 0.0

    # --- shared -------------------------------------------------------------------------------
    def _new_id(self, response: httpx.Response) -> str | None:
        if self.op.kind != "create":
            return self.op.user_id
        try:
            body = response.json()
        except ValueError:
            body = None
        new_id = body.get("id") if isinstance(body, dict) else None
        if isinstance(new_id, str) and new_id:
            self.created.add(new_id)
            return new_id
        return None

    def _already_done(self, response: httpx.Response) -> bool:
        """404 meaning the goal is reached: a delete (or manager removal) that may already
        have happened, or clearing a manager that is not set (§3.5 ``Resource 'manager'``)."""
        if self.op.kind == "delete":
            return self._maybe_applied
        if self.op.kind == "clear_manager":
            return self._maybe_applied or "'manager'" in error_info(response).message
        return False

    def _lagging(self) -> bool:
        """A 404 on (or about) a user this client created moments ago (§8)."""
        limit = self.replication_lag_seconds
        ages = [self.created.age(self.op.user_id), self.created.age(self.op.manager_id)]
        return any(age is not None and age <= limit for age in ages)

    def _retry(self, verdict: Verdict, error: GraphError, now: float) -> float | None:
        self.retries += 1
        self.failures += not verdict.throttled
        delay = self.policy.delay(self.retries, verdict, self.rng)
        elapsed = now - (self.first_sent if self.first_sent is not None else now)
        if not self.policy.allows(self.failures, elapsed, delay):
            return self._fail(error)
        self.not_before = now + delay
        return delay

    def _succeed(self, response: httpx.Response, user_id: str | None) -> float | None:
        self.result = OperationResult(self.op, True, response.status_code, user_id,
                                      request_id=response.headers.get("request-id"),
                                      attempts=self.attempts)
        return None

    def _fail(self, error: GraphError) -> float | None:
        self.result = OperationResult(self.op, False, error.status, self.op.user_id, error,
                                      request_id=error.request_id, attempts=self.attempts)
        return None


def _values(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return []
    values = body.get("value") if isinstance(body, dict) else None
    return [v for v in values if isinstance(v, dict)] if isinstance(values, list) else []

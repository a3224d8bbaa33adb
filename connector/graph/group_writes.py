"""Group writes as data (:class:`GroupOperation`) and the state machine of one
(:class:`GroupOperationRun`), driven through ``$batch`` like the user writes.

Requests (Microsoft's docs; the facts are in ``connector/sandbox/GROUPS.md``):

- ``create_group``: ``POST /groups``; an outcome that is unknown (5xx, timeout) is looked
  up by mailNickname (``GET /groups?$filter=mailNickname eq '…'``) before it is sent again,
  so a group is never created twice;
- ``update_group``: ``PATCH /groups/{id}`` (displayName, description);
- ``add_members``: ``PATCH /groups/{id}`` with ``members@odata.bind``, up to 20 members
  in one request. It is all or nothing: one member already in the group (400 "One or
  more added object references already exist") or gone (404) fails all 20, so such a
  failure comes back with ``split`` set and the caller adds those members one by one
  (``add_member``: ``POST /groups/{id}/members/$ref``, where "already exist" means done).
  After an attempt that may have been applied, "already exist" means it was;
- ``remove_member``: ``DELETE /groups/{id}/members/{member}/$ref`` — always with
  ``/$ref``: without it Graph deletes the member object itself. 404 (not a member) is
  done;
- ``delete_group``: ``DELETE /groups/{id}`` (a security group is deleted for good); 404
  is done.

429, 5xx and dropped connections are retried by :mod:`connector.http`'s policy, as for
users; a 404 (or a 400 "do not exist") about a group or user this client created moments
ago is replication lag, retried for ``replication_lag_seconds``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlencode

import httpx

from connector.errors import FatalGraphError, GraphError
from connector.http import RetryPolicy, Verdict, classify

from .envelope import error_info, graph_error
from .operations import CreatedUsers, RequestSpec
from .paging import eq_filter

GroupKind = Literal["create_group", "update_group", "add_members", "add_member",
                    "remove_member", "delete_group"]
GROUP_KINDS: tuple[str, ...] = ("create_group", "update_group", "add_members", "add_member",
                                "remove_member", "delete_group")
#: Members one ``members@odata.bind`` PATCH may add (group-post-members, Example 2).
MAX_BIND = 20
_ALREADY = "already exist"
_MISSING = "not exist"


@dataclass(frozen=True)
class GroupOperation:
    """One group write. ``ref`` names the group in messages (its mailNickname)."""

    kind: GroupKind
    group_id: str | None = None
    body: dict[str, Any] = field(default_factory=dict)
    members: tuple[str, ...] = ()
    ref: str = ""

    def __post_init__(self) -> None:
        if self.kind not in GROUP_KINDS:
            raise ValueError(f"unknown group operation {self.kind!r}")
        if (self.kind == "create_group") != (self.group_id is None):
            raise ValueError(f"{self.kind}: group_id must be "
                             f"{'None' if self.kind == 'create_group' else 'set'}")
        count = {"add_members": (1, MAX_BIND), "add_member": (1, 1),
                 "remove_member": (1, 1)}.get(self.kind, (0, 0))
        if not count[0] <= len(self.members) <= count[1]:
            raise ValueError(f"{self.kind} takes {count[0]}..{count[1]} members")

    @property
    def user_id(self) -> None:
        """No ordering between group writes of one call (the batch runner's key)."""
        return None

    @property
    def label(self) -> str:
        """``add members hr-dept-sales``: how messages name it (no member ids)."""
        return f"{self.kind.replace('_', ' ')} {self.ref or self.group_id or '?'}"


@dataclass
class GroupOperationResult:
    """How a :class:`GroupOperation` ended; ``group_id`` is the new id for a create.
    ``split``: an ``add_members`` that failed as a whole; adding its members one by one
    may succeed for most. ``note`` says when the goal was already reached."""

    operation: GroupOperation
    ok: bool
    status: int | None
    group_id: str | None
    error: GraphError | None = None
    request_id: str | None = None
    attempts: int = 0
    split: bool = False
    note: str | None = None


def _group_path(group_id: str) -> str:
    return "/groups/" + quote(group_id, safe="-")


def group_request(op: GroupOperation, graph_base: str) -> RequestSpec:
    """The Graph request that performs ``op``."""
    if op.kind == "create_group":
        return RequestSpec("POST", "/groups", op.body)
    assert op.group_id is not None
    path = _group_path(op.group_id)
    if op.kind == "update_group":
        return RequestSpec("PATCH", path, op.body)
    if op.kind == "add_members":
        return RequestSpec("PATCH", path, {"members@odata.bind": [
            f"{graph_base}/directoryObjects/{m}" for m in op.members]})
    if op.kind == "add_member":
        return RequestSpec("POST", f"{path}/members/$ref",
                           {"@odata.id": f"{graph_base}/directoryObjects/{op.members[0]}"})
    if op.kind == "remove_member":
        return RequestSpec("DELETE", f"{path}/members/{quote(op.members[0], safe='-')}/$ref")
    return RequestSpec("DELETE", path)


def group_lookup(nickname: str) -> RequestSpec:
    """``GET /groups?$filter=mailNickname eq '…'&$select=id``: is the group there?"""
    query = urlencode({"$filter": eq_filter("mailNickname", nickname), "$select": "id"},
                      quote_via=quote, safe="$,()'")
    return RequestSpec("GET", f"/groups?{query}")


class GroupOperationRun:
    """The life of one group operation (the surface ``BatchRunner`` drives)."""

    def __init__(self, index: int, op: GroupOperation, *, policy: RetryPolicy,
                 rng: random.Random, created: CreatedUsers, graph_base: str,
                 replication_lag_seconds: float = 120.0) -> None:
        self.index = index
        self.op = op
        self.policy = policy
        self.rng = rng
        self.created = created
        self.graph_base = graph_base
        self.replication_lag_seconds = replication_lag_seconds
        self.attempts = 0
        self.failures = 0
        self.retries = 0
        self.first_sent: float | None = None
        self.not_before = 0.0
        self.result: GroupOperationResult | None = None
        self._verify = False
        self._maybe_applied = False

    def request(self) -> RequestSpec:
        """What to send next."""
        if self._verify:
            return group_lookup(str(self.op.body.get("mailNickname", "")))
        return group_request(self.op, self.graph_base)

    def settle(self, subject: httpx.Response | BaseException, now: float,
               wall: float | None = None) -> float | None:
        """Take one answer. None: finished (``result`` set); else seconds until the retry."""
        self.attempts += 1
        if self.first_sent is None:
            self.first_sent = now
        creating = self.op.kind == "create_group"
        verdict = classify(subject, idempotent=not creating or self._verify, now=wall)
        if self._verify:
            return self._settle_lookup(subject, verdict, now)
        if verdict.ok:
            assert isinstance(subject, httpx.Response)
            return self._succeed(subject, self._new_id(subject) if creating else None)
        error = graph_error(subject, self.op.label, verdict)
        if isinstance(subject, httpx.Response) and subject.status_code in (400, 404):
            handled, delay = self._settle_refusal(subject, verdict, error, now)
            if handled:
                return delay
        if verdict.retriable:
            self._maybe_applied |= verdict.maybe_applied
            if creating and verdict.kind == "verify":
                self._verify = True
            return self._retry(verdict, error, now)
        return self._fail(error)

    def _settle_refusal(self, response: httpx.Response, verdict: Verdict, error: GraphError,
                        now: float) -> tuple[bool, float | None]:
        """400/404 answers that mean done, lag, or "split the PATCH": (handled, what
        ``settle`` returns)."""
        info = error_info(response)
        message = info.message.lower()
        kind = self.op.kind
        if kind in ("add_members", "add_member") and _ALREADY in message:
            if kind == "add_member" or self._maybe_applied:
                return True, self._succeed(response, None, "already a member")
            return True, self._fail(error, split=True)
        if kind == "remove_member" and (response.status_code == 404 or _MISSING in message):
            return True, self._succeed(response, None, "not a member")
        if kind == "delete_group" and response.status_code == 404:
            return True, self._succeed(response, None, "already deleted")
        if kind == "create_group" and self._maybe_applied and info.has_detail(
                "ObjectConflict", "mailNickname"):
            self._verify = True  # our own earlier attempt probably created it
            return True, self._retry(verdict, error, now)
        if (response.status_code == 404 or _MISSING in message) and self._lagging():
            return True, self._retry(Verdict("retry", response.status_code), error, now)
        if kind == "add_members" and len(self.op.members) > 1:
            return True, self._fail(error, split=True)
        return False, None

    def _settle_lookup(self, subject: httpx.Response | BaseException, verdict: Verdict,
                       now: float) -> float | None:
        label = f"{self.op.label} (checking whether it was created)"
        if not verdict.ok:
            error = graph_error(subject, label, verdict)
            return self._retry(verdict, error, now) if verdict.retriable else self._fail(error)
        assert isinstance(subject, httpx.Response)
        try:
            body = subject.json()
        except ValueError:
            body = {}
        values = body.get("value") if isinstance(body, dict) else None
        ids = [str(v["id"]) for v in values or [] if isinstance(v, dict) and v.get("id")]
        if len(ids) == 1:
            self.created.add(ids[0])
            return self._succeed(subject, ids[0])
        if len(ids) > 1:
            return self._fail(FatalGraphError(f"{label}: {len(ids)} groups match",
                                              status=subject.status_code, code="AmbiguousMatch"))
        self._verify = False  # not there: POST again (the wait already happened)
        return 0.0

    def _new_id(self, response: httpx.Response) -> str | None:
        try:
            body = response.json()
        except ValueError:
            body = None
        new_id = body.get("id") if isinstance(body, dict) else None
        if isinstance(new_id, str) and new_id:
            self.created.add(new_id)
            return new_id
        return None

    def _lagging(self) -> bool:
        """A 404 about a group or member this client created moments ago (§8)."""
        limit = self.replication_lag_seconds
        ages = [self.created.age(i) for i in (self.op.group_id, *self.op.members)]
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

    def _succeed(self, response: httpx.Response, group_id: str | None,
                 note: str | None = None) -> float | None:
        self.result = GroupOperationResult(
            self.op, True, response.status_code, group_id or self.op.group_id,
            request_id=response.headers.get("request-id"), attempts=self.attempts, note=note)
        return None

    def _fail(self, error: GraphError, *, split: bool = False) -> float | None:
        self.result = GroupOperationResult(self.op, False, error.status, self.op.group_id,
                                           error, request_id=error.request_id,
                                           attempts=self.attempts, split=split)
        return None


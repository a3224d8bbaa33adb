""":class:`GraphClient`: reads and writes of Entra ID users through Microsoft Graph v1.0.

The client takes an ``httpx.Client`` (inject a transport to test it; give it a
:class:`~.auth.BearerAuth` for tokens) and adds Graph's rules on top of the shared HTTP
policy (:mod:`connector.http`: which answers are retried, how long to wait): paging per
:mod:`.paging`, writes per :mod:`.operations`, ``$batch`` per :mod:`.batch` and write pacing
per :mod:`.pacing`. Time is injected (``sleep``, ``clock``) so tests never wait.

Ordering: :meth:`GraphClient.execute` runs the operations it is given concurrently (in
order per user). A caller that creates users and then points managers at them calls
``execute`` twice: creates and updates first, then the manager operations with the new
ids from the first call's results.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import httpx

from connector.errors import GraphError
from connector.http import RetryPolicy, Verdict, send_with_retries

from .auth import BearerAuth, MsalTokenProvider
from .batch import BatchRunner, R
from .delta import DeltaRound, read_round
from .envelope import graph_error
from .operations import (
    CreatedUsers,
    Operation,
    OperationResult,
    OperationRun,
    RequestSpec,
    user_path,
)
from .pacing import Pacer
from .paging import MAX_PAGE_SIZE, iter_pages, property_name
from .settings import GRAPH_VERSION, PUBLIC_GRAPH, GraphSettings

log = logging.getLogger(__name__)

#: Properties every listed user carries, whatever the caller selects.
BASE_FIELDS = ("id", "employeeId", "accountEnabled", "userPrincipalName")


def version_root(graph_url: str) -> str:
    """``https://graph.microsoft.com`` (or a version root already) → ``…/v1.0``."""
    root = graph_url.rstrip("/")
    return root if root.endswith("/" + GRAPH_VERSION) else f"{root}/{GRAPH_VERSION}"


def _fields(select: Iterable[str], *extra: str) -> list[str]:
    names = [property_name(n) for n in (*BASE_FIELDS, *select, *extra) if n != "manager"]
    return list(dict.fromkeys(names))


class GraphClient:
    """Graph's ``/users`` for a provisioning job.

    ``graph_url`` is the Graph root (``/v1.0`` is appended). ``max_concurrency`` batches
    are in flight at once (``httpx.Client`` is thread-safe). ``page_size`` is the ``$top``
    of list reads (at most 999, §4.1). ``replication_lag_seconds``: how long a user this
    client created may answer 404 before the 404 is believed (§8: 15–30 s observed, up to
    1–2 min).
    """

    def __init__(self, http: httpx.Client, *, graph_url: str = PUBLIC_GRAPH,
                 policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, max_concurrency: int = 4,
                 wall_clock: Callable[[], float] = time.time,
                 page_size: int = MAX_PAGE_SIZE,
                 replication_lag_seconds: float = 120.0) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
        self.http = http
        self.graph_base = version_root(graph_url)
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.clock = clock
        self.wall_clock = wall_clock
        self.max_concurrency = max_concurrency
        self.page_size = page_size
        self.replication_lag_seconds = replication_lag_seconds
        self.created = CreatedUsers(clock)
        self._rng = self.policy.rng()
        #: Write pacing lives as long as the client: the quota is per app and tenant (§6.1).
        self.pacer = Pacer()
        #: The tenant the client's token is for (set by :meth:`from_settings`); with the
        #: Graph root it names the tenant a saved delta state belongs to.
        self.tenant_id: str | None = None
        self._owned: list[Any] = []

    @classmethod
    def from_settings(cls, settings: GraphSettings, *,
                      transport: httpx.BaseTransport | None = None,
                      token_provider: Callable[[], str] | None = None,
                      **options: Any) -> GraphClient:
        """A client for the configured tenant: msal tokens (unless ``token_provider`` is
        given), the settings' TLS trust and timeout; ``transport`` serves both Graph and
        the authority (tests). ``options`` go to the constructor."""
        settings.require()
        owned: list[Any] = []
        if token_provider is None:
            msal_http = httpx.Client(transport=transport, verify=settings.ssl_context(),
                                     timeout=settings.timeout_s)
            provider = MsalTokenProvider(settings, http=msal_http)
            owned.append(provider)
            auth = provider.auth()
        else:
            auth = BearerAuth(token_provider)
        http = httpx.Client(transport=transport, verify=settings.ssl_context(),
                            timeout=settings.timeout_s, auth=auth,
                            headers={"User-Agent": "hr-connector"})
        client = cls(http, graph_url=settings.graph_url, **options)
        client.tenant_id = settings.tenant_id
        client._owned = [http, *owned]
        return client

    def close(self) -> None:
        """Close what :meth:`from_settings` opened (an injected client stays open)."""
        for resource in self._owned:
            resource.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing ---------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return path if path.startswith(("https://", "http://")) else self.graph_base + path

    def _send(self, method: str, url: str, *, params: Mapping[str, str] | None = None,
              json: Any = None) -> httpx.Response:
        return self.http.request(method, self._url(url), params=params, json=json)

    def request(self, method: str, url: str, *, label: str,
                params: Mapping[str, str] | None = None, json: Any = None) -> httpx.Response:
        """One idempotent request with retries (reads); a :class:`GraphError` naming
        ``label`` when it fails for good."""
        def retrying(verdict: Verdict, delay: float) -> None:
            log.info("%s: %s, retrying in %.1f s", label, verdict.reason, delay)

        outcome = send_with_retries(
            lambda: self._send(method, url, params=params, json=json), self.policy,
            sleep=self.sleep, wall_clock=self.wall_clock, rng=self._rng, on_retry=retrying)
        if outcome.verdict.ok:
            return outcome.response
        subject = outcome.subject
        raise graph_error(subject, label, outcome.verdict) from (
            subject if isinstance(subject, BaseException) else None)

    def _page(self, label: str) -> Callable[[str, Mapping[str, str] | None], dict[str, Any]]:
        def fetch(url: str, params: Mapping[str, str] | None) -> dict[str, Any]:
            body = self.request("GET", url, label=label, params=params).json()
            return body if isinstance(body, dict) else {}
        return fetch

    # --- reads ------------------------------------------------------------------------------
    def list_users(self, select: Sequence[str], *,
                   with_manager: bool = True) -> list[dict[str, Any]]:
        """Every user with ``select`` plus id, employeeId, accountEnabled and
        userPrincipalName; with ``with_manager`` each carries ``"manager": id | None``.

        Managers come in the same pages via ``$expand=manager($select=id)``: one level, a
        single-valued relationship, no advanced query (§3.5, §4.3); it costs one resource
        unit more per page instead of one request per user (§6.1).
        """
        params = {"$select": ",".join(_fields(select)), "$top": str(self.page_size)}
        if with_manager:
            params["$expand"] = "manager($select=id)"
        users: list[dict[str, Any]] = []
        for page in iter_pages(self._page("list users"), "/users", params):
            for user in page:
                if with_manager:
                    manager = user.pop("manager", None)
                    user["manager"] = manager.get("id") if isinstance(manager, dict) else None
                users.append(user)
        return users

    def delta_select(self, select: Sequence[str]) -> list[str]:
        """The ``$select`` of :meth:`read_delta` for ``select``: the base fields, ``select``
        and ``manager`` (a deltaLink keeps the selection it was made with)."""
        return [*_fields(select), "manager"]

    def read_delta(self, select: Sequence[str], *,
                   delta_link: str | None = None) -> DeltaRound:
        """A delta round of ``/users`` (§4.6), read to its deltaLink.

        Without ``delta_link``: every user, with ``select`` plus the base fields and
        ``manager`` (a full read; delta pages are not sized by ``$top``, which delta does
        not take). With it: the users changed since that link was issued, which must come
        from this client's Graph. Items are ``(id, user)`` in the shape of
        :meth:`list_users`, ``(id, None)`` for a removed user (:mod:`.delta`). A token
        Graph no longer honours raises a ``GraphError`` that
        :func:`~.delta.token_refused` recognises.
        """
        fields = _fields(select)
        if delta_link is None:
            params = {"$select": ",".join(self.delta_select(select))}
            return read_round(self._page("reading the users (delta)"), "/users/delta", params,
                              fields, full=True)
        if not self.owns_link(delta_link):
            raise ValueError("the deltaLink does not point at this client's Graph")
        return read_round(self._page("reading the users' changes (delta)"), delta_link, None,
                          fields, full=False)

    def owns_link(self, link: str) -> bool:
        """Whether ``link`` is on this client's Graph (scheme, host and version root), so
        the bearer token may go there."""
        return link.startswith(self.graph_base + "/")

    def get_user(self, user_id: str, select: Sequence[str] | None = None) -> dict[str, Any]:
        """One user by id or UPN (default properties unless ``select``)."""
        params = {"$select": ",".join(_fields(select))} if select else None
        body = self.request("GET", user_path(user_id), label=f"get user {user_id}",
                            params=params).json()
        return body if isinstance(body, dict) else {}

    # --- writes -----------------------------------------------------------------------------
    def _run(self, index: int, op: Operation) -> OperationRun:
        return OperationRun(index, op, policy=self.policy, rng=self._rng, created=self.created,
                            graph_base=self.graph_base,
                            replication_lag_seconds=self.replication_lag_seconds)

    def run(self, op: Operation) -> OperationResult:
        """One operation as plain requests (no batch), with the same rules as ``execute``."""
        run = self._run(0, op)
        while True:
            spec: RequestSpec = run.request()
            subject: httpx.Response | BaseException
            try:
                subject = self._send(spec.method, spec.path, json=spec.body)
            except httpx.HTTPError as exc:
                subject = exc
            delay = run.settle(subject, self.clock(), self.wall_clock())
            if delay is None:
                assert run.result is not None
                return run.result
            self.sleep(delay)

    def _must(self, op: Operation) -> OperationResult:
        result = self.run(op)
        if not result.ok:
            assert result.error is not None
            raise result.error
        return result

    def create_user(self, body: dict[str, Any], *, match: tuple[str, str] | None = None,
                    ref: str = "") -> str:
        """Create a user; returns its id. Raises :class:`GraphError` on failure."""
        user_id = self._must(Operation("create", body=body, match=match, ref=ref)).user_id
        if user_id is None:
            raise GraphError(f"create user {ref}: Graph returned no id")
        return user_id

    def update_user(self, user_id: str, body: dict[str, Any], *, ref: str = "") -> None:
        """PATCH the given properties (§3.1)."""
        self._must(Operation("update", user_id, body, ref=ref))

    def delete_user(self, user_id: str, *, ref: str = "") -> None:
        """``DELETE /users/{id}``: to deleted items for 30 days (§3.4)."""
        self._must(Operation("delete", user_id, ref=ref))

    def set_manager(self, user_id: str, manager_id: str, *, ref: str = "") -> None:
        """``PUT /users/{id}/manager/$ref`` (§3.5)."""
        self._must(Operation("set_manager", user_id, ref=ref, manager_id=manager_id))

    def clear_manager(self, user_id: str, *, ref: str = "") -> None:
        """``DELETE /users/{id}/manager/$ref`` (no manager set counts as done)."""
        self._must(Operation("clear_manager", user_id, ref=ref))

    def execute(self, operations: Sequence[Operation], *,
                on_result: Callable[[OperationResult], None] | None = None,
                ) -> list[OperationResult]:
        """Run ``operations`` through ``$batch`` (§5); one result per operation, in order.

        A failed operation does not stop the others; ``on_result`` sees each result as it
        is known. A token failure (:class:`~connector.errors.AuthError`) stops the call.
        """
        runs = [self._run(index, op) for index, op in enumerate(operations)]
        results: dict[int, OperationResult] = {}

        def done(run: OperationRun) -> None:
            assert run.result is not None
            results[run.index] = run.result
            if on_result is not None:
                on_result(run.result)

        runner = BatchRunner(self._post_batch, clock=self.clock, sleep=self.sleep,
                             wall=self.wall_clock, max_concurrency=self.max_concurrency,
                             pacer=self.pacer)
        runner.run(runs, done)
        return [results[run.index] for run in runs]

    def _post_batch(self, payload: dict[str, Any]) -> httpx.Response:
        return self._send("POST", "/$batch", json=payload)

    @property
    def rng(self) -> random.Random:
        """The jitter source of this client's retries (shared by its group writes)."""
        return self._rng

    def run_batched(self, runs: Sequence[R], on_done: Callable[[R], None]) -> None:
        """Drive write runs other than :class:`Operation` s (the group writes of
        :mod:`.groups`) through ``$batch`` with this client's pacing and concurrency."""
        runner = BatchRunner(self._post_batch, clock=self.clock, sleep=self.sleep,
                             wall=self.wall_clock, max_concurrency=self.max_concurrency,
                             pacer=self.pacer)
        runner.run(runs, on_done)


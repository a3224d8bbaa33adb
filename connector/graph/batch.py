"""JSON batching (graph.md §5): many :class:`~.operations.OperationRun` s through
``POST /v1.0/$batch``, at most 20 per batch, a bounded number of batches in flight.

- Items carry ids (the operation's index) and answers are matched by id, never by position:
  Graph may answer out of order (§5).
- Each item's answer goes through the operation's own state machine; a throttled or failed
  item comes back on its own in a later batch once its ``Retry-After`` (or backoff) has
  passed. SDKs do not retry items inside a batch; retrying only the failed ones is what
  §5 recommends.
- A batch that fails as a whole (429, 5xx, dropped connection, timeout) gives every item
  that answer, so all of them are retried — a create among them is first looked up, since
  the batch may have run (§6.3). The outer status may be 200 or 424 when items were
  throttled (§5: sources disagree); both are read item by item.
- A throttled item waits its own ``Retry-After`` while the others go on. Only when 429s
  persist (the write quota is spent) does the :class:`~.pacing.Pacer` hold every new batch
  for the ``Retry-After`` and space items so that the quota is used without paying for
  throttled calls (§6.3); it lets go once the 429s stop.
- Operations on the same user run in the order given, never two at once (the items of one
  batch run in parallel, §5). Creates whose ids later operations need go in an earlier
  ``execute`` call: no ``dependsOn`` is used (a failure would only turn into 424s, §5).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Protocol, TypeVar

import httpx

from connector.http import THROTTLED, parse_retry_after

from .operations import RequestSpec
from .pacing import Pacer

log = logging.getLogger(__name__)

MAX_BATCH = 20
#: Shortest sleep: a wait of a few nanoseconds (float rounding) must still move time on.
MIN_SLEEP = 0.001

Subject = httpx.Response | BaseException
BatchSender = Callable[[dict[str, Any]], httpx.Response]


class _Ordered(Protocol):
    @property
    def user_id(self) -> str | None: ...


class BatchRun(Protocol):
    """What the runner drives: an :class:`~.operations.OperationRun`, or any run with the
    same surface (the group writes of :mod:`.group_writes`). Runs whose ``op.user_id`` is
    the same go in the order given."""

    @property
    def index(self) -> int: ...

    @property
    def op(self) -> _Ordered: ...

    @property
    def not_before(self) -> float: ...

    @property
    def result(self) -> object | None: ...

    def request(self) -> RequestSpec: ...

    def settle(self, subject: Subject, now: float, wall: float | None = None) -> float | None:
        ...


R = TypeVar("R", bound=BatchRun)


def batch_payload(items: Sequence[tuple[str, RequestSpec]]) -> dict[str, Any]:
    """The ``$batch`` body; items with a body get the required Content-Type (§5)."""
    requests: list[dict[str, Any]] = []
    for item_id, spec in items:
        entry: dict[str, Any] = {"id": item_id, "method": spec.method, "url": spec.path}
        if spec.body is not None:
            entry["headers"] = {"Content-Type": "application/json"}
            entry["body"] = spec.body
        requests.append(entry)
    return {"requests": requests}


def split_responses(response: httpx.Response) -> dict[str, httpx.Response] | None:
    """Item answers by id, as responses; None when this is not a batch answer at all."""
    if response.status_code not in (200, 424):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    items = body.get("responses") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return None
    outer_id = response.headers.get("request-id")
    answers: dict[str, httpx.Response] = {}
    for item in items:
        if not isinstance(item, dict) or "id" not in item:
            continue
        headers = {str(k): str(v) for k, v in (item.get("headers") or {}).items()}
        if outer_id and not any(k.lower() == "request-id" for k in headers):
            headers["request-id"] = outer_id  # the batch call's id, for support cases
        content = item.get("body")
        status = int(item.get("status") or 0)
        if isinstance(content, str):
            answer = httpx.Response(status, headers=headers, content=content.encode())
        elif content is None:
            answer = httpx.Response(status, headers=headers)
        else:
            answer = httpx.Response(status, headers=headers, json=content)
        answers[str(item["id"])] = answer
    return answers


def _answers(batch: list[tuple[R, RequestSpec]], send: BatchSender) -> list[tuple[R, Subject]]:
    """Send one batch (in a worker thread) and pair every run with its answer."""
    payload = batch_payload([(str(run.index), spec) for run, spec in batch])
    try:
        response = send(payload)
    except httpx.HTTPError as error:
        return [(run, error) for run, _ in batch]
    answers = split_responses(response)
    if answers is None:
        return [(run, response) for run, _ in batch]
    missing = httpx.RemoteProtocolError("the batch answer has no response for this item")
    return [(run, answers.get(str(run.index), missing)) for run, _ in batch]


class BatchRunner:
    """Drives runs to completion through ``send`` (one ``POST $batch`` per call)."""

    def __init__(self, send: BatchSender, *, clock: Callable[[], float],
                 sleep: Callable[[float], None], wall: Callable[[], float],
                 max_concurrency: int, pacer: Pacer | None = None) -> None:
        self.send = send
        self.clock = clock
        self.sleep = sleep
        self.wall = wall
        self.max_concurrency = max(1, max_concurrency)
        self.pacer = pacer or Pacer(burst=MAX_BATCH)
        self.batches_sent = 0

    def run(self, runs: Sequence[R], on_done: Callable[[R], None]) -> None:
        """Until every run has a result; ``on_done`` is called (in this thread) per run."""
        before: dict[int, R] = {}
        last: dict[str, R] = {}
        for run in runs:  # per-user order: a run waits for the previous one on its user
            if run.op.user_id:
                key = run.op.user_id.lower()
                if key in last:
                    before[run.index] = last[key]
                last[key] = run
        waiting = list(runs)
        in_flight: dict[Future[list[tuple[R, Subject]]], float] = {}  # sent at
        with ThreadPoolExecutor(self.max_concurrency, "graph-batch") as pool:
            try:
                while waiting or in_flight:
                    delay = self._fill(pool, waiting, in_flight, before)
                    if not in_flight:
                        self.sleep(max(MIN_SLEEP, delay or 0.0))
                        continue
                    # Block on the batches in flight; when others wait for their time, for at
                    # most that long. Time is only ever slept through ``sleep`` while nothing
                    # is in flight, so an injected (fake) clock moves only with the work.
                    full = len(in_flight) >= (self.pacer.in_flight_limit()
                                              or self.max_concurrency)
                    timeout = None if delay is None or full else max(MIN_SLEEP, delay)
                    done, _ = wait(in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
                    for future in done:
                        sent_at = in_flight.pop(future)
                        self._settle(future.result(), waiting, on_done, sent_at)
            except BaseException:
                for future in in_flight:
                    future.cancel()
                raise

    def _fill(self, pool: ThreadPoolExecutor, waiting: list[R],
              in_flight: dict[Future[list[tuple[R, Subject]]], float],
              before: dict[int, R]) -> float | None:
        """Submit batches while there is room; returns how long until more could go (None:
        nothing waits on time, only on batches in flight)."""
        while len(in_flight) < (self.pacer.in_flight_limit() or self.max_concurrency):
            now = self.clock()
            free = [r for r in waiting
                    if (prev := before.get(r.index)) is None or prev.result is not None]
            if not free:
                return None
            ready = [r for r in free if r.not_before <= now][:MAX_BATCH]
            if not ready:
                return max(0.0, min(r.not_before for r in free) - now)
            pause = self.pacer.wait(len(ready), now)
            if pause > 0:
                return pause
            self.pacer.take(len(ready), now)
            batch = [(run, run.request()) for run in ready]
            sent = {run.index for run in ready}
            waiting[:] = [run for run in waiting if run.index not in sent]
            in_flight[pool.submit(_answers, batch, self.send)] = now
            self.batches_sent += 1
        return None

    def _settle(self, answers: list[tuple[R, Subject]], waiting: list[R],
                on_done: Callable[[R], None], sent_at: float) -> None:
        now, wall = self.clock(), self.wall()
        passed = throttled = 0
        longest: float | None = None
        usage: float | None = None
        for run, subject in answers:
            if isinstance(subject, httpx.Response) and subject.status_code == THROTTLED:
                throttled += 1
                after = parse_retry_after(subject.headers.get("Retry-After"), now=wall)
                longest = max(longest or 0.0, after if after is not None else 1.0)
            elif isinstance(subject, httpx.Response):
                passed += 1
            if isinstance(subject, httpx.Response):
                percentage = _float(subject.headers.get("x-ms-throttle-limit-percentage"))
                if percentage is not None:
                    usage = max(usage or 0.0, percentage)
            if run.settle(subject, now, wall) is None:
                on_done(run)
            else:
                waiting.append(run)
        waiting.sort(key=lambda r: r.index)
        if throttled:
            log.info("Graph throttled %d of %d batch items; waiting %.1f s", throttled,
                     len(answers), longest or 0.0)
        self.pacer.record(now, passed, throttled, longest, usage, sent_at)


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None

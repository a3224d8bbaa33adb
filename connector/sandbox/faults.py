"""Injected server errors, dropped connections and latency (knobs in :mod:`.config`).

Server errors are decided per Graph *operation* (a plain request or one ``$batch`` item) after
authentication and throttling; dropped connections per HTTP request (a batch is dropped as a
whole). With ``fault_after_commit``/``drop_after_commit`` the operation runs first and the
failure hides its outcome (§6.3: "a 5xx/timeout after a create may have succeeded").

Bodies of injected errors use the codes of Graph's error table ([ERR]); graph.md does not quote
real 5xx payloads, so their texts are our choice.
"""

from __future__ import annotations

from .envelope import Context, GraphError, GraphResponse
from .state import SandboxState

_FAULT_BODIES: dict[int, tuple[str, str]] = {
    500: ("generalException", "An unspecified error has occurred."),
    502: ("UnknownError", "Bad Gateway."),
    503: ("serviceNotAvailable",
          "The service is temporarily unavailable for maintenance or is overloaded. You may "
          "repeat the request after a delay, the length of which may be specified in a "
          "Retry-After header."),
    504: ("timeout", "The operation timed out before completion."),
}


class Faults:
    """Counters and decisions for the fault knobs."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.operations = 0
        self.requests = 0

    def reset(self) -> None:
        """Restart the every-Nth counters."""
        with self.state.lock:
            self.operations = 0
            self.requests = 0

    def server_error(self) -> int | None:
        """The status to inject for this operation, if any."""
        with self.state.lock:
            self.operations += 1
            count = self.operations
        return self.state.config.fault_status if self._hit("fault", count, "faults") else None

    def drop(self) -> bool:
        """Whether to close this HTTP request's connection without answering."""
        with self.state.lock:
            self.requests += 1
            count = self.requests
        return self._hit("drop", count, "drops")

    def _hit(self, knob: str, count: int, stat: str) -> bool:
        """One rule for every injected failure: the next N, every Nth, or by chance.

        ``knob`` names the config fields ``{knob}_next``, ``{knob}_every_n`` and
        ``{knob}_probability``; ``count`` is this call's number.
        """
        cfg = self.state.config
        with self.state.lock:
            pending = getattr(cfg, f"{knob}_next")
            hit = pending > 0
            if hit:
                setattr(cfg, f"{knob}_next", pending - 1)
            every = getattr(cfg, f"{knob}_every_n")
            hit = hit or (every > 0 and count % every == 0)
        probability = getattr(cfg, f"{knob}_probability")
        if not hit and probability > 0:
            hit = self.state.random() < probability
        if hit:
            self.state.stats[stat] += 1
        return bool(hit)

    def latency_s(self) -> float:
        """Added latency for this HTTP request."""
        cfg = self.state.config
        jitter = cfg.latency_jitter_ms * self.state.random() if cfg.latency_jitter_ms else 0.0
        return (cfg.latency_ms + jitter) / 1000.0

    def response(self, status: int, ctx: Context) -> GraphResponse:
        """The injected error in Graph's envelope (§2.2)."""
        code, message = _FAULT_BODIES[status]
        headers = {}
        retry = self.state.config.fault_retry_after_s
        if status == 503 and retry is not None:
            headers["Retry-After"] = f"{retry:g}"
        return GraphError(status, code, message, headers=headers).response(ctx)

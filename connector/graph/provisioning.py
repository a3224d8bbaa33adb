"""Entra's API-driven inbound provisioning endpoints (api-driven-inbound.md §1, §2): the
job's status and schema, ``bulkUpload``, and the provisioning logs, through the same
tenant, token and HTTP policy as :class:`~.client.GraphClient` (it borrows its client).

- :class:`BulkUploadTarget` reads the "Provisioning API Endpoint" an admin copies from the
  portal (``…/servicePrincipals/{id}/synchronization/jobs/{jobId}/bulkUpload``, v1.0 or
  beta) and refuses one on another host than the tenant's Graph: the token must never go
  anywhere else.
- :meth:`ProvisioningClient.upload` posts one BulkRequest as ``application/scim+json``,
  paced to ``rate_limit`` requests per ``rate_window`` seconds (40 per 5 s, E3) and retried
  by :mod:`connector.http`'s policy (429 waits its ``Retry-After``; 5xx and dropped
  connections are sent again: a record posted twice is matched to the same user by its
  externalId, so it cannot be created twice). ``before_send`` is asked before every
  attempt, retries included (each one uses the job's daily quota); when it says no, the
  request is not sent.
- :meth:`ProvisioningClient.logs` reads ``/auditLogs/provisioning`` for the job since a
  moment, following every page.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from connector.errors import ConfigError, GraphError
from connector.http import Verdict, send_with_retries

from .client import GraphClient
from .envelope import graph_error
from .paging import iter_pages, odata_string

log = logging.getLogger(__name__)

_PATH = re.compile(r"^/(?P<version>v1\.0|beta)/servicePrincipals/(?P<sp>[0-9A-Fa-f-]{36})/"
                   r"synchronization/jobs/(?P<job>[A-Za-z0-9._-]+)/bulkUpload/?$")
SCIM_JSON = "application/scim+json"


@dataclass(frozen=True)
class BulkUploadTarget:
    """A provisioning job's bulkUpload endpoint, taken apart."""

    url: str
    root: str  # https://host/v1.0 or https://host/beta
    service_principal: str
    job_id: str

    @classmethod
    def parse(cls, url: str, *, graph_base: str, name: str = "--bulk-upload-url"
              ) -> BulkUploadTarget:
        """Check ``url`` against the tenant's Graph (``graph_base``: ``https://host/v1.0``);
        a ``ConfigError`` naming ``name`` says what is wrong."""
        text = url.strip()
        parts = urlsplit(text)
        example = ("https://graph.microsoft.com/v1.0/servicePrincipals/{id}/synchronization/"
                   "jobs/{jobId}/bulkUpload")
        match = _PATH.match(parts.path)
        if parts.scheme != "https" or not parts.netloc or parts.query or parts.fragment \
                or match is None:
            raise ConfigError(f"{name} must be the job's Provisioning API Endpoint from the "
                              f"portal, such as {example}, not {url!r}")
        graph = urlsplit(graph_base)
        if parts.netloc.lower() != graph.netloc.lower():
            raise ConfigError(f"{name} is on {parts.netloc}, but the tenant's Graph is "
                              f"{graph.netloc}: the token is only ever sent to the tenant's "
                              "Graph (for the sandbox, use the URL `hr-connector sandbox job` "
                              "prints)")
        return cls(text, f"https://{parts.netloc}/{match['version']}", match["sp"].lower(),
                   match["job"])

    @property
    def job_url(self) -> str:
        """``…/servicePrincipals/{sp}/synchronization/jobs/{job}``."""
        return (f"{self.root}/servicePrincipals/{self.service_principal}/synchronization/"
                f"jobs/{self.job_id}")


@dataclass(frozen=True)
class JobStatus:
    """A job's ``status.code`` (Active, Paused, Quarantine, NotRun, NotConfigured) and,
    in quarantine, its reason."""

    code: str
    reason: str | None = None

    @property
    def running(self) -> bool:
        """Whether uploads are processed now."""
        return self.code == "Active"


@dataclass(frozen=True)
class JobSchema:
    """What a job's schema says: every attribute its directories hold, and the source
    attributes its mapping rules read."""

    attributes: frozenset[str]
    mapped: frozenset[str]


@dataclass
class Uploaded:
    """How one bulk request went: ``accepted`` (202), or the error; ``sent`` is False when
    ``before_send`` refused it before its first attempt."""

    accepted: bool
    sent: bool = True
    status: int | None = None
    request_id: str | None = None
    #: The server's ``Date`` of the answer (its clock, for filtering its logs).
    date: float | None = None
    error: GraphError | None = None
    attempts: int = 0
    throttled: int = 0


class _NotSent(Exception):
    """``before_send`` refused an attempt."""


@dataclass
class WindowPacer:
    """At most ``limit`` sends per rolling ``window`` seconds (time injected). The window
    is the service's 5 s plus 0.2 s: a request counts when it arrives there, a little after
    we send it, and an early one would be a 429 that still uses the daily budget."""

    limit: int = 40
    window: float = 5.2
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    sent: deque[float] = field(default_factory=deque)

    def wait(self) -> None:
        """Block until one more send fits, then count it."""
        while True:
            now = self.clock()
            while self.sent and self.sent[0] <= now - self.window:
                self.sent.popleft()
            if len(self.sent) < self.limit:
                self.sent.append(now)
                return
            self.sleep(self.sent[0] + self.window - now)


class ProvisioningClient:
    """The job behind one bulkUpload URL, reached through ``graph``'s HTTP client."""

    def __init__(self, graph: GraphClient, target: BulkUploadTarget, *,
                 pacer: WindowPacer | None = None) -> None:
        self.graph = graph
        self.target = target
        self.pacer = pacer or WindowPacer(clock=graph.clock, sleep=graph.sleep)

    def job_status(self) -> JobStatus:
        """``GET …/jobs/{id}``: the job's status."""
        body = self._get(self.target.job_url, "read the provisioning job")
        status = body.get("status") if isinstance(body.get("status"), Mapping) else {}
        assert isinstance(status, Mapping)
        quarantine = status.get("quarantine")
        reason = None
        if isinstance(quarantine, Mapping):
            error = quarantine.get("error")
            reason = str(quarantine.get("reason") or "") or None
            if isinstance(error, Mapping) and error.get("message"):
                reason = f"{reason}: {error['message']}" if reason else str(error["message"])
        return JobStatus(str(status.get("code") or "NotConfigured"), reason)

    def schema(self) -> JobSchema:
        """``GET …/jobs/{id}/schema``: attribute names and what the mapping reads."""
        body = self._get(f"{self.target.job_url}/schema", "read the job's schema")
        names: set[str] = set()
        for directory in body.get("directories") or []:
            for obj in (directory.get("objects") or []) if isinstance(directory, dict) else []:
                for attribute in (obj.get("attributes") or []) if isinstance(obj, dict) else []:
                    if isinstance(attribute, dict) and attribute.get("name"):
                        names.add(str(attribute["name"]))
        mapped: set[str] = set()
        for rule in body.get("synchronizationRules") or []:
            for mapping in (rule.get("objectMappings") or []) if isinstance(rule, dict) else []:
                for item in (mapping.get("attributeMappings") or []) \
                        if isinstance(mapping, dict) else []:
                    source = item.get("source") if isinstance(item, dict) else None
                    if isinstance(source, dict):
                        mapped.update(_source_names(source))
        return JobSchema(frozenset(names), frozenset(mapped))

    def upload(self, body: Mapping[str, Any], *,
               before_send: Callable[[], bool] = lambda: True) -> Uploaded:
        """Post one BulkRequest (see the module docstring)."""
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        result = Uploaded(accepted=False)

        def send() -> httpx.Response:
            self.pacer.wait()
            if not before_send():
                raise _NotSent
            result.attempts += 1
            return self.graph.http.post(f"{self.target.root}{self._bulk_path}", content=content,
                                        headers={"Content-Type": SCIM_JSON})

        def retrying(verdict: Verdict, delay: float) -> None:
            result.throttled += verdict.throttled
            log.info("bulkUpload: %s, retrying in %.1f s", verdict.reason, delay)

        try:
            outcome = send_with_retries(send, self.graph.policy, sleep=self.graph.sleep,
                                        wall_clock=self.graph.wall_clock, on_retry=retrying)
        except _NotSent:
            result.sent = result.attempts > 0
            return result
        subject = outcome.subject
        if isinstance(subject, httpx.Response):
            result.status = subject.status_code
            result.request_id = subject.headers.get("request-id")
            result.date = _date(subject.headers.get("Date"))
        if outcome.verdict.ok:
            result.accepted = True
        else:
            result.error = graph_error(subject, "bulkUpload", outcome.verdict)
            if outcome.gave_up:
                result.error.message += f" ({outcome.gave_up})"
        return result

    def logs(self, since: str) -> Iterator[dict[str, Any]]:
        """Every provisioning-log entry of the job at or after ``since`` (ISO 8601 UTC),
        page after page (v1.0: ``provisioningStatusInfo``)."""
        params = {"$filter": f"jobId eq {odata_string(self.target.job_id)} and "
                             f"activityDateTime ge {since}"}

        def fetch(url: str, query: Mapping[str, str] | None) -> dict[str, Any]:
            body = self.graph.request("GET", url, label="read the provisioning logs",
                                      params=query).json()
            return body if isinstance(body, dict) else {}

        for page in iter_pages(fetch, f"{self.graph.graph_base}/auditLogs/provisioning",
                               params):
            yield from page

    @property
    def _bulk_path(self) -> str:
        return self.target.job_url[len(self.target.root):] + "/bulkUpload"

    def _get(self, url: str, label: str) -> dict[str, Any]:
        body = self.graph.request("GET", url, label=label).json()
        return body if isinstance(body, dict) else {}


def _source_names(source: Mapping[str, Any]) -> set[str]:
    """Attribute names an attributeMappingSource reads (its parameters' too)."""
    names = {str(source["name"])} if source.get("type") == "Attribute" and source.get(
        "name") else set()
    for parameter in source.get("parameters") or []:
        value = parameter.get("value") if isinstance(parameter, dict) else None
        if isinstance(value, dict):
            names |= _source_names(value)
    expression = source.get("expression")
    if isinstance(expression, str):
        names |= set(re.findall(r"\[([^\]]+)\]", expression))
    return names


def _date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None

"""The provisioning endpoints of the sandbox (api-driven-inbound.md §1, §2, §9), for v1.0
and beta alike:

- ``POST /servicePrincipals/{sp}/synchronization/jobs/{job}/bulkUpload``: Content-Type
  ``application/scim+json`` (else 400 ``Invalid Data Format``), a BulkRequest of 1..50
  POST operations on ``/Users``, each with a bulkId and a SCIM User holding the core and
  enterprise schemas and an externalId (else 400); at most ``bulk_rate_limit`` requests per
  ``bulk_rate_window_s`` and ``bulk_daily_limit`` per 24 h (429 with Retry-After; a
  throttled request counts too); 202 with an empty body and a ``Location`` to the job's
  logs. An active job processes the upload at once; a paused or quarantined one keeps it
  until it runs again (so nothing appears in the logs meanwhile, E3).
- ``GET …/jobs/{job}``: the synchronizationJob with ``status.code`` (Active, Paused,
  Quarantine, NotRun) and, in quarantine, ``status.quarantine.reason``.
- ``GET …/jobs/{job}/schema``: :func:`.schema.schema_document`.
- ``GET /auditLogs/provisioning``: entries visible ``provisioning_log_lag_s`` after
  processing; ``$filter`` with ``eq``/``ne`` on jobId, cycleId, changeId, sourceIdentity/id,
  servicePrincipal/id, provisioningAction, (provisioning)statusInfo/status and ``ge``/``gt``/
  ``le``/``lt`` on activityDateTime, joined by ``and``; ``$top`` and ``$skiptoken`` paging.

Permissions (application): bulkUpload needs ``SynchronizationData-User.Upload`` (or
``.OwnedBy``), the job and its schema ``Synchronization.Read.All`` (or ``.ReadWrite.All``),
the logs ``AuditLog.Read.All``; otherwise 403.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from ..envelope import Context, GraphError, GraphRequest, GraphResponse, iso_z, throttled_response
from ..graph import build_link, query_fingerprint
from ..state import SandboxState
from .engine import Engine
from .schema import CORE, ENTERPRISE, schema_document
from .store import ProvisioningStore

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
_UPLOAD = frozenset({"SynchronizationData-User.Upload", "SynchronizationData-User.Upload.OwnedBy"})
_READ_JOB = frozenset({"Synchronization.Read.All", "Synchronization.ReadWrite.All"})
_READ_LOGS = frozenset({"AuditLog.Read.All"})
_DAY = 24 * 3600.0
_JOB_PATH = re.compile(r"^servicePrincipals/([^/]+)/synchronization/jobs/([^/]+)(?:/(\w+))?$")
_CLAUSE = re.compile(r"^\s*([A-Za-z/]+)\s+(eq|ne|ge|gt|le|lt)\s+(.+?)\s*$")
_FIELDS = {
    "jobid": ("jobId",), "cycleid": ("cycleId",), "changeid": ("changeId",),
    "provisioningaction": ("provisioningAction",),
    "sourceidentity/id": ("sourceIdentity", "id"),
    "serviceprincipal/id": ("servicePrincipal", "id"),
    "statusinfo/status": ("provisioningStatusInfo", "status"),
    "provisioningstatusinfo/status": ("provisioningStatusInfo", "status"),
    "activitydatetime": ("activityDateTime",),
}


def _denied() -> GraphError:
    return GraphError(403, "Authorization_RequestDenied",
                      "Insufficient privileges to complete the operation.")


def _need(ctx: Context, roles: frozenset[str]) -> None:
    if not ctx.roles & roles:
        raise _denied()


class Provisioning:
    """The provisioning surface of one sandbox."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.store = ProvisioningStore(state.store)
        self.ids = self.store.ids
        self.engine = Engine(state, self.ids.service_principal, self.ids.job)

    @staticmethod
    def handles(path: str) -> bool:
        """Whether a path below the version root is one of ours."""
        path = path.strip("/")
        return path.startswith("servicePrincipals/") or path.lower() == "auditlogs/provisioning"

    def bulk_url(self, root: str) -> str:
        """The job's "Provisioning API Endpoint" under a Graph version root."""
        return (f"{root}/servicePrincipals/{self.ids.service_principal}/synchronization/jobs/"
                f"{self.ids.job}/bulkUpload")

    def execute(self, req: GraphRequest, ctx: Context, version: str = "v1.0") -> GraphResponse:
        """Answer one request below ``/{version}`` (errors as Graph's envelope)."""
        try:
            return self._route(req, ctx, version)
        except GraphError as error:
            return error.response(ctx)

    def _route(self, req: GraphRequest, ctx: Context, version: str) -> GraphResponse:
        path, method = req.path.strip("/"), req.method.upper()
        if path.lower() == "auditlogs/provisioning":
            if method != "GET":
                raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not "
                                 "allowed for the request target.")
            return self.logs(req, ctx, version)
        match = _JOB_PATH.match(path)
        if not match:
            raise GraphError(400, "BadRequest", f"Resource not found for the segment "
                             f"'{path.split('/')[-1]}'.")
        sp, job, verb = match.groups()
        if sp.lower() != self.ids.service_principal or job != self.ids.job:
            raise GraphError(404, "Request_ResourceNotFound",
                             f"Resource '{job if sp.lower() == self.ids.service_principal else sp}'"
                             " does not exist or one of its queried reference-property objects "
                             "are not present.")
        allowed = {None: "GET", "schema": "GET", "bulkUpload": "POST"}
        if verb not in allowed or method != allowed[verb]:
            raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed "
                             "for the request target.")
        if verb == "bulkUpload":
            return self.bulk_upload(req, ctx, version)
        _need(ctx, _READ_JOB)
        if verb == "schema":
            return GraphResponse(200, schema_document(self.ids.job))
        return GraphResponse(200, self.job(ctx))

    # --- job --------------------------------------------------------------------------------
    def job(self, ctx: Context) -> dict[str, Any]:
        """The synchronizationJob resource (§2 Job status API)."""
        code, reason = self.store.status()
        status: dict[str, Any] = {
            "code": code, "countSuccessiveCompleteFailures": 0, "escrowsPruned": False,
            "lastExecution": None, "lastSuccessfulExecution": None,
            "lastSuccessfulExecutionWithExports": None, "progress": [], "quarantine": None,
            "steadyStateFirstAchievedTime": None, "steadyStateLastAchievedTime": None,
            "synchronizedEntryCountByType": [], "troubleshootingUrl": None}
        if code == "Quarantine":
            status["quarantine"] = {
                "currentBegan": iso_z(ctx.now), "nextAttempt": iso_z(ctx.now + 6 * 3600),
                "reason": reason or "QuarantineOnDemand", "seriesBegan": iso_z(ctx.now),
                "seriesCount": 1, "error": {"code": reason or "QuarantineOnDemand",
                                            "message": "The job is in quarantine.",
                                            "tenantActionable": True}}
        return {"id": self.ids.job, "templateId": "API2AAD",
                "schedule": {"expiration": None, "interval": "PT40M",
                             "state": "Paused" if code in ("Paused", "NotRun") else "Active"},
                "status": status,
                "synchronizationJobSettings": [
                    {"name": "QuarantineTooManyDeletesThreshold", "value": "500"}]}

    def set_status(self, code: str, reason: str | None = None, now: float = 0.0) -> None:
        """Pause, quarantine or start the job; starting processes what was staged."""
        self.store.set_status(code, reason)
        if code == "Active":
            for _received, body in self.store.take_staged():
                self._process(body, now)

    # --- bulkUpload -------------------------------------------------------------------------
    def bulk_upload(self, req: GraphRequest, ctx: Context, version: str) -> GraphResponse:
        """``POST …/bulkUpload`` (see the module docstring)."""
        _need(ctx, _UPLOAD)
        throttled = self._throttle(ctx)
        if throttled is not None:
            return throttled
        content_type = (req.headers.get_ci("content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/scim+json":
            raise GraphError(400, "BadRequest", "Invalid Data Format")
        try:
            body = json.loads(req.body or b"")
        except (ValueError, UnicodeDecodeError):
            body = None
        problem = _invalid(body)
        if problem is not None:
            raise GraphError(400, "BadRequest", "Request is unparsable, syntactically "
                             f"incorrect or violates the schema: {problem}")
        assert isinstance(body, dict)
        code, _ = self.store.status()
        if code == "Active":
            self._process(body, ctx.now)
        else:
            self.store.stage(body, ctx.now)
        location = (f"{self._root(ctx, version)}/auditLogs/provisioning/?$filter="
                    + quote(f"jobid eq '{self.ids.job}'", safe="'"))
        return GraphResponse(202, None, {"Location": location})

    def _process(self, body: dict[str, Any], now: float) -> None:
        entries = self.engine.process(body, now)
        self.store.add_entries(entries, now + self.state.config.provisioning_log_lag_s)

    def _throttle(self, ctx: Context) -> GraphResponse | None:
        cfg, now = self.state.config, ctx.now
        recent = self.store.requests_since(now - _DAY)
        self.store.record_request(now)  # a throttled call counts as well
        wait = None
        if cfg.bulk_throttle_next > 0:
            cfg.bulk_throttle_next -= 1
            wait = cfg.bulk_throttle_retry_after_s
        elif len(recent) >= cfg.bulk_daily_limit:
            wait = recent[len(recent) - cfg.bulk_daily_limit] + _DAY - now
        else:
            window = [t for t in recent if t > now - cfg.bulk_rate_window_s]
            if len(window) >= cfg.bulk_rate_limit:
                wait = window[len(window) - cfg.bulk_rate_limit] + cfg.bulk_rate_window_s - now
        if wait is None:
            return None
        self.state.stats["throttled"] += 1
        return throttled_response(ctx, str(max(1, int(wait + 0.999))), {})

    # --- provisioning logs ------------------------------------------------------------------
    def _root(self, ctx: Context, version: str) -> str:
        return f"{(self.state.config.public_base_url or ctx.base_url).rstrip('/')}/{version}"

    def logs(self, req: GraphRequest, ctx: Context, version: str) -> GraphResponse:
        """``GET /auditLogs/provisioning`` (see the module docstring)."""
        _need(ctx, _READ_LOGS)
        options = {k.lower(): v for k, v in req.query}
        clauses = _parse_filter(options.get("$filter", ""))
        top = options.get("$top")
        if top is not None and not (top.isdigit() and 1 <= int(top) <= 1000):
            raise GraphError(400, "BadRequest", f"Invalid value '{top}' for $top.")
        size = int(top) if top else self.state.config.provisioning_page_size
        pairs = [(k, v) for k, v in req.query if k.lower() != "$skiptoken"]
        fingerprint = query_fingerprint(pairs)
        after = 0
        if "$skiptoken" in options:
            token = self.state.signer.open(options["$skiptoken"])
            if token is None or token.get("k") != "prov" or token.get("q") != fingerprint:
                raise GraphError(400, "BadRequest", "Invalid $skiptoken value.")
            after = int(token["a"])
        page: list[tuple[int, dict[str, Any]]] = []
        more = False
        for seq, entry in self.store.entries(ctx.now, after):
            if not all(_holds(entry, c) for c in clauses):
                continue
            if len(page) == size:
                more = True
                break
            page.append((seq, entry))
        root = self._root(ctx, version)
        body: dict[str, Any] = {
            "@odata.context": f"{root}/$metadata#auditLogs/provisioning",
            "value": [entry for _, entry in page]}
        if more:
            skiptoken = self.state.signer.seal({"k": "prov", "q": fingerprint, "a": page[-1][0]})
            body["@odata.nextLink"] = build_link(root, "/auditLogs/provisioning",
                                                 [*pairs, ("$skiptoken", skiptoken)])
        return GraphResponse(200, body)


def _invalid(body: Any) -> str | None:
    """What makes a body not a BulkRequest the service takes (§1, §9), or None."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    if body.get("schemas") != [BULK]:
        return f"schemas must be ['{BULK}']"
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations:
        return "Operations must be a non-empty array"
    if len(operations) > 50:
        return f"{len(operations)} operations; at most 50 per request"
    seen: set[str] = set()
    for number, op in enumerate(operations, 1):
        if not isinstance(op, dict):
            return f"operation {number} is not an object"
        if op.get("method") != "POST" or op.get("path") != "/Users":
            return f"operation {number}: method must be POST and path /Users"
        bulk_id = op.get("bulkId")
        if not isinstance(bulk_id, str) or not bulk_id or bulk_id in seen:
            return f"operation {number}: bulkId must be a unique, non-empty string"
        seen.add(bulk_id)
        data = op.get("data")
        if not isinstance(data, dict):
            return f"operation {number}: data must be a SCIM User"
        schemas = data.get("schemas")
        if not isinstance(schemas, list) or CORE not in schemas or ENTERPRISE not in schemas:
            return f"operation {number}: data.schemas must hold the core and enterprise schemas"
        if not isinstance(data.get("externalId"), str) or not data["externalId"]:
            return f"operation {number}: data.externalId is required"
    return None


def _parse_filter(text: str) -> list[tuple[tuple[str, ...], str, str]]:
    clauses = []
    for part in [p for p in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE) if p]:
        match = _CLAUSE.match(part)
        field = _FIELDS.get(match.group(1).lower()) if match else None
        if match is None or field is None:
            raise GraphError(400, "BadRequest", f"Invalid filter clause: {part!r}")
        operator, value = match.group(2), match.group(3)
        if value.startswith("'") and value.endswith("'"):
            value = value[1:-1].replace("''", "'")
        elif field != ("activityDateTime",):
            raise GraphError(400, "BadRequest", f"Invalid filter clause: {part!r}")
        if field == ("activityDateTime",):
            if operator in ("eq", "ne") or _moment(value) is None:
                raise GraphError(400, "BadRequest", f"Invalid filter clause: {part!r}")
        elif operator not in ("eq", "ne"):
            raise GraphError(400, "BadRequest", f"Invalid filter clause: {part!r}")
        clauses.append((field, operator, value))
    return clauses


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _holds(entry: dict[str, Any], clause: tuple[tuple[str, ...], str, str]) -> bool:
    field, operator, wanted = clause
    value: Any = entry
    for part in field:
        value = value.get(part) if isinstance(value, dict) else None
    if field == ("activityDateTime",):
        have, bound = _moment(str(value or "")), _moment(wanted)
        if have is None or bound is None:
            return False
        return {"ge": have >= bound, "gt": have > bound, "le": have <= bound,
                "lt": have < bound}[operator]
    equal = value == wanted  # filters are case-sensitive (§2)
    return equal if operator == "eq" else not equal

"""Knobs of the sandbox tenant.

One :class:`SandboxConfig` object is shared by a running sandbox. Tests change it in-process
(``server.config.replication_lag_ms = 500``; assignments are validated) or over HTTP with
``PATCH /_sandbox/config`` on a running server. Every knob defaults to the faithful behaviour
described in ``graph.md``; the fault knobs default to "off".

Sections cited as §N refer to ``/work/shared/reference/graph.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: The Graph resource; tokens are only issued for ``{GRAPH_RESOURCE}/.default`` (§7.1, §7.4).
GRAPH_RESOURCE = "https://graph.microsoft.com"
#: Graph's well-known application id, accepted as an alternative resource identifier.
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

#: Application permissions (app roles) a token carries unless configured otherwise.
DEFAULT_APP_ROLES: tuple[str, ...] = (
    "User.ReadWrite.All",
    "User-LifeCycleInfo.ReadWrite.All",
    "User-PasswordProfile.ReadWrite.All",
    # API-driven inbound provisioning (api-driven-inbound.md §1, §2).
    "SynchronizationData-User.Upload",
    "Synchronization.Read.All",
    "AuditLog.Read.All",
    "Group.ReadWrite.All",
    "GroupMember.ReadWrite.All",
)


def default_state_dir() -> Path:
    """The directory holding the sandbox database and its TLS material (``~/.hr-connector``)."""
    return Path.home() / ".hr-connector"


def default_state_path() -> Path:
    """The default SQLite database of the sandbox (``~/.hr-connector/sandbox.db``)."""
    return default_state_dir() / "sandbox.db"


class SandboxConfig(BaseModel):
    """Behaviour switches of the sandbox (all mutable at run time, validated on assignment)."""

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    # --- Identity platform (§7) -------------------------------------------------------------
    #: client_id -> secret. Empty: any client id and any secret are accepted. Non-empty: other
    #: client ids get AADSTS700016, wrong secrets AADSTS7000215 (401 invalid_client, §7.4).
    client_secrets: dict[str, str] = Field(default_factory=dict)
    #: When False only the tenant id, its domains, "common" and "organizations" are tenants;
    #: anything else answers AADSTS90002 on discovery and on the token endpoint.
    accept_any_tenant: bool = True
    #: ``expires_in`` of issued tokens. msal reuses a cached token only while it has more
    #: than 300 s left (§7.3), so values <= 300 make msal fetch a new token every time.
    token_lifetime_s: int = Field(default=3599, ge=1)
    #: App roles written into issued tokens and checked by the Graph endpoints (403 otherwise).
    app_roles: list[str] = Field(default_factory=lambda: list(DEFAULT_APP_ROLES))
    #: Tokens issued before this epoch time answer 401 "token is expired" (set by
    #: ``POST /_sandbox/expire-tokens``) so client refresh-on-401 logic can be exercised.
    tokens_not_before: float = 0.0
    #: The next N token requests answer HTTP 503 (msal raises on token 5xx, §7.3).
    token_fault_next: int = Field(default=0, ge=0)

    # --- Graph surface ----------------------------------------------------------------------
    #: Base URL echoed in ``@odata.context``/nextLink/deltaLink (§8). None: the request's own
    #: base URL, so links are always followable.
    public_base_url: str | None = None
    #: Page size without ``$top`` (§4.1) and page size of delta pages.
    default_page_size: int = Field(default=100, ge=1, le=999)
    #: Every Nth ``GET /users`` page answers ``value: []`` with a nextLink to the same position
    #: ("a page can hold zero items and still have a nextLink", §4.4). 0 = off.
    empty_page_every_n: int = Field(default=0, ge=0)
    #: Whether a soft-deleted user's UPN still blocks re-use (§3.4: not documented; "free").
    soft_deleted_upn_blocks: bool = False
    #: Directory extension properties (``extension_{appId}_{name}``) registered in the tenant
    #: (§1.3); any other extension name is rejected.
    extension_properties: list[str] = Field(default_factory=list)
    #: Shuffle ``$batch`` responses (seeded) since Graph may answer out of order (§5).
    batch_shuffle_responses: bool = True
    #: Outer status of a ``$batch`` in which some item was throttled: 200 (what maintainers
    #: report) or 424 (what [THR] claims), §5.
    batch_throttled_outer_status: Literal[200, 424] = 200
    #: The next N calls carrying a delta token answer 410 Gone + Location (§4.6).
    delta_reset_next: int = Field(default=0, ge=0)
    #: Life of delta tokens (7 days for directory objects, §4.6).
    delta_token_lifetime_s: float = Field(default=7 * 24 * 3600.0, gt=0)

    # --- Replication lag (§8) ---------------------------------------------------------------
    #: A just-created user answers 404 for this long on key-addressed calls (GET/PATCH/DELETE,
    #: manager as target or as manager) and is missing from lists and delta.
    replication_lag_ms: int = Field(default=0, ge=0)
    #: Extra random lag 0..N ms per created user (seeded RNG), for soak tests.
    replication_lag_jitter_ms: int = Field(default=0, ge=0)
    #: A just-created user answers 404 to the next N key-addressed calls aimed at it.
    replication_lag_requests: int = Field(default=0, ge=0)

    # --- Throttling (§6.1, §6.4) ------------------------------------------------------------
    throttle_enabled: bool = True
    #: Tenant size for the resource-unit quota; "auto" counts the tenant's users (§6.1).
    tenant_size: Literal["auto", "S", "M", "L"] = "auto"
    ru_quota_small: int = Field(default=3500, ge=1)
    ru_quota_medium: int = Field(default=5000, ge=1)
    ru_quota_large: int = Field(default=8000, ge=1)
    ru_window_s: float = Field(default=10.0, gt=0)
    #: Write quota per application + tenant (3,000 requests / 2 min 30 s).
    write_quota: int = Field(default=3000, ge=1)
    write_window_s: float = Field(default=150.0, gt=0)
    #: Application (all tenants) and tenant (all applications) scopes.
    app_ru_quota: int = Field(default=150_000, ge=1)
    app_ru_window_s: float = Field(default=20.0, gt=0)
    app_write_quota: int = Field(default=35_000, ge=1)
    app_write_window_s: float = Field(default=300.0, gt=0)
    tenant_write_quota: int = Field(default=18_000, ge=1)
    tenant_write_window_s: float = Field(default=300.0, gt=0)
    #: Deterministic switch: the next N Graph operations (batch items count) answer 429.
    throttle_next: int = Field(default=0, ge=0)
    #: Each Graph operation answers 429 with this probability, whatever the buckets hold:
    #: isolated throttling ("429s are also possible below the limits under load", §6.1).
    throttle_probability: float = Field(default=0.0, ge=0.0, le=1.0)
    #: Retry-After sent with ``throttle_next`` and ``throttle_probability`` 429s.
    throttle_next_retry_after_s: float = Field(default=1.0, ge=0)
    #: Send Retry-After as a decimal ("2.128", an older documented form, §6.2) instead of an
    #: integer, to check that clients parse both.
    retry_after_decimal: bool = False

    # --- Injected faults and latency --------------------------------------------------------
    #: Seed of the RNG behind every probability and jitter knob.
    seed: int = 0
    #: Status of injected server errors (§6.3: clients retry 503 and 504; 500 is fatal).
    fault_status: Literal[500, 502, 503, 504] = 503
    #: The next N Graph operations fail with ``fault_status``.
    fault_next: int = Field(default=0, ge=0)
    #: Every Nth Graph operation fails (0 = off).
    fault_every_n: int = Field(default=0, ge=0)
    #: Each Graph operation fails with this probability.
    fault_probability: float = Field(default=0.0, ge=0.0, le=1.0)
    #: Retry-After seconds to send with injected 503s (None: no header, §6.3).
    fault_retry_after_s: float | None = None
    #: Execute the operation, then answer the fault ("a 5xx after a create may have
    #: succeeded", §6.3), instead of failing before any change.
    fault_after_commit: bool = False
    #: Dropped connections: the server closes the connection without any response.
    drop_next: int = Field(default=0, ge=0)
    drop_every_n: int = Field(default=0, ge=0)
    drop_probability: float = Field(default=0.0, ge=0.0, le=1.0)
    drop_after_commit: bool = False
    #: Added latency per Graph HTTP request (plus 0..jitter ms, seeded).
    latency_ms: int = Field(default=0, ge=0)
    latency_jitter_ms: int = Field(default=0, ge=0)

    # --- API-driven inbound provisioning (api-driven-inbound.md §1, §2, §9) ----------------
    #: Seconds between the engine processing a record and its log entry appearing (Entra:
    #: 5-10 minutes, §2; short here so a demo sees its results).
    provisioning_log_lag_s: float = Field(default=2.0, ge=0)
    #: Entries per page of ``GET /auditLogs/provisioning`` without ``$top``.
    provisioning_page_size: int = Field(default=100, ge=1, le=1000)
    #: bulkUpload requests per rolling window (40 per 5 s, §1 Limits, E3) ...
    bulk_rate_limit: int = Field(default=40, ge=1)
    bulk_rate_window_s: float = Field(default=5.0, gt=0)
    #: ... and per 24 hours (6,000, E3); throttled requests count too.
    bulk_daily_limit: int = Field(default=6000, ge=1)
    #: Deterministic switch: the next N bulkUpload requests answer 429 with this Retry-After.
    bulk_throttle_next: int = Field(default=0, ge=0)
    bulk_throttle_retry_after_s: float = Field(default=1.0, ge=0)

    def update(self, changes: dict[str, object]) -> None:
        """Apply several changes at once, validating all of them before changing anything."""
        merged = self.model_dump()
        merged.update(changes)
        checked = SandboxConfig.model_validate(merged)
        for name in changes:
            setattr(self, name, getattr(checked, name))

    @classmethod
    def for_tests(cls, **changes: object) -> SandboxConfig:
        """A config for unit tests: no throttling, no shuffling surprises beyond the defaults."""
        config = cls(throttle_enabled=False)
        config.update(dict(changes))
        return config

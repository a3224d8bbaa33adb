"""The configuration file: one YAML file for unattended runs, the drop folder and the
upload page (a commented example is in the README).

Secrets are never written in it: a secret is a reference, ``{env: NAME}`` or
``{file: PATH}``, resolved when it is needed, and never shown in a message.

Relative paths are relative to the configuration file's folder, so a config and its
mapping can travel together. Only the fields declared as paths (typed :data:`ConfigPath`)
are resolved, never a value because of its key's name: an HR API's ``paging: {path:
links.next}`` stays the JSON path it is. Secret references inside an HR API's
``settings`` are resolved against the same folder when they are read
(:meth:`Config.secret_resolver`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from connector.errors import ConfigError
from connector.mapping.yaml_errors import yaml_problem

#: The validation context key naming the folder relative paths are relative to.
BASE = "base"


def _from_base(value: Path, info: ValidationInfo) -> Path:
    """A declared path: ``~`` expanded, and a relative one joined to the folder the
    validation context names (the configuration file's; none: left relative)."""
    value = value.expanduser()
    base = (info.context or {}).get(BASE) if isinstance(info.context, Mapping) else None
    if value.is_absolute() or not isinstance(base, Path) or not str(value):
        return value
    return base / value


#: A file or folder named in the configuration: relative to the configuration's folder.
ConfigPath = Annotated[Path, AfterValidator(_from_base)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Strict):
    """Where a secret is: an environment variable or a file (first line, trimmed)."""

    env: str | None = None
    file: ConfigPath | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("a secret is {env: VARIABLE} or {file: PATH}, exactly one")
        return self

    def resolve(self) -> str:
        """The secret's value; ``ConfigError`` (naming where, not what) when unavailable."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise ConfigError(f"the environment variable {self.env} (a secret named in "
                                  "the configuration) is not set")
            return value
        assert self.file is not None
        try:
            text = self.file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"the secret file {self.file} cannot be read: "
                              f"{exc.strerror}") from None
        if not text:
            raise ConfigError(f"the secret file {self.file} is empty")
        return text


def resolve_setting(value: Any, *, base: Path | None = None) -> str:
    """A secret setting's value: ``{env: NAME}`` or ``{file: PATH}`` (a relative PATH
    joined to ``base``); plain text is refused, because configuration files get shared.
    ``ConfigError`` names what is wrong, never the value."""
    if isinstance(value, str):
        raise ConfigError("must not be written in the settings: use {env: NAME} or "
                          "{file: PATH}")
    if isinstance(value, Mapping):
        try:
            ref = SecretRef.model_validate(dict(value), context={BASE: base})
        except ValueError:
            raise ConfigError("must be {env: NAME} or {file: PATH}, exactly one") from None
        return ref.resolve()
    raise ConfigError("must be {env: NAME} or {file: PATH}")


def _no_inline_secret(value: Any, what: str) -> Any:
    if isinstance(value, str):
        raise ValueError(f"{what} must not be written in the file: use {{env: NAME}} or "
                         "{file: PATH}")
    return value


class Certificate(_Strict):
    """A client certificate: a PEM file with key and certificate, and its password."""

    path: ConfigPath
    password: SecretRef | None = None


class TenantConfig(_Strict):
    """The Entra tenant (``tenant: sandbox`` instead names the local sandbox tenant)."""

    tenant_id: str
    client_id: str
    client_secret: SecretRef | None = None
    certificate: Certificate | None = None
    authority_host: str | None = None
    graph_url: str | None = None
    scope: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _secret_by_reference(cls, data: Any) -> Any:
        if isinstance(data, dict) and "client_secret" in data:
            _no_inline_secret(data["client_secret"], "client_secret")
        return data

    @model_validator(mode="after")
    def _one_credential(self) -> TenantConfig:
        if (self.client_secret is None) == (self.certificate is None):
            raise ValueError("give exactly one of client_secret or certificate")
        return self

    def settings_overrides(self) -> dict[str, Any]:
        """What ``GraphSettings.from_env`` takes, secrets resolved now."""
        values: dict[str, Any] = {"tenant_id": self.tenant_id, "client_id": self.client_id,
                                  "authority_host": self.authority_host,
                                  "graph_url": self.graph_url, "scope": self.scope}
        if self.client_secret is not None:
            values["client_secret"] = self.client_secret.resolve()
        if self.certificate is not None:
            values["certificate_path"] = str(self.certificate.path)
            if self.certificate.password is not None:
                values["certificate_password"] = self.certificate.password.resolve()
        return {k: v for k, v in values.items() if v is not None}


class FolderSource(_Strict):
    """An HR drop folder: each new file is processed once, in arrival order."""

    path: ConfigPath
    stable_seconds: float = Field(default=10.0, ge=0,
                                  description="a file must keep its size this long")
    require_ready_marker: bool = Field(
        default=False, description="only pick up FILE once FILE.ready exists")


class ApiSource(_Strict):
    """An HR system's REST API (see the README for each preset's settings)."""

    preset: Literal["generic", "bamboohr", "personio"] = "generic"
    settings: dict[str, Any] = Field(default_factory=dict)


class SourceConfig(_Strict):
    """Where the HR data comes from: exactly one of file, folder or api."""

    file: ConfigPath | None = None
    folder: FolderSource | None = None
    api: ApiSource | None = None
    sheet: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SourceConfig:
        given = [n for n in ("file", "folder", "api") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("the source needs exactly one of file, folder or api"
                             + (f" (it has {', '.join(given)})" if given else ""))
        return self


class Policies(_Strict):
    """What a run may change (the sync command's options of the same names)."""

    dry_run: bool = False
    partial_feed: bool | None = Field(
        default=None, description="override the mapping: true = absence means nothing")
    prehire_days: int = Field(default=14, ge=0)
    max_disables: int = Field(default=50, ge=0)
    max_disables_percent: float = Field(default=10.0, ge=0)
    max_changes: int = Field(default=1000, ge=0)
    max_changes_percent: float = Field(default=30.0, ge=0)
    min_source_percent: float = Field(default=50.0, ge=0)
    max_member_removals: int = Field(default=100, ge=0)
    max_member_removals_percent: float = Field(default=30.0, ge=0)
    default_domain: str | None = None
    allow_absent_disables: bool = Field(
        default=False, description="disable users missing from a full export even while a "
                                   "row has no usable key (blank or repeated)")


class ScimTarget(_Strict):
    """An API-driven inbound provisioning job to post to (with a ``target: scim`` mapping)
    instead of writing users through Graph; the same tenant credentials."""

    bulk_upload_url: str = Field(description="the job's Provisioning API Endpoint")
    full: bool = Field(default=False, description="send every record, changed or not")
    wait_minutes: float = Field(default=20.0, ge=0,
                                description="how long to wait for Entra's outcomes")
    payloads: ConfigPath | None = Field(default=None,
                                  description="write every bulk request to this folder")


class Paths(_Strict):
    """Where runs, reports and logs go (default: the state directory)."""

    state: ConfigPath | None = None
    reports: ConfigPath | None = None


class Retention(_Strict):
    """How long what the connector keeps is kept (the README's "Retention" says what goes
    when). HR files hold personal data, so they have their own, shorter, limit."""

    runs_days: int = Field(default=90, ge=1, description="run logs and reports")
    hr_files_days: int = Field(
        default=30, ge=1, description="HR files the drop folder processed or rejected, and "
                                      "uploads to the upload page")


class DeltaConfig(_Strict):
    """How runs read the tenant: Graph's delta since the last run, with a full read every
    ``full_read_days`` (0: every run reads in full)."""

    full_read_days: int = Field(default=7, ge=0)


class Account(_Strict):
    """A person who may use the upload page."""

    name: str
    password_hash: str = Field(description="from `hr-connector serve hash-password`")
    roles: list[Literal["uploader", "approver", "admin"]] = Field(min_length=1)


class ServeConfig(_Strict):
    """The HR upload page (``hr-connector serve``)."""

    accounts: list[Account] = Field(default_factory=list)
    allow_self_approval: bool = False
    max_upload_mb: float = Field(default=20.0, gt=0)
    session_secret: SecretRef | None = None


ReportFormat = Literal["json", "html", "csv", "md", "xlsx"]

#: What a configuration without a usable ``tenant:`` is told.
TENANT_HELP = ("say which tenant to write to: 'tenant: sandbox' for the local sandbox "
               "tenant (trials, tests), or a section with tenant_id, client_id and "
               "client_secret or certificate for Entra ID")
# Tags of the two kinds of tenant; messages leave them out of where a problem is.
_ENTRA, _SANDBOX = "<entra>", "<sandbox>"
Tenant = Annotated[
    Annotated[TenantConfig, Tag(_ENTRA)] | Annotated[Literal["sandbox"], Tag(_SANDBOX)],
    Discriminator(lambda value: _SANDBOX if isinstance(value, str) else _ENTRA)]


def _default_reports() -> list[ReportFormat]:
    return ["json", "html"]


class Config(_Strict):
    """A whole configuration file."""

    version: Literal[1] = 1
    #: Required: a configuration never falls back to the sandbox silently.
    tenant: Tenant
    source: SourceConfig | None = None
    mapping: ConfigPath = Path("mappings/default.yaml")
    parameters: dict[str, str] = Field(default_factory=dict)
    policies: Policies = Field(default_factory=Policies)
    reports: list[ReportFormat] = Field(default_factory=_default_reports)
    #: None: write users through Graph; an API-driven provisioning job: post to it.
    target: ScimTarget | None = None
    paths: Paths = Field(default_factory=Paths)
    retention: Retention = Field(default_factory=Retention)
    delta: DeltaConfig = Field(default_factory=DeltaConfig)
    serve: ServeConfig = Field(default_factory=ServeConfig)
    file: Path = Field(default=Path("."), exclude=True)

    @property
    def entra_tenant(self) -> TenantConfig | None:
        """The Entra tenant's settings; None when the configuration says ``tenant: sandbox``."""
        return self.tenant if isinstance(self.tenant, TenantConfig) else None

    @property
    def folder(self) -> Path:
        """The folder relative paths in the configuration are relative to: the file's
        (the working folder for a configuration not read from a file)."""
        return self.file.resolve().parent if self.file.name else Path.cwd()

    def secret_resolver(self) -> Callable[[Any], str]:
        """Turns a secret reference met in an HR API's settings into its value, a relative
        ``{file: PATH}`` read from this configuration's folder (:func:`resolve_setting`)."""
        folder = self.folder
        return lambda value: resolve_setting(value, base=folder)

    @field_validator("tenant", mode="before")
    @classmethod
    def _tenant_chosen(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and value.strip() != "sandbox"):
            raise ValueError(TENANT_HELP)
        return value.strip() if isinstance(value, str) else value


def load_config(path: str | Path) -> Config:
    """Read and validate a configuration file; every problem is listed in one error."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"configuration file {path} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"configuration file {path} is not UTF-8 text (byte {exc.start + 1}"
                          "); save it as UTF-8") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration file {path}: YAML syntax error: "
                          f"{yaml_problem(exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"configuration file {path} must be a YAML mapping of keys to values")
    data = dict(raw)
    if isinstance(data.get("parameters"), dict):
        # A blank value stays empty (never the text "None"); the mapping then says that a
        # parameter it uses is empty.
        data["parameters"] = {k: "" if v is None else str(v)
                              for k, v in data["parameters"].items()}
    try:
        return Config.model_validate({**data, "file": path},
                                     context={BASE: path.resolve().parent})
    except ValidationError as exc:
        problems = "\n".join(f"  {_where(err['loc'])}: {_message(err)}" for err in exc.errors())
        raise ConfigError(f"configuration file {path} has problems:\n{problems}") from None


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc if p not in (_ENTRA, _SANDBOX)) or "(top)"


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (misspelt?)"
    if err["type"] == "missing" and tuple(err["loc"]) == ("tenant",):
        return f"missing: {TENANT_HELP}"
    return str(err["msg"]).removeprefix("Value error, ")

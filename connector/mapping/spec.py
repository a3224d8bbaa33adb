"""The mapping file's shape, validated with pydantic (documented in mappings/README.md).

Only the shape is checked here; expressions, operators and target names are compiled and
checked by ``connector.mapping.loader``, which reports every problem at once.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def _as_text(value: Any) -> Any:
    """YAML reads `2024` or `true` as a number or a bool; a mapping means the text."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float):
        return str(value)
    return value


class _Strict(BaseModel):
    # A misspelt key ("expresion:") must fail loudly, not be ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Strict):
    """How one Entra attribute gets its value: exactly one of source, constant, expression."""

    source: str | None = Field(default=None, description="direct: the column's value")
    constant: str | None = Field(default=None, description="the same value for everyone")
    expression: str | None = Field(default=None, description="an Entra expression")
    default: str | None = Field(default=None, description="used when the result is empty")
    apply: Literal["always", "on_create"] = "always"

    _scalars_as_text = field_validator("constant", "default", mode="before")(_as_text)

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Rule:
        kinds = [k for k in ("source", "constant", "expression") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(
                "a rule needs exactly one of source, constant or expression"
                + (f" (it has {', '.join(kinds)})" if kinds else ""))
        return self


class Clause(_Strict):
    """One scoping clause: ``attribute OPERATOR value`` on a source column."""

    attribute: str
    operator: str
    value: str | None = None

    _value_as_text = field_validator("value", mode="before")(_as_text)


class Filter(_Strict):
    """A scoping filter: all its clauses must hold (AND)."""

    name: str | None = None
    clauses: list[Clause] = Field(min_length=1)


class Condition(_Strict):
    """A yes/no rule: scoping-style filters (any filter, all its clauses) or an expression
    that yields True or False."""

    filters: list[Filter] | None = None
    expression: str | None = None

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Condition:
        if (self.filters is None) == (self.expression is None):
            raise ValueError("a condition needs exactly one of filters or expression")
        return self


class Source(_Strict):
    """What the mapping expects of the HR source."""

    key: str = Field(description="the column holding each record's unique HR key")
    optional_columns: list[str] = Field(
        default_factory=list,
        description="columns the rules read that a source may lack (read as empty)")
    partial: bool = Field(
        default=False,
        description="a partial feed: a record's absence says nothing (no disable)")
    country_columns: list[str] = Field(
        default_factory=list,
        description="columns validate checks as ISO 3166-1 alpha-2 country codes")
    date_columns: list[str] = Field(
        default_factory=list, description="columns validate checks as yyyy-mm-dd dates")


class Leaver(_Strict):
    """Who has left: disabled when their account exists, never created."""

    when: Condition
    delete_after_days: int | None = Field(
        default=None, ge=0,
        description="delete a disabled leaver this many days after the leave date; "
                    "never when unset")


class Manager(_Strict):
    """Which column names each record's manager, by the manager's HR key."""

    source: str


class Scim(_Strict):
    """What a ``target: scim`` mapping sends besides core and enterprise attributes."""

    extensions: list[str] = Field(
        default_factory=list,
        description="URNs of custom SCIM extensions the rules write (URN:Name)")


class GroupRuleSpec(_Strict):
    """One rule of ``groups:``: a group per distinct value of ``value`` (an expression), or
    one fixed group when ``value`` is absent; ``when`` and ``managers`` narrow who is in."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1, description="names the rule in reports")
    value: str | None = Field(default=None, description="an expression: a group per value")
    when: Condition | None = Field(default=None, description="who is in (scoping filters)")
    managers: bool = Field(default=False, description="only people who manage someone")
    display_name: str = Field(alias="displayName", min_length=1,
                              description="template; {value} is the value")
    mail_nickname: str = Field(alias="mailNickname", min_length=1,
                               description="template starting with the marker")
    description: str | None = Field(default=None, description="template")
    remove_leavers: bool = Field(default=True, description="leavers leave the group")
    exclusive: bool = Field(default=False,
                            description="remove members hr-connector did not add")
    delete_empty_after_days: int | None = Field(
        default=None, ge=0, description="delete an emptied group after this many days")


class Groups(_Strict):
    """Groups kept in step with HR data (security groups the connector owns)."""

    marker: str = Field(min_length=1, description="mailNickname prefix of owned groups")
    rules: list[GroupRuleSpec] = Field(min_length=1)


class MappingSpec(_Strict):
    """A whole mapping file."""

    version: Literal[1] = 1
    description: str = ""
    #: ``graph``: Entra user properties written through Graph /users; ``scim``: SCIM
    #: attributes posted to an API-driven provisioning job (``connector.mapping.scim``).
    target: Literal["graph", "scim"] = "graph"
    scim: Scim | None = None
    source: Source
    parameters: dict[str, str] = Field(default_factory=dict)
    matching: list[str] = Field(default_factory=lambda: ["employeeId"], min_length=1)
    scope: list[Filter] = Field(default_factory=list)
    managed: list[Filter] = Field(
        default_factory=list,
        description="which tenant users the connector manages, as filters on their Graph "
                    "properties; default: users whose first matching attribute is set")
    attributes: dict[str, Rule] = Field(min_length=1)
    leaver: Leaver | None = None
    manager: Manager | None = None
    groups: Groups | None = None

    @field_validator("parameters", mode="before")
    @classmethod
    def _parameter_values_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ("" if v is None else str(v)) for k, v in value.items()}
        return value

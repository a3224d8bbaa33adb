"""The user resource as data: types, limits, default set and ``$filter`` support (§1).

Filter columns follow §1.1: ``D`` works by default, ``A`` needs advanced query parameters
(``ConsistencyLevel: eventual`` and ``$count=true``). The cross-cutting rules of [AQ] are applied
in :func:`filter_support`, not repeated per row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["string", "bool", "datetime", "strings", "passwordProfile", "orgData", "extAttrs"]

#: Operators used in the tables below. Collections use ``any:<op>`` (lambda form).
ALL_STRING_OPS = frozenset({"eq", "in", "startsWith", "ge", "le"})


def _ops(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True)
class Prop:
    """One property of ``microsoft.graph.user``."""

    name: str
    kind: Kind = "string"
    max_len: int | None = None
    default: bool = False  # in the default set of 11 (§1)
    writable: bool = True
    nullable: bool = True
    single_only: bool = False  # only on single-object GET (§1.1)
    filter_d: frozenset[str] = frozenset()
    filter_a: frozenset[str] = frozenset()
    orderby_default: bool = False  # $orderby without advanced parameters (§4.3)


_A = ALL_STRING_OPS
#: §1.1 table, row by row. Lengths and operators as documented; see module docstring.
_PROPS: list[Prop] = [
    Prop("accountEnabled", "bool", nullable=False, filter_d=_ops("eq in")),
    Prop("displayName", max_len=256, default=True, nullable=False,
         filter_d=_ops("eq in startsWith"), orderby_default=True),
    Prop("mailNickname", max_len=64, nullable=False, filter_d=_ops("eq in startsWith ge le")),
    Prop("userPrincipalName", default=True, nullable=False, filter_d=_ops("eq in startsWith"),
         filter_a=_ops("endsWith"), orderby_default=True),
    Prop("passwordProfile", "passwordProfile", nullable=False),
    Prop("onPremisesImmutableId", filter_d=_ops("eq")),
    Prop("givenName", max_len=64, default=True, filter_d=_ops("eq in startsWith ge le")),
    Prop("surname", max_len=64, default=True, filter_d=_ops("eq in startsWith ge le")),
    Prop("mail", default=True, filter_d=_ops("eq in startsWith"), filter_a=_ops("endsWith")),
    # employeeId startsWith: listed in [U] and the old [FILT] table (D); the new [FILT] table
    # leaves the cell blank. We follow [U] (the newest copy of the resource page).
    Prop("employeeId", max_len=16, filter_d=_ops("eq in startsWith")),
    Prop("employeeType", filter_a=_ops("eq in startsWith")),
    Prop("employeeHireDate", "datetime", filter_a=_ops("eq ge le in")),
    Prop("employeeLeaveDateTime", "datetime", filter_a=_ops("eq ne ge le in")),
    Prop("employeeOrgData", "orgData"),
    Prop("companyName", max_len=64, filter_a=_A),
    Prop("department", max_len=64, filter_d=_ops("eq in startsWith ge le")),
    Prop("jobTitle", max_len=128, default=True, filter_d=_ops("eq in startsWith")),
    Prop("officeLocation", default=True, filter_a=_A),
    Prop("streetAddress", max_len=1024, filter_a=_A),
    Prop("city", max_len=128, filter_d=_ops("eq in startsWith")),
    Prop("state", max_len=128, filter_d=_ops("eq in startsWith")),
    Prop("country", max_len=128, filter_d=_ops("eq in startsWith")),
    Prop("postalCode", max_len=40, filter_a=_A),
    Prop("usageLocation", nullable=False, filter_d=_ops("eq in startsWith")),
    Prop("mobilePhone", max_len=64, default=True, filter_a=_A),
    Prop("businessPhones", "strings", default=True, filter_d=_ops("any:eq")),
    Prop("preferredLanguage", default=True, filter_a=_A),
    Prop("otherMails", "strings", filter_d=_ops("any:eq any:startsWith"),
         filter_a=_ops("any:endsWith")),
    Prop("onPremisesExtensionAttributes", "extAttrs"),
    Prop("passwordPolicies", filter_a=_ops("ne null")),
    Prop("userType", filter_d=_ops("eq in")),
    Prop("ageGroup"),
    Prop("consentProvidedForMinor"),
    Prop("faxNumber"),
    Prop("showInAddressList", "bool"),
    # Read-only (§1.1 "Read-only"): rejected on write.
    Prop("id", writable=False, default=True, filter_d=_ops("eq in")),
    Prop("createdDateTime", "datetime", writable=False, filter_a=_ops("eq ge le in")),
    Prop("creationType", writable=False),
    Prop("proxyAddresses", "strings", writable=False, filter_d=_ops("any:eq any:startsWith"),
         filter_a=_ops("any:endsWith")),
    Prop("securityIdentifier", writable=False),
    Prop("onPremisesSyncEnabled", "bool", writable=False),
    Prop("onPremisesLastSyncDateTime", "datetime", writable=False),
    Prop("onPremisesSecurityIdentifier", writable=False),
    Prop("onPremisesDistinguishedName", writable=False),
    Prop("onPremisesDomainName", writable=False),
    Prop("onPremisesSamAccountName", writable=False),
    Prop("onPremisesUserPrincipalName", writable=False),
    Prop("onPremisesProvisioningErrors", "strings", writable=False),
    Prop("assignedPlans", "strings", writable=False),
    Prop("assignedLicenses", "strings", writable=False),
    Prop("provisionedPlans", "strings", writable=False),
    Prop("identities", "strings", writable=False),
    Prop("imAddresses", "strings", writable=False),
    Prop("lastPasswordChangeDateTime", "datetime", writable=False),
    Prop("signInActivity", writable=False),
    Prop("deletedDateTime", "datetime", writable=False),
    Prop("externalUserState", writable=False),
    Prop("externalUserStateChangeDateTime", "datetime", writable=False),
    Prop("legalAgeGroupClassification", writable=False),
    Prop("signInSessionsValidFromDateTime", "datetime", writable=False),
]
# Only on single-object GET; $select on /users -> 501; not writable app-only (§1.1).
_PROPS += [
    Prop(name, "strings" if name in {"interests", "pastProjects", "responsibilities",
                                     "schools", "skills"} else "string",
         writable=False, single_only=True)
    for name in ("aboutMe", "birthday", "hireDate", "interests", "mySite", "pastProjects",
                 "preferredName", "responsibilities", "schools", "skills", "mailboxSettings")
]

PROPS: dict[str, Prop] = {p.name: p for p in _PROPS}

#: The default set, in the order Graph returns it (§1).
DEFAULT_SET: tuple[str, ...] = (
    "businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone",
    "officeLocation", "preferredLanguage", "surname", "userPrincipalName",
)

#: Required on create (§2.1).
REQUIRED_ON_CREATE: tuple[str, ...] = (
    "accountEnabled", "displayName", "mailNickname", "userPrincipalName", "passwordProfile",
)

#: Sub-properties filterable as paths (§1.1, §4.2).
SUB_PATH_FILTERS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "employeeOrgData/costCenter": (frozenset(), _ops("eq")),
    "employeeOrgData/division": (frozenset(), _ops("eq")),
    "passwordProfile/forceChangePasswordNextSignIn": (frozenset(), _ops("eq")),
    **{
        f"onPremisesExtensionAttributes/extensionAttribute{n}": (frozenset(), _ops("eq"))
        for n in range(1, 16)
    },
}

#: ``extension_{appIdWithoutDashes}_{name}`` (§1.3).
EXTENSION_RE = re.compile(r"^extension_[0-9a-fA-F]{32}_[A-Za-z0-9_]+$")
#: Directory extensions: eq by default, ne and eq null advanced (§1.3 + [AQ]).
EXTENSION_FILTER = (_ops("eq"), frozenset[str]())

#: Properties one app-only caller may not change on admin targets ([PATCH] note **).
ADMIN_PROTECTED = frozenset({"businessPhones", "mobilePhone", "otherMails", "passwordProfile"})

#: On synced users only these may change in the cloud; others are on-premises mastered
#: (§3.1 gives the error; which properties are cloud-writable is our inference).
SYNCED_CLOUD_WRITABLE = frozenset({"usageLocation", "employeeLeaveDateTime", "passwordProfile"})

#: $search fields (§4.3: ``"displayName:wa"``); tokenized prefix match.
SEARCHABLE = frozenset({
    "displayName", "givenName", "surname", "mail", "mailNickname", "userPrincipalName",
    "jobTitle",
})


def filter_support(path: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """(default ops, advanced-only ops) for a filter path, or None when unknown.

    Cross-cutting rules of [AQ] (§1.1): ``in`` works wherever ``eq`` does and at the same
    level; ``ne``, ``not`` and ``eq null`` are always advanced and exist wherever ``eq`` does.
    """
    if path in SUB_PATH_FILTERS:
        d, a = SUB_PATH_FILTERS[path]
    elif EXTENSION_RE.match(path):
        d, a = EXTENSION_FILTER
    elif path in PROPS:
        d, a = PROPS[path].filter_d, PROPS[path].filter_a
    else:
        return None
    plain, advanced = set(d), set(a)
    if "eq" in plain:
        plain.add("in")
    elif "eq" in advanced:
        advanced.add("in")
    if "eq" in plain or "eq" in advanced:
        advanced |= {"ne", "not", "null"}
    advanced -= plain
    return frozenset(plain), frozenset(advanced)


def is_known(name: str, extensions: list[str]) -> bool:
    """Whether ``name`` is a property of the user type (or a registered extension)."""
    return name in PROPS or name in extensions

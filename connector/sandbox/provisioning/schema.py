"""The sandbox job's attribute mapping (API -> Microsoft Entra ID) and its schema document.

The mapping is the sandbox's reading of Entra's default for "API-driven inbound user
provisioning to Microsoft Entra ID" (api-driven-inbound.md §3, and the SCIM -> Entra table
of Entra's SCIM API schema documentation): externalId <-> employeeId matches, ``active``
drives accountEnabled, the rest map one to one. Two rows apply only when a user is
created, as Entra advises for generated names (E2, E3): userPrincipalName (from userName)
and mailNickname (from nickName, else the UPN's local part). The app's API attribute list
also holds four attributes of a custom extension, as an admin adds them with "Edit
attribute list for API" (E5): ``urn:ietf:params:scim:schemas:extension:hrconnector:1.0:User``
``HireDate``, ``LeaveDate``, ``UsageLocation`` and ``Office``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:hrconnector:1.0:User"


@dataclass(frozen=True)
class Flow:
    """One attribute mapping: the API attribute, the Entra property, when it flows."""

    source: str
    target: str
    on_create: bool = False


FLOWS: tuple[Flow, ...] = (
    Flow("externalId", "employeeId"),
    Flow("active", "accountEnabled"),
    Flow("userName", "userPrincipalName", on_create=True),
    Flow("nickName", "mailNickname", on_create=True),
    Flow("displayName", "displayName"),
    Flow("name.givenName", "givenName"),
    Flow("name.familyName", "surname"),
    Flow("title", "jobTitle"),
    Flow("userType", "employeeType"),
    Flow("preferredLanguage", "preferredLanguage"),
    Flow('emails[type eq "work"].value', "mail"),
    Flow('phoneNumbers[type eq "work"].value', "businessPhones"),
    Flow('phoneNumbers[type eq "mobile"].value', "mobilePhone"),
    Flow('phoneNumbers[type eq "fax"].value', "faxNumber"),
    Flow('addresses[type eq "work"].streetAddress', "streetAddress"),
    Flow('addresses[type eq "work"].locality', "city"),
    Flow('addresses[type eq "work"].region', "state"),
    Flow('addresses[type eq "work"].postalCode', "postalCode"),
    Flow('addresses[type eq "work"].country', "country"),
    Flow(f"{ENTERPRISE}:department", "department"),
    Flow(f"{ENTERPRISE}:division", "employeeOrgData.division"),
    Flow(f"{ENTERPRISE}:costCenter", "employeeOrgData.costCenter"),
    Flow(f"{ENTERPRISE}:organization", "companyName"),
    Flow(f"{ENTERPRISE}:manager", "manager"),
    Flow(f"{CUSTOM}:HireDate", "employeeHireDate"),
    Flow(f"{CUSTOM}:LeaveDate", "employeeLeaveDateTime"),
    Flow(f"{CUSTOM}:UsageLocation", "usageLocation"),
    Flow(f"{CUSTOM}:Office", "officeLocation"),
)

#: The app's API attribute list: core and enterprise User (RFC 7643), plus the custom ones.
API_ATTRIBUTES: tuple[str, ...] = (
    "externalId", "userName", "active", "displayName", "nickName", "title", "userType",
    "preferredLanguage", "locale", "timezone", "profileUrl",
    *(f"name.{p}" for p in ("formatted", "familyName", "givenName", "middleName",
                            "honorificPrefix", "honorificSuffix")),
    *(f'emails[type eq "{t}"].value' for t in ("work", "home", "other")),
    *(f'phoneNumbers[type eq "{t}"].value' for t in ("work", "home", "mobile", "fax", "pager",
                                                     "other")),
    *(f'addresses[type eq "{t}"].{f}' for t in ("work", "home", "other")
      for f in ("formatted", "streetAddress", "locality", "region", "postalCode", "country")),
    *(f"{ENTERPRISE}:{a}" for a in ("employeeNumber", "costCenter", "organization",
                                    "division", "department", "manager")),
    *(f"{CUSTOM}:{a}" for a in ("HireDate", "LeaveDate", "UsageLocation", "Office")),
)


def value_at(data: dict[str, Any], path: str) -> tuple[bool, Any]:
    """(present, value) of an API attribute in a SCIM User."""
    for urn in (ENTERPRISE, CUSTOM):
        if path.startswith(urn + ":"):
            ext = data.get(urn)
            name = path[len(urn) + 1:]
            if isinstance(ext, dict) and name in ext:
                value = ext[name]
                if name == "manager":
                    value = value.get("value") if isinstance(value, dict) else value
                return True, value
            return False, None
    if "[type eq " in path:
        attribute, _, rest = path.partition("[type eq \"")
        kind, _, field = rest.partition("\"].")
        for item in data.get(attribute) or []:
            if isinstance(item, dict) and item.get("type") == kind and field in item:
                return True, item[field]
        return False, None
    head, dot, sub = path.partition(".")
    if dot:
        part = data.get(head)
        if isinstance(part, dict) and sub in part:
            return True, part[sub]
        return False, None
    return (path in data), data.get(path)


def schema_document(job_id: str) -> dict[str, Any]:
    """``GET …/jobs/{id}/schema``: the API directory's attributes and the mapping rules
    (shape of Graph's synchronizationSchema; CSV2SCIM reads ``directories[0].objects[0]``)."""
    def attribute(name: str) -> dict[str, Any]:
        return {"name": name, "type": "Boolean" if name == "active" else "String",
                "multivalued": False, "mutability": "ReadWrite", "anchor": name == "externalId",
                "flowNullValues": False, "caseExact": False, "required": False}

    return {
        "id": job_id,
        "version": "Date:2026-01-01T00:00:00Z",
        "directories": [
            {"id": "api", "name": "API", "objects": [
                {"name": "User", "attributes": [attribute(n) for n in API_ATTRIBUTES]}]},
            {"id": "aad", "name": "Microsoft Entra ID", "objects": [
                {"name": "User", "attributes": [
                    {"name": f.target, "type": "String"} for f in FLOWS]}]},
        ],
        "synchronizationRules": [{
            "name": "API2AAD", "sourceDirectoryName": "API",
            "targetDirectoryName": "Microsoft Entra ID",
            "objectMappings": [{
                "name": "Provision API urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "sourceObjectName": "User", "targetObjectName": "User", "enabled": True,
                "attributeMappings": [
                    {"targetAttributeName": f.target,
                     "source": {"name": f.source, "type": "Attribute",
                                "expression": f"[{f.source}]"},
                     "flowType": "ObjectAddOnly" if f.on_create else "Always",
                     "matchingPriority": 1 if f.source == "externalId" else 0}
                    for f in FLOWS],
            }],
        }],
    }

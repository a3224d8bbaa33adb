"""Validation of user bodies (POST/PATCH, §2, §3.1) and user representations (§1, §3.2).

Checks run in the order §2.3 recommends: body JSON → types → unknown / read-only properties →
required → per-property format → UPN domain → password → uniqueness (the last one needs the
store and lives in :mod:`connector.sandbox.graph`). The first failing check answers; Graph
reports one error per request.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from .envelope import GraphError, bad_request, forbidden, invalid_value, required
from .schema import (
    ADMIN_PROTECTED,
    DEFAULT_SET,
    EXTENSION_RE,
    PROPS,
    REQUIRED_ON_CREATE,
    SYNCED_CLOUD_WRITABLE,
    Prop,
)

_EDM = {
    "string": "Edm.String", "bool": "Edm.Boolean", "datetime": "Edm.DateTimeOffset",
    "strings": "Collection(Edm.String)", "passwordProfile": "microsoft.graph.passwordProfile",
    "orgData": "microsoft.graph.employeeOrgData",
    "extAttrs": "microsoft.graph.onPremisesExtensionAttributes",
}
# §2.3 UPN [PWD]: A-Z a-z 0-9 ' . - _ ! # ^ ~ and one @; no '.' right before '@';
# <= 113 chars in total, <= 64 before the '@', <= 48 after it.
_UPN_LOCAL = re.compile(r"^[A-Za-z0-9'._!#^~-]+$")
_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
# §2.3 mailNickname: no @ ( ) \ [ ] " ; : < > , and no whitespace ('.' is fine).
_NICK_BAD = re.compile(r'[@()\\\[\]";:<>,\s]')
_SMTP = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")  # RFC 4646, simplified
_PASSWORD_SYMBOLS = set("@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<> ")
_ENUMS: dict[str, frozenset[str]] = {
    "userType": frozenset({"Member", "Guest"}),
    "ageGroup": frozenset({"Minor", "NotAdult", "Adult"}),
    "consentProvidedForMinor": frozenset({"Granted", "Denied", "NotRequired"}),
}
_POLICIES = frozenset({"DisablePasswordExpiration", "DisableStrongPassword"})
_PROFILE_KEYS = {"password": str, "forceChangePasswordNextSignIn": bool,
                 "forceChangePasswordNextSignInWithMfa": bool}
_EXT_ATTRS = frozenset(f"extensionAttribute{n}" for n in range(1, 16))
COMPLEXITY_MESSAGE = (
    "The specified password does not comply with password complexity requirements. "
    "Please provide a different password."
)


def parse_body(raw: bytes | None) -> dict[str, Any]:
    """The JSON object of a write request, or the OData-layer 400 ([INF] text)."""
    try:
        body = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise bad_request(
            "Unable to read JSON request payload. Please ensure Content-Type header is set "
            "and payload is of valid JSON format.",
            code="BadRequest",
        )
    return body


def _type_error(kind: str) -> GraphError:
    # §2.3 "JSON type mismatch" row (OData layer, code BadRequest).
    return bad_request(
        f"Cannot convert a primitive value to the expected type '{_EDM[kind]}'. "
        "See the inner exception for more details.",
        code="BadRequest",
    )


def parse_datetime(value: str) -> str | None:
    """Normalise an ISO 8601 DateTimeOffset to ``YYYY-MM-DDTHH:MM:SSZ`` (None if invalid).

    Edm.DateTimeOffset needs a time and an offset (``Z`` or ``±hh:mm``); a bare date is not one.
    """
    if not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$",
                    value):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_type(prop: Prop, value: Any) -> None:
    if value is None:
        return
    ok = {
        "string": isinstance(value, str),
        "bool": isinstance(value, bool),
        "datetime": isinstance(value, str),
        "strings": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "passwordProfile": isinstance(value, dict),
        "orgData": isinstance(value, dict),
        "extAttrs": isinstance(value, dict),
    }[prop.kind]
    if not ok:
        raise _type_error(prop.kind)
    if prop.kind == "datetime" and parse_datetime(value) is None:
        raise bad_request(
            f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTimeOffset'.",
            code="BadRequest",
        )
    if prop.kind == "passwordProfile":
        for key, sub in value.items():
            want = _PROFILE_KEYS.get(key)
            if want is not None and sub is not None and not isinstance(sub, want):
                raise _type_error("bool" if want is bool else "string")


def _check_names(body: dict[str, Any], extensions: list[str]) -> None:
    """Unknown (§2.3 "Invalid property"), read-only and unregistered extension names."""
    for name in body:
        if name == "@odata.type":
            continue
        if EXTENSION_RE.match(name):
            if name not in extensions:
                raise bad_request(f"The following extension properties are not available: {name}.")
            if isinstance(body[name], (list, dict)):
                raise _type_error("string")
            continue
        prop = PROPS.get(name)
        if prop is None:
            raise bad_request(f"Invalid property '{name}'.")  # [INF] text
        if prop.single_only:
            raise forbidden()  # not updatable in app-only context (§1.1)
        if not prop.writable:
            # §2.3 "Read-only property written": reject; the text is our choice.
            raise bad_request(f"Property '{name}' is read-only and cannot be set.")


def check_upn_format(upn: str) -> None:
    """§2.3 UPN character and length rules → ``Property userPrincipalName is invalid.``"""
    local, at, domain = upn.rpartition("@")
    if (not at or not local or "@" in local or not _UPN_LOCAL.match(local)
            or local.endswith(".") or not _DOMAIN.match(domain) or len(upn) > 113
            or len(local) > 64 or len(domain) > 48):
        raise GraphError(400, "Request_BadRequest", "Property userPrincipalName is invalid.",
                         details=[{"target": "userPrincipalName", "code": "InvalidValue"}])


def _check_format(name: str, value: Any, doc: dict[str, Any]) -> Any:
    """Per-property format rules; returns the normalised value to store."""
    prop = PROPS.get(name)
    if prop is None or value is None:
        return value
    if prop.max_len is not None and isinstance(value, str) and len(value) > prop.max_len:
        raise invalid_value(name)
    if name == "userPrincipalName":
        check_upn_format(value)
    elif name == "mailNickname":
        if _NICK_BAD.search(value):
            raise invalid_value(name)
    elif name == "mail":
        if not value.isascii() or not _SMTP.match(value):
            raise invalid_value(name)
    elif name == "otherMails":
        if len(value) > 250 or any(len(v) > 250 or not v.isascii() or not _SMTP.match(v)
                                   for v in value):
            raise invalid_value(name)
    elif name == "businessPhones":
        if len(value) > 1:  # "max 1 value" (§1.1); code/message [INF]
            raise invalid_value(name)
    elif name == "usageLocation":
        if not re.fullmatch(r"[A-Z]{2}", value):
            raise invalid_value(name)
    elif name == "preferredLanguage":
        if not _LANG.match(value):
            raise invalid_value(name)
    elif name == "onPremisesImmutableId":
        if "$" in value or "_" in value:
            raise invalid_value(name)
    elif name == "passwordPolicies":
        parts = [p.strip() for p in value.split(",")]
        if value != "None" and (any(p not in _POLICIES for p in parts)
                                or len(set(parts)) != len(parts)):
            raise invalid_value(name)
    elif name in _ENUMS:
        if value not in _ENUMS[name]:
            raise invalid_value(name)
    elif prop.kind == "datetime":
        return parse_datetime(value)
    elif prop.kind == "orgData":
        if set(value) - {"division", "costCenter"} or any(
                v is not None and not isinstance(v, str) for v in value.values()):
            raise invalid_value(name)
        # §1.2 [EOD]: the whole object is replaced; an omitted half becomes null.
        return {"division": value.get("division"), "costCenter": value.get("costCenter")}
    elif prop.kind == "extAttrs":
        if set(value) - _EXT_ATTRS or any(
                v is not None and (not isinstance(v, str) or len(v) > 1024)
                for v in value.values()):
            raise invalid_value(name)
        # Sub-property PATCH semantics undocumented: merge by key [INF] (§1.2).
        merged = dict(doc.get(name) or {})
        merged.update(value)
        return merged
    elif prop.kind == "passwordProfile":
        current = dict(doc.get(name) or {})
        current.update({k: v for k, v in value.items() if k != "password"})
        current.setdefault("forceChangePasswordNextSignIn", False)
        current.setdefault("forceChangePasswordNextSignInWithMfa", False)
        return current  # the password itself is checked, never stored
    return value


def check_password(password: str, policies: str | None, upn: str) -> None:
    """§2.3 [PWD]: 8–256 allowed ASCII characters, 3 of 4 classes unless
    ``DisableStrongPassword``, and no user name inside."""
    local = upn.partition("@")[0].lower()
    if len(local) >= 3 and local in password.lower():
        raise bad_request("Password cannot contain username.")  # full text not captured
    if not 8 <= len(password) <= 256 or any(
            not (c.isascii() and (c.isalnum() or c in _PASSWORD_SYMBOLS)) for c in password):
        raise bad_request(COMPLEXITY_MESSAGE)
    strong = "DisableStrongPassword" not in (policies or "")
    classes = sum((any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password),
                   any(c in _PASSWORD_SYMBOLS for c in password)))
    if strong and classes < 3:
        raise bad_request(COMPLEXITY_MESSAGE)


def check_domain(upn: str, domains: list[dict[str, Any]]) -> dict[str, Any]:
    """§2.3: the UPN's domain must be a verified domain of the tenant."""
    wanted = upn.rpartition("@")[2].lower()
    for domain in domains:
        if domain["name"].lower() == wanted and domain.get("isVerified"):
            return domain
    raise GraphError(
        400, "Request_BadRequest",
        "The domain portion of the userPrincipalName property is invalid. You must use one of "
        "the verified domain names in your organization.",
        details=[{"target": "userPrincipalName", "code": "InvalidValue"}],
    )


def validate_write(body: dict[str, Any], doc: dict[str, Any] | None, *,
                   domains: list[dict[str, Any]], extensions: list[str]) -> dict[str, Any]:
    """Validate a POST (``doc`` None) or PATCH body; returns the properties to store."""
    creating = doc is None
    current: dict[str, Any] = doc or {}
    for name, value in body.items():
        if name in PROPS:
            _check_type(PROPS[name], value)
    _check_names(body, extensions)
    if not creating and current.get("onPremisesSyncEnabled"):
        for name in body:
            if name not in SYNCED_CLOUD_WRITABLE and not EXTENSION_RE.match(name):
                raise bad_request(
                    "Unable to update the specified properties for on-premises mastered "
                    "Directory Sync objects or objects currently undergoing migration.")
    if not creating and current.get("_sandboxAdmin") and ADMIN_PROTECTED & set(body):
        raise forbidden()  # [PATCH]: only on non-admin targets
    required_names = REQUIRED_ON_CREATE if creating else tuple(
        n for n in REQUIRED_ON_CREATE if n in body)
    for name in required_names:
        value = body.get(name)
        if value is None or value == "":
            raise required(name)
    profile = body.get("passwordProfile")
    if creating and not (isinstance(profile, dict) and profile.get("password")):
        raise bad_request("A password must be specified to create a new user.")
    changes: dict[str, Any] = {}
    for name, value in body.items():
        if name == "@odata.type":
            continue
        prop = PROPS.get(name)
        if prop is not None and value is None and not prop.nullable:
            raise invalid_value(name)  # e.g. usageLocation is not nullable (§1.1, §3.1)
        changes[name] = _check_format(name, value, current)
    upn = changes.get("userPrincipalName", current.get("userPrincipalName", ""))
    if "userPrincipalName" in changes:
        domain = check_domain(upn, domains)
        immutable = changes.get("onPremisesImmutableId", current.get("onPremisesImmutableId"))
        if domain.get("authenticationType") == "Federated" and not immutable:
            raise bad_request("One or more properties contains invalid values.")
    if isinstance(profile, dict) and profile.get("password"):
        policies = changes.get("passwordPolicies", current.get("passwordPolicies"))
        check_password(profile["password"], policies, upn)
    return changes


def security_identifier(object_id: str) -> str:
    """Entra's SID for a cloud object: S-1-12-1 + the GUID as four little-endian uint32."""
    raw = uuid.UUID(object_id).bytes_le
    parts = [int.from_bytes(raw[i:i + 4], "little") for i in range(0, 16, 4)]
    return "S-1-12-1-" + "-".join(str(p) for p in parts)


def value_of(doc: dict[str, Any], name: str) -> tuple[bool, Any]:
    """(ever set, value) of a property, computing the derived read-only ones."""
    if name == "proxyAddresses":
        mail = doc.get("mail")
        return mail is not None, [f"SMTP:{mail}"] if mail else []
    if name == "securityIdentifier":
        return True, security_identifier(doc["id"])
    if name == "identities":
        domain = doc["userPrincipalName"].rpartition("@")[2]
        return True, [{"signInType": "userPrincipalName", "issuer": domain,
                       "issuerAssignedId": doc["userPrincipalName"]}]
    if name == "passwordProfile":
        profile = doc.get(name)
        if profile is None:
            return False, None
        return True, {"password": None, **profile}  # the password is never returned (§1.1)
    if name in doc:
        return True, doc[name]
    prop = PROPS.get(name)
    return False, ([] if prop is not None and prop.kind == "strings" else None)


def represent(doc: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
    """The JSON of a user: the default set (§1) or exactly the ``$select`` list; unset
    properties are null (collections ``[]``); unset extensions are omitted."""
    out: dict[str, Any] = {}
    for name in select or DEFAULT_SET:
        present, value = value_of(doc, name)
        if EXTENSION_RE.match(name) and not present:
            continue
        out[name] = value
    return out

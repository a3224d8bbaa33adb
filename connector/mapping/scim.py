"""The SCIM attributes a ``target: scim`` mapping may write (Entra's API-driven inbound
provisioning, ../shared/reference/api-driven-inbound.md §1, §3). Pure.

Attribute names are the ones Entra's portal lists as "API attributes" of the provisioning
app, so an admin can copy them from one to the other:

* core User (RFC 7643 §4.1): ``externalId``, ``userName``, ``active``, ``displayName``,
  ``nickName``, ``title``, ``userType``, ``preferredLanguage``, ``locale``, ``timezone``,
  ``profileUrl``; ``name.givenName`` and the other parts of ``name``; one value per type
  of the multi-valued ones: ``emails[type eq "work"].value``,
  ``phoneNumbers[type eq "mobile"].value``, ``addresses[type eq "work"].locality`` ...;
* the enterprise extension: ``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:``
  followed by ``employeeNumber``, ``costCenter``, ``organization``, ``division`` or
  ``department`` (the manager comes from the mapping's ``manager:`` section, sent as
  ``manager.value`` = the manager's externalId);
* a custom extension the mapping declares (``scim: {extensions: [URN]}``): ``URN:Name``,
  single-valued text, the only kind Entra takes for custom attributes (E5).

``active`` takes True/False; everything else is text. :func:`parse` splits a name into a
:class:`ScimPath`; the payload builder (``connector.scim``) puts the value where it goes.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from connector.mapping.spec import MappingSpec
from connector.mapping.targets import Target

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

_SIMPLE = frozenset({"externalId", "userName", "active", "displayName", "nickName", "title",
                     "userType", "preferredLanguage", "locale", "timezone", "profileUrl"})
_NAME_PARTS = frozenset({"formatted", "familyName", "givenName", "middleName",
                         "honorificPrefix", "honorificSuffix"})
#: Multi-valued attributes: the types RFC 7643 names, and the sub-attributes we write.
_MULTI: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "emails": (frozenset({"work", "home", "other"}), frozenset({"value"})),
    "phoneNumbers": (frozenset({"work", "home", "mobile", "fax", "pager", "other"}),
                     frozenset({"value"})),
    "ims": (frozenset({"aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"}),
            frozenset({"value"})),
    "addresses": (frozenset({"work", "home", "other"}),
                  frozenset({"formatted", "streetAddress", "locality", "region",
                             "postalCode", "country"})),
}
_ENTERPRISE = frozenset({"employeeNumber", "costCenter", "organization", "division",
                         "department"})
#: Names a mapping may not write, with the reason.
_REFUSED = {
    "password": "the API-driven job never takes a password from the HR source",
    "id": "is assigned by the target, not sent",
    "groups": "is read-only in SCIM",
    f"{ENTERPRISE}:manager": "set managers with the mapping's `manager:` section (sent as "
                             "manager.value = the manager's externalId)",
}
_MULTI_RE = re.compile(r'^(?P<attr>\w+)\[type eq "(?P<type>[^"]+)"\]\.(?P<sub>\w+)$')
_URN_RE = re.compile(r"^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[^\s]+$")
_CUSTOM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True, slots=True)
class ScimPath:
    """Where one mapped value goes in a SCIM User: ``schema`` None for core attributes,
    else the extension's URN; ``sub`` for ``name.givenName`` or a multi-valued
    attribute's field; ``type`` the ``[type eq "..."]`` of a multi-valued one."""

    name: str
    attribute: str
    schema: str | None = None
    sub: str | None = None
    type: str | None = None


def is_urn(value: str) -> bool:
    """Whether ``value`` looks like a URN (``urn:NID:...``), as CSV2SCIM checks (R1)."""
    return bool(_URN_RE.match(value))


def parse(name: str, extensions: tuple[str, ...] = ()) -> ScimPath | str:
    """The path of ``name``, or why a SCIM mapping may not write it (with a suggestion)."""
    if name in _REFUSED:
        return f"{name!r} {_REFUSED[name]}"
    if name in _SIMPLE:
        return ScimPath(name, name)
    head, dot, rest = name.partition(".")
    if head == "name" and dot and "[" not in name:
        if rest in _NAME_PARTS:
            return ScimPath(name, "name", sub=rest)
        return _unknown(name, extensions)
    match = _MULTI_RE.match(name)
    if match:
        attribute, kind, sub = match["attr"], match["type"], match["sub"]
        known = _MULTI.get(attribute)
        if known is None:
            return _unknown(name, extensions)
        types, subs = known
        if kind not in types:
            return (f"{name!r}: {attribute} takes the types {', '.join(sorted(types))}, "
                    f"not {kind!r}")
        if sub not in subs:
            return f"{name!r}: {attribute} has the fields {', '.join(sorted(subs))}"
        return ScimPath(name, attribute, sub=sub, type=kind)
    for urn in (ENTERPRISE, *extensions):
        if name.startswith(urn + ":"):
            attribute = name[len(urn) + 1:]
            if urn == ENTERPRISE:
                if attribute in _ENTERPRISE:
                    return ScimPath(name, attribute, schema=ENTERPRISE)
                return _unknown(name, extensions)
            if not _CUSTOM_NAME.match(attribute):
                return (f"{name!r}: a custom attribute is one plain name after the URN "
                        "(Entra takes no complex or multi-valued custom attributes)")
            return ScimPath(name, attribute, schema=urn)
    if name.startswith("urn:"):
        return (f"{name!r} is in no schema this mapping declares: add its URN under "
                "scim: extensions:")
    return _unknown(name, extensions)


def target(path: ScimPath) -> Target:
    """The engine's view of a SCIM attribute: ``active`` is a boolean, the rest text."""
    return Target(path.name, "boolean" if path.name == "active" else "string")


def known_names(extensions: tuple[str, ...] = ()) -> list[str]:
    """Every name a mapping may write (custom attributes as ``URN:<name>``)."""
    names = sorted(_SIMPLE)
    names += [f"name.{part}" for part in sorted(_NAME_PARTS)]
    for attribute, (types, subs) in _MULTI.items():
        names += [f'{attribute}[type eq "{t}"].{s}' for t in sorted(types) for s in sorted(subs)]
    names += [f"{ENTERPRISE}:{a}" for a in sorted(_ENTERPRISE)]
    names += [f"{urn}:<name>" for urn in extensions]
    return names


def _unknown(name: str, extensions: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, known_names(extensions), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{name!r} is not a SCIM attribute of the API-driven provisioning app{hint}"


def scim_target(name: str, extensions: tuple[str, ...]) -> Target | str:
    """The target of a ``scim`` mapping's rule, or why it cannot be one."""
    path = parse(name, extensions)
    return path if isinstance(path, str) else target(path)


def scim_problems(spec: MappingSpec) -> list[tuple[str, str]]:
    """(rule, problem) for what a mapping's target forbids: a ``scim`` mapping leaves
    matching, create-or-update and deletes to the provisioning job; a ``graph`` mapping
    has no ``scim:`` section."""
    if spec.target != "scim":
        return [("scim", "scim: is for target: scim mappings")] if spec.scim else []
    problems: list[tuple[str, str]] = []
    extensions = spec.scim.extensions if spec.scim else []
    for urn in extensions:
        if urn in (CORE, ENTERPRISE):
            problems.append(("scim.extensions", f"{urn} is always sent; list only custom "
                                                "extensions here"))
        elif not is_urn(urn):
            problems.append(("scim.extensions", f"{urn!r} is not a URN (urn:...)"))
    if len(set(extensions)) != len(extensions):
        problems.append(("scim.extensions", "an extension is listed twice"))
    if "externalId" not in spec.attributes:
        problems.append(("attributes", "a SCIM mapping needs an externalId rule: the job "
                                       "matches records to users by it"))
    problems += [(f"attributes.{name}", "apply: on_create is the provisioning job's choice "
                  "in a SCIM mapping (the job decides create or update): set 'Apply this "
                  "mapping: only during object creation' in its attribute mapping")
                 for name, rule in spec.attributes.items() if rule.apply == "on_create"]
    given = spec.model_fields_set
    if "matching" in given:
        problems.append(("matching", "the provisioning job matches users (externalId <-> "
                                     "employeeId by default); leave matching out"))
    if "managed" in given and spec.managed:
        problems.append(("managed", "a SCIM mapping does not read the tenant's users: the "
                                    "job's scoping decides whom it touches"))
    if spec.leaver is not None and spec.leaver.delete_after_days is not None:
        problems.append(("leaver.delete_after_days", "the API-driven job never deletes on "
                                                     "request: leavers are sent active false"))
    if spec.groups is not None:
        problems.append(("groups", "an API-driven provisioning job provisions users only; "
                                   "keep groups in a target: graph mapping"))
    return problems

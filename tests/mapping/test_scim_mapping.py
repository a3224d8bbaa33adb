"""Mappings with ``target: scim``: SCIM attribute names compiled by the same loader and
engine as Graph mappings, with what the provisioning job decides refused up front; the
shipped SCIM mappings; Microsoft's sample export through mappings/api-driven.yaml."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from connector.errors import MappingError
from connector.mapping import StubDirectory, compile_mapping_text, load_mapping
from connector.mapping.scim import ENTERPRISE, parse
from connector.run.prepare import prepare
from connector.scim import bulk_request, check_request, user_data
from tests.helpers import PINNED_NOW, ROOT, SAMPLE_CSV

URN = "urn:ietf:params:scim:schemas:extension:acme:1.0:User"


def scim(attributes: str, extra: str = "") -> str:
    return (f"version: 1\ntarget: scim\nscim: {{extensions: ['{URN}']}}\n"
            f"source: {{key: ID}}\n{extra}attributes:\n  externalId: {{source: ID}}\n"
            + attributes)


def problems(text: str) -> list[str]:
    with pytest.raises(MappingError) as caught:
        compile_mapping_text(text)
    return [f"{e.rule}: {e.message}" for e in caught.value.errors]


def test_scim_names_compile_with_the_same_expression_language() -> None:
    mapping = compile_mapping_text(scim(
        "  userName: {expression: 'Join(\"@\", ToLower([First]), \"contoso.com\")'}\n"
        "  active: {expression: 'IIF([Status] = \"Active\", \"True\", \"False\")'}\n"
        "  name.givenName: {source: First}\n"
        "  'addresses[type eq \"work\"].locality': {source: City}\n"
        "  'phoneNumbers[type eq \"mobile\"].value': {source: Mobile}\n"
        f"  {ENTERPRISE}:department: {{source: Dept}}\n"
        f"  {URN}:HireDate: {{source: Hire}}\n"))
    assert mapping.target == "scim" and mapping.matching == ("externalId",)
    assert mapping.scim_extensions == (URN,)
    assert mapping.rules["active"].target.kind == "boolean"
    assert set(mapping.required_columns) == {"ID", "First", "Status", "City", "Mobile",
                                             "Dept", "Hire"}


@pytest.mark.parametrize(("rule", "expected"), [
    ("  nickname: {source: X}\n", "did you mean 'nickName'"),
    ("  'emails[type eq \"office\"].value': {source: X}\n", "takes the types"),
    ("  'addresses[type eq \"work\"].city': {source: X}\n", "has the fields"),
    (f"  {ENTERPRISE}:manager: {{source: X}}\n", "manager:` section"),
    ("  password: {source: X}\n", "never takes a password"),
    ("  urn:other:thing:Attr: {source: X}\n", "in no schema this mapping declares"),
    (f"  {URN}:name.first: {{source: X}}\n", "no complex or multi-valued"),
    ("  displayName: {source: X, apply: on_create}\n", "only during object creation"),
])
def test_what_a_scim_mapping_cannot_write_fails_at_load(rule: str, expected: str) -> None:
    assert any(expected in p for p in problems(scim(rule)))


def test_what_the_job_decides_is_refused_and_externalid_is_required() -> None:
    text = ("version: 1\ntarget: scim\nsource: {key: ID}\nmatching: [employeeId]\n"
            "managed:\n  - clauses: [{attribute: employeeId, operator: IS NOT NULL}]\n"
            "attributes:\n  displayName: {source: N}\n"
            "leaver:\n  when: {expression: '\"True\"'}\n  delete_after_days: 5\n")
    found = problems(text)
    assert any(p.startswith("attributes: a SCIM mapping needs an externalId") for p in found)
    assert any(p.startswith("matching:") for p in found)
    assert any(p.startswith("managed:") for p in found)
    assert any(p.startswith("leaver.delete_after_days:") for p in found)


def test_extension_urns_are_checked_and_graph_mappings_take_no_scim_section() -> None:
    found = problems("version: 1\ntarget: scim\nscim: {extensions: [notaurn, "
                     f"'{ENTERPRISE}']}}\nsource: {{key: ID}}\nattributes:\n"
                     "  externalId: {source: ID}\n")
    assert any("'notaurn' is not a URN" in p for p in found)
    assert any("always sent" in p for p in found)
    found = problems(f"version: 1\nscim: {{extensions: ['{URN}']}}\nsource: {{key: ID}}\n"
                     "attributes:\n  employeeId: {source: ID}\n")
    assert found == ["scim: scim: is for target: scim mappings"]


def test_parse_puts_each_name_where_scim_keeps_it() -> None:
    path = parse('addresses[type eq "work"].postalCode')
    assert not isinstance(path, str)
    assert (path.attribute, path.type, path.sub, path.schema) == (
        "addresses", "work", "postalCode", None)
    data = user_data({"externalId": "1", "name.givenName": "Ada",
                      'addresses[type eq "work"].locality': "London",
                      'addresses[type eq "work"].country': "GB",
                      f"{ENTERPRISE}:department": "R&D", f"{URN}:HireDate": "2024"},
                     active=False, manager="9", extensions=(URN,))
    assert data == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE, URN],
        "externalId": "1", "name": {"givenName": "Ada"},
        "addresses": [{"type": "work", "locality": "London", "country": "GB"}],
        ENTERPRISE: {"department": "R&D", "manager": {"value": "9"}},
        URN: {"HireDate": "2024"}, "active": False}


def test_shipped_scim_mappings_compile() -> None:
    for name in ("api-driven.yaml", "default-scim.yaml"):
        mapping = load_mapping(ROOT / "mappings" / name)
        assert mapping.target == "scim" and "externalId" in mapping.rules


def _psd1_attributes(text: str) -> set[str]:
    """The SCIM attributes AttributeMapping.psd1 fills, by the names Entra's portal uses:
    every ``@{``/``@(`` opens a level (named by its key, if any), ``}``/``)`` closes one."""
    names: set[str] = set()
    stack: list[str | None] = []
    for raw in text.splitlines()[1:-1]:  # inside the outer @{ ... }
        line = raw.strip()
        if line.startswith(("}", ")")):
            stack.pop()
            continue
        if line.startswith(("@{", "@(")):
            stack.append(None)
            continue
        match = re.match(r'^"?([\w:.-]+)"?\s*=\s*(.*)$', line)
        if not match:
            continue
        key, value = match[1], match[2]
        keys = [k for k in stack if k]
        if value.startswith(("@{", "@(")):
            stack.append(key)
        elif key == "type":
            continue
        elif not keys:
            names.add(key)
        elif keys[0].startswith("urn:"):
            names.add(f"{keys[0]}:{keys[1] if len(keys) > 1 else key}")
        elif keys[0] in ("addresses", "phoneNumbers"):
            names.add(f'{keys[0]}[type eq "work"].{key}')
        else:
            names.add(f"{keys[0]}.{key}")
    return names


def test_api_driven_mapping_is_attributemapping_psd1_rule_for_rule(interop_dir: Path) -> None:
    psd1 = _psd1_attributes((interop_dir / "AttributeMapping.psd1").read_text("utf-8"))
    assert len(psd1) == 20 and f"{ENTERPRISE}:manager" in psd1
    mapping = load_mapping(ROOT / "mappings" / "api-driven.yaml")
    ours = set(mapping.rules) | {f"{ENTERPRISE}:manager"}  # manager: section
    assert ours == psd1


def test_microsofts_1000_record_sample_gives_valid_payloads(interop_dir: Path) -> None:
    mapping = load_mapping(ROOT / "mappings" / "api-driven.yaml")
    export = interop_dir / "csv-with-1000-records.csv"
    prepared = prepare(export, mapping, now=_now(), directory=StubDirectory(),
                       check_managers=False)
    good = [m for m in prepared.mapped if m.status == "mapped"]
    assert len(good) + prepared.count("error") == 1000 and len(good) > 300
    datas = [user_data({**m.defaults, **m.attributes},
                       active=bool(m.attributes.get("active")), manager=m.manager_key)
             for m in good]
    for start in range(0, len(datas), 50):
        assert check_request(bulk_request(datas[start:start + 50])) == []
    with export.open(encoding="utf-8", newline="") as handle:
        first = next(r for r in csv.DictReader(handle) if r["WorkerID"] == good[0].key)
    sample = datas[0]
    assert sample["externalId"] == first["WorkerID"]
    assert sample["active"] is (first["WorkerStatus"] == "Active")
    assert sample["userName"] == f"{first['UserID'].lower()}@contoso.com"


def test_default_scim_maps_the_sample_export() -> None:
    mapping = load_mapping(ROOT / "mappings" / "default-scim.yaml")
    prepared = prepare(SAMPLE_CSV, mapping, now=_now(), directory=StubDirectory())
    assert prepared.count("error") == 0
    assert prepared.count("mapped") == 355 and prepared.count("skipped") == 5  # pre-hires


def _now():  # type: ignore[no-untyped-def]
    from connector.core import clock

    return clock.parse_moment(PINNED_NOW)

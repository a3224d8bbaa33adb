"""The mappings shipped in mappings/, on the data they are written for."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from connector.mapping import StubDirectory, load_mapping
from connector.run.prepare import Prepared, prepare
from tests.helpers import ROOT, SAMPLE_CSV, SAMPLE_XLSX

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
DEFAULT = ROOT / "mappings" / "default.yaml"
ENTRA = ROOT / "mappings" / "entra-api-sample.yaml"


def prepared(source: Path, mapping: Path) -> Prepared:
    return prepare(source, load_mapping(mapping), now=NOW, directory=StubDirectory())


@pytest.fixture(scope="module")
def sample() -> dict[str, dict[str, object]]:
    result = prepared(SAMPLE_CSV, DEFAULT)
    assert Counter(m.status for m in result.mapped) == {"mapped": 360}
    return {m.key: {**m.for_create(), "_leaver": m.leaver, "_manager": m.manager_key}
            for m in result.mapped}


def test_default_mapping_produces_every_attribute_the_issue_lists(
    sample: dict[str, dict[str, object]],
) -> None:
    zoe = sample["000784"]
    assert zoe == {
        "employeeId": "000784", "givenName": "Zoë", "surname": "O'Brien",
        "displayName": "Zoë O'Brien", "userPrincipalName": "zoe.o'brien@contoso.com",
        "mailNickname": "zoe.o'brien", "jobTitle": "Recruiter",
        "department": "Talent Acquisition", "companyName": "Contoso Ltd",
        "employeeOrgData.division": "People", "employeeOrgData.costCenter": "CC-3200",
        "officeLocation": "Manchester", "streetAddress": "1 Spinningfields",
        "city": "Manchester", "postalCode": "M3 3AP", "country": "GB", "usageLocation": "GB",
        "employeeType": "Employee", "employeeHireDate": "2021-12-02T00:00:00Z",
        "accountEnabled": True, "_leaver": False, "_manager": "042692",
    }


@pytest.mark.parametrize(("key", "upn"), [
    ("046206", "jose.nunez@contoso.com"),
    ("055687", "lukasz.wojcik@contoso.com"),
    ("042122", "soeren.oedegard@contoso.com"),
    ("066962", "pieter.vanderberg@contoso.com"),
    ("003024", "francois.lefevre-dupont@contoso.com"),
    ("047754", "bob.ashworth-jones@contoso.com"),
])
def test_upns_are_lower_case_ascii_first_last(
    sample: dict[str, dict[str, object]], key: str, upn: str
) -> None:
    assert sample[key]["userPrincipalName"] == upn


def test_upns_are_unique_and_the_two_john_smiths_differ(
    sample: dict[str, dict[str, object]],
) -> None:
    upns = [str(u["userPrincipalName"]) for u in sample.values()]
    assert len({u.lower() for u in upns}) == len(upns) == 360
    assert {sample["003515"]["userPrincipalName"], sample["064388"]["userPrincipalName"]} == \
        {"john.smith@contoso.com", "j.smith@contoso.com"}
    assert all(u.isascii() and " " not in u for u in upns)


def test_prehires_leavers_and_leave_are_disabled(sample: dict[str, dict[str, object]]) -> None:
    assert sample["076960"]["accountEnabled"] is False  # hired 2026-12-03: a pre-hire
    assert sample["083624"]["_leaver"] is True  # terminated 2026-11-25
    assert sample["083624"]["employeeLeaveDateTime"] == "2026-11-25T23:59:59Z"
    assert sample["083624"]["accountEnabled"] is False
    assert sample["058552"]["_leaver"] is False  # notice period: leaves in the future
    assert sample["058552"]["accountEnabled"] is True
    assert sample["000153"]["accountEnabled"] is False  # on Leave
    enabled = sum(1 for u in sample.values() if u["accountEnabled"] is True)
    assert enabled == 360 - 18 - 11 - 8  # minus terminated, on leave and pre-hires


def test_business_phones_is_a_list_and_hire_dates_are_graph_datetimes(
    sample: dict[str, dict[str, object]],
) -> None:
    for user in sample.values():
        phones = user.get("businessPhones", [])
        assert isinstance(phones, list) and len(phones) <= 1
        assert str(user["employeeHireDate"]).endswith("T00:00:00Z")


def test_the_workbook_maps_exactly_like_the_csv() -> None:
    from_csv = prepared(SAMPLE_CSV, DEFAULT).mapped
    from_xlsx = prepared(SAMPLE_XLSX, DEFAULT).mapped
    assert [(m.key, m.for_create()) for m in from_csv] == \
        [(m.key, m.for_create()) for m in from_xlsx]


def test_entra_sample_mapping_on_microsofts_export(interop_dir: Path) -> None:
    result = prepared(interop_dir / "csv-with-1000-records.csv", ENTRA)
    counts = Counter(m.status for m in result.mapped)
    assert counts == {"mapped": 359, "error": 641}  # every row of a reused WorkerID
    errors = [m for m in result.mapped if m.status == "error"]
    assert all("is used on" in m.errors[0].reason for m in errors)
    users = {m.key: m.for_create() for m in result.mapped if m.status == "mapped"}
    locations = Counter(u["usageLocation"] for u in users.values())
    assert "UK" not in locations and locations["GB"] > 0
    some = next(iter(users.values()))
    assert str(some["userPrincipalName"]).endswith("@contoso.com")
    assert some["employeeId"] == some["mailNickname"].removeprefix("emp")  # type: ignore[union-attr]
    inactive = [m for m in result.mapped if m.status == "mapped"
                and m.attributes["accountEnabled"] is False]
    assert inactive, "Inactive workers are created disabled"

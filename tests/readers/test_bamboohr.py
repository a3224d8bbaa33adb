"""The bamboohr preset against the BambooHR fake (in-process): report and directory modes,
basic auth with the API key, throttling before and after BambooHR's switch to 429."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from connector.errors import ConfigError, SourceError
from connector.readers.apis.bamboohr import SYNC_FIELDS
from connector.readers.apis.presets import open_api_source
from connector.readers.base import Reader
from tests.fakes.bamboohr import API_KEY, FakeBambooHR
from tests.fakes.seed import sample_employees


def plain(value: Any) -> str:
    return str(value)


def read(fake: FakeBambooHR, **settings: Any) -> Reader:
    options = {"base_url": fake.base_url(), "api_key": API_KEY, **settings}
    sleep = options.pop("sleep", None)
    return open_api_source("bamboohr", options, transport=fake.transport(), secrets=plain,
                           **({"sleep": sleep} if sleep else {}))


def test_report_mode_reads_the_sync_fields_with_ids_as_text() -> None:
    fake = FakeBambooHR()
    reader = read(fake)
    rows = sample_employees()
    assert reader.format == "api"
    assert reader.columns == ["id", *SYNC_FIELDS]
    records = list(reader.records())
    assert len(records) == len(rows) and [r.row for r in records] == list(range(1, len(rows) + 1))
    by_number = {r.values["employeeNumber"]: r.values for r in records}
    manager = next(r for r in rows if r["ManagerID"])
    person = by_number[manager["EmployeeID"]]
    assert person["id"] == str(int(manager["EmployeeID"]))
    assert person["supervisorEId"] == str(int(manager["ManagerID"]))
    assert by_number["000001"]["terminationDate"] == ""  # BambooHR's 0000-00-00
    assert by_number["000001"]["supervisorEId"] == ""
    leaver = next(r for r in rows if r["Status"] == "Terminated")
    assert by_number[leaver["EmployeeID"]]["status"] == "Inactive"
    assert by_number[leaver["EmployeeID"]]["terminationDate"] == leaver["TerminationDate"]
    assert fake.reports == [{"title": "hr-connector", "fields": SYNC_FIELDS}] * 2
    assert fake.calls == ["POST /api/gateway.php/contoso/v1/reports/custom"
                          "?format=JSON&onlyCurrent=true",
                          "POST /api/gateway.php/contoso/v1/reports/custom"
                          "?format=JSON&onlyCurrent=false"]
    assert [w.reason for w in reader.warnings] == [
        "1 employee(s) with a future hire date read from BambooHR's report with "
        "onlyCurrent=false"]


def test_pre_hires_are_read_and_leavers_arrive_as_leavers_with_current_values() -> None:
    """BambooHR's onlyCurrent=true leaves out future hires; onlyCurrent=false shows
    future-dated values early. Both reports are read: current values, plus the future hires."""
    fake = FakeBambooHR()
    rows = sample_employees()
    prehire = next(r for r in rows if r["HireDate"] > "2026-11-26")
    leaver = next(r for r in rows if r["Status"] == "Terminated")
    promoted = next(r for r in rows if r["Status"] == "Active" and r["HireDate"] < "2026-01-01")
    fake.future_values[str(int(promoted["EmployeeID"]))] = {"jobTitle": "Head of Everything"}
    records = {r.values["employeeNumber"]: r.values for r in read(fake).records()}
    assert len(records) == len(rows)
    assert records[prehire["EmployeeID"]]["hireDate"] == prehire["HireDate"]
    assert records[leaver["EmployeeID"]]["status"] == "Inactive"
    assert records[leaver["EmployeeID"]]["terminationDate"] == leaver["TerminationDate"]
    assert records[promoted["EmployeeID"]]["jobTitle"] == promoted["JobTitle"]
    # one report only, when the setting says which
    current = {r.values["employeeNumber"] for r in read(fake, only_current=True).records()}
    assert prehire["EmployeeID"] not in current and leaver["EmployeeID"] in current
    early = {r.values["employeeNumber"]: r.values
             for r in read(fake, only_current=False).records()}
    assert early[promoted["EmployeeID"]]["jobTitle"] == "Head of Everything"
    assert prehire["EmployeeID"] in early


def test_report_fields_title_and_only_current_are_settings() -> None:
    fake = FakeBambooHR()
    reader = read(fake, fields=["firstName", "supervisorEId", "favouriteColour"],
                  title="nightly", only_current=False)
    assert reader.columns == ["id", "firstName", "supervisorEId"]
    assert fake.reports[-1] == {"title": "nightly",
                                "fields": ["firstName", "supervisorEId", "favouriteColour"]}
    assert fake.calls[-1].endswith("onlyCurrent=false")
    assert [w.reason for w in reader.warnings] == [
        "BambooHR's report did not return field(s) favouriteColour (misspelt, or hidden "
        "from the API key's user)"]


def test_directory_mode_lists_current_people_with_directory_fields() -> None:
    fake = FakeBambooHR()
    reader = read(fake, mode="directory")
    active = [r for r in sample_employees()
              if r["Status"] != "Terminated" and r["HireDate"] <= "2026-11-26"]
    assert len(list(reader.records())) == len(active)
    assert reader.columns[:3] == ["id", "displayName", "firstName"]
    assert "supervisorEId" not in reader.columns  # the directory has no supervisor
    first = next(reader.records()).values
    assert first["photoUploaded"] == "false" and first["canUploadPhoto"] == "1"
    assert fake.calls == ["GET /api/gateway.php/contoso/v1/employees/directory"
                          "?onlyCurrent=true"]


def test_the_sdk_style_prefix_works_too() -> None:
    fake = FakeBambooHR()
    reader = read(fake, base_url="https://contoso.bamboohr.com/api/v1/")
    assert len(list(reader.records())) == len(sample_employees())
    assert fake.calls[0].startswith("POST /api/v1/reports/custom")


def test_a_wrong_api_key_is_reported_without_the_key() -> None:
    fake = FakeBambooHR(api_key="the-right-key")
    wrong = "wrong-key-d41d8cd9"
    with pytest.raises(SourceError) as caught:
        read(fake, api_key=wrong)
    assert caught.value.file == "bamboohr (https://api.bamboohr.com/api/gateway.php/contoso/v1)"
    message = caught.value.detailed()
    assert caught.value.message.startswith("HTTP 401 Unauthorized from POST https://api.bamboohr.com/api/"
                              "gateway.php/contoso/v1/reports/custom?format=JSON")
    assert message.endswith("BambooHR refused the API key")
    assert wrong not in message and "the-right-key" not in message


@pytest.mark.parametrize(("mode", "company", "words"), [
    ("directory", "contoso", "HTTP 403 .* not shared .* use mode: report"),
    ("report", "other", "HTTP 404 .* check company_domain"),
])
def test_status_hints_per_mode(mode: str, company: str, words: str) -> None:
    fake = FakeBambooHR()
    fake.directory_shared = False
    with pytest.raises(SourceError, match=words):
        read(fake, mode=mode, base_url=fake.base_url().replace("/contoso/", f"/{company}/"))


@pytest.mark.parametrize("status", [503, 429])
def test_throttling_is_retried_before_and_after_the_switch_to_429(status: int) -> None:
    fake = FakeBambooHR(throttle_status=status)
    fake.throttle(1, retry_after="7")
    fake.throttle(2, retry_after="0.25")
    sleeps: list[float] = []
    reader = read(fake, sleep=sleeps.append)
    assert len(list(reader.records())) == len(sample_employees())
    assert sleeps == [7.0, 0.25] and len(fake.calls) == 4  # two reports, two retries


def test_the_default_base_url_comes_from_the_company_domain() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"employees": [{"id": 4, "firstName": "Charlotte"}]})

    reader = open_api_source("bamboohr", {"company_domain": "acme", "api_key": API_KEY},
                             transport=httpx.MockTransport(handler), secrets=plain)
    assert reader.name == "bamboohr (acme)"
    assert next(reader.records()).values["id"] == "4"  # a number sent as one: text here
    request = seen[0]
    assert str(request.url) == ("https://api.bamboohr.com/api/gateway.php/acme/v1/reports/"
                                "custom?format=JSON&onlyCurrent=true")
    assert str(seen[1].url).endswith("onlyCurrent=false") and len(seen) == 2
    assert request.headers["Accept"] == "application/json"
    pair = base64.b64encode(f"{API_KEY}:x".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {pair}"
    assert json.loads(request.content)["fields"] == SYNC_FIELDS


@pytest.mark.parametrize(("settings", "words"), [
    ({"api_key": API_KEY}, "company_domain is required"),
    ({"company_domain": "acme.bamboohr.com", "api_key": API_KEY}, "subdomain alone"),
    ({"company_domain": "acme"}, "api_key is required"),
    ({"company_domain": "acme", "api_key": API_KEY, "mode": "changed"}, "mode must be one of"),
    ({"company_domain": "acme", "api_key": API_KEY, "fields": []}, "fields must be a non-empty"),
    ({"company_domain": "acme", "api_key": API_KEY, "only_current": "yes"},
     "only_current must be true or false"),
])
def test_bad_settings(settings: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        open_api_source("bamboohr", settings, secrets=plain)


def test_an_api_key_written_in_the_settings_is_refused_by_default() -> None:
    with pytest.raises(ConfigError, match="api_key must not be written") as caught:
        open_api_source("bamboohr", {"company_domain": "acme", "api_key": API_KEY})
    assert API_KEY not in caught.value.message

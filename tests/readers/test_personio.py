"""The personio preset: unwrapping attributes, local dates, the token flow, and paging
whichever way the server reads ``offset`` (against the Personio fake, in-process)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from connector.errors import ConfigError, SourceError
from connector.readers.apis.personio import local_date, unwrap
from connector.readers.apis.presets import open_api_source
from connector.readers.base import Reader
from tests.fakes.personio import CLIENT_ID, CLIENT_SECRET, FakePersonio, attribute
from tests.fakes.seed import sample_employees

# The first record of the spec's example response (peers-and-hr-data.md §3.2).
SPEC_EMPLOYEE = {"type": "Employee", "attributes": {
    "id": {"label": "ID", "value": 1, "type": "integer", "universal_id": "id"},
    "first_name": {"label": "First name", "value": "Alexander", "type": "standard",
                   "universal_id": "first_name"},
    "status": {"label": "Status", "value": "active", "type": "standard",
               "universal_id": "status"},
    "supervisor": {"label": "Supervisor", "value": {"type": "Employee", "attributes": {
        "id": {"label": "ID", "value": 2, "type": "integer", "universal_id": "id"}}},
        "type": "standard", "universal_id": "supervisor"},
    "department": {"label": "Department", "value": {"type": "Department", "attributes": {
        "id": 281521, "name": "Customer Support"}}, "type": "standard",
        "universal_id": "department"},
    "hire_date": {"label": "Hire date", "value": "2014-11-09T00:00:00+01:00", "type": "date",
                  "universal_id": "hire_date"},
    "termination_date": {"label": "Termination date", "value": None, "type": "date",
                         "universal_id": "termination_date"},
    "weekly_working_hours": {"label": "Weekly hours", "value": "40", "type": "standard",
                             "universal_id": "weekly_working_hours"},
    "cost_centers": {"label": "Cost center", "value": [
        {"type": "CostCenter", "attributes": {"id": 82957, "name": "Cost center 1",
                                              "percentage": 100}},
        {"type": "CostCenter", "attributes": {"id": 82958, "name": "Cost center 2",
                                              "percentage": 0}}],
        "type": "standard", "universal_id": "cost_centers"},
    "dynamic_24407": {"label": "Titel", "value": "Dr", "universal_id": None,
                      "type": "standard"}}}


def plain(value: Any) -> str:
    return str(value)


def read(fake: FakePersonio, transport: httpx.BaseTransport | None = None,
         **settings: Any) -> Reader:
    sleep = settings.pop("sleep", None)
    options = {"base_url": "https://api.personio.de", "client_id": CLIENT_ID,
               "client_secret": CLIENT_SECRET, **settings}
    return open_api_source("personio", options, transport=transport or fake.transport(),
                           secrets=plain, **({"sleep": sleep} if sleep else {}))


def employee_calls(fake: FakePersonio) -> list[str]:
    return [c.removeprefix("GET /v1/company/employees?") for c in fake.calls
            if "/employees" in c]


def test_attributes_are_unwrapped_to_plain_values() -> None:
    labels: dict[str, str] = {}
    assert unwrap(SPEC_EMPLOYEE, labels) == {
        "id": 1, "first_name": "Alexander", "status": "active", "supervisor": 2,
        "department": "Customer Support", "hire_date": "2014-11-09", "termination_date": None,
        "weekly_working_hours": "40", "cost_centers": "Cost center 1; Cost center 2",
        "dynamic_24407": "Dr"}
    assert labels == {"dynamic_24407": "Titel"}


@pytest.mark.parametrize(("value", "day"), [
    ("2014-11-09T00:00:00+01:00", "2014-11-09"),
    ("2019-04-01T00:00:00+02:00", "2019-04-01"),
    ("2019-04-01T00:00:00-05:00", "2019-04-01"),
    ("2019-04-01T00:00:00Z", "2019-04-01"),
    ("2019-04-01", "2019-04-01"),
    ("soon", "soon"),
])
def test_dates_are_the_local_calendar_date(value: str, day: str) -> None:
    assert local_date(value) == day


def test_converting_to_utc_would_have_moved_the_hire_date() -> None:
    # Why the reader never converts: in UTC, Berlin's midnight is the day before.
    instant = dt.datetime.fromisoformat("2014-11-09T00:00:00+01:00")
    assert instant.astimezone(dt.UTC).date().isoformat() == "2014-11-08"
    assert local_date("2014-11-09T00:00:00+01:00") == "2014-11-09"


def test_a_midnight_timestamp_is_a_date_even_without_type_date() -> None:
    employee = {"attributes": {"dynamic_9": attribute("Probation end",
                                                      "2025-03-31T00:00:00+02:00")}}
    assert unwrap(employee, {})["dynamic_9"] == "2025-03-31"


def test_the_fake_company_reads_with_every_column_as_text() -> None:
    fake = FakePersonio()
    reader = read(fake, page_size=10)
    rows = sample_employees()
    assert reader.columns == [
        "id", "first_name", "last_name", "preferred_name", "email", "status", "position",
        "employment_type", "supervisor", "department", "office", "hire_date",
        "termination_date", "weekly_working_hours", "cost_centers", "dynamic_24407"]
    records = {r.values["id"]: r.values for r in reader.records()}
    assert len(records) == len(rows)
    for row in rows:
        values = records[str(int(row["EmployeeID"]))]
        assert values["supervisor"] == (str(int(row["ManagerID"])) if row["ManagerID"] else "")
        assert values["hire_date"] == row["HireDate"]
        assert values["termination_date"] == row["TerminationDate"]
        assert values["cost_centers"] == row["CostCenter"]
        assert values["department"] == row["Department"]
    assert employee_calls(fake) == [f"limit=10&offset={n}" for n in (0, 10, 20, 30, 40)]
    assert fake.count("POST /v1/auth") == 1  # one token for every page
    assert [w.reason for w in reader.warnings] == [
        "Personio custom fields are columns named by id: dynamic_24407 = 'Land'"]


def test_offset_read_as_a_page_number_is_detected_and_duplicates_dropped() -> None:
    fake = FakePersonio(offset_semantics="pages")
    reader = read(fake, page_size=10)
    ids = [r.values["id"] for r in reader.records()]
    assert len(ids) == len(set(ids)) == len(sample_employees())
    # 0 is page 1; offset 10 is page 10 (empty): then pages 2..5 by number.
    assert employee_calls(fake) == [f"limit=10&offset={n}" for n in (0, 10, 2, 3, 4, 5)]
    assert any("read 'offset' as a page number" in w.reason for w in reader.warnings)


def test_small_pages_on_a_page_number_server_overlap_and_are_deduplicated() -> None:
    # With 2 per page, offsets 2, 4, 6 ... name real pages, so the probe only fails late
    # and pages 2 and 4 come twice; every employee still comes exactly once.
    fake = FakePersonio(offset_semantics="pages", count=10)
    reader = read(fake, page_size=2)
    ids = [r.values["id"] for r in reader.records()]
    assert len(ids) == len(set(ids)) == len(fake.employees)
    calls = employee_calls(fake)
    assert len(calls) > len(set(calls))  # some pages really came twice


def test_offset_mode_pages_asks_by_page_number_from_the_start() -> None:
    fake = FakePersonio(offset_semantics="pages")
    reader = read(fake, page_size=10, offset_mode="pages")
    assert len(list(reader.records())) == len(sample_employees())
    assert employee_calls(fake) == [f"limit=10&offset={n}" for n in (1, 2, 3, 4, 5)]
    assert not any("page number" in w.reason for w in reader.warnings)


def test_a_wrong_offset_mode_cannot_give_an_incomplete_export() -> None:
    fake = FakePersonio(offset_semantics="items")
    with pytest.raises(SourceError, match=r"said \d+ employees exist but paging gave 14; "
                                          "refusing an incomplete export"):
        read(fake, page_size=10, offset_mode="pages")


def test_attribute_projection() -> None:
    fake = FakePersonio()
    reader = read(fake, attributes=["first_name", "supervisor"])
    assert reader.columns == ["id", "first_name", "supervisor"]
    assert employee_calls(fake)[0] == ("limit=100&attributes%5B%5D=first_name"
                                       "&attributes%5B%5D=supervisor&offset=0")


def test_a_revoked_token_is_renewed_once_mid_read() -> None:
    fake = FakePersonio()
    inner = fake.transport()

    def handler(request: httpx.Request) -> httpx.Response:
        if len(fake.calls) == 3:
            fake.revoke_tokens()
        return inner.handle_request(request)

    reader = read(fake, httpx.MockTransport(handler), page_size=10)
    assert len(list(reader.records())) == len(sample_employees())
    assert fake.count("POST /v1/auth") == 2


def test_wrong_credentials_name_the_auth_url_not_the_secret() -> None:
    fake = FakePersonio()
    wrong = "papi-secret-WRONG-51fe"
    with pytest.raises(SourceError) as caught:
        read(fake, client_secret=wrong)
    message = caught.value.detailed()
    assert message == ("personio (https://api.personio.de): HTTP 401 Unauthorized from "
                       "POST https://api.personio.de/v1/auth: Personio refused the client "
                       "id and secret")
    assert wrong not in repr(caught.value) and CLIENT_SECRET not in message


def test_throttling_is_retried_with_retry_after() -> None:
    fake = FakePersonio()
    fake.throttle(1, retry_after="3")  # the token request
    fake.throttle(4, retry_after="1.5")  # a page
    sleeps: list[float] = []
    reader = read(fake, page_size=10, sleep=sleeps.append)
    assert len(list(reader.records())) == len(sample_employees())
    assert sleeps == [3.0, 1.5]


def test_partner_and_app_headers_and_a_refusal_in_the_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v1/auth":
            return httpx.Response(200, json={"success": True, "data": {"token": "t"}})
        return httpx.Response(200, json={"success": False, "error": {
            "code": 0, "message": "Attribute whitelist is empty"}})

    with pytest.raises(SourceError, match="Personio refused .*Attribute whitelist is empty"):
        read(FakePersonio(), httpx.MockTransport(handler), partner_id="P-1", app_id="A-2")
    assert seen[1].headers["X-Personio-Partner-ID"] == "P-1"
    assert seen[1].headers["X-Personio-App-ID"] == "A-2"
    assert seen[1].headers["Authorization"] == "Bearer t"


@pytest.mark.parametrize(("settings", "words"), [
    ({"page_size": 101}, "page_size must be at least 1 and at most 100"),
    ({"offset_mode": "guess"}, "offset_mode must be one of auto, items, pages"),
    ({"client_secret": None}, "client_secret is required"),
    ({"attributes": "first_name"}, "attributes must be a non-empty list"),
])
def test_bad_settings(settings: dict[str, Any], words: str) -> None:
    options = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **settings}
    options = {k: v for k, v in options.items() if v is not None}
    with pytest.raises(ConfigError, match=words):
        open_api_source("personio", options, secrets=plain)

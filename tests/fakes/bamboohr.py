"""A small stateful BambooHR (peers-and-hr-data.md §3.1), as a Starlette app.

Serves ``GET .../v1/employees/directory`` and ``POST .../v1/reports/custom`` under both
prefixes BambooHR uses (``/api/gateway.php/{company}/v1`` and ``/api/v1``), checks HTTP
basic auth (the API key as user name, any password), answers XML unless the client asks
for JSON (the directory's real quirk), and answers throttled calls with 429 or, as before
2026-09-16, 503, each with ``Retry-After``.

Seeded from ``sample_data/employees.csv`` (see ``tests.fakes.seed``): ``id`` is the
EmployeeID without its leading zeros (BambooHR ids are numbers sent as text),
``employeeNumber`` the EmployeeID itself, ``supervisorEId`` the manager's ``id``. An unset
date is ``0000-00-00``, which is how BambooHR writes one (an assumption from experience with
its reports; §3.1 does not say).

``onlyCurrent`` as BambooHR documents it: the custom report holds every employee whatever
their status (Active and Inactive); ``onlyCurrent=true`` (the default) leaves out people
whose hire date is still ahead and gives history fields their current values, while
``onlyCurrent=false`` includes the future hires and the future-dated values a test puts
in ``future_values`` (employee id -> {field: value}). The directory lists current Active
people only.

    fake = FakeBambooHR()
    open_api_source("bamboohr", {"base_url": fake.base_url(), ...},
                    transport=fake.transport())
"""

from __future__ import annotations

import base64
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.common import FakeApi, json_response
from tests.fakes.seed import AS_OF, email, sample_employees

COMPANY = "contoso"
API_KEY = "bamboo-key-5f0c2d7e9a"
IN_PROCESS = "https://api.bamboohr.com"
DIRECTORY_FIELDS = ["id", "displayName", "firstName", "lastName", "preferredName", "jobTitle",
                    "workPhone", "mobilePhone", "workEmail", "department", "location",
                    "division", "pronouns", "workPhoneExtension", "photoUploaded", "photoUrl",
                    "canUploadPhoto"]


def _id(employee_id: str) -> str:
    return str(int(employee_id)) if employee_id else ""


def bamboo_employee(row: dict[str, str], rows: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Every field the fake knows for one sample row."""
    manager = rows.get(row["ManagerID"])
    status = row["Status"]
    history = {"Terminated": "Terminated", "Leave": "Leave of Absence"}.get(
        status, "Contractor" if row["WorkerType"] == "Contractor" else "Full-Time")
    preferred = row["PreferredFirstName"] or None
    return {
        "id": _id(row["EmployeeID"]),
        "employeeNumber": row["EmployeeID"],
        "displayName": f"{preferred or row['FirstName']} {row['LastName']}",
        "firstName": row["FirstName"], "lastName": row["LastName"],
        "preferredName": preferred,
        "jobTitle": row["JobTitle"], "department": row["Department"],
        "division": row["Division"], "location": row["Office"],
        "country": row["CountryCode"],
        "workPhone": row["WorkPhone"] or None, "mobilePhone": row["MobilePhone"] or None,
        "workEmail": email(row), "pronouns": None, "workPhoneExtension": None,
        "photoUploaded": False, "photoUrl": "https://images.bamboohr.example/default.png",
        "canUploadPhoto": 1,
        "status": "Inactive" if status == "Terminated" else "Active",
        "employmentHistoryStatus": history,
        "hireDate": row["HireDate"],
        "terminationDate": row["TerminationDate"] or "0000-00-00",
        "supervisor": (f"{manager['LastName']}, {manager['FirstName']}" if manager else None),
        "supervisorId": manager["EmployeeID"] if manager else None,
        "supervisorEId": _id(row["ManagerID"]) or None,
        "supervisorEmail": email(manager) if manager else None,
        "lastChanged": f"{AS_OF.isoformat()}T02:00:00+00:00",
    }


class FakeBambooHR(FakeApi):
    """BambooHR's directory and custom reports over an in-memory company."""

    def __init__(self, *, company: str = COMPANY, api_key: str = API_KEY, count: int = 40,
                 throttle_status: int = 429) -> None:
        super().__init__()
        self.company = company
        self.api_key = api_key
        #: 429 (BambooHR since 2026-09-16) or 503 (before): what ``throttle`` answers.
        self.throttle_status = throttle_status
        rows = sample_employees(count)
        by_id = {row["EmployeeID"]: row for row in rows}
        self.employees: list[dict[str, Any]] = [bamboo_employee(r, by_id) for r in rows]
        self.field_names = set(bamboo_employee(rows[0], by_id))
        #: Report bodies received, for tests to look at.
        self.reports: list[dict[str, Any]] = []
        #: Future-dated values of history fields, shown only with onlyCurrent=false.
        self.future_values: dict[str, dict[str, Any]] = {}
        self.directory_shared = True
        routes = []
        for prefix in ("/api/gateway.php/{company}/v1", "/api/v1"):
            routes += [Route(f"{prefix}/employees/directory", self._directory, methods=["GET"]),
                       Route(f"{prefix}/reports/custom", self._report, methods=["POST"])]
        self.app = Starlette(routes=routes)

    def base_url(self, root: str = IN_PROCESS) -> str:
        """The ``base_url`` setting for this fake at ``root``."""
        return f"{root}/api/gateway.php/{self.company}/v1"

    def throttle(self, number: int, retry_after: str | None = "1") -> None:
        """Throttle call ``number`` the way BambooHR does now (or did before the switch)."""
        self.fail_call(number, self.throttle_status, retry_after)

    def _check(self, request: Request) -> Response | None:
        fault = self.gate(request)
        if fault is not None:
            return fault
        company = request.path_params.get("company", self.company)
        if company != self.company:
            return json_response({"error": "no such company"}, 404)
        header = request.headers.get("authorization", "")
        user = ""
        if header.startswith("Basic "):
            try:
                user = base64.b64decode(header[6:]).decode().partition(":")[0]
            except ValueError:
                user = ""
        if user != self.api_key:
            return Response("", status_code=401, headers={"WWW-Authenticate": "Basic"})
        return None

    async def _directory(self, request: Request) -> Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        if not self.directory_shared:
            return Response("", status_code=403)
        people = [e for e in self._people(request) if e["status"] == "Active"]
        if not people:
            return Response("", status_code=404)
        if "application/json" not in request.headers.get("accept", ""):
            rows = "".join(f'<employee id="{e["id"]}"/>' for e in people)
            return Response(f"<directory><employees>{rows}</employees></directory>",
                            media_type="text/xml")
        fields = [{"id": f, "type": "text", "name": f} for f in DIRECTORY_FIELDS if f != "id"]
        return json_response({"fields": fields, "employees": [
            {f: e[f] for f in DIRECTORY_FIELDS} for e in people]})

    async def _report(self, request: Request) -> Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        if request.query_params.get("format", "").upper() != "JSON":
            return Response("<report/>", media_type="text/xml")
        body = await request.json()
        self.reports.append(body)
        if not isinstance(body, dict) or not body.get("title") or not isinstance(
                body.get("fields"), list):
            return json_response({"error": "a report needs a title and fields"}, 400)
        known = [f for f in body["fields"] if f in self.field_names]  # unknown: left out
        return json_response({
            "title": body["title"],
            "fields": [{"id": f, "type": "text", "name": f} for f in known],
            "employees": [{"id": e["id"], **{f: e[f] for f in known}}
                          for e in self._people(request)]})

    def _people(self, request: Request) -> list[dict[str, Any]]:
        """The employees ``onlyCurrent`` lets through, with its values."""
        if request.query_params.get("onlyCurrent", "true").lower() != "false":
            return [e for e in self.employees if e["hireDate"] <= AS_OF.isoformat()]
        return [{**e, **self.future_values.get(e["id"], {})} for e in self.employees]

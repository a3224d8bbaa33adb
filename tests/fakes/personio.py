"""A small stateful Personio v1 (peers-and-hr-data.md §3.2), as a Starlette app.

``POST /v1/auth`` (JSON or form ``client_id``/``client_secret``) hands out tokens;
``GET /v1/company/employees`` needs one as a bearer token and pages with ``limit``
(default 50, more than 100 refused) and ``offset``, read either as the first record
(``offset_semantics="items"``, the spec) or as a 1-based page number where 0 counts as 1
(``"pages"``, as seen on other endpoints), with ``metadata.total_pages`` and
``total_elements``; ``attributes[]`` projects (``id`` always comes). Every attribute is
wrapped in ``{label, value, type, universal_id}``; dates are midnight in Europe/Berlin
with its offset; ``weekly_working_hours`` is a number sent as text; the country is a
custom field, ``dynamic_24407`` labelled ``Land``.

Seeded from ``sample_data/employees.csv`` (``tests.fakes.seed``): ``id`` is the EmployeeID
as a number, ``supervisor`` the manager's; status ``active``, ``leave``, ``inactive``
(Terminated) or ``onboarding`` (hire date ahead).
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.common import FakeApi, json_response
from tests.fakes.seed import AS_OF, email, sample_employees

CLIENT_ID = "papi-client-7d1c"
CLIENT_SECRET = "papi-secret-9b3e44aa01"
IN_PROCESS = "https://api.personio.de"

try:
    from zoneinfo import ZoneInfo

    _BERLIN: dt.tzinfo = ZoneInfo("Europe/Berlin")
except (ImportError, KeyError):  # no time-zone data: winter time all year will do
    _BERLIN = dt.timezone(dt.timedelta(hours=1))


def local_midnight(day: str) -> str | None:
    """``2014-11-09`` as Personio writes it: ``2014-11-09T00:00:00+01:00``."""
    if not day:
        return None
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), _BERLIN).isoformat()


def attribute(label: str, value: Any, kind: str = "standard",
              universal_id: str | None = None) -> dict[str, Any]:
    """One wrapped attribute."""
    return {"label": label, "value": value, "type": kind, "universal_id": universal_id}


def _ref(kind: str, number: int, name: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "attributes": {"id": number, "name": name, **extra}}


def personio_employee(row: dict[str, str], numbers: dict[str, int]) -> dict[str, Any]:
    """One sample row as a Personio employee (every attribute wrapped)."""
    hired = dt.date.fromisoformat(row["HireDate"])
    status = {"Terminated": "inactive", "Leave": "leave"}.get(
        row["Status"], "onboarding" if hired > AS_OF else "active")
    manager = row["ManagerID"]
    supervisor = ({"type": "Employee", "attributes": {
        "id": attribute("ID", int(manager), "integer", "id")}} if manager else None)

    def number(kind: str, name: str) -> int:
        return numbers.setdefault(f"{kind}:{name}", 281500 + len(numbers))

    attributes = {
        "id": attribute("ID", int(row["EmployeeID"]), "integer", "id"),
        "first_name": attribute("First name", row["FirstName"], universal_id="first_name"),
        "last_name": attribute("Last name", row["LastName"], universal_id="last_name"),
        "preferred_name": attribute("Preferred name", row["PreferredFirstName"] or None,
                                    universal_id="preferred_name"),
        "email": attribute("Email", email(row), universal_id="email"),
        "status": attribute("Status", status, universal_id="status"),
        "position": attribute("Position", row["JobTitle"], universal_id="position"),
        "employment_type": attribute(
            "Employment type", "external" if row["WorkerType"] == "Contractor" else "internal",
            universal_id="employment_type"),
        "supervisor": attribute("Supervisor", supervisor, universal_id="supervisor"),
        "department": attribute("Department", _ref(
            "Department", number("d", row["Department"]), row["Department"]),
            universal_id="department"),
        "office": attribute("Office", _ref("Office", number("o", row["Office"]), row["Office"]),
                            universal_id="office"),
        "hire_date": attribute("Hire date", local_midnight(row["HireDate"]), "date",
                               "hire_date"),
        "termination_date": attribute("Termination date",
                                      local_midnight(row["TerminationDate"]), "date",
                                      "termination_date"),
        "weekly_working_hours": attribute("Weekly hours", "40",
                                          universal_id="weekly_working_hours"),
        "cost_centers": attribute("Cost center", [_ref(
            "CostCenter", number("c", row["CostCenter"]), row["CostCenter"], percentage=100)],
            universal_id="cost_centers"),
        "dynamic_24407": attribute("Land", row["CountryCode"]),
    }
    return {"type": "Employee", "attributes": attributes}


class FakePersonio(FakeApi):
    """Personio's auth and employee list over an in-memory company."""

    def __init__(self, *, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET,
                 count: int = 40, offset_semantics: str = "items",
                 token_lifetime: int = 86400) -> None:
        super().__init__()
        assert offset_semantics in ("items", "pages")
        self.client_id = client_id
        self.client_secret = client_secret
        self.offset_semantics = offset_semantics
        self.token_lifetime = token_lifetime
        numbers: dict[str, int] = {}
        self.employees = [personio_employee(r, numbers) for r in sample_employees(count)]
        self.tokens: set[str] = set()
        self.app = Starlette(routes=[
            Route("/v1/auth", self._auth, methods=["POST"]),
            Route("/v1/company/employees", self._employees, methods=["GET"]),
        ])

    def revoke_tokens(self) -> None:
        """Forget every token handed out (the next API call answers 401)."""
        self.tokens.clear()

    def throttle(self, number: int, retry_after: str | None = "1") -> None:
        """Answer call ``number`` with 429 (``Retry-After`` is our assumption, §3.2)."""
        self.fail_call(number, 429, retry_after)

    async def _auth(self, request: Request) -> Response:
        fault = self.gate(request)
        if fault is not None:
            return fault
        if request.headers.get("content-type", "").startswith("application/json"):
            body = await request.json()
        else:
            body = dict(await request.form())
        if (not isinstance(body, dict) or body.get("client_id") != self.client_id
                or body.get("client_secret") != self.client_secret):
            return json_response({"success": False, "error": {
                "code": 0, "message": "Wrong credentials"}}, 401)
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return json_response({"success": True, "data": {
            "token": token, "expires_in": self.token_lifetime,
            "scope": "employees:read absences:read"}})

    async def _employees(self, request: Request) -> Response:
        fault = self.gate(request)
        if fault is not None:
            return fault
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or header[7:] not in self.tokens:
            return json_response({"success": False, "error": {
                "code": 0, "message": "The token is invalid or expired"}}, 401)
        query = request.query_params
        try:
            limit = int(query.get("limit", "50"))
            offset = int(query.get("offset", "0"))
        except ValueError:
            return json_response({"success": False, "error": {"message": "bad paging"}}, 400)
        if not 1 <= limit <= 100 or offset < 0:
            return json_response({"success": False, "error": {
                "code": 0, "message": "limit must be between 1 and 100"}}, 400)
        if self.offset_semantics == "pages":
            page = max(offset, 1)  # "0 silently treated as 1"
            start = (page - 1) * limit
        else:
            start = offset
        chosen = self.employees[start:start + limit]
        wanted = query.getlist("attributes[]")
        if wanted:
            chosen = [{"type": "Employee", "attributes": {
                k: v for k, v in e["attributes"].items() if k == "id" or k in wanted}}
                for e in chosen]
        total = len(self.employees)
        return json_response({
            "success": True,
            "metadata": {"total_elements": total, "current_page": start // limit,
                         "total_pages": math.ceil(total / limit)},
            "offset": offset, "limit": limit, "data": chosen})

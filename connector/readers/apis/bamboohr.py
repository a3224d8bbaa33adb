"""The ``bamboohr`` preset: employees from BambooHR's REST API (peers-and-hr-data.md §3.1).

Settings
--------
====================  ==========  =======================================================
``company_domain``    required    the company's BambooHR subdomain (``acme`` for
                                  acme.bamboohr.com); not needed when ``base_url`` is set
``api_key``           required    secret: ``{env: NAME}`` or ``{file: PATH}``; sent as HTTP
                                  basic user name with the password ``x``
``mode``              report      ``report``: a custom report (``POST /reports/custom``)
                                  with ``fields``; ``directory``: ``GET
                                  /employees/directory`` (the company's directory fields,
                                  which have **no supervisor, status or hire date**)
``fields``            see below   report fields, BambooHR field names
``only_current``      (both)      absent: two reports, see "Who is read" below;
                                  ``true``: one report with ``onlyCurrent=true`` (future
                                  hires are missing); ``false``: one report with
                                  ``onlyCurrent=false`` (history fields show future-dated
                                  values early). The directory sends ``true`` when absent
``title``             hr-connector  the report's title (BambooHR requires one)
``base_url``          see below   ``https://api.bamboohr.com/api/gateway.php/{company}/v1``
                                  by default; set it for a proxy or a local fake
====================  ==========  =======================================================

plus ``timeout``, ``max_attempts``, ``max_wait_seconds``, ``max_page_mb`` and ``name``
(every preset).

Default ``fields`` (the sync tools' list, §3.1): ``employeeNumber, firstName, lastName,
preferredName, workEmail, jobTitle, department, division, location, status,
employmentHistoryStatus, hireDate, terminationDate, supervisorEId, supervisorEmail,
lastChanged``.

Which field is which (BambooHR's list of field names): ``id`` is the employee id
BambooHR assigns (a number, sent as text, never reused; every report carries it);
``employeeNumber`` is the number the company assigns (free text, may be blank or
changed). For the supervisor, ``supervisorEId`` is the supervisor's ``id`` ("the ID of
the employee's CURRENT supervisor") and ``supervisorId`` the supervisor's
``employeeNumber``; ``supervisor`` is a name and ``supervisorEmail`` an address. Some
third-party connector documentation describes the two ids the other way round; the field
list is BambooHR's own. ``mappings/bamboohr.yaml`` keys on ``id`` and takes the manager
from ``supervisorEId``, so the two agree; a mapping keyed on ``employeeNumber`` takes
the manager from ``supervisorId``.

Who is read (report mode). BambooHR's custom report includes every employee whatever
their status, Active and Inactive, so people who left arrive with ``status: Inactive``
and their ``terminationDate`` and are disabled as leavers rather than vanishing (which
a full export would treat as absence). ``onlyCurrent=true`` (BambooHR's default)
restricts the report to current employees, leaving out people whose hire date is still
ahead, so pre-hires would never be created; ``onlyCurrent=false`` includes them but
also shows future-dated values of history fields (a job title or department from next
month). So by default two reports are read: one with ``onlyCurrent=true``, whose values
are used, and one with ``onlyCurrent=false``, from which only the people missing from
the first (the future hires) are added, with a note counting them.

Columns are BambooHR's field names, values as text (rules in :mod:`connector.readers.apis.generic`):
ids are text (``"4"``), ``status`` is ``Active`` or ``Inactive``, and an unset date,
which BambooHR writes as ``0000-00-00``, reads as empty. A requested field that the report
does not return (a misspelt name, or one hidden from the key's user) is a warning.

Neither endpoint pages. Throttling was answered 503 until 2026-09-16 and 429 with
``Retry-After`` since; both are retried, honouring ``Retry-After``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from connector.http import redact_url
from connector.readers.apis.auth import BasicAuth, Secret
from connector.readers.apis.generic import ApiReader, HttpSession
from connector.readers.apis.paging import PageRequest
from connector.readers.apis.presets import ApiContext, Connection, Settings

DEFAULT_BASE = "https://api.bamboohr.com/api/gateway.php/{company}/v1"
SYNC_FIELDS = ["employeeNumber", "firstName", "lastName", "preferredName", "workEmail",
               "jobTitle", "department", "division", "location", "status",
               "employmentHistoryStatus", "hireDate", "terminationDate", "supervisorEId",
               "supervisorEmail", "lastChanged"]
_DOMAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*$")
_UNSET_DATE = "0000-00-00"


def open_bamboohr(settings: Settings, context: ApiContext) -> ApiReader:
    """Read BambooHR's employees (``open_api_source("bamboohr", ...)``)."""
    company = settings.text("company_domain")
    base = settings.text("base_url")
    if base is None:
        if company is None:
            raise settings.error("company_domain", "is required (or set base_url)")
        if not _DOMAIN.match(company):
            raise settings.error("company_domain", "must be the subdomain alone, like acme")
        base = DEFAULT_BASE.format(company=company)
    base = base.rstrip("/")
    api_key = settings.secret("api_key")
    mode = settings.choice("mode", ("report", "directory"), "report")
    fields = settings.text_list("fields", SYNC_FIELDS)
    only_current = settings.get("only_current")
    if only_current is not None and not isinstance(only_current, bool):
        raise settings.error("only_current", "must be true or false (or left out)")
    title = settings.text("title", "hr-connector")
    connection = Connection.read(settings, context,
                                 f"bamboohr ({company or redact_url(base)})")
    auth = BasicAuth(api_key, Secret("x"))

    def report(session: HttpSession, notes: list[str], current: bool) -> list[Any]:
        request = PageRequest(f"{base}/reports/custom",
                              (("format", "JSON"), ("onlyCurrent", _flag(current))))
        document = session.json(session.send("POST", request,
                                             body={"title": title, "fields": fields}))
        if not notes:  # the same fields come back from both reports: say it once
            notes.extend(_missing_fields(document, fields))
        return _employees(session, request, document)

    def fetch(session: HttpSession, notes: list[str]) -> Iterable[Any]:
        if mode == "directory":
            request = PageRequest(f"{base}/employees/directory",
                                  (("onlyCurrent", _flag(only_current is not False)),))
            return _employees(session, request, session.json(session.send("GET", request)))
        if only_current is not None:
            employees = report(session, notes, only_current)
        else:
            employees = report(session, notes, True)
            known = {str(e.get("id")) for e in employees if isinstance(e, dict)}
            future = [e for e in report(session, notes, False)
                      if isinstance(e, dict) and str(e.get("id")) not in known]
            employees += future
            if future:
                notes.append(f"{len(future)} employee(s) with a future hire date read from "
                             "BambooHR's report with onlyCurrent=false")
        return employees

    hints = {401: "BambooHR refused the API key",
             403: ("the directory is not shared with the API key's user; use mode: report"
                   if mode == "directory" else
                   "the API key's user may not run custom reports"),
             404: ("BambooHR answers 404 for an empty directory, or company_domain is wrong"
                   if mode == "directory" else "check company_domain (or base_url)")}
    return connection.read_all(settings, context, auth=auth, fetch=fetch, hints=hints)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _employees(session: HttpSession, request: PageRequest, document: Any) -> list[Any]:
    """The answer's ``employees``, unset dates cleaned (a ``SourceError`` when absent)."""
    employees = document.get("employees") if isinstance(document, dict) else None
    if not isinstance(employees, list):
        raise session.fail(f"BambooHR's answer to {request.describe()} has no "
                           "'employees' list")
    return [_clean(e) if isinstance(e, dict) else e for e in employees]


def _clean(employee: dict[str, Any]) -> dict[str, Any]:
    """An employee with BambooHR's unset dates as null (ids become text when flattened)."""
    return {k: None if v == _UNSET_DATE else v for k, v in employee.items()}


def _missing_fields(document: Any, fields: list[str]) -> list[str]:
    """A note naming requested fields the report's ``fields`` list lacks."""
    listed = document.get("fields") if isinstance(document, dict) else None
    if not isinstance(listed, list):
        return []
    returned = {str(f.get("id")) for f in listed if isinstance(f, dict)}
    missing = [f for f in fields if f not in returned]
    if not missing:
        return []
    return ["BambooHR's report did not return field(s) " + ", ".join(missing)
            + " (misspelt, or hidden from the API key's user)"]

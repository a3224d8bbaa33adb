"""The SCIM plan (pure): what is sent, as what, and what is held, from mapped records and
the run state; the order and batches; outcomes read from provisioning-log entries."""

from __future__ import annotations

from typing import Any

from connector.core.plan.safety import Thresholds, check_safety
from connector.core.records import MappedRecord
from connector.errors import Problem
from connector.scim import (
    PREVIOUS,
    ScimPolicy,
    Sent,
    attribute_hashes,
    batches,
    build_scim_plan,
    check_user,
    in_manager_order,
    outcomes,
    payload_hash,
)
from connector.scim.digest import pack, unpack
from connector.scim.plan import ScimPlan


def rec(key: str, row: int = 2, *, status: str = "mapped", leaver: bool = False,
        manager: str | None = None, active: bool | None = True, **values: Any) -> MappedRecord:
    attributes = {"externalId": key, "displayName": f"Person {key}",
                  "userName": f"p{key}@contoso.com", **values}
    if active is not None:
        attributes["active"] = active
    record = MappedRecord(row=row, key=key, status=status,  # type: ignore[arg-type]
                          attributes=attributes if status == "mapped" else {},
                          leaver=leaver, manager_key=manager)
    if status == "error":
        record.errors = [Problem("bad date", row=row, key=key or None)]
    return record


def plan(records: list[MappedRecord], state: dict[str, Sent] | None = None,
         **policy: Any) -> ScimPlan:
    return build_scim_plan(records, state or {}, policy=ScimPolicy(**policy))


def accepted(result: ScimPlan) -> dict[str, Sent]:
    """The state after every send of ``result`` was accepted."""
    return {s.external_id: Sent(s.key, s.hash, s.attributes, s.active, confirmed=True)
            for s in result.sends}


def actions(result: ScimPlan) -> dict[str, str]:
    return {c.key: c.action for c in result.plan.changes}


def test_first_run_creates_every_record_with_valid_payloads() -> None:
    result = plan([rec("1", 2), rec("2", 3, manager="1")])
    assert actions(result) == {"1": "create", "2": "create"}
    data = result.sends[1].data
    assert data["active"] is True and check_user(data) == []
    assert data["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] == {
        "manager": {"value": "1"}}
    assert result.plan.changes[0].attributes["displayName"] == (None, "Person 1")


def test_a_second_unchanged_run_sends_nothing_and_full_sends_everything() -> None:
    records = [rec("1", 2), rec("2", 3, manager="1")]
    state = accepted(plan(records))
    again = plan([rec("1", 2), rec("2", 3, manager="1")], state)
    assert again.sends == [] and set(actions(again).values()) == {"unchanged"}
    full = plan([rec("1", 2), rec("2", 3, manager="1")], state, send_all=True)
    assert len(full.sends) == 2 and actions(full)["1"] == "update"
    assert full.plan.changes[0].attributes == {}  # nothing changed: counted by nobody
    assert check_safety(full.plan, Thresholds(max_changes=0)) == []


DEPARTMENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"


def test_a_change_is_an_update_naming_only_what_changed() -> None:
    state = accepted(plan([rec("1", title="Engineer")]))
    result = plan([rec("1", title="Lead", **{DEPARTMENT: "R&D"})], state)
    change = result.plan.changes[0]
    assert change.action == "update"
    assert change.attributes == {"title": (PREVIOUS, "Lead"), DEPARTMENT: (None, "R&D")}
    # overwriting a value counts, filling one does not
    assert check_safety(result.plan, Thresholds(max_changes=0))
    filled = plan([rec("1", title="Engineer", **{DEPARTMENT: "R&D"})], state)
    assert check_safety(filled.plan, Thresholds(max_changes=0)) == []


def test_leavers_are_sent_inactive_and_never_created() -> None:
    state = accepted(plan([rec("1"), rec("2", 3)]))
    result = plan([rec("1", leaver=True), rec("2", 3), rec("3", 4, leaver=True)], state)
    assert actions(result) == {"1": "disable", "2": "unchanged", "3": "skipped"}
    send = result.sends[0]
    assert send.data["active"] is False and send.data["externalId"] == "1"
    assert result.plan.changes[0].attributes["active"] == (True, False)


def test_absent_from_a_full_export_is_disabled_with_the_minimal_payload() -> None:
    state = accepted(plan([rec("1"), rec("2", 3)]))
    result = plan([rec("1")], state)
    assert actions(result) == {"1": "unchanged", "2": "disable"}
    assert result.sends[0].data == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "2", "active": False}
    assert plan([rec("1")], state, full_export=False).sends == []
    # once sent inactive, an absent user is not sent again
    assert plan([rec("1")], {**state, **accepted(result)}).sends == []


def test_a_rehire_is_an_enable() -> None:
    state = accepted(plan([rec("1", leaver=True)], accepted(plan([rec("1")]))))
    assert actions(plan([rec("1")], state)) == {"1": "enable"}


def test_flawed_rows_hold_absence_disables_their_own_user_and_manager_links() -> None:
    state = accepted(plan([rec("1"), rec("2", 3), rec("3", 4)]))
    keyless = plan([rec("1", manager="3"), rec("", 5, status="error"),
                    rec("3", 4, status="error")], state)
    held = {c.key: c for c in keyless.plan.changes if c.action == "held"}
    assert held["2"].held == "disable" and "could be this person" in (held["2"].reason or "")
    assert held["1"].held == "manager"  # its manager is on a row with errors, so its
    assert keyless.sends == []  # payload leaves the manager out: the one sent before
    allowed = plan([rec("1"), rec("", 5, status="error")], state, allow_absent_disables=True)
    assert {c.key: c.action for c in allowed.plan.changes if c.action == "disable"} == {
        "2": "disable", "3": "disable"}


def test_a_record_sent_without_its_flawed_manager_keeps_the_rest() -> None:
    result = plan([rec("1", manager="9"), rec("9", 3, status="error")])
    assert actions(result)["1"] in ("create", "held")
    send = next(s for s in result.sends if s.external_id == "1")
    assert "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" not in send.data
    assert any(c.action == "held" and c.held == "manager" for c in result.plan.changes)


def test_out_of_scope_after_being_sent_is_a_disable() -> None:
    state = accepted(plan([rec("1")]))
    result = plan([rec("1", status="skipped")], state)
    assert actions(result) == {"1": "disable"} and result.sends[0].data["active"] is False


def test_missing_and_shared_externalids_are_record_errors() -> None:
    result = plan([rec("1", externalId="X"), rec("2", 3, externalId="X"),
                   rec("3", 4, externalId="")])
    assert set(actions(result).values()) == {"error"} and result.sends == []


def test_a_failure_entra_reported_is_sent_again() -> None:
    record = rec("1")
    first = plan([record])
    sent = first.sends[0]
    state = {"1": Sent("1", sent.hash, sent.attributes, True,
                       failed="AzureActiveDirectoryInvalidUserPrincipalName")}
    result = plan([rec("1")], state)
    assert actions(result) == {"1": "create"}  # never succeeded: Entra will create it
    assert "AzureActiveDirectoryInvalidUserPrincipalName" in (result.plan.changes[0].reason or "")


def test_managers_are_posted_before_their_reports_in_batches_of_50() -> None:
    records = [rec(str(n), n + 2, manager=str(n - 1) if n else None) for n in range(120)]
    records.reverse()  # reports come first in the export
    ordered = in_manager_order(plan(records).sends)
    position = {s.external_id: i for i, s in enumerate(ordered)}
    assert all(position[str(n - 1)] < position[str(n)] for n in range(1, 120))
    assert [len(b) for b in batches(ordered)] == [50, 50, 20]


def test_outcomes_merge_entries_and_ignore_older_uploads() -> None:
    def entry(ident: str, at: str, status: str, action: str = "create",
              code: str | None = None, **extra: Any) -> dict[str, Any]:
        error = {"errorCode": code, "reason": "why"} if code else None
        return {"id": f"{ident}-{at}", "activityDateTime": at, "provisioningAction": action,
                "sourceIdentity": {"id": ident}, "targetIdentity": {"id": f"obj-{ident}"},
                "provisioningStatusInfo": {"status": status, "errorInformation": error},
                **extra}

    entries = [
        entry("1", "2026-01-01T09:00:00Z", "failure", code="OldFailure"),  # an older upload
        entry("1", "2026-01-02T09:00:01.1234567Z", "success", modifiedProperties=[
            {"displayName": "jobTitle", "oldValue": "A", "newValue": "B"}]),
        entry("2", "2026-01-02T09:00:02Z", "success", "create"),
        entry("2", "2026-01-02T09:00:03Z", "warning", "update", code="ReferenceResolutionFailed"),
        entry("3", "2026-01-02T09:00:02Z", "failure",
              code="AzureActiveDirectoryInvalidUserPrincipalName"),
        entry("9", "2026-01-02T09:00:02Z", "success"),
    ]
    since = "2026-01-02T09:00:00Z"
    found = outcomes(entries, {"1": since, "2": since, "3": since, "4": since})
    assert set(found) == {"1", "2", "3"}
    assert (found["1"].status, found["1"].modified) == ("success", {"jobTitle": ("A", "B")})
    assert (found["2"].status, found["2"].action, found["2"].code) == (
        "warning", "create", "ReferenceResolutionFailed")
    assert found["3"].failed and found["3"].user_id == "obj-3"
    again = outcomes(entries, {"2": since}, found)  # a later poll counts nothing twice
    assert again["2"].entries == found["2"].entries


def test_hashes_ignore_key_order_and_hold_no_values() -> None:
    assert payload_hash({"a": 1, "b": [1, 2]}) == payload_hash({"b": [1, 2], "a": 1})
    hashes = attribute_hashes({"title": "Secret Project Lead", "empty": ""})
    assert len(hashes) == 1 and "Secret" not in str(hashes) and "title" not in str(hashes)
    assert unpack(pack(hashes)) == hashes

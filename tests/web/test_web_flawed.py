"""The upload page with rows in error: it says what really happens to them, shows what is
held back, and applies the configuration's policy (allow_absent_disables)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import SAMPLE_CSV
from tests.test_sync_flawed import flawed_export
from tests.web.web_helpers import make_client, post_button, sign_in, upload, upload_id, users


def test_rows_in_error_disable_nobody_and_the_page_says_what_is_held(tmp_path: Path) -> None:
    state = tmp_path / "state"
    source, (a, b, c) = flawed_export(tmp_path / "flawed.csv")
    with make_client(tmp_path, allow_self_approval=True) as client:
        sign_in(client, "sam")
        first = upload_id(upload(client, "employees.csv", SAMPLE_CSV.read_bytes()))
        assert post_button(client, first, "approve").status_code == 303
        uid = upload_id(upload(client, "flawed.csv", source.read_bytes()))
        page = client.get(f"/uploads/{uid}").text
        assert "will not be synced" not in page
        assert ("the accounts they name are left alone and while a row has a blank or "
                "repeated key, nobody is disabled for being missing from the file") in page
        assert '<p class="note" id="held">3 changes are held back by rows with errors' in page
        assert "held <b>3</b>" in page and "disable <b>0</b>" in page
        assert post_button(client, uid, "approve").status_code == 303
        result = client.get(f"/uploads/{uid}/result").text
        assert "3 changes held back by rows with errors" in result
    tenant = users(state)
    assert all(tenant[k]["accountEnabled"] for k in (a, b, c))


def test_the_configurations_policy_can_allow_absence_disables(tmp_path: Path) -> None:
    state = tmp_path / "state"
    source, (a, b, c) = flawed_export(tmp_path / "flawed.csv")
    with make_client(tmp_path, allow_self_approval=True,
                     policies={"allow_absent_disables": True}) as client:
        sign_in(client, "sam")
        first = upload_id(upload(client, "employees.csv", SAMPLE_CSV.read_bytes()))
        assert post_button(client, first, "approve").status_code == 303
        uid = upload_id(upload(client, "flawed.csv", source.read_bytes()))
        page = client.get(f"/uploads/{uid}").text
        assert "people missing from the file are disabled all the same" in page
        assert "held <b>1</b>" in page and "disable <b>2</b>" in page
        assert post_button(client, uid, "approve").status_code == 303
    tenant = users(state)
    assert (tenant[a]["accountEnabled"], tenant[b]["accountEnabled"],
            tenant[c]["accountEnabled"]) == (False, False, True)

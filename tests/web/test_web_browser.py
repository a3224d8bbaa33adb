"""The upload page in a real browser: Playwright driving Debian's Chromium against uvicorn
on 127.0.0.1, the sandbox tenant in the test's folder.

Playwright's own browser download cannot work here, so the tests use /usr/bin/chromium;
without it they skip, unless HRC_REQUIRE_BROWSER=1 (CI), where they fail instead. A
screenshot of the diff page is kept in test-artifacts/diff-page.png.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.config import load_config
from connector.sandbox.serving import serve_in_thread
from connector.web.app import create_app
from tests.helpers import ROOT, SAMPLE_CSV
from tests.web.servers import interrupted_upload
from tests.web.test_web_diff import leavers_and_movers
from tests.web.web_helpers import (
    ACCOUNTS,
    SEEDED,
    post_button,
    upload,
    upload_id,
    users,
    with_duplicate,
    without_column,
    write_config,
)
from tests.web.web_helpers import sign_in as sign_in_http
from tests.web.web_helpers import sign_out as sign_out_http

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _unavailable(reason: str) -> None:
    if os.environ.get("HRC_REQUIRE_BROWSER") == "1":
        pytest.fail(f"HRC_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module (starting it is the slow part)."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """The upload page on a free port of 127.0.0.1, served by uvicorn from a thread."""
    app = create_app(load_config(write_config(tmp_path)))
    with serve_in_thread(app, name="upload-page", start_timeout=10) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def sign_in(page: Any, name: str, password: str | None = None) -> None:
    page.goto("/")  # not signed in: sent to the sign-in page
    page.fill("#name", name)
    page.fill("#password", password or ACCOUNTS[name][0])
    page.get_by_role("button", name="Sign in").click()


def upload_file(page: Any, path: Path) -> None:
    page.get_by_role("link", name="New upload").click()
    page.set_input_files("#file", str(path))
    page.get_by_role("button", name="Upload and check").click()


def test_sign_in_upload_review_approve_and_the_tenant_holds_the_users(
    page: Any, tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    sign_in(page, "ulla", "a wrong password")
    expect(page.locator("[role=alert]")).to_have_text("Wrong account name or password.")
    sign_in(page, "ulla")
    expect(page.locator("header .who")).to_have_text("ulla (uploader)")
    upload_file(page, SAMPLE_CSV)
    expect(page.locator("h1 .badge")).to_have_text("reviewed")
    expect(page.locator("#verdict")).to_contain_text("Every record can be used. 360 records")
    expect(page.locator(".counts")).to_contain_text("create 337")
    assert page.locator("text=Approve and apply").count() == 0  # not for an uploader
    expect(page.get_by_role("button", name="Withdraw")).to_be_visible()
    # The diff: a page of users, each a block that opens on old -> new per attribute.
    expect(page.locator("#shown")).to_have_text("Users 1–50 of 337")
    expect(page.locator("#skipped-note")).to_contain_text("23 skipped records")
    first = page.locator("details.user").first
    expect(first.locator("summary")).to_contain_text("000001")
    expect(first.locator("ins").first).to_be_hidden()  # a new user's block starts closed
    first.locator("summary").click()
    expect(first.locator("ins").first).to_be_visible()
    height = page.evaluate("document.documentElement.scrollHeight")
    print(f"diff page height, 337 new users, 50 a page: {height} px")
    assert height < 20_000  # was 180,000 px with every user on one page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "diff-page.png"), full_page=True)
    page.get_by_role("link", name="Next →").first.click()
    expect(page.locator("#shown")).to_have_text("Users 51–100 of 337")
    page.fill("#q", "Lopez")
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#shown")).to_contain_text("matching “Lopez”")
    assert 0 < page.locator("details.user").count() < 20
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator(".ok")).to_have_text("You have signed out.")

    sign_in(page, "arne")
    page.locator("table#uploads").get_by_role("link", name="employees.csv").click()
    expect(page.locator("#history")).to_contain_text("ulla")
    expect(page.get_by_role("button", name="Reject")).to_be_visible()
    page.get_by_role("button", name="Approve and apply 1378 changes").click()
    expect(page.locator("#headline")).to_have_text(
        "Applied: 1378 writes succeeded, groups: 31 groups created, 674 members added")
    expect(page.locator("details.user")).to_have_count(50)
    height = page.evaluate("document.documentElement.scrollHeight")
    print(f"applied result page height, 1378 writes: {height} px")
    assert height < 20_000  # was 117,000 px
    page.get_by_role("link", name="Provisioning log (1378 operations)").click()
    expect(page.locator("#log tbody tr")).to_have_count(200)
    expect(page.locator("#log-shown")).to_have_text("Operations 1–200 of 1378")
    page.get_by_role("link", name="Uploads", exact=True).click()
    listed = page.locator("table#uploads tbody tr").first
    expect(listed).to_contain_text("ulla")
    expect(listed).to_contain_text("arne")
    expect(listed.locator(".badge")).to_have_text("applied")

    tenant = users(tmp_path / "state")
    assert len(tenant) == SEEDED + 337
    assert tenant["000001"]["displayName"] == "Bill Lopez"


def test_the_diff_shows_disables_first_and_filters_them(page: Any, server: str,
                                                        tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with httpx.Client(base_url=server, timeout=60) as client:  # a first load
        sign_in_http(client, "ulla")
        first = upload_id(upload(client, "employees.csv", SAMPLE_CSV.read_bytes()))
        sign_out_http(client)
        sign_in_http(client, "arne")
        assert post_button(client, first, "approve").status_code == 303
    content, missing, _ = leavers_and_movers()
    export = tmp_path / "export.csv"
    export.write_bytes(content)
    sign_in(page, "ulla")
    upload_file(page, export)
    blocks = page.locator("details.user")
    for n in range(5):  # the disables come first, open
        expect(blocks.nth(n).locator("summary .act").first).to_have_text("disable")
        expect(blocks.nth(n).locator("ins").first).to_be_visible()
    expect(blocks.nth(5).locator("summary .act").first).to_have_text("update")
    page.locator("nav.filters").get_by_role("link", name="disable 5").click()
    expect(blocks).to_have_count(5)
    assert sorted(blocks.nth(n).get_attribute("data-key") for n in range(5)) == sorted(missing)
    assert page.evaluate("document.documentElement.scrollHeight") < 5_000


def test_an_interrupted_apply_is_checked_again_and_approved(browser: Any,
                                                            tmp_path: Path) -> None:
    from playwright.sync_api import expect

    uid, killed = interrupted_upload(tmp_path)
    written = len(users(tmp_path / "state")) - SEEDED
    app = create_app(load_config(tmp_path / "hr-connector.yaml"))  # the page restarts
    with serve_in_thread(app, name="upload-page", start_timeout=10) as port:
        context = browser.new_context(base_url=f"http://127.0.0.1:{port}")
        context.set_default_timeout(15_000)
        page = context.new_page()
        sign_in(page, "arne")
        listed = page.locator(f"table#uploads tr[data-id='{uid}']")
        expect(listed.locator(".badge")).to_have_text("interrupted")
        listed.get_by_role("link", name="employees.csv").click()
        expect(page.locator("#notice")).to_contain_text(f"Run {killed} did not finish")
        expect(page.locator("#attempts tbody tr")).to_have_count(1)
        assert page.locator("text=Approve and apply").count() == 0
        page.get_by_role("button", name="Check again").click()
        expect(page.locator("h1 .badge")).to_have_text("reviewed")
        expect(page.locator(".counts")).to_contain_text(f"create {337 - written}")
        page.get_by_role("button", name=re.compile(r"^Approve and apply \d+ changes$")).click()
        expect(page.locator("#headline")).to_contain_text("Applied:")
        page.get_by_role("link", name="Back to the upload").click()
        expect(page.locator("#attempts tbody tr")).to_have_count(2)
        expect(page.locator("#attempts tbody tr").first.locator(".badge")).to_have_text(
            "interrupted")
        context.close()
    assert len(users(tmp_path / "state")) == SEEDED + 337


def test_bad_files_show_per_row_errors_or_a_clear_refusal(page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    sign_in(page, "ulla")
    upload_file(page, with_duplicate(tmp_path / "duplicate.csv"))
    problems = page.locator("#problems tbody tr")
    expect(problems).to_have_count(2)
    expect(problems.first).to_contain_text("is used on 2 rows (2, 4)")
    assert [problems.nth(i).locator("td").nth(2).inner_text() for i in range(2)] == ["2", "4"]
    expect(page.locator(".counts")).to_contain_text("error 2")

    upload_file(page, without_column(tmp_path / "no-lastname.csv"))
    expect(page.locator("h1 .badge")).to_have_text("failed")
    expect(page.locator("#notice")).to_contain_text("LastName")

    pdf = tmp_path / "employees.xlsx"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    upload_file(page, pdf)
    expect(page.locator("h1")).to_have_text("This file cannot be used")
    expect(page.locator("[role=alert]")).to_contain_text(
        "employees.xlsx is a PDF document, not an HR export (CSV or XLSX)")
    assert len(users(tmp_path / "state")) == SEEDED
    kept = [p.name for p in (tmp_path / "state" / "uploads").iterdir()
            if re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{12}", p.name)]
    assert len(kept) == 2  # the two spreadsheets, not the PDF


def test_a_missing_browser_skips_but_fails_where_it_is_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HRC_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception):
        _unavailable("no browser")
    monkeypatch.setenv("HRC_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="HRC_REQUIRE_BROWSER=1 but no browser"):
        _unavailable("no browser")

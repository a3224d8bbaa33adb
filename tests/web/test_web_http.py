"""The upload page over HTTP (in-process): sign-in, cookies, CSRF, limits, refusals, roles.

Each refusal must say why and change nothing: no session, no stored file, no run.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import SAMPLE_CSV, SAMPLE_XLSX
from tests.readers.crafted import SHEET, cell, declare_size, row, workbook
from tests.web.web_helpers import (
    csrf_of,
    make_client,
    post_button,
    sign_in,
    stored_uploads,
    upload,
    upload_id,
)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[httpx.Client]:
    with make_client(tmp_path) as client:
        yield client


def signed_in(client: httpx.Client) -> bool:
    return client.get("/").status_code == 200


def test_wrong_password_is_refused_clearly_and_starts_no_session(
    client: httpx.Client,
) -> None:
    response = sign_in(client, "ulla", "not the password")
    assert response.status_code == 401
    assert "Wrong account name or password." in response.text
    assert not signed_in(client)
    # An unknown account gets the very same answer (no account enumeration).
    unknown = sign_in(client, "mallory", "whatever")
    assert unknown.status_code == 401 and "Wrong account name or password." in unknown.text
    assert client.get("/").headers["location"] == "/login"


def test_sign_in_then_sign_out_and_the_old_cookie_is_dead(client: httpx.Client) -> None:
    response = sign_in(client, "ulla")
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = client.cookies["hrc_session"]
    assert signed_in(client)
    token = csrf_of(client.get("/").text)
    out = client.post("/logout", data={"csrf": token})
    assert out.status_code == 303 and out.headers["location"] == "/login?out=1"
    client.cookies.set("hrc_session", cookie)  # replaying the signed-out session
    assert not signed_in(client)


def test_sign_in_form_needs_its_token_and_next_stays_on_this_site(
    client: httpx.Client,
) -> None:
    client.get("/login")
    refused = client.post("/login", data={"name": "ulla", "password": "uploader password 1"})
    assert refused.status_code == 403 and "security token" in refused.text
    assert not signed_in(client)
    for target in ("//evil.example/x", "/\\evil.example", "/\t/evil.example",
                   "https://evil.example/"):
        token = csrf_of(client.get("/login").text)
        response = client.post("/login", data={"csrf": token, "name": "ulla", "next": target,
                                               "password": "uploader password 1"})
        assert response.headers["location"] == "/", target
        client.cookies.clear()
    token = csrf_of(client.get("/login?next=/uploads/new").text)
    assert 'name="next" value="/uploads/new"' in client.get("/login?next=/uploads/new").text
    response = client.post("/login", data={"csrf": token, "name": "ulla", "next": "/uploads/new",
                                           "password": "uploader password 1"})
    assert response.headers["location"] == "/uploads/new"


def test_cookie_flags_over_http_and_https(tmp_path: Path) -> None:
    with make_client(tmp_path / "plain") as plain:
        flags = sign_in(plain, "ulla").headers["set-cookie"].lower()
        assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
        assert "max-age=28800" in flags and "secure" not in flags
    with make_client(tmp_path / "tls", base_url="https://hr.example") as tls:
        assert "; secure" in sign_in(tls, "ulla").headers["set-cookie"].lower()


def test_every_page_has_the_security_headers(client: httpx.Client) -> None:
    response = client.get("/login")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp  # no script at all (default-src 'none')
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


def test_upload_without_or_with_a_wrong_csrf_token_is_refused_and_keeps_nothing(
    client: httpx.Client, tmp_path: Path,
) -> None:
    sign_in(client, "ulla")
    for token in ("", "forged-token"):
        response = upload(client, "employees.csv", SAMPLE_CSV.read_bytes(), csrf=token)
        assert response.status_code == 403 and "security token" in response.text
    no_field = client.post("/uploads", files={"file": ("e.csv", SAMPLE_CSV.read_bytes())})
    assert no_field.status_code == 403
    assert stored_uploads(tmp_path / "state") == []
    assert not (tmp_path / "state" / "runs").exists()


def test_a_post_from_another_site_is_refused(client: httpx.Client, tmp_path: Path) -> None:
    sign_in(client, "ulla")
    token = csrf_of(client.get("/uploads/new").text)
    response = client.post("/uploads", data={"csrf": token}, headers={
        "Origin": "https://evil.example"}, files={"file": ("e.csv", b"a,b\n1,2\n")})
    assert response.status_code == 403 and "another site" in response.text
    assert stored_uploads(tmp_path / "state") == []
    same = client.post("/logout", data={"csrf": token}, headers={
        "Origin": "http://testserver"})
    assert same.status_code == 303


def test_content_decides_the_format_not_the_extension(
    client: httpx.Client, tmp_path: Path,
) -> None:
    sign_in(client, "ulla")
    workbook = upload_id(upload(client, "export.csv", SAMPLE_XLSX.read_bytes()))
    text = upload_id(upload(client, "export.xlsx", SAMPLE_CSV.read_bytes()))
    stored = stored_uploads(tmp_path / "state")
    assert f"{workbook}/source.xlsx" in stored and f"{text}/source.csv" in stored
    for uid in (workbook, text):
        assert "create <b>337</b>" in client.get(f"/uploads/{uid}").text


def test_a_stored_file_changed_on_disk_is_not_applied(client: httpx.Client,
                                                      tmp_path: Path) -> None:
    sign_in(client, "ulla")
    uid = upload_id(upload(client, "employees.csv", SAMPLE_CSV.read_bytes()))
    stored = tmp_path / "state" / "uploads" / uid / "source.csv"
    stored.write_bytes(stored.read_bytes().replace(b"Lopez", b"Lopes"))
    token = csrf_of(client.get("/").text)
    client.post("/logout", data={"csrf": token})
    sign_in(client, "arne")
    response = post_button(client, uid, "approve")
    assert response.status_code == 409 and "SHA-256 differs" in response.text


def test_too_large_a_file_is_refused_and_nothing_is_kept(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with make_client(tmp_path, max_upload_mb=0.01) as client:  # about 10 KB
        sign_in(client, "ulla")
        sample = SAMPLE_CSV.read_bytes()  # 73 KB: within the request's slack for the
        big = sample * 3  # other fields, but over the file's limit; this is over both.
        for content in (sample, big):
            response = upload(client, "employees.csv", content)
            assert response.status_code == 413
            assert "too large" in response.text and "at most 0.01 MB" in response.text
        # Without a Content-Length (chunked), the limit stops the reading all the same.
        token = csrf_of(client.get("/uploads/new").text)
        boundary = "hrcboundary"
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{token}'
                f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="e.csv"\r\n\r\n').encode() + big + f"\r\n--{boundary}--\r\n".encode()
        chunked = client.post("/uploads", content=iter([body[i:i + 4096] for i in range(
            0, len(body), 4096)]), headers={"Content-Type": f"multipart/form-data; "
                                                           f"boundary={boundary}"})
        assert chunked.status_code == 413
    assert stored_uploads(state) == []


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a workbook")
    return buffer.getvalue()


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("employees.csv", b"%PDF-1.7\n1 0 obj\n", "is a PDF document, not an HR export"),
    ("employees.xlsx", _zip(), "is a ZIP archive but not an Excel workbook"),
    ("employees.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64,
     "legacy Excel 97-2003 workbook"),
    ("photo.csv", b"\x89PNG\r\n\x1a\n" + b"\0" * 32, "is a PNG image"),
    ("empty.csv", b"", "is empty"),
], ids=["pdf", "zip", "legacy-xls", "png", "empty"])
def test_a_file_that_is_not_a_spreadsheet_is_refused_with_the_readers_reason(
    client: httpx.Client, tmp_path: Path, name: str, content: bytes, reason: str,
) -> None:
    sign_in(client, "ulla")
    response = upload(client, name, content)
    assert response.status_code == 422
    assert reason in response.text and name in response.text
    assert stored_uploads(tmp_path / "state") == []


def test_a_good_upload_is_stored_under_a_generated_name_with_its_metadata(
    client: httpx.Client, tmp_path: Path,
) -> None:
    sign_in(client, "ulla")
    uid = upload_id(upload(client, "../../HR export (final).csv", SAMPLE_CSV.read_bytes()))
    assert stored_uploads(tmp_path / "state") == [uid, f"{uid}/source.csv",
                                                  f"{uid}/upload.json"]
    page = client.get(f"/uploads/{uid}").text
    assert "HR export (final).csv" in page and "../" not in page
    assert 'class="badge st-reviewed"' in page and "create <b>337</b>" in page
    listing = client.get("/").text
    assert uid in listing and "ulla" in listing and "reviewed" in listing


# Who may do what: method, path (UPLOAD = an upload of ulla's), roles allowed.
ROUTES = [
    ("GET", "/", {"ulla", "arne", "ada"}),
    ("GET", "/uploads/new", {"ulla", "ada"}),
    ("POST", "/uploads", {"ulla", "ada"}),
    ("GET", "/uploads/UPLOAD", {"ulla", "arne", "ada"}),
    ("GET", "/uploads/UPLOAD/runs/RUN", {"ulla", "arne", "ada"}),
    ("POST", "/uploads/UPLOAD/approve", {"arne", "ada"}),
    ("GET", "/admin", {"ada"}),
]


def test_roles_are_enforced_on_every_route(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        sign_in(client, "ulla")
        uid = upload_id(upload(client, "employees.csv", SAMPLE_CSV.read_bytes()))
        run = client.get(f"/uploads/{uid}").text.split("/runs/")[1].split('"')[0]
        token = csrf_of(client.get("/").text)
        client.post("/logout", data={"csrf": token})
        for method, template, allowed in ROUTES:
            path = template.replace("UPLOAD", uid).replace("RUN", run)
            anonymous = client.request(method, path)
            assert anonymous.status_code == (303 if method == "GET" else 401), path
            for name in ("ulla", "arne", "ada"):
                sign_in(client, name)
                token = csrf_of(client.get("/").text)
                # A POST that passes the role check fails later for want of a file, or is
                # the approval itself (a refusal for ulla's own or, for others, applied).
                response = (client.get(path) if method == "GET" else
                            client.post(path, data={"csrf": token}))
                if name in allowed:
                    assert response.status_code != 403, (name, path, response.text)
                else:
                    assert response.status_code == 403, (name, path)
                    assert "This needs one of the roles" in response.text
                client.post("/logout", data={"csrf": token})


def test_unknown_uploads_and_runs_are_404(client: httpx.Client) -> None:
    sign_in(client, "arne")
    assert client.get("/uploads/20990101T000000Z-000000000000").status_code == 404
    assert client.get("/uploads/..%2f..%2fconfig").status_code == 404
    assert client.get("/nowhere").status_code == 404


def test_a_workbook_that_would_expand_too_far_is_refused(tmp_path: Path) -> None:
    bomb = workbook(tmp_path / "bomb.xlsx", row(1, cell("A1", "EmployeeID")))
    declare_size(bomb, SHEET, 2**31)  # the reader's cap is 1 GiB unzipped
    with make_client(tmp_path) as client:
        sign_in(client, "ulla")
        response = upload(client, "bomb.xlsx", bomb.read_bytes())
        assert response.status_code == 422 and "would expand to 2,048 MiB" in response.text
    assert stored_uploads(tmp_path / "state") == []


def test_the_pages_style_is_the_one_the_csp_allows(client: httpx.Client) -> None:
    """The CSS comes from templates/page.css: the CSP hashes exactly what the page holds."""
    import base64
    import hashlib

    response = client.get("/login")
    style = response.text.split("<style>", 1)[1].split("</style>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in response.headers["content-security-policy"]
    assert response.text.count("<style>") == 1 and "box-sizing" in style

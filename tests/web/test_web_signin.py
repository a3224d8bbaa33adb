"""Sign-in throttling that strangers cannot turn against an account's owner, failed
sign-ins shown to the owner, and sign-out that survives a restart (over HTTP)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from connector.web.throttle import SignInThrottle
from tests.web.servers import served
from tests.web.test_web_auth import ManualTimer
from tests.web.web_helpers import ACCOUNTS, client_of, csrf_of, make_app, sign_in, sign_out


def attempt(client: httpx.Client, name: str, password: str, address: str) -> httpx.Response:
    """A sign-in through a proxy that says the client is at ``address``."""
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"csrf": token, "name": name, "password": password},
                       headers={"X-Forwarded-For": address})


def test_wrong_passwords_elsewhere_slow_the_guesser_never_the_owner(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    timer = ManualTimer()
    app.state.web.throttle = SignInThrottle(timer=timer)
    stranger, owner = "203.0.113.9", "198.51.100.7"
    with served(app, forwarded_allow_ips="127.0.0.1") as port:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base) as guesser:
            statuses = [attempt(guesser, "arne", "guess", stranger).status_code
                        for _ in range(4)]
            assert statuses == [401, 401, 401, 429]  # waits after the third failure
            for _ in range(3):
                timer.now += 100  # past each growing delay
                assert attempt(guesser, "arne", "guess", stranger).status_code == 401
            # Even the right password waits, from the guesser's address ...
            slowed = attempt(guesser, "arne", ACCOUNTS["arne"][0], stranger)
            assert slowed.status_code == 429 and int(slowed.headers["retry-after"]) > 1
            assert "Try again in" in slowed.text
        # ... but arne, from his own address, signs in at once, and is told.
        with httpx.Client(base_url=base) as arne:
            assert attempt(arne, "arne", ACCOUNTS["arne"][0], owner).status_code == 303
            first = arne.get("/").text
            assert ('id="flash"' in first and "6 failed sign-ins to your account since your "
                    "last visit, the last from 203.0.113.9 at 2026-11-26") in first
            assert "failed sign-in" not in arne.get("/").text  # once
    record = json.loads((tmp_path / "state" / "web" / "sign-ins.json").read_text("utf-8"))
    assert record["arne"]["failed"] == 0 and "last_success" in record["arne"]


def test_failed_sign_ins_are_shown_at_the_next_sign_in_after_a_restart(
    tmp_path: Path,
) -> None:
    with client_of(make_app(tmp_path)) as client:
        assert sign_in(client, "ulla", "a guess").status_code == 401
    with client_of(make_app(tmp_path)) as client:  # restarted
        assert sign_in(client, "ulla").status_code == 303
        assert ("1 failed sign-in to your account since your last visit, the last from "
                "127.0.0.1") in client.get("/").text
        sign_out(client)
        sign_in(client, "ulla")
        assert "failed sign-in" not in client.get("/").text


def test_unknown_names_are_throttled_but_never_recorded(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    app.state.web.throttle = SignInThrottle(timer=ManualTimer())
    with client_of(app) as client:
        for _ in range(3):
            assert sign_in(client, "mallory", "guess").status_code == 401
        assert sign_in(client, "mallory", "guess").status_code == 429
    assert not (tmp_path / "state" / "web" / "sign-ins.json").exists()


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("HRC_TEST_SESSION_SECRET", "a long configured session secret")
    return {"env": "HRC_TEST_SESSION_SECRET"}


def test_a_signed_out_cookie_stays_dead_after_a_restart(tmp_path: Path,
                                                        secret: dict[str, str]) -> None:
    with client_of(make_app(tmp_path, session_secret=secret)) as before:
        sign_in(before, "ulla")
        signed_out = before.cookies["hrc_session"]
        sign_out(before)
        sign_in(before, "arne")
        kept = before.cookies["hrc_session"]  # signed in, never signed out
    # A new app over the same state and secret: the restart.
    with client_of(make_app(tmp_path, session_secret=secret)) as after:
        after.cookies.set("hrc_session", kept)
        assert after.get("/").status_code == 200  # sessions outlive the restart ...
        after.cookies.set("hrc_session", signed_out)
        response = after.get("/")  # ... but not a signed-out one
        assert response.status_code == 303 and response.headers["location"] == "/login"
    revoked = json.loads((tmp_path / "state" / "web" / "revoked-sessions.json")
                         .read_text("utf-8"))
    assert len(revoked) == 1  # the sign-out; never the anonymous sessions replaced


def test_an_unreadable_revocation_file_stops_the_start(tmp_path: Path,
                                                       secret: dict[str, str]) -> None:
    from connector.errors import ConfigError

    folder = tmp_path / "state" / "web"
    folder.mkdir(parents=True)
    (folder / "revoked-sessions.json").write_text("{half", encoding="utf-8")
    with pytest.raises(ConfigError, match="revoked sessions"):
        make_app(tmp_path, session_secret=secret)

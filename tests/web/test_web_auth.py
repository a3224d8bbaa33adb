"""Passwords, signed sessions, throttling and the ``serve`` commands, without a browser."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli.main import main
from connector.config import Account
from connector.core import clock
from connector.web.auth import (
    DEFAULT_N,
    Session,
    SessionCodec,
    csrf_ok,
    hash_password,
    parse_hash,
    password_fingerprint,
    verify_password,
)
from connector.web.session import visitor
from connector.web.throttle import SignInThrottle, Throttle
from tests.web.web_helpers import write_config


def test_hash_is_salted_scrypt_and_verifies_only_the_right_password() -> None:
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert first != second  # a new salt each time
    assert first.startswith(f"scrypt${DEFAULT_N}$8$3$") and len(first.split("$")) == 6
    assert verify_password("correct horse battery", first)
    assert verify_password("correct horse battery", second)
    assert not verify_password("correct horse batterY", first)
    assert not verify_password("", first)


@pytest.mark.parametrize("bad", ["", "plain", "scrypt$1$8$1$AAAA$BBBB", "bcrypt$2$8$1$x$y",
                                 "scrypt$1024$8$1$!!!$???", "scrypt$3000$8$1$c2FsdHNhbHQ$"
                                 "a2V5a2V5a2V5a2V5a2V5a2V5", "scrypt$2097152$8$1$c2FsdHNhbHQ$"
                                 "a2V5a2V5a2V5a2V5a2V5a2V5"])
def test_malformed_or_unreasonable_hashes_never_verify(bad: str) -> None:
    assert parse_hash(bad) is None
    assert not verify_password("anything", bad)


def test_session_cookie_is_signed_expires_and_can_be_revoked() -> None:
    codec = SessionCodec(b"a configured secret")
    session = codec.new("ulla", "fp")
    cookie = codec.encode(session)
    assert codec.decode(cookie) == session
    # Another key (another server, or a restart without a configured secret) rejects it.
    assert SessionCodec(b"another secret").decode(cookie) is None
    assert SessionCodec(None).decode(cookie) is None
    # The same configured secret accepts it: sessions survive a restart.
    assert SessionCodec(b"a configured secret").decode(cookie) == session
    payload, signature = cookie.split(".")
    forged = codec.encode(codec.new("ada", "fp")).split(".")[0]
    assert codec.decode(f"{forged}.{signature}") is None
    assert codec.decode(payload) is None and codec.decode("") is None
    expired = Session(sid="x", csrf="y", expires=int(clock.now().timestamp()) - 1,
                      user="ulla")
    assert codec.decode(codec.encode(expired)) is None
    codec.revoke(session)
    assert codec.decode(cookie) is None


def test_csrf_tokens_compare_exactly() -> None:
    session = SessionCodec(None).new()
    assert csrf_ok(session, session.csrf)
    assert not csrf_ok(session, session.csrf[:-1]) and not csrf_ok(session, "")
    assert not csrf_ok(session, None) and not csrf_ok(None, session.csrf)


def test_a_new_password_or_a_removed_account_ends_its_sessions() -> None:
    codec = SessionCodec(None)
    account = Account(name="ulla", password_hash=hash_password("old password 1", n=2**10),
                      roles=["uploader"])
    cookie = codec.encode(codec.new("ulla", password_fingerprint(account.password_hash)))
    assert visitor(codec, {"ulla": account}, cookie).account == account
    changed = account.model_copy(update={"password_hash": hash_password("new password 1",
                                                                        n=2**10)})
    assert visitor(codec, {"ulla": changed}, cookie).account is None
    assert visitor(codec, {}, cookie).account is None


class ManualTimer:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_delays_grow_after_the_free_failures_and_are_capped() -> None:
    timer = ManualTimer()
    throttle = Throttle(free=3, base=1.0, cap=8.0, forget=3600, timer=timer)
    waits = []
    for _ in range(8):
        throttle.fail("k")
        waits.append(throttle.wait("k"))
    assert waits == [0, 0, 1, 2, 4, 8, 8, 8]  # doubling after the 3rd, capped
    timer.now += 7.5
    assert throttle.wait("k") == 0.5 and throttle.wait("other") == 0
    timer.now += 0.5
    assert throttle.wait("k") == 0
    throttle.fail("k")
    timer.now += 3601  # an hour after the last failure: forgotten
    assert throttle.wait("k") == 0
    throttle.fail("k")
    assert throttle.wait("k") == 0  # counting starts again
    throttle.clear("k")
    assert len(throttle) == 0


def test_throttle_memory_is_bounded_whatever_the_names_tried() -> None:
    timer = ManualTimer()
    throttle = Throttle(free=1, max_keys=100, timer=timer)
    throttle.fail("attacker")
    for n in range(10_000):
        throttle.fail(f"invented name {n}")
    assert len(throttle) == 100  # the least recently failed went first
    assert throttle.wait("invented name 9999") > 0


def test_a_stranger_elsewhere_cannot_slow_the_owner_down() -> None:
    timer = ManualTimer()
    throttle = SignInThrottle(timer=timer)
    for _ in range(50):
        throttle.fail("arne", "203.0.113.9")
    assert throttle.wait("arne", "203.0.113.9") >= 60  # the guesser waits ...
    assert throttle.wait("arne", "198.51.100.7") == 0  # ... arne, elsewhere, does not
    assert throttle.wait("ulla", "198.51.100.7") == 0
    # The guesser's address is slowed for every name it tries, not only arne.
    assert throttle.wait("ulla", "203.0.113.9") > 0


def test_hash_password_command_reads_stdin_never_argv() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["serve", "hash-password"], input="a long enough secret\n")
    assert result.exit_code == 0, result.output
    encoded = result.output.strip().splitlines()[-1]
    assert verify_password("a long enough secret", encoded)
    short = runner.invoke(main, ["serve", "hash-password"], input="short\n")
    assert short.exit_code == 2 and "at least 12 characters" in short.output
    extra = runner.invoke(main, ["serve", "hash-password", "a long enough secret"])
    assert extra.exit_code == 2  # no password argument exists


def test_serve_needs_a_configuration_with_usable_accounts(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(main, ["serve"])
    assert missing.exit_code == 2 and "--config" in missing.output
    config = write_config(tmp_path)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("password_hash: scrypt$", "password_hash: md5$"),
                      encoding="utf-8")
    bad = runner.invoke(main, ["serve", "--config", str(config)])
    assert bad.exit_code == 2
    assert "has a password_hash that is not from `hr-connector serve hash-password`" \
        in bad.output


def test_serve_refuses_to_trust_every_proxy(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    refused = CliRunner().invoke(main, ["serve", "--config", str(config),
                                        "--forwarded-allow-ips", "*"])
    assert refused.exit_code == 2 and "'*' would let any client" in refused.output

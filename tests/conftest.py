"""Shared fixtures (plain helpers live in ``tests/helpers.py``)."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

from connector.core import clock
from tests.helpers import INTEROP, PINNED_NOW


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs on the day the sample data describes (2026-11-26), whatever the
    day it runs: HRC_NOW starts the connector's one clock there (subprocesses inherit it)."""
    monkeypatch.setenv(clock.ENV, PINNED_NOW)
    clock.set_clock(None)


@pytest.fixture
def interop_dir() -> Path:
    """Microsoft's sample export; tests using it skip when the folder is absent."""
    if not INTEROP.is_dir():
        pytest.skip("../shared/interop is not present")
    return INTEROP


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_loopback(address: object) -> None:
    """Refuse any TCP/UDP destination that is not this machine (tests talk to 127.0.0.1)."""
    if not isinstance(address, tuple) or not address:
        return  # AF_UNIX paths and the like
    host = str(address[0])
    if host in ("localhost", ""):
        return
    try:
        if ipaddress.ip_address(host.split("%")[0]).is_loopback:
            return
    except ValueError:
        pass
    raise ConnectionRefusedError(f"tests may only connect to loopback, not {host}")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check_loopback(address)
    _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check_loopback(address)
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reaches beyond 127.0.0.1: a connection elsewhere fails the test at once."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own state folder (``HRC_STATE_DIR``), so its own sandbox tenant, with no
    tenant configured: no ``AZURE_*``, ``HRC_GRAPH*`` or ``HRC_SANDBOX*`` from outside."""
    folder = tmp_path / "state"
    monkeypatch.setenv("HRC_STATE_DIR", str(folder))
    for name in list(os.environ):
        if name.startswith(("AZURE_", "HRC_GRAPH", "HRC_SANDBOX")):
            monkeypatch.delenv(name)
    return folder

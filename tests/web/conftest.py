"""Fixtures of the upload page's tests: a clean environment (the sandbox tenant, state in
the test's folder)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _sandbox_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No real tenant from the environment: every test runs against its own sandbox."""
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
                 "AZURE_CLIENT_CERTIFICATE_PATH", "HRC_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HRC_STATE_DIR", str(tmp_path / "unused-default-state"))

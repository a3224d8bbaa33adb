"""Shared fixtures (plain helpers live in ``tests/helpers.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import INTEROP


@pytest.fixture
def interop_dir() -> Path:
    """Microsoft's sample export; tests using it skip when the folder is absent."""
    if not INTEROP.is_dir():
        pytest.skip("../shared/interop is not present")
    return INTEROP

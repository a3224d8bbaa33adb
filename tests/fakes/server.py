"""Serve a fake over real HTTP on 127.0.0.1 from a background thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from connector.sandbox.serving import serve_in_thread


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Run ``app`` on a free loopback port; yields its base URL (``http://127.0.0.1:N``)."""
    with serve_in_thread(app, name="hr-api-fake", start_timeout=10) as port:
        yield f"http://127.0.0.1:{port}"

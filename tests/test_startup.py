"""Start-up: a command imports only what it uses (``connector.cli.main.COMMANDS`` loads each
command's module when it runs), so ``--help`` and the offline commands start fast."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import ROOT, SAMPLE_CSV

#: Libraries the offline commands never need: the Graph client's HTTP and token stack, the
#: upload page's server and templates.
NETWORK_AND_WEB = ("msal", "cryptography", "httpx", "starlette", "uvicorn", "jinja2")

_PROBE = """
import json, sys
from connector.cli.main import main
try:
    main(sys.argv[1:], prog_name="hr-connector")
except SystemExit as stop:
    code = stop.code
print("\\nLOADED " + json.dumps([code, sorted(m for m in {heavy!r} if m in sys.modules)]))
"""


def loaded(*args: str) -> tuple[int, list[str]]:
    """Exit code of ``hr-connector ARGS`` in a fresh process, and which of the heavy
    libraries it imported."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=(*NETWORK_AND_WEB, "rich", "pydantic")),
         *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    line = done.stdout.strip().splitlines()[-1]
    code, modules = json.loads(line.removeprefix("LOADED "))
    return int(code or 0), modules


def test_help_imports_no_library_beyond_click() -> None:
    code, modules = loaded("--help")
    assert code == 0
    assert modules == []  # not even rich or pydantic


@pytest.mark.parametrize("args", [
    ("validate", str(SAMPLE_CSV)),
    ("read", str(SAMPLE_CSV), "--limit", "2"),
    ("expr", "ToLower(NormalizeDiacritics([x]))", "--set", "x=Zoë"),
    ("preview", str(SAMPLE_CSV), "--limit", "2"),
    ("mapping", "check", "mappings/default.yaml"),
], ids=lambda args: args[0] if isinstance(args, tuple) else str(args))
def test_offline_commands_load_no_network_or_web_library(args: tuple[str, ...]) -> None:
    code, modules = loaded(*args)
    assert code in (0, 1)  # the sample has no errors, but a warning must not matter here
    assert not set(modules) & set(NETWORK_AND_WEB), modules


def test_sync_does_load_the_graph_client() -> None:
    # The probe sees what a command loads: sync --help loads its module, which needs
    # the Graph client (so the test above would notice a command that loads it).
    code, modules = loaded("sync", "--help")
    assert code == 0 and "httpx" in modules

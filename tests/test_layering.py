"""Dependencies point one way: the pure stages never import I/O modules.

Each pure module is imported in a fresh interpreter, and the modules it pulled in are
checked against the I/O side of the project and the I/O libraries.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import ROOT

PURE = ["connector.checks", "connector.report", "connector.records", "connector.errors",
        "connector.mapping", "connector.mapping.expr", "connector.report_sync",
        "connector.report_html"]
IO_MODULES = ["connector.readers", "connector.graph", "connector.sandbox", "connector.cli",
              "connector.pipeline", "httpx", "msal", "python_calamine", "openpyxl", "pandas",
              "starlette", "uvicorn"]


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_no_io(module: str) -> None:
    code = (f"import sys, {module}; "
            f"print('\\n'.join(m for m in sys.modules if m.split('.')[0] in "
            f"{{'connector', 'httpx', 'msal', 'python_calamine', 'openpyxl', 'pandas', "
            f"'starlette', 'uvicorn'}}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    loaded = set(result.stdout.split())
    assert module in loaded
    offending = sorted(m for m in loaded if any(m == io or m.startswith(io + ".")
                                                for io in IO_MODULES))
    assert offending == []

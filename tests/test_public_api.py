"""The public Python API (``connector.__all__``): complete, every name importable, loaded
lazily so that ``import connector`` pulls in no HTTP, crypto or web stack, and usable
without the command line."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import connector
from tests.helpers import ROOT, SAMPLE_CSV

HEAVY = ("msal", "httpx", "cryptography", "starlette")


def test_all_lists_every_public_name_once() -> None:
    names = connector.__all__
    assert len(names) == len(set(names))
    assert set(names) == {"__version__", *connector._WHERE}
    for expected in ("open_source", "load_mapping", "load_config", "validate_file",
                     "prepare", "plan_sync", "run_sync", "SyncOptions", "Thresholds",
                     "open_tenant", "run_job", "ConnectorError", "SourceError", "clock"):
        assert expected in names


@pytest.mark.parametrize("name", sorted(set(connector.__all__) - {"__version__"}))
def test_every_name_imports_and_is_the_defining_modules_object(name: str) -> None:
    value = getattr(connector, name)
    module = importlib.import_module(connector._WHERE[name])
    if connector._WHERE[name].endswith("." + name):
        assert value is module
    else:
        assert value is getattr(module, connector._ATTRIBUTE.get(name, name))
    assert name in dir(connector)


def test_type_checkers_see_the_same_names() -> None:
    """The ``TYPE_CHECKING`` imports (what mypy and editors see) name exactly ``__all__``."""
    tree = ast.parse((ROOT / "connector" / "__init__.py").read_text(encoding="utf-8"))
    (block,) = [node for node in tree.body if isinstance(node, ast.If)
                and ast.unparse(node.test) == "TYPE_CHECKING"]
    seen = {alias.asname or alias.name for node in block.body
            if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert seen == set(connector.__all__) - {"__version__"}


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'run_everything'"):
        connector.run_everything  # noqa: B018
    assert connector.__version__ == "0.1.0"


def test_importing_the_package_loads_no_http_crypto_or_web_stack() -> None:
    code = (f"import sys, json, connector; before = [m for m in {HEAVY!r} if m in sys.modules]; "
            "connector.load_mapping, connector.ConnectorError, connector.clock; "
            f"print(json.dumps([before, [m for m in {HEAVY!r} if m in sys.modules]]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True,
                          capture_output=True, text=True, timeout=60)
    at_import, after_mapping = json.loads(done.stdout)
    assert at_import == [] and after_mapping == []


def test_a_dry_run_through_the_public_api_alone(tmp_path: Path) -> None:
    mapping = connector.load_mapping(ROOT / "mappings" / "default.yaml")
    with connector.open_tenant(environ={}, state=tmp_path) as tenant:
        assert tenant.is_sandbox
        result = connector.run_sync(
            SAMPLE_CSV, mapping, tenant.graph, tenant=tenant.label,
            options=connector.SyncOptions(dry_run=True), runs_folder=tmp_path / "runs")
    report = connector.report_dict(result)
    assert report["dry_run"] is True and report["summary"]["create"] == 337
    assert connector.REPORT_FORMATS[".html"] == "html"
    page = connector.render_report(result, "html")
    assert isinstance(page, str) and "HR sync report" in page
    assert json.loads(connector.render_report(result, "json"))["summary"] == report["summary"]
    with pytest.raises(connector.ConnectorError) as caught:
        connector.load_config(tmp_path / "missing.yaml")
    assert isinstance(caught.value, connector.ConfigError) and caught.value.exit_code == 2


def test_the_error_modules_all_is_its_public_api() -> None:
    errors = importlib.import_module("connector.errors")
    public = {name for name, value in vars(errors).items() if not name.startswith("_")
              and getattr(value, "__module__", "connector.errors") == "connector.errors"
              and not isinstance(value, type(errors)) and name != "annotations"}
    assert set(errors.__all__) == public | {"Severity"}  # a Literal alias: typing's
    for name in errors.__all__:
        if name.endswith("Error") or name == "SafetyStop":
            assert name in connector.__all__, name

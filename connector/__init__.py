"""hr-connector: keeps Microsoft Entra ID users in step with the HR system.

The library behind the ``hr-connector`` command, for use without it::

    from pathlib import Path

    import connector

    mapping = connector.load_mapping("mappings/default.yaml")
    with connector.open_tenant() as tenant:  # the configured tenant, else the sandbox
        result = connector.run_sync(
            "employees.csv", mapping, tenant.graph, tenant=tenant.label,
            options=connector.SyncOptions(dry_run=True), runs_folder=Path("runs"))
    Path("plan.html").write_text(connector.render_report(result, "html"))  # str
    Path("plan.xlsx").write_bytes(connector.report_bytes(result, "xlsx"))  # any format

or one configured run, as cron does: ``connector.run_job(connector.load_config(path))``.
Every error is a ``connector.ConnectorError`` with an ``exit_code``; record problems are
``Problem`` values in the results. ``connector.clock`` is the one clock every stage reads.

The names load on first use (module ``__getattr__``), so ``import connector`` stays cheap:
it imports neither the Graph client (msal, httpx) nor the web stack (starlette).
``__all__`` lists the whole public API; the stages behind it live in ``core``,
``mapping``, ``readers``, ``run``, ``report``, ``config``, ``graph`` and ``sandbox``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it (``clock`` is the module itself).
_WHERE: dict[str, str] = {
    # errors: one exception tree, and the problems a run reports without raising
    "ConnectorError": "connector.errors",
    "ConfigError": "connector.errors",
    "SourceError": "connector.errors",
    "MappingError": "connector.errors",
    "EvaluationError": "connector.errors",
    "GraphError": "connector.errors",
    "RetriableGraphError": "connector.errors",
    "FatalGraphError": "connector.errors",
    "AuthError": "connector.errors",
    "RunInterrupted": "connector.errors",
    "Problem": "connector.errors",
    # the clock every stage reads "now" from
    "clock": "connector.core.clock",
    # reading and checking a source
    "open_source": "connector.readers",
    "Reader": "connector.readers",
    "Record": "connector.core.records",
    "SourceSchema": "connector.core.validation",
    "ValidationResult": "connector.core.validation",
    "schema_from_mapping": "connector.core.validation",
    "validate_file": "connector.run.prepare",
    # mapping
    "load_mapping": "connector.mapping",
    "CompiledMapping": "connector.mapping",
    "MappedRecord": "connector.core.records",
    "prepare": "connector.run.prepare",
    "Prepared": "connector.run.prepare",
    # planning and syncing
    "Plan": "connector.core.plan",
    "Change": "connector.core.plan",
    "Thresholds": "connector.core.plan.safety",
    "SyncOptions": "connector.run.sync",
    "SyncResult": "connector.core.results",
    "plan_sync": "connector.run.sync",
    "run_sync": "connector.run.sync",
    "open_tenant": "connector.run.tenant",
    "Tenant": "connector.run.tenant",
    # API-driven inbound provisioning (a target: scim mapping posted to a job's bulkUpload)
    "ScimOptions": "connector.run.scim",
    "run_scim_sync": "connector.run.scim",
    # reports
    "render_report": "connector.report.sync",
    "report_dict": "connector.report.sync",
    "report_bytes": "connector.report.sync",
    "REPORT_FORMATS": "connector.report.sync",
    # configured runs
    "load_config": "connector.config",
    "Config": "connector.config",
    "run_job": "connector.run.job",
}

#: Public names whose attribute in the defining module is named differently (a bare
#: ``render`` would not say what it renders).
_ATTRIBUTE = {"render_report": "render", "report_dict": "sync_dict",
              "REPORT_FORMATS": "FORMATS_BY_SUFFIX"}

__all__ = [
    "REPORT_FORMATS",
    "AuthError",
    "Change",
    "CompiledMapping",
    "Config",
    "ConfigError",
    "ConnectorError",
    "EvaluationError",
    "FatalGraphError",
    "GraphError",
    "MappedRecord",
    "MappingError",
    "Plan",
    "Prepared",
    "Problem",
    "Reader",
    "Record",
    "RetriableGraphError",
    "RunInterrupted",
    "ScimOptions",
    "SourceError",
    "SourceSchema",
    "SyncOptions",
    "SyncResult",
    "Tenant",
    "Thresholds",
    "ValidationResult",
    "__version__",
    "clock",
    "load_config",
    "load_mapping",
    "open_source",
    "open_tenant",
    "plan_sync",
    "prepare",
    "render_report",
    "report_bytes",
    "report_dict",
    "run_job",
    "run_scim_sync",
    "run_sync",
    "schema_from_mapping",
    "validate_file",
]


def __getattr__(name: str) -> Any:
    """Import a public name on first use, then keep it in this module."""
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'connector' has no attribute {name!r}")
    module = importlib.import_module(where)
    value = module if where.endswith("." + name) else getattr(
        module, _ATTRIBUTE.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what type checkers and editors see; the same names as _WHERE
    from connector.config import Config, load_config
    from connector.core import clock
    from connector.core.plan import Change, Plan
    from connector.core.plan.safety import Thresholds
    from connector.core.records import MappedRecord, Record
    from connector.core.results import SyncResult
    from connector.core.validation import SourceSchema, ValidationResult, schema_from_mapping
    from connector.errors import (
        AuthError,
        ConfigError,
        ConnectorError,
        EvaluationError,
        FatalGraphError,
        GraphError,
        MappingError,
        Problem,
        RetriableGraphError,
        RunInterrupted,
        SourceError,
    )
    from connector.mapping import CompiledMapping, load_mapping
    from connector.readers import Reader, open_source
    from connector.report.sync import FORMATS_BY_SUFFIX as REPORT_FORMATS
    from connector.report.sync import render as render_report
    from connector.report.sync import report_bytes
    from connector.report.sync import sync_dict as report_dict
    from connector.run.job import run_job
    from connector.run.prepare import Prepared, prepare, validate_file
    from connector.run.scim import ScimOptions, run_scim_sync
    from connector.run.sync import SyncOptions, plan_sync, run_sync
    from connector.run.tenant import Tenant, open_tenant

"""The SCIM side of ``hr-connector sync`` (``--bulk-upload-url`` and a ``target: scim``
mapping) and of ``runs show --refresh``. The run itself is ``connector.run.scim``,
imported when a command needs it (``hr-connector --help`` loads no HTTP library)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

from connector.cli.common import console
from connector.core.results import SyncResult
from connector.errors import ConfigError

if TYPE_CHECKING:
    from connector.run.prepare import Source

P = ParamSpec("P")
R = TypeVar("R")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")


class Duration(click.ParamType[float]):
    """``90``, ``90s``, ``20m`` or ``1h``: seconds."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        """Seconds."""
        if isinstance(value, int | float):
            return float(value)
        match = _DURATION.match(str(value))
        if not match:
            self.fail(f"{value!r} is not a duration such as 90s, 20m or 1h", param, ctx)
        return float(match[1]) * {"s": 1, "m": 60, "h": 3600}[match[2] or "s"]


def scim_options(func: Callable[P, R]) -> Callable[P, R]:
    """The options of a SCIM sync (API-driven inbound provisioning)."""
    options = [
        click.option("--bulk-upload-url", metavar="URL",
                     help="Post to this API-driven provisioning job (its Provisioning API "
                          "Endpoint, …/jobs/{jobId}/bulkUpload) with a target: scim "
                          "mapping. Default with the sandbox: the sandbox's job."),
        click.option("--full", is_flag=True,
                     help="SCIM: send every record, not only those changed since the last "
                          "accepted upload."),
        click.option("--wait", "wait", type=Duration(), default="20m", show_default=True,
                     help="SCIM: how long to wait for Entra's outcome of each record in the "
                          "provisioning logs (0: exit after the upload)."),
        click.option("--payloads", type=click.Path(file_okay=False, path_type=Path),
                     help="SCIM: write every bulk request (as posted, or as a dry run would "
                          "post it) to this folder, bulk-0001.json on."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def sandbox_bulk_url(state: Path) -> str:
    """The in-process sandbox's job URL (what ``sandbox job`` prints)."""
    from connector.run.tenant import SANDBOX_ROOT, sandbox_path
    from connector.sandbox import provisioning_job

    return str(provisioning_job(sandbox_path(state), root=SANDBOX_ROOT)["bulkUploadUrl"])


def scim_sync(source: Source, mapping: Any, connection: Any, *, options: Any, url: str | None,
              full: bool, wait: float, payloads: Path | None, state: Path,
              progress: Any) -> SyncResult:
    """Run a SCIM sync on an open tenant connection."""
    from connector.run.scim import ScimOptions, run_scim_sync

    if url is None:
        if not connection.is_sandbox:
            raise ConfigError(f"{mapping.file} is a SCIM mapping (target: scim): give the "
                              "job's --bulk-upload-url (its Provisioning API Endpoint)")
        url = sandbox_bulk_url(state)
        click.echo(f"note: posting to the sandbox's provisioning job ({url})", err=True)
    scim = ScimOptions(bulk_upload_url=url, full=full, wait=wait, payloads=payloads,
                       sandbox=connection.is_sandbox)
    return run_scim_sync(source, mapping, connection.graph, options=options, scim=scim,
                         tenant=connection.label, state_folder=state, progress=progress)


def print_provisioning(result: SyncResult) -> None:
    """One line on what the job did, and how to read what is still pending."""
    section = result.provisioning
    if not section or result.dry_run or result.stopped:
        return
    if not section.get("requestsPlanned"):
        console().print(f"provisioning job {section['jobId']}: nothing to send",
                        highlight=False)
        return
    counts = section.get("outcomes", {})
    shown = ", ".join(f"{counts.get(k, 0)} {k}" for k in
                      ("success", "failure", "warning", "skipped", "pending"))
    console().print(f"provisioning job {section['jobId']}: {section['accepted']} of "
                    f"{section['requestsPlanned']} requests accepted "
                    f"({section['requests']} sent, {section['throttled']} throttled); "
                    f"Entra: {shown} (waited {section['waited']:g} s)", highlight=False)
    if counts.get("pending"):
        click.echo(f"note: {counts['pending']} outcome(s) not in the provisioning logs yet: "
                   f"hr-connector runs show {result.run_id} --refresh", err=True)


def refresh(state: Path, run_id: str, tenant: dict[str, Any], names: dict[str, str]
            ) -> None:
    """``runs show RUN --refresh``: read the outcomes a SCIM run left pending."""
    from connector.run.history import load_run
    from connector.run.scim_results import refresh_run
    from connector.run.tenant import open_tenant

    report, _ = load_run(state / "runs", run_id)
    section = report.get("provisioning")
    if not isinstance(section, dict):
        raise ConfigError(f"run {report.get('run_id')} did not post to a provisioning job: "
                          "--refresh is for SCIM runs")
    sandbox = True if section.get("sandbox") else False
    with open_tenant(overrides=tenant, state=state, sandbox=sandbox, names=names) as connection:
        refresh_run(state, str(report["run_id"]), connection.graph)

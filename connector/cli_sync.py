"""Commands for the main job: ``sync``, ``runs`` and ``sandbox``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from rich.table import Table

from connector.cli_common import (
    console,
    handle_errors,
    mapping_path,
    param_option,
    parse_pairs,
    progress_for_terminal,
)
from connector.errors import EXIT_RECORD_ERRORS, EXIT_SAFETY, ConfigError
from connector.mapping import load_mapping
from connector.report_sync import FORMATS_BY_SUFFIX, render, sync_terminal
from connector.runlog import list_runs, load_run
from connector.runlog import state_dir as resolve_state
from connector.safety import Thresholds
from connector.sync import SyncOptions, run_sync
from connector.tenant import open_tenant, sandbox_path

P = ParamSpec("P")
R = TypeVar("R")
DEFAULTS = Thresholds()


def tenant_options(func: Callable[P, R]) -> Callable[P, R]:
    """The tenant connection, by the names azure-identity uses; env vars are the default."""
    options = [
        click.option("--tenant-id", envvar="AZURE_TENANT_ID", show_envvar=True),
        click.option("--client-id", envvar="AZURE_CLIENT_ID", show_envvar=True),
        click.option("--client-secret", envvar="AZURE_CLIENT_SECRET", show_envvar=True,
                     help="Prefer the environment variable: a command line is visible to "
                          "other users of the machine."),
        click.option("--client-certificate-path", envvar="AZURE_CLIENT_CERTIFICATE_PATH",
                     show_envvar=True, help="PEM file with the private key and certificate."),
        click.option("--client-certificate-password",
                     envvar="AZURE_CLIENT_CERTIFICATE_PASSWORD", show_envvar=True),
        click.option("--authority-host", envvar="AZURE_AUTHORITY_HOST", show_envvar=True,
                     help="Default https://login.microsoftonline.com (sovereign clouds: "
                          "their login host)."),
        click.option("--graph-url", envvar="HRC_GRAPH_URL", show_envvar=True,
                     help="Graph root, default https://graph.microsoft.com (/v1.0 is added)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _overrides(kwargs: dict[str, Any]) -> dict[str, Any]:
    names = {"tenant_id": "tenant_id", "client_id": "client_id",
             "client_secret": "client_secret", "client_certificate_path": "certificate_path",
             "client_certificate_password": "certificate_password",
             "authority_host": "authority_host", "graph_url": "graph_url"}
    return {field: kwargs[option] for option, field in names.items()
            if kwargs.get(option) is not None}


state_option = click.option(
    "--state-dir", type=click.Path(file_okay=False, path_type=Path),
    help="Where runs, logs and the sandbox tenant live (default $HRC_STATE_DIR or "
         "~/.hr-connector).")


@click.command("sync")
@click.argument("source")
@click.option("--mapping", "mapping_file", help="Mapping file (default: mappings/default.yaml).")
@param_option
@click.option("--dry-run", is_flag=True, help="Plan and report; write nothing.")
@click.option("--report", "reports", multiple=True, type=click.Path(dir_okay=False),
              help="Write a report; the extension picks the format: .json .html .csv .md "
                   "(repeatable).")
@click.option("--sheet", help="Worksheet to read from a workbook (default: the first).")
@click.option("--show", type=click.IntRange(min=0), default=40, show_default=True,
              help="Diff rows to print (all of them go to --report files).")
@click.option("--prehire-days", type=click.IntRange(min=0), default=14, show_default=True,
              help="Create pre-hires this many days before their hire date.")
@click.option("--max-disables", type=click.IntRange(min=0), default=DEFAULTS.max_disables,
              show_default=True, help="Stop if more users would be disabled or deleted.")
@click.option("--max-disables-percent", type=click.FloatRange(min=0),
              default=DEFAULTS.max_disable_percent, show_default=True,
              help="... or more than this % of the managed users.")
@click.option("--max-changes", type=click.IntRange(min=0), default=DEFAULTS.max_changes,
              show_default=True, help="Stop if more existing users would change.")
@click.option("--max-changes-percent", type=click.FloatRange(min=0),
              default=DEFAULTS.max_change_percent, show_default=True,
              help="... or more than this % of the managed users.")
@click.option("--min-source-percent", type=click.FloatRange(min=0),
              default=DEFAULTS.min_source_percent, show_default=True,
              help="Stop if the source has fewer records than this % of the managed users.")
@click.option("--default-domain", help="What DefaultDomain() gives (default: the domain of "
                                       "most users' UPNs).")
@state_option
@tenant_options
@handle_errors
def sync_command(source: str, mapping_file: str | None, params: tuple[str, ...], dry_run: bool,
                 reports: tuple[str, ...], sheet: str | None, show: int, prehire_days: int,
                 max_disables: int, max_disables_percent: float, max_changes: int,
                 max_changes_percent: float, min_source_percent: float,
                 default_domain: str | None, state_dir: Path | None, **tenant: Any) -> None:
    """Sync an HR export into Entra ID: plan the difference, then apply it.

    Runs against the tenant configured by AZURE_TENANT_ID, AZURE_CLIENT_ID and a secret or
    certificate; with none configured, against the local sandbox tenant. Exit code 0 on
    success (a dry run included), 1 when some records or writes failed, 2 on bad input,
    3 when a safety threshold stopped the run before any write.
    """
    for report in reports:
        if Path(report).suffix.lower() not in FORMATS_BY_SUFFIX:
            raise click.BadParameter(f"{report}: use one of "
                                     + ", ".join(sorted(FORMATS_BY_SUFFIX)),
                                     param_hint="--report")
    mapping = load_mapping(mapping_path(mapping_file),
                           params=dict(parse_pairs(params, "--param")))
    thresholds = Thresholds(max_disables=max_disables, max_disable_percent=max_disables_percent,
                            max_changes=max_changes, max_change_percent=max_changes_percent,
                            min_source_percent=min_source_percent)
    options = SyncOptions(dry_run=dry_run, thresholds=thresholds, prehire_days=prehire_days,
                          sheet=sheet, default_domain=default_domain)
    folder = resolve_state(state_dir)
    with open_tenant(overrides=_overrides(tenant), state=folder) as connection:
        if connection.is_sandbox:
            click.echo(f"note: no tenant configured (AZURE_TENANT_ID ...): using "
                       f"{connection.label}", err=True)
        with progress_for_terminal() as bar:
            result = run_sync(source, mapping, connection.graph, options=options,
                              tenant=connection.label, runs_folder=folder / "runs",
                              progress=bar)
    console().print(sync_terminal(result, limit=show))
    for report in reports:
        path = Path(report)
        try:
            path.write_text(render(result, FORMATS_BY_SUFFIX[path.suffix.lower()]),
                            encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write the report {path}: {exc.strerror}") from None
        click.echo(f"report: {path}")
    click.echo(f"run {result.run_id}: log in {folder / 'runs' / (result.run_id + '.jsonl')}")
    if result.stopped:
        sys.exit(EXIT_SAFETY)
    if result.failed or result.plan.count("error"):
        sys.exit(EXIT_RECORD_ERRORS)


@click.group("runs", invoke_without_command=True)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@state_option
@click.pass_context
@handle_errors
def runs_group(ctx: click.Context, limit: int, state_dir: Path | None) -> None:
    """List recent runs with their summaries (``runs show ID`` for one)."""
    if ctx.invoked_subcommand is not None:
        return
    table = Table(title=f"runs in {resolve_state(state_dir) / 'runs'}", title_justify="left")
    for name in ("Run", "Started", "Kind", "Status", "Create", "Update", "Disable", "Enable",
                 "Manager", "Error", "Source"):
        table.add_column(name, no_wrap=name not in ("Source",))
    for report in islice(list_runs(resolve_state(state_dir) / "runs"), limit):
        summary = report.get("summary", {})
        table.add_row(str(report.get("run_id")), str(report.get("started")),
                      "dry run" if report.get("dry_run") else "applied",
                      str(report.get("status")),
                      *(str(summary.get(k, 0)) for k in ("create", "update", "disable",
                                                         "enable", "manager", "error")),
                      str(report.get("source")))
    console().print(table)


@runs_group.command("show")
@click.argument("run_id")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@state_option
@handle_errors
def runs_show(run_id: str, fmt: str, state_dir: Path | None) -> None:
    """Print one run: its summary and the provisioning log, one line per operation."""
    report, lines = load_run(resolve_state(state_dir) / "runs", run_id)
    if fmt == "json":
        click.echo(json.dumps({"report": report, "log": lines}, indent=2, ensure_ascii=False))
        return
    out = console()
    summary = ", ".join(f"{k} {v}" for k, v in report.get("summary", {}).items())
    out.print(f"run {report.get('run_id')} ({'dry run' if report.get('dry_run') else 'applied'},"
              f" {report.get('status')}) from {report.get('source')} on {report.get('tenant')}")
    out.print(f"started {report.get('started')}, finished {report.get('finished')}: {summary}")
    for reason in report.get("stopped", []):
        out.print(f"[bold red]stopped:[/] {reason}")
    table = Table()
    for name in ("Time", "Action", "Employee", "UPN", "Attributes", "Outcome", "Request id"):
        table.add_column(name, overflow="fold")
    for line in lines:
        outcome = line.get("outcome") or ""
        if line.get("error"):
            outcome += f": {line.get('error_code') or ''} {line['error']}"
        table.add_row(line.get("time", ""), line.get("action", ""), line.get("employee_id", ""),
                      line.get("upn") or "", ", ".join(line.get("attributes", [])), outcome,
                      line.get("request_id") or "")
    out.print(table)


@click.group("sandbox")
def sandbox_group() -> None:
    """The local sandbox tenant: a Graph emulator the connector uses when no tenant is set."""


@sandbox_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8443, show_default=True)
@click.option("--http", "plain", is_flag=True, help="Serve plain HTTP instead of HTTPS.")
@state_option
@handle_errors
def sandbox_serve(host: str, port: int, plain: bool, state_dir: Path | None) -> None:
    """Serve the sandbox tenant over HTTPS (a generated CA, whose path is printed)."""
    from connector.sandbox import serve

    folder = resolve_state(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    serve(host, port, state_path=sandbox_path(folder), tls=not plain, echo=click.echo)


@sandbox_group.command("reset")
@state_option
@handle_errors
def sandbox_reset(state_dir: Path | None) -> None:
    """Empty the sandbox tenant back to its seed users (admins, a service account)."""
    from connector.sandbox import reset

    folder = resolve_state(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    reset(sandbox_path(folder))
    click.echo(f"sandbox tenant reset ({sandbox_path(folder)})")


@sandbox_group.command("users")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@state_option
@handle_errors
def sandbox_users(fmt: str, state_dir: Path | None) -> None:
    """List the users of the sandbox tenant."""
    from connector.sandbox import list_users

    users = list_users(sandbox_path(resolve_state(state_dir)))
    if fmt == "json":
        click.echo(json.dumps(users, indent=2, ensure_ascii=False, default=str))
        return
    by_id = {u.get("id"): u for u in users}
    table = Table(title=f"{len(users)} users", title_justify="left")
    for name in ("employeeId", "userPrincipalName", "displayName", "jobTitle", "Enabled",
                 "Manager"):
        table.add_column(name, overflow="fold")
    for user in users:
        manager = by_id.get(user.get("_managerId")) or {}
        table.add_row(user.get("employeeId") or "", user.get("userPrincipalName") or "",
                      user.get("displayName") or "", user.get("jobTitle") or "",
                      str(user.get("accountEnabled")), manager.get("employeeId")
                      or manager.get("userPrincipalName") or "")
    console().print(table)

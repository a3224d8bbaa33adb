"""``hr-connector runs``: the run history, and one run's provisioning log."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from connector.cli.common import console, handle_errors, state_option
from connector.cli.sync import OPTION_NAMES, _overrides, tenant_options
from connector.config import load_config
from connector.run.history import list_runs, load_run, planned_operations
from connector.run.history import state_dir as resolve_state

config_option = click.option(
    "--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
    help="The runs of this configuration file (its paths.state).")


def runs_folder(state_dir: Path | None, config_file: Path | None) -> Path:
    """The runs folder of ``--config FILE`` (its ``paths.state``, else the default state
    folder, as ``run`` uses) or of ``--state-dir``; not both."""
    if config_file is not None:
        if state_dir is not None:
            raise click.UsageError("give --config or --state-dir, not both")
        return resolve_state(load_config(config_file).paths.state) / "runs"
    return resolve_state(state_dir) / "runs"


@click.group("runs", invoke_without_command=True)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@state_option
@config_option
@click.pass_context
@handle_errors
def runs_group(ctx: click.Context, limit: int, state_dir: Path | None,
               config_file: Path | None) -> None:
    """List recent runs with their summaries (``runs show ID`` for one).

    A run that never finished (killed, crashed) is listed as interrupted, with the writes
    its provisioning log says it completed; one still going is listed as running.
    """
    if ctx.invoked_subcommand is not None:
        if config_file is not None or state_dir is not None:
            ctx.obj = (state_dir, config_file)  # `runs --config FILE show ID`
        return
    folder = runs_folder(state_dir, config_file)
    table = Table(title=f"runs in {folder}", title_justify="left")
    for name in ("Run", "Started", "Kind", "Status", "Create", "Update", "Disable", "Enable",
                 "Manager", "Error", "Held", "Source"):
        table.add_column(name, no_wrap=name not in ("Source",))
    for report in islice(list_runs(folder), limit):
        summary = report.get("summary", {})
        table.add_row(str(report.get("run_id")), str(report.get("started")),
                      "dry run" if report.get("dry_run") else "applied",
                      str(report.get("status")),
                      *(str(summary.get(k, 0)) for k in ("create", "update", "disable",
                                                         "enable", "manager", "error",
                                                         "held")),
                      str(report.get("source")))
    console().print(table)


@runs_group.command("show")
@click.argument("run_id")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--refresh", is_flag=True,
              help="SCIM runs: first read Entra's provisioning logs for the records still "
                   "pending, and update the run's report and log.")
@state_option
@config_option
@tenant_options
@click.pass_context
@handle_errors
def runs_show(ctx: click.Context, /, run_id: str, fmt: str, refresh: bool,
              state_dir: Path | None, config_file: Path | None, **tenant: Any) -> None:
    """Print one run: its summary and the provisioning log, one line per operation."""
    if ctx.obj and state_dir is None and config_file is None:
        state_dir, config_file = ctx.obj
    folder = runs_folder(state_dir, config_file)
    if refresh:
        from connector.cli.scim import refresh as refresh_outcomes

        overrides = _overrides(tenant)
        if config_file is not None:  # the configuration's tenant, as its runs used
            entra = load_config(config_file).entra_tenant
            overrides = entra.settings_overrides() if entra is not None else overrides
        refresh_outcomes(folder.parent, run_id, overrides, OPTION_NAMES)
    report, lines = load_run(folder, run_id)
    if fmt == "json":
        click.echo(json.dumps({"report": report, "log": lines}, indent=2, ensure_ascii=False))
        return
    out = console()
    summary = ", ".join(f"{k} {v}" for k, v in report.get("summary", {}).items())
    out.print(f"run {report.get('run_id')} ({'dry run' if report.get('dry_run') else 'applied'},"
              f" {report.get('status')}) from {report.get('source')} on {report.get('tenant')}")
    if report.get("status") == "interrupted":
        out.print(f"started {report.get('started')}, never finished: {report.get('error')}")
        out.print(f"its log holds {report.get('operations')} operations, the last at "
                  f"{report.get('last_operation') or '-'}; writes done: {summary}")
    else:
        out.print(f"started {report.get('started')}, finished {report.get('finished')}: "
                  f"{summary}")
    for reason in report.get("stopped", []):
        out.print(f"[bold red]stopped:[/] {reason}")
    table = Table()
    for name in ("Time", "Action", "Employee", "UPN", "Attributes", "Outcome", "Request id"):
        table.add_column(name, overflow="fold")
    if report.get("provisioning"):
        counts = report["provisioning"].get("outcomes", {})
        out.print("Entra's outcomes: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
                  highlight=False)
    # A dry or stopped run logged nothing (it wrote nothing): its report lists its plan.
    for line in lines or planned_operations(report):
        outcome = line.get("outcome") or ""
        if line.get("entra_action"):  # a SCIM record's outcome from Entra's logs
            outcome += f" ({line['entra_action']})"
        if line.get("error"):
            outcome += f": {line.get('error_code') or ''} {line['error']}"
        attributes = ", ".join(line.get("attributes", []))
        if line.get("group"):  # a group change: the group, then what changed in it
            attributes = line["group"] + (f": {attributes}" if attributes else "")
        table.add_row(line.get("time", ""), line.get("action", ""),
                      line.get("employee_id") or "", line.get("upn") or "", attributes,
                      outcome, line.get("request_id") or "")
    out.print(table)

"""``hr-connector runs``: the run history, and one run's provisioning log."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path

import click
from rich.table import Table

from connector.cli.common import console, handle_errors, state_option
from connector.run.history import list_runs, load_run
from connector.run.history import state_dir as resolve_state


@click.group("runs", invoke_without_command=True)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@state_option
@click.pass_context
@handle_errors
def runs_group(ctx: click.Context, limit: int, state_dir: Path | None) -> None:
    """List recent runs with their summaries (``runs show ID`` for one).

    A run that never finished (killed, crashed) is listed as interrupted, with the writes
    its provisioning log says it completed; one still going is listed as running.
    """
    if ctx.invoked_subcommand is not None:
        return
    table = Table(title=f"runs in {resolve_state(state_dir) / 'runs'}", title_justify="left")
    for name in ("Run", "Started", "Kind", "Status", "Create", "Update", "Disable", "Enable",
                 "Manager", "Error", "Held", "Source"):
        table.add_column(name, no_wrap=name not in ("Source",))
    for report in islice(list_runs(resolve_state(state_dir) / "runs"), limit):
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
    for line in lines:
        outcome = line.get("outcome") or ""
        if line.get("error"):
            outcome += f": {line.get('error_code') or ''} {line['error']}"
        attributes = ", ".join(line.get("attributes", []))
        if line.get("group"):  # a group change: the group, then what changed in it
            attributes = line["group"] + (f": {attributes}" if attributes else "")
        table.add_row(line.get("time", ""), line.get("action", ""),
                      line.get("employee_id") or "", line.get("upn") or "", attributes,
                      outcome, line.get("request_id") or "")
    out.print(table)

"""``hr-connector run --config FILE``: one whole unattended run, for cron and systemd."""

from __future__ import annotations

import contextlib
import sys
from typing import Literal

import click

from connector.cli.common import console, handle_errors, progress_for_terminal
from connector.config import load_config
from connector.core.results import SyncResult
from connector.report.sync import sync_terminal
from connector.run.job import run_job
from connector.run.logs import setup_logging


@click.command("run")
@click.option("--config", "config_file", required=True, type=click.Path(dir_okay=False),
              help="The configuration file (see the README for a commented example).")
@click.option("--dry-run", is_flag=True, default=None,
              help="Plan and report only (overrides the configuration's policies.dry_run).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              help="Log lines on stderr: text (default without a terminal) or json.")
@click.option("--full-read", is_flag=True,
              help="Read every user of the tenant, not Graph's delta since the last run.")
@handle_errors
def run_command(config_file: str, dry_run: bool | None,
                log_format: Literal["text", "json"] | None, full_read: bool) -> None:
    """Do one whole run as the configuration file describes it.

    Without a terminal (cron, systemd) it prints only log lines: no colour, no progress,
    no prompt. Exit codes as for sync, plus 4 when another run holds the lock.
    """
    setup_logging(log_format or "text")  # first: a bad configuration is logged as JSON too
    config = load_config(config_file)
    interactive = sys.stderr.isatty() and log_format is None

    def show(result: SyncResult) -> None:
        if interactive:
            console(stderr=True).print(sync_terminal(result, limit=20))

    with progress_for_terminal() if interactive else contextlib.nullcontext() as bar:
        code = run_job(config, dry_run=dry_run, on_result=show, progress=bar,
                       full_read=full_read)
    sys.exit(code)

"""``hr-connector sync``: one HR export planned against the tenant and applied."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from connector.cli.common import (
    console,
    handle_errors,
    mapping_path,
    param_option,
    parse_pairs,
    progress_for_terminal,
    state_option,
)
from connector.cli.scim import print_provisioning, scim_options, scim_sync
from connector.core.plan.safety import Thresholds
from connector.mapping import load_mapping
from connector.report.sync import FORMATS_BY_SUFFIX, sync_terminal
from connector.run.history import state_dir as resolve_state
from connector.run.lock import RunLock
from connector.run.outputs import ReportTarget, check_folder, check_outputs, publish
from connector.run.prepare import open_checked
from connector.run.snapshot import DeltaReads
from connector.run.sync import SyncOptions, run_sync
from connector.run.tenant import open_tenant

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


#: How messages name the tenant settings given to sync (by option or variable).
OPTION_NAMES = {"graph_url": "HRC_GRAPH_URL (--graph-url)",
                "authority_host": "AZURE_AUTHORITY_HOST (--authority-host)"}


def _overrides(kwargs: dict[str, Any]) -> dict[str, Any]:
    names = {"tenant_id": "tenant_id", "client_id": "client_id",
             "client_secret": "client_secret", "client_certificate_path": "certificate_path",
             "client_certificate_password": "certificate_password",
             "authority_host": "authority_host", "graph_url": "graph_url"}
    return {field: kwargs[option] for option, field in names.items()
            if kwargs.get(option) is not None}


@click.command("sync")
@click.argument("source")
@click.option("--mapping", "mapping_file", help="Mapping file (default: mappings/default.yaml).")
@param_option
@click.option("--dry-run", is_flag=True, help="Plan and report; write nothing.")
@click.option("--report", "reports", multiple=True, type=click.Path(dir_okay=False),
              help="Write a report; the extension picks the format: .json .html .csv .md .xlsx "
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
@click.option("--max-member-removals", type=click.IntRange(min=0),
              default=DEFAULTS.max_member_removals, show_default=True,
              help="Stop if more members would be removed from one group.")
@click.option("--max-member-removals-percent", type=click.FloatRange(min=0),
              default=DEFAULTS.max_member_removal_percent, show_default=True,
              help="... or more than this % of its members (groups of 20 or more).")
@click.option("--allow-absent-disables", is_flag=True,
              help="Disable users missing from the export even though some row has no "
                   "usable key (blank or repeated); by default those disables are held.")
@click.option("--default-domain", help="What DefaultDomain() gives (default: the domain of "
                                       "most users' UPNs).")
@scim_options
@click.option("--full-read", is_flag=True,
              help="Read every user of the tenant, not Graph's delta since the last run "
                   "(the state folder keeps a snapshot; a full read also happens every 7 "
                   "days and whenever the snapshot cannot be used).")
@state_option
@tenant_options
@handle_errors
def sync_command(source: str, mapping_file: str | None, params: tuple[str, ...], dry_run: bool,
                 reports: tuple[str, ...], sheet: str | None, show: int, prehire_days: int,
                 max_disables: int, max_disables_percent: float, max_changes: int,
                 max_changes_percent: float, min_source_percent: float,
                 max_member_removals: int, max_member_removals_percent: float,
                 allow_absent_disables: bool, default_domain: str | None, full_read: bool,
                 bulk_upload_url: str | None, full: bool, wait: float, payloads: Path | None,
                 state_dir: Path | None, **tenant: Any) -> None:
    """Sync an HR export into Entra ID: plan the difference, then apply it.

    Runs against the tenant configured by AZURE_TENANT_ID, AZURE_CLIENT_ID and a secret or
    certificate; with none configured, against the local sandbox tenant. Exit code 0 on
    success (a dry run included), 1 when some records or writes failed, 2 on bad input
    (report paths and the state folder are checked before anything is written), 3 when a
    safety threshold stopped the run before any write, 4 when another run holds the
    state folder's lock.

    With a target: scim mapping it posts to an API-driven provisioning job instead
    (--bulk-upload-url; Entra's provisioning engine writes to Entra ID or on-premises AD)
    and reports each record's outcome from the provisioning logs; a paused or quarantined
    job is exit 2.
    """
    for report in reports:
        if Path(report).suffix.lower() not in FORMATS_BY_SUFFIX:
            raise click.BadParameter(f"{report}: use one of "
                                     + ", ".join(sorted(FORMATS_BY_SUFFIX)),
                                     param_hint="--report")
    targets = [ReportTarget.by_suffix(report) for report in reports]
    mapping = load_mapping(mapping_path(mapping_file),
                           params=dict(parse_pairs(params, "--param")))
    # A file that cannot be used (missing, empty, required columns absent) stops the run
    # here, before any folder, the lock, the tenant (the sandbox's file) or the snapshot.
    opened = open_checked(source, mapping, sheet=sheet)
    folder = resolve_state(state_dir)
    check_outputs(state=folder, reports=targets)  # before anything is read or written
    scim = mapping.target == "scim" or bulk_upload_url is not None
    if payloads is not None:
        if not scim:
            raise click.BadParameter("is for SCIM runs (a target: scim mapping)",
                                     param_hint="--payloads")
        check_folder(payloads, "payloads folder")
    thresholds = Thresholds(max_disables=max_disables, max_disable_percent=max_disables_percent,
                            max_changes=max_changes, max_change_percent=max_changes_percent,
                            min_source_percent=min_source_percent,
                            max_member_removals=max_member_removals,
                            max_member_removal_percent=max_member_removals_percent)
    options = SyncOptions(dry_run=dry_run, thresholds=thresholds, prehire_days=prehire_days,
                          sheet=sheet, default_domain=default_domain,
                          allow_absent_disables=allow_absent_disables,
                          delta=DeltaReads(folder, full_read=full_read), state=folder)
    with contextlib.ExitStack() as stack:
        if not dry_run:  # a sync that writes holds the lock, as `run` and the upload page do
            stack.enter_context(RunLock(folder))
        connection = stack.enter_context(open_tenant(overrides=_overrides(tenant), state=folder,
                                                     names=OPTION_NAMES))
        if connection.is_sandbox:
            click.echo(f"note: no tenant configured (AZURE_TENANT_ID ...): using "
                       f"{connection.label}", err=True)
        with progress_for_terminal() as bar:
            if scim:  # API-driven inbound provisioning: post to the job's bulkUpload
                result = scim_sync(opened, mapping, connection, options=options,
                                   url=bulk_upload_url, full=full, wait=wait,
                                   payloads=payloads, state=folder, progress=bar)
            else:
                result = run_sync(opened, mapping, connection.graph, options=options,
                                  tenant=connection.label, runs_folder=folder / "runs",
                                  progress=bar)
    for earlier in result.follows:
        click.echo(f"note: this run follows interrupted run {earlier}, which ended before it "
                   f"finished (hr-connector runs show {earlier}); it started from the tenant "
                   "as that run left it", err=True)
    console().print(sync_terminal(result, limit=show))
    print_provisioning(result)
    publish(result, targets)
    for target in targets:
        click.echo(f"report: {target.path}")
    runs = folder / "runs"
    if result.dry_run or result.stopped:  # nothing written, so nothing logged
        click.echo(f"run {result.run_id}: its plan in {runs / (result.run_id + '.json')} "
                   f"(hr-connector runs show {result.run_id})")
    else:
        click.echo(f"run {result.run_id}: log in {runs / (result.run_id + '.jsonl')}")
    if result.exit_code:
        sys.exit(result.exit_code)

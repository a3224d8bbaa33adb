"""``hr-connector sandbox``: serve, reset and list the local sandbox tenant."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from connector.cli.common import console, handle_errors, state_option
from connector.run.history import state_dir as resolve_state
from connector.run.tenant import sandbox_path


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
    # A fresh job: what SCIM runs sent to the old one no longer exists there.
    from connector.run.scim_state import ScimState, state_file

    if state_file(folder).exists():
        with ScimState(state_file(folder), str(_job(folder)["jobId"])) as sent:
            sent.forget()
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
    click.echo(f"API-driven provisioning: {_job(resolve_state(state_dir))['bulkUploadUrl']}")


def _job(folder: Path, **change: str | None) -> dict[str, object]:
    from connector.run.tenant import SANDBOX_ROOT
    from connector.sandbox import provisioning_job

    folder.mkdir(parents=True, exist_ok=True)
    return provisioning_job(sandbox_path(folder), root=SANDBOX_ROOT, **change)


@sandbox_group.command("job")
@click.option("--pause", "action", flag_value="Paused", help="Pause the job: uploads are "
              "accepted and wait, nothing is processed or logged.")
@click.option("--quarantine", "reason", metavar="REASON",
              help="Put the job in quarantine with this reason (QuarantineOnDemand, "
                   "EncounteredEscrowProportionThreshold ...).")
@click.option("--start", "action", flag_value="Active",
              help="Start the job again; uploads that waited are processed now.")
@state_option
@handle_errors
def sandbox_job(action: str | None, reason: str | None, state_dir: Path | None) -> None:
    """The sandbox's API-driven provisioning job: its bulkUpload URL (what sync
    --bulk-upload-url takes; `sandbox serve` prints the served one) and its status."""
    if action and reason:
        raise click.UsageError("give one of --pause, --quarantine and --start")
    status = "Quarantine" if reason else action
    job = _job(resolve_state(state_dir), status=status, reason=reason)
    click.echo(f"bulkUpload URL : {job['bulkUploadUrl']}")
    click.echo(f"status         : {job['status']}" + (f" ({job['reason']})" if job["reason"]
                                                     else ""))
    click.echo(f"waiting uploads: {job['staged']}")


@sandbox_group.command("groups")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@state_option
@handle_errors
def sandbox_groups(fmt: str, state_dir: Path | None) -> None:
    """List the groups of the sandbox tenant and how many members each has."""
    from connector.sandbox import list_groups

    groups = list_groups(sandbox_path(resolve_state(state_dir)))
    if fmt == "json":
        click.echo(json.dumps(groups, indent=2, ensure_ascii=False, default=str))
        return
    table = Table(title=f"{len(groups)} groups", title_justify="left")
    for name in ("displayName", "mailNickname", "Type", "Members"):
        table.add_column(name, overflow="fold", justify="right" if name == "Members" else "left")
    for group in sorted(groups, key=lambda g: str(g.get("displayName")).lower()):
        kind = ("Microsoft 365" if "Unified" in (group.get("groupTypes") or [])
                else "security" if group.get("securityEnabled") else "distribution")
        table.add_row(str(group.get("displayName")), str(group.get("mailNickname")), kind,
                      str(len(group["_members"])))
    console().print(table)

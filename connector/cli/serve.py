"""``hr-connector serve``: run the upload page; ``serve hash-password``: make an account's
password hash. Starlette and uvicorn are imported only when the page is served."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from urllib.parse import urlsplit

import click

from connector.cli.common import handle_errors
from connector.config import load_config
from connector.errors import ConfigError

MIN_PASSWORD = 12


@click.group("serve", invoke_without_command=True)
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              envvar="HRC_CONFIG", show_envvar=True,
              help="The configuration file (accounts in serve.accounts).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; keep loopback behind an HTTPS reverse proxy.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--certfile", type=click.Path(dir_okay=False, exists=True),
              help="Serve HTTPS with this PEM certificate (chain) ...")
@click.option("--keyfile", type=click.Path(dir_okay=False, exists=True),
              help="... and this private key.")
@click.option("--public-url", help="The address people use (https://hr.example.com) when "
              "a reverse proxy does not pass the Host header on; forms posted from it are "
              "accepted.")
@click.option("--forwarded-allow-ips", default="", show_default="none",
              help="Comma-separated addresses of reverse proxies whose X-Forwarded-For and "
                   "X-Forwarded-Proto are believed (e.g. 127.0.0.1 for a proxy on this "
                   "machine). Give it behind a proxy, so that throttling sees clients' "
                   "addresses and cookies get the Secure flag; never '*'.")
@click.option("--header-timeout", type=click.FloatRange(min=0.1), default=10.0,
              show_default=True, help="Seconds a request's line and headers may take.")
@click.option("--body-timeout", type=click.FloatRange(min=0.1), default=30.0,
              show_default=True, help="Seconds a form's body (sign-in, buttons) may take.")
@click.option("--upload-timeout", type=click.FloatRange(min=1), default=300.0,
              show_default=True, help="Seconds an upload's body may take.")
@click.option("--max-uploads", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Uploads received and checked at once; more get 503 and Retry-After.")
@click.option("--max-connections", type=click.IntRange(2, 10_000), default=100,
              show_default=True, help="Open connections at once; more get 503.")
@click.pass_context
@handle_errors
def serve_group(ctx: click.Context, config_file: Path | None, host: str, port: int,
                certfile: str | None, keyfile: str | None, public_url: str | None,
                forwarded_allow_ips: str, header_timeout: float, body_timeout: float,
                upload_timeout: float, max_uploads: int, max_connections: int) -> None:
    """Serve the HR upload page: sign in, upload a CSV or XLSX export, review the checks
    and the dry-run diff, and have an approver apply it (the same pipeline as the sync command).

    Accounts, roles and policies come from the configuration file; run
    'hr-connector serve hash-password' to make an account's password_hash.
    """
    if ctx.invoked_subcommand is not None:
        return
    if config_file is None:
        raise click.UsageError("give --config FILE (or set HRC_CONFIG): the upload page "
                               "needs the accounts in its serve: section")
    if (certfile is None) != (keyfile is None):
        raise click.UsageError("give --certfile and --keyfile together")
    config = load_config(config_file)
    import uvicorn

    from connector.web.app import create_app
    from connector.web.limits import Limits
    from connector.web.server import server_config

    origins = []
    if public_url:
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise click.BadParameter("give it as https://host[:port]",
                                     param_hint="--public-url")
        origins.append(f"{parts.scheme}://{parts.netloc}")
    if "*" in forwarded_allow_ips:
        raise click.BadParameter("name the proxies' addresses; '*' would let any client "
                                 "choose its own address", param_hint="--forwarded-allow-ips")
    limits = Limits(header_seconds=header_timeout, body_seconds=body_timeout,
                    upload_seconds=upload_timeout, uploads=max_uploads,
                    connections=max_connections)
    app = create_app(config, origins=origins, limits=limits)
    web = app.state.web
    scheme = "https" if certfile else "http"
    click.echo(f"HR upload page on {scheme}://{host}:{port}/ "
               f"({len(web.accounts)} accounts, state in {web.workflow.state})")
    if web.sessions.ephemeral:
        click.echo("note: no serve.session_secret: sessions end when the server restarts",
                   err=True)
    if scheme == "http" and not _loopback(host):
        click.echo("warning: serving plain HTTP beyond this machine; put an HTTPS reverse "
                   "proxy in front or give --certfile/--keyfile", err=True)
    uvicorn.Server(server_config(app, host=host, port=port, limits=limits,
                                 forwarded_allow_ips=forwarded_allow_ips, certfile=certfile,
                                 keyfile=keyfile)).run()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@serve_group.command("hash-password")
@handle_errors
def hash_password_command() -> None:
    """Print a password hash for serve.accounts[].password_hash.

    The password is read from a hidden prompt (asked twice), or from the first line of
    standard input when it is not a terminal; never from the command line, where other
    users of the machine could see it.
    """
    from connector.web.auth import hash_password

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True,
                                err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"the password must have at least {MIN_PASSWORD} characters")
    click.echo(hash_password(password))

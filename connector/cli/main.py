"""The ``hr-connector`` command line: a thin layer over the library.

Each command parses its options, calls one library function and prints the result. Errors
become a message on stderr and an exit code, never a traceback:

====  ==========================================================================
code  meaning
====  ==========================================================================
0     success (a dry run included)
1     finished, but some records have errors
2     bad input, configuration or usage: nothing could be done
3     stopped by a safety threshold before writing anything
4     ``run``: another run holds the lock of this state directory; nothing was done
70    a bug in hr-connector (the message says so; ``HRC_DEBUG=1`` shows the traceback)
130   interrupted (Ctrl-C)
====  ==========================================================================
"""

from __future__ import annotations

import importlib

import click
from click.formatting import HelpFormatter

from connector.cli.common import handle_errors
from connector.core import clock
from connector.errors import EXIT_INTERNAL

#: Every command: the module that defines it, its name there, and the help line ``--help``
#: lists (each command's own first docstring sentence; a test keeps them equal). A command's
#: module is imported only when that command runs, so ``--help``, ``validate`` or ``expr``
#: load no HTTP client, crypto, web or terminal-table library they do not use.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "expr": ("connector.cli.mapping", "expr_command",
             "Evaluate one Entra expression on the given attributes and print the result."),
    "mapping": ("connector.cli.mapping", "mapping_group",
                "Work with mapping files (YAML under mappings/)."),
    "preview": ("connector.cli.mapping", "preview_command",
                "Show the Entra user each HR record maps to, who is out of scope and why, "
                "and errors."),
    "read": ("connector.cli.source", "read_command",
             "Show the records of an HR export exactly as the connector reads them."),
    "run": ("connector.cli.run", "run_command",
            "Do one whole run as the configuration file describes it."),
    "runs": ("connector.cli.runs", "runs_group",
             "List recent runs with their summaries (``runs show ID`` for one)."),
    "sandbox": ("connector.cli.sandbox", "sandbox_group",
                "The local sandbox tenant: a Graph emulator the connector uses when no tenant "
                "is set."),
    "serve": ("connector.cli.serve", "serve_group",
              "Serve the HR upload page: sign in, upload a CSV or XLSX export, review the "
              "checks and the dry-run diff, and have an approver apply it (the same pipeline "
              "as the sync command)."),
    "sync": ("connector.cli.sync", "sync_command",
             "Sync an HR export into Entra ID: plan the difference, then apply it."),
    "validate": ("connector.cli.source", "validate",
                 "Check an HR export (CSV or XLSX) before it is used."),
}


class LazyGroup(click.Group):
    """A group whose commands are imported when one runs, not when the group loads."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute, _ = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: HelpFormatter) -> None:
        """The command list from ``COMMANDS``, as click writes it, without importing."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit))
                for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _set_clock(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Every command of this process takes "now" from the clock this installs."""
    if value is None:
        clock.set_clock(None)  # the system's time, or HRC_NOW when set
        return
    try:
        clock.set_clock(clock.OffsetClock(clock.parse_moment(value)))
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hr-connector")
@click.option("--now", hidden=True, expose_value=False, is_eager=True, callback=_set_clock,
              metavar="ISO-DATETIME",
              help="Run as if it were this moment (for tests and reproductions; HRC_NOW "
                   "does the same).")
def main() -> None:
    """Keep Microsoft Entra ID users in step with the HR system."""


def run() -> None:
    """Entry point for ``python -m connector``."""
    main(prog_name="hr-connector")


if __name__ == "__main__":  # pragma: no cover
    run()

__all__ = ["COMMANDS", "EXIT_INTERNAL", "LazyGroup", "handle_errors", "main", "run"]

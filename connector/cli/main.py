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

import click

from connector.cli.common import handle_errors
from connector.cli.mapping import expr_command, mapping_group, preview_command
from connector.cli.run import run_command
from connector.cli.runs import runs_group
from connector.cli.sandbox import sandbox_group
from connector.cli.serve import serve_group
from connector.cli.source import read_command, validate
from connector.cli.sync import sync_command
from connector.core import clock
from connector.errors import EXIT_INTERNAL


def _set_clock(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Every command of this process takes "now" from the clock this installs."""
    if value is None:
        clock.set_clock(None)  # the system's time, or HRC_NOW when set
        return
    try:
        clock.set_clock(clock.OffsetClock(clock.parse_moment(value)))
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hr-connector")
@click.option("--now", hidden=True, expose_value=False, is_eager=True, callback=_set_clock,
              metavar="ISO-DATETIME",
              help="Run as if it were this moment (for tests and reproductions; HRC_NOW "
                   "does the same).")
def main() -> None:
    """Keep Microsoft Entra ID users in step with the HR system."""


main.add_command(validate)
main.add_command(read_command)
main.add_command(expr_command)
main.add_command(mapping_group)
main.add_command(preview_command)
main.add_command(sync_command)
main.add_command(runs_group)
main.add_command(sandbox_group)
main.add_command(serve_group)
main.add_command(run_command)


def run() -> None:
    """Entry point for ``python -m connector``."""
    main(prog_name="hr-connector")


if __name__ == "__main__":  # pragma: no cover
    run()

__all__ = ["EXIT_INTERNAL", "handle_errors", "main", "run"]

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
====  ==========================================================================
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from itertools import islice
from typing import Any, ParamSpec, TypeVar

import click
from rich.console import Console

from connector import report
from connector.checks import SAMPLE_SCHEMA, SourceSchema
from connector.errors import EXIT_UNUSABLE, ConnectorError
from connector.pipeline import validate_file
from connector.readers import open_source

P = ParamSpec("P")
R = TypeVar("R")

EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in the connector, not a problem with the input


def _console(*, stderr: bool = False) -> Console:
    # Wide enough that tables stay readable when piped to a file or a cron mail.
    width = None if sys.stdout.isatty() else 160
    return Console(stderr=stderr, width=width, highlight=False, soft_wrap=False)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn connector errors into a message and an exit code; never show a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ConnectorError as exc:
            click.echo(f"error: {exc.detailed()}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug: say so plainly, keep the traceback for --debug
            if os.environ.get("HRC_DEBUG"):
                raise
            click.echo(
                f"internal error: {type(exc).__name__}: {exc}\n"
                "This is a bug in hr-connector; run again with HRC_DEBUG=1 to see where.",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hr-connector")
def main() -> None:
    """Keep Microsoft Entra ID users in step with the HR system."""


def _schema(
    key: str | None,
    required: tuple[str, ...],
    manager: str | None,
    country: str | None,
    dates: tuple[str, ...],
) -> SourceSchema:
    if key is None:
        if required or manager or country or dates:
            raise click.UsageError("--require, --manager-column, --country-column and "
                                   "--date-column describe a source together with --key")
        return SAMPLE_SCHEMA
    return SourceSchema(key=key, required=required, manager=manager, country=country,
                        dates=dates, description="the command-line options")


@main.command()
@click.argument("source", type=click.Path(dir_okay=True, path_type=str))
@click.option("--sheet", help="Worksheet to read from a workbook (default: the first).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Readable table, or JSON for machines.")
@click.option("--key", help="Column holding each record's unique key "
              "(default: the sample export's EmployeeID).")
@click.option("--require", multiple=True, help="A column the source must have (repeatable).")
@click.option("--manager-column", help="Column naming each record's manager by key.")
@click.option("--country-column", help="Column holding ISO 3166-1 alpha-2 country codes.")
@click.option("--date-column", multiple=True, help="A column holding yyyy-mm-dd dates.")
@handle_errors
def validate(
    source: str,
    sheet: str | None,
    fmt: str,
    key: str | None,
    require: tuple[str, ...],
    manager_column: str | None,
    country_column: str | None,
    date_column: tuple[str, ...],
) -> None:
    """Check an HR export (CSV or XLSX) before it is used.

    Exit code 0 when every record is usable, 1 when some records have errors (the others
    can go through), 2 when the file cannot be used at all.
    """
    schema = _schema(key, require, manager_column, country_column, date_column)
    result = validate_file(source, schema, sheet=sheet)
    if fmt == "json":
        click.echo(json.dumps(report.validation_dict(result), indent=2, ensure_ascii=False))
    else:
        _console().print(report.validation_renderable(result))
    sys.exit(result.exit_code)


@main.command("read")
@click.argument("source", type=click.Path(dir_okay=True, path_type=str))
@click.option("--sheet", help="Worksheet to read from a workbook (default: the first).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@click.option("--limit", type=click.IntRange(min=0), help="Show at most this many records.")
@click.option("--column", "columns", multiple=True,
              help="Show only this column (repeatable; default: all).")
@handle_errors
def read_command(
    source: str, sheet: str | None, fmt: str, limit: int | None, columns: tuple[str, ...]
) -> None:
    """Show the records of an HR export exactly as the connector reads them."""
    reader = open_source(source, sheet=sheet)
    unknown = [c for c in columns if c not in reader.columns]
    if unknown:
        raise click.BadParameter(
            f"{', '.join(unknown)} not in the source; its columns are: "
            + ", ".join(reader.columns), param_hint="--column")
    shown = list(columns) or reader.columns
    records = list(islice(reader.records(), limit))
    if fmt == "json":
        data: list[dict[str, Any]] = [
            {"row": r.row, "values": {c: r.values[c] for c in shown}} for r in records]
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(report.records_csv(shown, records), nl=False)
    else:
        console = _console()
        console.print(report.records_table(shown, records))
        console.print(f"{len(records)} record(s) from {reader.name} "
                      f"({reader.format}, header on row {reader.header_row})")
    for warning in reader.warnings:
        click.echo(f"warning: {warning}", err=True)


def run() -> None:
    """Entry point for ``python -m connector``."""
    main(prog_name="hr-connector")


if __name__ == "__main__":  # pragma: no cover
    run()

__all__ = ["EXIT_UNUSABLE", "main", "run"]

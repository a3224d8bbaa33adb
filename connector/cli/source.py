"""``hr-connector validate`` and ``read``: an HR export checked, and shown as it is read."""

from __future__ import annotations

import json
import sys
from itertools import islice
from pathlib import Path
from typing import Any

import click

from connector.cli.common import DEFAULT_MAPPING, console, handle_errors
from connector.core.validation import SAMPLE_SCHEMA, SourceSchema
from connector.mapping import load_mapping
from connector.readers import open_source
from connector.report import validation as report
from connector.run.prepare import mapping_schema, validate_file


def _schema(
    mapping: str | None,
    key: str | None,
    required: tuple[str, ...],
    manager: str | None,
    countries: tuple[str, ...],
    dates: tuple[str, ...],
) -> SourceSchema:
    """What the source must hold: from --key and friends, else from the mapping."""
    if key is not None:
        if mapping:
            raise click.UsageError("give either --mapping or --key, not both")
        return SourceSchema(key=key, required=required, manager=manager, countries=countries,
                            dates=dates, description="the command-line options")
    if required or manager or countries or dates:
        raise click.UsageError("--require, --manager-column, --country-column and "
                               "--date-column describe a source together with --key")
    if mapping is None and not DEFAULT_MAPPING.is_file():
        return SAMPLE_SCHEMA
    path = Path(mapping) if mapping else DEFAULT_MAPPING
    return mapping_schema(load_mapping(path))


@click.command()
@click.argument("source", type=click.Path(dir_okay=True, path_type=str))
@click.option("--sheet", help="Worksheet to read from a workbook (default: the first).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Readable table, or JSON for machines.")
@click.option("--mapping", help="Mapping whose columns the source must hold "
              "(default: mappings/default.yaml).")
@click.option("--key", help="Instead of a mapping: the column holding each record's key.")
@click.option("--require", multiple=True, help="A column the source must have (repeatable).")
@click.option("--manager-column", help="Column naming each record's manager by key.")
@click.option("--country-column", multiple=True,
              help="A column holding ISO 3166-1 alpha-2 country codes (repeatable).")
@click.option("--date-column", multiple=True, help="A column holding yyyy-mm-dd dates.")
@click.option("--show", type=click.IntRange(min=0), default=40, show_default=True,
              help="Problems to print in the table (--format json lists them all).")
@handle_errors
def validate(
    source: str,
    sheet: str | None,
    fmt: str,
    mapping: str | None,
    key: str | None,
    require: tuple[str, ...],
    manager_column: str | None,
    country_column: tuple[str, ...],
    date_column: tuple[str, ...],
    show: int,
) -> None:
    """Check an HR export (CSV or XLSX) before it is used.

    Exit code 0 when every record is usable, 1 when some records have errors (the others
    can go through), 2 when the file cannot be used at all. The table shows the first
    --show problems and counts the rest; --format json lists every one.
    """
    schema = _schema(mapping, key, require, manager_column, country_column, date_column)
    result = validate_file(source, schema, sheet=sheet)
    if fmt == "json":
        sys.stdout.flush()
        report.write_validation_json(result, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        console().print(report.validation_renderable(result, limit=show))
    sys.exit(result.exit_code)


@click.command("read")
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
        out = console()
        out.print(report.records_table(shown, records))
        out.print(f"{len(records)} record(s) from {reader.name} "
                      f"({reader.format}, header on row {reader.header_row})")
    for warning in reader.warnings:
        click.echo(f"warning: {warning}", err=True)

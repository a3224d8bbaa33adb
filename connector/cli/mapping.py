"""Commands for the mapping: ``expr`` (Entra's "test expression" box, offline),
``mapping check`` and ``preview`` (the desired Entra user for each HR record)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import click
from rich.table import Table

from connector.cli.common import console, handle_errors, mapping_path, param_option, parse_pairs
from connector.core import clock
from connector.errors import ConfigError
from connector.mapping import StubDirectory, load_mapping
from connector.mapping.expr import IGNORE, IGNORE_OBJECT, EvalContext, compile_expression
from connector.report import validation as report
from connector.run.prepare import prepare


def _now(text: str | None) -> dt.datetime:
    if text is None:
        return clock.now()
    try:
        return clock.parse_moment(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--now") from None


now_option = click.option(
    "--now", "now_text", metavar="ISO-DATETIME",
    help="Evaluate as if it were this moment (UTC unless a zone is given); default: now.")


@click.command("expr")
@click.argument("expression")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
              help="An attribute's value (repeatable; repeat a name for a multi-valued "
                   "attribute; NAME= is an empty string; unset names are null).")
@param_option
@click.option("--domain", default="contoso.com", show_default=True,
              help="What DefaultDomain() returns.")
@click.option("--taken", multiple=True, metavar="VALUE",
              help="A value SelectUniqueValue must treat as already used (repeatable).")
@now_option
@click.option("--json", "as_json", is_flag=True,
              help="Print the JSON encoding of the value (lists and null unambiguous).")
@handle_errors
def expr_command(
    expression: str, sets: tuple[str, ...], params: tuple[str, ...], domain: str,
    taken: tuple[str, ...], now_text: str | None, as_json: bool,
) -> None:
    """Evaluate one Entra expression on the given attributes and print the result.

    \b
    hr-connector expr 'Join(".", ToLower([givenName]), [sn])' --set givenName=Zoë --set sn=O
    """
    compiled = compile_expression(expression)
    record: dict[str, Any] = {}
    for name, text in parse_pairs(sets, "--set"):
        if name in record:
            previous = record[name]
            record[name] = [*previous, text] if isinstance(previous, list) else [previous, text]
        else:
            record[name] = text
    context = EvalContext(now=_now(now_text), params=dict(parse_pairs(params, "--param")),
                          directory=StubDirectory(domain=domain, taken=set(taken)))
    value = compiled.evaluate(record, context)
    if value is IGNORE or value is IGNORE_OBJECT:
        what = "the attribute" if value is IGNORE else "the whole record"
        if as_json:
            click.echo(json.dumps({"ignored": "attribute" if value is IGNORE else "object"}))
        click.echo(f"({what} would not flow: {value!r})", err=True)
        return
    if as_json:
        click.echo(json.dumps(value, ensure_ascii=False))
    elif value is None:
        click.echo("(null)", err=True)
    elif isinstance(value, list):
        click.echo("\n".join(value))
    else:
        click.echo(value)


@click.group("mapping")
def mapping_group() -> None:
    """Work with mapping files (YAML under mappings/)."""


@mapping_group.command("check")
@click.argument("mapping_file", metavar="MAPPING")
@param_option
@handle_errors
def mapping_check(mapping_file: str, params: tuple[str, ...]) -> None:
    """Load and compile a mapping; list every problem, or summarise what it does.

    Exit code 0 when the mapping is usable, 2 with every problem listed when it is not.
    """
    compiled = load_mapping(mapping_file, params=dict(parse_pairs(params, "--param")))
    table = Table(title=f"{mapping_file}: OK", title_justify="left", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    on_create = [n for n, r in compiled.rules.items() if r.on_create]
    table.add_row("description", compiled.description)
    table.add_row("key column", compiled.key)
    table.add_row("matching", " then ".join(compiled.matching))
    table.add_row("attributes", f"{len(compiled.rules)} ({len(on_create)} on create only: "
                  f"{', '.join(on_create) or 'none'})")
    table.add_row("required columns", ", ".join(compiled.required_columns))
    table.add_row("optional columns", ", ".join(compiled.optional_columns) or "none")
    table.add_row("parameters", ", ".join(f"{k}={v}" for k, v in compiled.params.items())
                  or "none")
    table.add_row("scope", " OR ".join(
        f"{f.name} ({' AND '.join(c.describe() for c in f.clauses)})" for f in compiled.scope)
        or "every record")
    table.add_row("leavers", "rule set" + (f", deleted after {compiled.delete_after_days} days"
                                           if compiled.delete_after_days is not None
                                           else ", disabled, never deleted")
                  if compiled.leaver else "no rule")
    table.add_row("manager", f"column {compiled.manager_column}" if compiled.manager_column
                  else "not set")
    table.add_row("source", "partial feed (absence means nothing)" if compiled.partial
                  else "full export (a managed user missing from it is a leaver)")
    if compiled.groups is not None:
        rules = compiled.groups.group_rules
        table.add_row("groups", f"security groups whose mailNickname starts with "
                      f"{compiled.groups.marker}: " + "; ".join(
                          f"{r.name} ({r.prefix}{'<value>' if r.per_value else ''}{r.suffix}"
                          f"{', exclusive' if r.exclusive else ''})" for r in rules))
    console().print(table)


@click.command("preview")
@click.argument("source")
@click.option("--mapping", "mapping_file", help="Mapping file (default: mappings/default.yaml).")
@param_option
@click.option("--sheet", help="Worksheet to read from a workbook (default: the first).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True)
@click.option("--row", type=int, help="Show only the record on this row, every attribute.")
@click.option("--limit", type=click.IntRange(min=0),
              help="Show only the first N records (the summary still counts all).")
@click.option("--domain", default="contoso.com", show_default=True,
              help="What DefaultDomain() returns (no tenant is read by preview).")
@now_option
@handle_errors
def preview_command(
    source: str, mapping_file: str | None, params: tuple[str, ...], sheet: str | None,
    fmt: str, row: int | None, limit: int | None, domain: str, now_text: str | None,
) -> None:
    """Show the Entra user each HR record maps to, who is out of scope and why, and errors.

    Nothing is read from or written to a tenant: unique values (SelectUniqueValue) are
    unique among the records of this source only.
    """
    path = mapping_path(mapping_file)
    compiled = load_mapping(path, params=dict(parse_pairs(params, "--param")))
    prepared = prepare(source, compiled, now=_now(now_text),
                       directory=StubDirectory(domain=domain), sheet=sheet)
    records = prepared.mapped
    if row is not None:
        records = [r for r in records if r.row == row]
        if not records:
            raise ConfigError(f"{source} has no record on row {row}")
    elif limit is not None:
        records = records[:limit]
    warnings = prepared.validation.warnings
    if fmt == "json":
        data = report.preview_dict(records, file=prepared.validation.file, mapping=str(path),
                                   warnings=warnings)
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(report.preview_csv(records), nl=False)
    else:
        out = console()
        if row is not None:
            out.print(report.preview_detail(records[0]))
        else:
            out.print(report.preview_table(records))
            shown = f" (first {len(records)} shown)" if len(records) < len(prepared.mapped) else ""
            out.print(f"{prepared.count('mapped')} mapped, {prepared.count('skipped')} out of "
                      f"scope, {prepared.count('error')} with errors, "
                      f"{sum(1 for r in prepared.mapped if r.leaver)} leavers — {source} with "
                      f"{path}{shown}")
        for warning in warnings:
            click.echo(f"warning: {warning}", err=True)
    sys.exit(0)

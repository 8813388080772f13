"""`tessera report …`: list the org's reports and run one as a user (CSV, XLSX or JSON)."""
from __future__ import annotations

import json
import sys

import click

from .context import database_option, fail, open_services


@click.group("report")
def report():
    """Reports (reports/<name>.yaml in packages and the org layer)."""


@report.command("list")
@database_option
def report_list(ctx):
    """The org's reports: name, object, format and label."""
    services = open_services(ctx, require_ready=True)
    reports = services.runtimes.current().metadata.reports
    if not reports:
        click.echo("no reports")
    for comp in sorted(reports.values(), key=lambda c: c.name):
        click.echo(f"{comp.name}  {comp['object']}  {comp.get('format', 'tabular')}  {comp.get('label') or ''}".rstrip())


@report.command("run")
@database_option
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]), default="csv", show_default=True)
@click.option("--as", "username", default="admin", show_default=True,
              help="Run as this user: the figures are built only from what the user may read.")
@click.option("--filter", "extra_filter", help="An expression narrowing the report further (ANDed).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file (default: standard output; xlsx needs a file).")
def report_run(ctx, name, fmt, username, extra_filter, output):
    """Run report NAME as a user and print or write its figures."""
    from ..analytics.definitions import stored_definition
    from ..analytics.run import run_report
    from ..analytics.table import report_table
    from ..records.errors import RecordError
    services = open_services(ctx, require_ready=True)
    md = services.runtimes.current().metadata
    user = services.identity.find_user(username)
    if user is None:
        fail(f"there is no active user '{username}'")
    if fmt == "xlsx" and not output:
        fail("--format xlsx writes a file: give --output FILE.xlsx")
    try:
        definition = stored_definition(md, name)
        if definition is None:
            fail(f"there is no report '{name}' (tessera report list shows them)")
        result = run_report(services.records, services.identity.actor_for_user(user), definition,
                            extra_filter=extra_filter,
                            fiscal_start_month=getattr(md.org_settings, "fiscal_year_start_month", 1) or 1)
    except RecordError as exc:
        fail(str(exc))
    if fmt == "json":
        text = json.dumps(result, indent=2, default=str) + "\n"
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
        else:
            sys.stdout.write(text)
        return
    from ..analytics.tabular_export import csv_chunks, xlsx_bytes
    columns, rows = report_table(result)
    if fmt == "csv":
        if output:
            with open(output, "w", encoding="utf-8", newline="") as fh:
                fh.writelines(csv_chunks(columns, rows))
        else:
            sys.stdout.writelines(csv_chunks(columns, rows))
        return
    with open(output, "wb") as fh:
        fh.write(xlsx_bytes(columns, rows, definition.label))
    click.echo(f"wrote {output}: {len(rows)} rows")


COMMANDS = [report]

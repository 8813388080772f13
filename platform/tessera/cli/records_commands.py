"""`tessera import OBJECT FILE.csv`: CSV import through the record service (all or nothing)."""
from __future__ import annotations

import csv
import sys

import click

from .context import database_option, fail, open_services


@click.command("import")
@database_option
@click.argument("object_name", metavar="OBJECT")
@click.argument("csv_file", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", "username", default="admin", show_default=True, help="Import as this user (the owner).")
def import_csv(ctx, object_name, csv_file, username):
    """Import a CSV file (header row = field names). Nothing is saved if any row fails."""
    from ..records.errors import BulkFailed, RecordError

    services = open_services(ctx, require_ready=True)
    user = services.identity.find_user(username)
    if user is None or user.get("active") is False:
        fail(f"there is no active user '{username}'")
    actor = services.identity.actor_for_user(user)
    try:
        with open(csv_file, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames:
                fail(f"{csv_file}: the file is empty (expected a header row of field names)")
            rows = []
            for row in reader:
                if None in row:  # more cells than header columns
                    fail(f"{csv_file}: line {reader.line_num} has more values than the header has columns")
                rows.append({k: v for k, v in row.items() if v is not None})
    except UnicodeDecodeError:
        fail(f"{csv_file}: not UTF-8 text")
    except csv.Error as exc:
        fail(f"{csv_file}: {exc}")
    blanks = [h for h in reader.fieldnames if not h or not h.strip()]
    if blanks:
        fail(f"{csv_file}: the header row has an empty column name")
    with click.progressbar(length=len(rows), label=f"Checking {len(rows)} rows", file=sys.stderr) as bar:
        try:
            ids = services.records.bulk_create(actor, object_name, rows, from_text=True,
                                               progress=lambda checked: bar.update(checked - bar.pos))
        except BulkFailed as exc:
            click.echo(f"error: {exc.message}", err=True)
            for row in exc.details["rows"]:
                for field, messages in row.get("fields", {}).items():
                    for message in messages:
                        click.echo(f"  row {row['index'] + 1} (line {row['index'] + 2}): {field}: {message}", err=True)
                for rule in row.get("rules", ()):
                    click.echo(f"  row {row['index'] + 1} (line {row['index'] + 2}): {rule['message']}", err=True)
            raise SystemExit(1)
        except RecordError as exc:
            fail(exc.message)
    click.echo(f"Imported {len(ids)} {object_name} records.")


COMMANDS = [import_csv]

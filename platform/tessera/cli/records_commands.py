"""`tessera import OBJECT FILE.csv`: CSV import through the record service (all or nothing).

A header `lookup.key` fills the lookup by the target's natural key (an external id, or a unique
name field: records/natural_keys.py); `--upsert-by FIELD` updates the records whose external id
exists and creates the others (records/upsert.py)."""
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
@click.option("--upsert-by", "upsert_by", metavar="FIELD", default=None,
              help="An external id field: rows whose value exists update that record (blank cells leave a "
                   "field as it is), the others are created.")
def import_csv(ctx, object_name, csv_file, username, upsert_by):
    """Import a CSV file (header row = field names; `lookup.key` names a lookup's record by its
    external id, e.g. company.code). Nothing is saved if any row fails."""
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
                rows.append(_nested(row))
    except UnicodeDecodeError:
        fail(f"{csv_file}: not UTF-8 text")
    except csv.Error as exc:
        fail(f"{csv_file}: {exc}")
    blanks = [h for h in reader.fieldnames if not h or not h.strip()]
    if blanks:
        fail(f"{csv_file}: the header row has an empty column name")
    plain = set(reader.fieldnames)
    for header in reader.fieldnames:
        lookup = header.split(".", 1)[0]
        if "." in header and (lookup in plain or sum(h.startswith(lookup + ".") for h in plain) > 1):
            fail(f"{csv_file}: the header names the lookup '{lookup}' more than once ({header} and another "
                 f"{lookup} column): give one of them")
    with click.progressbar(length=len(rows), label=f"Checking {len(rows)} rows", file=sys.stderr) as bar:
        try:
            report = lambda checked: bar.update(checked - bar.pos)  # noqa: E731
            if upsert_by:
                ids, updated = services.records.bulk_upsert(actor, object_name, rows, upsert_by, from_text=True,
                                                            progress=report)
            else:
                ids, updated = services.records.bulk_create(actor, object_name, rows, from_text=True,
                                                            progress=report), []
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
    if upsert_by:
        click.echo(f"Imported {len(ids) + len(updated)} {object_name} records: {len(ids)} created, "
                   f"{len(updated)} updated (by {upsert_by}).")
    else:
        click.echo(f"Imported {len(ids)} {object_name} records.")


def _nested(row: dict) -> dict:
    """A CSV row as record input: `company.code` becomes {"company": {"code": ...}}."""
    out = {}
    for header, value in row.items():
        if value is None:
            continue
        lookup, dot, key = header.partition(".")
        out[lookup] = {key: value} if dot else value
    return out


COMMANDS = [import_csv]

"""`tessera import OBJECT FILE`: CSV or XLSX import through the import engine (tessera.dataio), all
or nothing — the same engine as the `/app` import wizard.

Columns are matched to fields by name or label (case and spaces ignored); a header `lookup.key`
fills the lookup by naming the target record by that key (its name, an external id or a unique
field). `--mapping FILE` (JSON or YAML `{column: field or null}`) overrides the match; `--lookup-by
LOOKUP=KEY` matches a lookup column by a key instead of record ids. `--operation insert|update|upsert`
with `--match-field FIELD` (a unique or external id field; `--upsert-by FIELD` is upsert by it).
`--errors FILE` writes the per-row error report as CSV.

A related_to column (a record of one of several objects) takes `object:record id` cells; with a
header `related_to.name` (or `--lookup-by related_to=name`) its cells name the record instead:
`account:Acme Corp` by the object's name field, `account.code:C-17` by another key field of it."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .context import database_option, fail, open_services


def _lookup_by(_ctx, _param, values):
    out = {}
    for value in values:
        lookup, eq, key = value.partition("=")
        if not eq or not lookup or not key:
            raise click.BadParameter(f"'{value}': expected LOOKUP=KEY, e.g. company=name")
        out[lookup.strip()] = key.strip()
    return out


@click.command("import")
@database_option
@click.argument("object_name", metavar="OBJECT")
@click.argument("data_file", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", "username", default="admin", show_default=True, help="Import as this user (the owner).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default=None,
              help="The file's format (default: from its extension).")
@click.option("--operation", type=click.Choice(["insert", "update", "upsert"]), default=None,
              help="insert (default) creates every row; update changes the records named by --match-field "
                   "(each must exist); upsert updates those that exist and creates the others.")
@click.option("--match-field", "match_field", metavar="FIELD", default=None,
              help="The unique or external id field that names the record an update or upsert row is for.")
@click.option("--upsert-by", "upsert_by", metavar="FIELD", default=None,
              help="Same as --operation upsert --match-field FIELD (blank cells leave a field as it is).")
@click.option("--lookup-by", "lookup_by", metavar="LOOKUP=KEY", multiple=True, callback=_lookup_by,
              help="Match a lookup column's values by this field of the target (name, an external id or a "
                   "unique field) instead of record ids; repeatable. For a related_to column, RELATED=name: "
                   "cells OBJECT:NAME (e.g. account:Acme Corp) or OBJECT.KEY:VALUE (e.g. account.code:C-17).")
@click.option("--mapping", "mapping_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="JSON or YAML {column: field or null to skip}; other columns are matched by name or label.")
@click.option("--allow-duplicates", "allow_duplicates", is_flag=True,
              help="Save rows that block duplicate rules refuse, where the rule allows an override "
                   "(rules without allow_override still refuse them).")
@click.option("--errors", "errors_file", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the per-row error report (row, line, column, field, message) to this CSV file.")
def import_csv(ctx, object_name, data_file, username, fmt, operation, match_field, upsert_by, lookup_by,
               mapping_file, allow_duplicates, errors_file):
    """Import a CSV or XLSX file (header row = field names or labels; `lookup.key` names a lookup's
    record by a key, e.g. company.code). A related_to column takes OBJECT:ID cells, or with the header
    `related_to.name` OBJECT:NAME and OBJECT.KEY:VALUE cells (account:Acme Corp, account.code:C-17).
    Nothing is saved if any row fails."""
    from ..dataio import engine, mapping as mappings, sources
    from ..records.errors import RecordError

    if upsert_by:
        if (operation or "upsert") != "upsert" or (match_field and match_field != upsert_by):
            fail("--upsert-by FIELD means --operation upsert --match-field FIELD: give one or the other")
        operation, match_field = "upsert", upsert_by
    operation = operation or "insert"
    services = open_services(ctx, require_ready=True)
    user = services.identity.find_user(username)
    if user is None or user.get("active") is False:
        fail(f"there is no active user '{username}'")
    actor = services.identity.actor_for_user(user)
    rt = services.records.runtime()
    if object_name not in rt.objects:
        fail(f"there is no object '{object_name}'")
    access = rt.security.access_for(actor)
    try:
        sheet = sources.read_table(Path(data_file).read_bytes(), sources.format_of(data_file, fmt))
    except sources.InputError as exc:
        fail(f"{data_file}: {exc}")
    # a column that matches no field is left out, so the check refuses it unless --mapping skips it
    mapping = {h: t for h, t in mappings.auto_map(rt, access, object_name, sheet.headers, lookup_key="").items() if t}
    if mapping_file:
        mapping.update(_read_mapping(mapping_file))
    for header, target in mapping.items():
        if target in lookup_by:
            mapping[header] = f"{target}.{lookup_by[target]}"
    try:
        mappings.check(rt, access, object_name, sheet.headers, mapping, operation=operation, match_field=match_field)
    except mappings.MappingError as exc:
        for problem in exc.problems:
            click.echo(f"error: {data_file}: {problem}", err=True)
        raise SystemExit(1)
    spec = engine.Spec(object_name, mapping, operation, match_field, allow_duplicates)
    with click.progressbar(length=len(sheet), label=f"Checking {len(sheet)} rows", file=sys.stderr) as bar:
        try:
            outcome = engine.run(services, actor, sheet, spec, progress=lambda n: bar.update(n - bar.pos))
        except RecordError as exc:
            fail(exc.message)
    if errors_file:
        Path(errors_file).write_bytes(engine.errors_csv(outcome.errors))
    if outcome.errors:
        rows = len({e.row for e in outcome.errors})
        click.echo(f"error: {rows} of {len(sheet)} rows failed: nothing was imported", err=True)
        for e in outcome.errors:
            click.echo(f"  row {e.row} (line {e.line}): {e.field + ': ' if e.field else ''}{e.message}", err=True)
        raise SystemExit(1)
    if operation == "insert":
        click.echo(f"Imported {len(outcome.created)} {object_name} records.")
    else:
        click.echo(f"Imported {len(outcome.created) + len(outcome.updated)} {object_name} records: "
                   f"{len(outcome.created)} created, {len(outcome.updated)} updated (by {match_field}).")


def _read_mapping(path: str) -> dict:
    try:
        if path.endswith((".yaml", ".yml")):
            from ..meta.safe_yaml import parse
            data = parse(Path(path).read_bytes())
        else:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
    except Exception as exc:   # JSON or YAML syntax: say which file
        fail(f"{path}: not a valid mapping file ({exc})")
    if not isinstance(data, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, str))
                                             for k, v in data.items()):
        fail(f"{path}: a mapping is an object {{column: field name, or null to skip the column}}")
    return {k: v or "" for k, v in data.items()}


COMMANDS = [import_csv]

"""`tessera backup`, `tessera restore` and `tessera export-data`: an operator's copies of an org."""
from __future__ import annotations

import click

from .context import database_option, fail, open_services


def _human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@database_option
def backup(ctx, file):
    """Write a backup of the database (records, metadata versions, audit, history) and its stored
    files to FILE, consistent while the app keeps serving. Restore it with `tessera restore FILE`."""
    from ..operations import BackupError, create_backup
    services = open_services(ctx, require_ready=True)
    try:
        report = create_backup(services, file)
    except BackupError as exc:
        fail(str(exc))
    m = report.manifest
    click.echo(f"Backup written: {report.path} ({_human(report.bytes)})")
    click.echo(f"  {m.database} database at metadata version {m.metadata_version}, {report.files} stored file(s)"
               + (f"; {report.files_gone} deleted while it ran, not included" if report.files_gone else ""))


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace everything in a target database that is not empty.")
@click.option("--verify-only", is_flag=True, help="Check the backup (every file's hash) and say what it holds; restore nothing.")
@database_option
def restore(ctx, file, force, verify_only):
    """Restore a backup made by `tessera backup` into the database given by --database (an empty one,
    unless --force). The archive is verified completely before anything in the target changes."""
    from ..operations import BackupError, inspect_backup, restore_backup
    try:
        if verify_only:
            m = inspect_backup(file)
            click.echo(f"{file}: a valid Tessera backup made {m.created_at} by Tessera {m.tessera_version}")
            click.echo(f"  {m.database} database at metadata version {m.metadata_version}, "
                       f"{m.files} stored file(s), {len(m.members)} member(s) verified")
            return
        report = restore_backup(file, ctx.url, force=force)
    except BackupError as exc:
        fail(str(exc))
    services = open_services(ctx, require_ready=True)   # brings an older backup's platform tables up to date
    click.echo(f"Restored {file} into {ctx.engine.url.render_as_string(hide_password=True)}"
               + (" (replacing what was there)" if report.replaced else ""))
    click.echo(f"  metadata version {services.changes.active_number()}, {report.files} stored file(s)")


@click.command("export-data")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--user", "username", default="admin", show_default=True,
              help="Export what this user may read (needs the customize_metadata and export_data permissions).")
@database_option
def export_data(ctx, file, username):
    """Export every object's records as CSV (one file per object) with the metadata, in one zip:
    the same export as Setup's "Export all data", for moving data to another system."""
    from ..dataio import org_export
    services = open_services(ctx, require_ready=True)
    user = services.identity.find_user(username)
    if user is None:
        fail(f"there is no user '{username}'")
    actor = services.identity.actor_for_user(user)
    if not org_export.may_export(services.records.runtime().security.access_for(actor)):
        fail(f"user '{username}' may not export the org's data (needs the customize_metadata and export_data permissions)")
    content = org_export.build(services, actor)
    with open(file, "wb") as out:
        out.write(content)
    click.echo(f"Data export written: {file} ({_human(len(content))})")


COMMANDS = [backup, restore, export_data]

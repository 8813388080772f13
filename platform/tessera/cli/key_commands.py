"""`tessera keys`: the keys of encrypted fields (tessera/encryption).

    tessera keys generate [--id ID]   print a new key line for TESSERA_ENCRYPTION_KEY(_FILE)
    tessera keys status               values per key id, per encrypted field
    tessera keys rotate               enqueue the job that re-encrypts under the primary key
"""
from __future__ import annotations

import click

from .context import database_option, fail, open_services


@click.group("keys")
def keys():
    """Keys of encrypted fields: generate, status, rotate."""


@keys.command("generate")
@click.option("--id", "key_id", metavar="ID", help="The key id (default: k + 8 random hex digits).")
def generate(key_id):
    """Print a new key as `key_id: base64`: a line of TESSERA_ENCRYPTION_KEY_FILE (first = primary)."""
    from ..encryption.keys import generate_line
    try:
        click.echo(generate_line(key_id))
    except ValueError as exc:
        fail(str(exc))


def _keyring():
    from ..encryption.keys import required_keyring
    from ..environment import EnvironmentSettingError
    try:
        return required_keyring()
    except EnvironmentSettingError as exc:
        fail(str(exc))


@keys.command("status")
@database_option
def status(ctx):
    """Count the values of every encrypted field under each key id."""
    from ..encryption.rotation import key_counts
    keyring = _keyring()
    services = open_services(ctx, require_ready=True)
    click.echo(f"Keys ({keyring.source}): " + ", ".join(
        f"{k.id}{' (primary)' if k is keyring.primary else ''}" for k in keyring.keys))
    counts = key_counts(services)
    if not counts:
        click.echo("No encrypted fields.")
    for row in counts:
        per_key = ", ".join(f"{kid}: {n:,}" for kid, n in row["keys"].items())
        other = f", under other keys: {row['other']:,}" if row["other"] else ""
        click.echo(f"{row['field']} ({row['mode']}): {row['total']:,} values — {per_key}{other}; "
                   f"to rotate: {row['to_rotate']:,}")
    if any(row["other"] for row in counts):
        fail("some values are under keys this keyring does not hold: add those keys back to decrypt them")


@keys.command("rotate")
@database_option
def rotate(ctx):
    """Enqueue the job that re-encrypts every value not under the primary key (a worker runs it;
    safe to run again)."""
    from ..automation import queue
    from ..encryption.rotation import KIND
    from ..storage.engine import begin_write
    keyring = _keyring()
    services = open_services(ctx, require_ready=True)
    with begin_write(services.engine) as conn:
        job_id = queue.enqueue(conn, KIND, {}, max_attempts=5)
    click.echo(f"Enqueued job {job_id}: re-encrypt every value under key {keyring.primary.id!r} "
               f"(`tessera worker` or `tessera serve` runs it; `tessera keys status` shows what is left).")


COMMANDS = [keys]

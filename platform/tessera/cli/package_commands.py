"""`tessera package …`: build, keygen, verify, trust, trusted, untrust (tessera/packaging).

`tessera install FILE.tpkg` lives with the other metadata commands (metadata_commands.py).
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import click

from .context import database_option, fail
from .metadata_commands import _author, _handle_errors, _report, change_options

_KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,79}$")


def _refusals(func):
    """Bad archives, keys and trust changes → `error: …` and exit 1, never a traceback (invalid
    metadata is reported by metadata_commands._handle_errors, each problem on its own line)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from ..packaging.reader import ArchiveRefused
        from ..packaging.signing import KeyFileError
        from ..packaging.trust import TrustError
        try:
            return func(*args, **kwargs)
        except (ArchiveRefused, KeyFileError, TrustError, FileExistsError) as exc:
            fail(str(exc))
    return _handle_errors(wrapper)


@click.group("package")
def package():
    """Package archives: build, sign, verify, the org's trusted signing keys; purge deprecated components."""


@package.command("build")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Archive to write (default: NAME-VERSION.tpkg here).")
@click.option("--sign", "sign_key", type=click.Path(dir_okay=False), metavar="KEYFILE",
              help="Sign with this Ed25519 private key (from `tessera package keygen`).")
@click.option("--signer", help="The signer name the archive carries (default: the key file's name).")
@click.option("--with", "with_paths", multiple=True, type=click.Path(), metavar="DIR|ARCHIVE",
              help="A dependency that is not a stock package (repeatable).")
@_refusals
def build(directory, output, sign_key, signer, with_paths):
    """Check the package in DIRECTORY (no database needed: against the stock packages and --with
    dependencies) and write it as one archive with a manifest of every file's hash."""
    from ..packaging.build import build as build_archive
    built = build_archive(directory, output, sign_key=sign_key, signer=signer, with_paths=list(with_paths))
    click.echo(f"Built {built.path}: {built.name} {built.version}, {built.files} files, content {built.content_hash}"
               + (f", signed by {built.signer}" if built.signer else ", unsigned"))


@package.command("keygen")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=".", help="Where to write the keys.")
@_refusals
def keygen(name, directory):
    """Write an Ed25519 signing key: NAME.key (private, mode 0600: keep it secret) and NAME.pub
    (give it to the orgs that install your packages)."""
    from ..packaging.signing import fingerprint, key_id, keygen as make_keys, load_public_key
    if not _KEY_NAME.match(name):
        fail(f"'{name}' is not a key name: letters, digits, '_', '.', '@' or '-', starting with a letter or digit")
    if not Path(directory).is_dir():
        fail(f"{directory} is not a directory")
    private, public = make_keys(name, Path(directory))
    click.echo(f"Wrote {private} (private: keep it secret) and {public} "
               f"(key {fingerprint(key_id(load_public_key(public)))}).")


@package.command("verify")
@click.argument("archive", type=click.Path(dir_okay=False))
@click.option("--database", "database", metavar="URL", envvar="TESSERA_DATABASE_URL",
              help="Also say whether this org trusts the signer (default: $TESSERA_DATABASE_URL; without it, "
                   "no database is opened).")
@_refusals
def verify(archive, database):
    """Check ARCHIVE (every file's hash, the content hash, the signature) and print what it holds."""
    from ..packaging.reader import read_archive_file
    checked = read_archive_file(archive)
    click.echo(f"name:     {checked.name}")
    click.echo(f"version:  {checked.version}")
    click.echo(f"hash:     {checked.content_hash}")
    click.echo(f"files:    {len(checked.files)}, every one matching the manifest")
    sig = checked.signature
    if sig is None:
        click.echo("signer:   unsigned")
        return
    click.echo(f"signer:   {sig.signer} (key {sig.fingerprint}; the signature matches)")
    if database:
        from ..packaging.installer import signer_of
        from .context import CliContext
        click.echo(f"trust:    {signer_of(CliContext(database).engine, checked).description}")


@package.command("trust")
@click.argument("public_key", type=click.Path(dir_okay=False))
@click.option("--name", "label", required=True, help="The label this org knows the key by.")
@database_option
@_refusals
def trust(ctx, public_key, label):
    """Trust packages signed with the Ed25519 key in PUBLIC_KEY (a .pub file)."""
    from ..packaging.signing import load_public_key
    from ..packaging.trust import trust as add
    key = add(ctx.engine, load_public_key(Path(public_key)), label, by=_author())
    click.echo(f"Trusted key {key.fingerprint} as '{key.label}'.")


@package.command("trusted")
@database_option
def trusted(ctx):
    """List the keys this org trusts."""
    from ..packaging.trust import trusted as listed
    keys = listed(ctx.engine)
    if not keys:
        click.echo("No trusted keys.")
        return
    width = max(len(k.label) for k in keys)
    for k in keys:
        click.echo(f"{k.label.ljust(width)}  {k.fingerprint}  added {k.added_at:%Y-%m-%d %H:%M} by {k.added_by}")


@package.command("untrust")
@click.argument("label")
@database_option
@_refusals
def untrust(ctx, label):
    """Stop trusting the key labelled LABEL (installed packages stay installed)."""
    from ..packaging.trust import untrust as remove
    key = remove(ctx.engine, label, by=_author())
    click.echo(f"No longer trusting key {key.fingerprint} ('{key.label}').")


@package.command("purge")
@click.argument("package_name", metavar="PACKAGE")
@click.argument("component", metavar="COMPONENT")
@change_options
@database_option
@_handle_errors
def purge(ctx, package_name, component, check_only, allow_destructive, message):
    """Delete a deprecated component of PACKAGE (`tessera packages --deprecated` lists them):
    an object (its table and records), OBJECT.FIELD (its column and values) or FOLDER/NAME.
    Destructive: the plan counts what goes; --allow-destructive to proceed."""
    from ..changes import ChangeService
    _report(ChangeService(ctx.engine).purge_deprecated(package_name, component, author=_author(), message=message,
                                                       check_only=check_only, allow_destructive=allow_destructive))


COMMANDS = [package]

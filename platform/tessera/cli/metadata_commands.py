"""Metadata commands: install, uninstall, packages, export, apply, versions, diff, rollback.

Thin: parse arguments, call `tessera.changes.ChangeService`, print. Every change prints its plan,
one step per line with its safety class, and the data impact indented under the step.
"""
from __future__ import annotations

import functools
import getpass
import os

import click

from .context import database_option, fail, open_services


def _author() -> str:
    try:
        return os.environ.get("TESSERA_USER") or getpass.getuser()
    except Exception:   # no login name (some containers)
        return "unknown"


def _service(ctx):
    from ..changes import ChangeService
    return ChangeService(ctx.engine)


def _print_plan(plan, impacts=None) -> None:
    if not plan:
        click.echo("No changes.")
        return
    click.echo(f"Plan ({len(plan)} step{'s' if len(plan) != 1 else ''}):")
    for i, op in enumerate(plan):
        click.echo("  " + f"[{op.safety}]".ljust(16) + op.describe())
        impact = impacts[i] if impacts and i < len(impacts) else None
        if impact is None:
            continue
        for problem in impact.problems:
            click.echo(f"      would fail: {problem}")
        for note in impact.notes:
            click.echo(f"      {note}")


def _handle_errors(func):
    """MetadataInvalid → each `file: path: message`; ChangeRefused → plan, reasons, hint; exit 1."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from ..changes import ChangeFailed, ChangeRefused
        from ..changes.package_upgrade import UpgradeRefused
        from ..changes.uninstall_check import UninstallBlocked
        from ..meta.errors import MetadataInvalid
        try:
            return func(*args, **kwargs)
        except UninstallBlocked as exc:
            for error in exc.errors:
                click.echo(str(error), err=True)
            n, them = len(exc.errors), "it" if len(exc.packages) == 1 else "them"
            fail(f"{', '.join(exc.packages)} cannot be uninstalled: {n} reference{'s' if n != 1 else ''} to {them} "
                 f"remain{'s' if n == 1 else ''} (listed above): change or remove {'them' if n != 1 else 'it'} first; "
                 "nothing was changed")
        except UpgradeRefused as exc:
            for error in exc.errors:
                click.echo(str(error), err=True)
            fail("the install was refused; nothing was changed")
        except MetadataInvalid as exc:
            for error in exc.errors:
                click.echo(str(error), err=True)
            fail(f"the metadata is invalid ({len(exc.errors)} problem{'s' if len(exc.errors) != 1 else ''}); nothing was changed")
        except ChangeRefused as exc:
            _print_plan(exc.plan, exc.impacts)
            click.echo("Refused:", err=True)
            for reason in exc.reasons:
                click.echo(f"  {reason}", err=True)
            hint = " (re-run with --allow-destructive to accept the data loss)" if exc.needs_allow_destructive else ""
            fail(f"the change was refused; nothing was changed{hint}")
        except ChangeFailed as exc:
            fail(str(exc))
        except LookupError as exc:
            fail(str(exc.args[0] if exc.args else exc))
    return wrapper


def _report(result) -> None:
    _print_plan(result.plan, result.impacts)
    if result.check_only:
        click.echo("Check only: every step passed; nothing was changed.")
    elif result.version is not None:
        click.echo(f"Version {result.version.number} is active.")


_change_options = [
    click.option("--check-only", is_flag=True, help="Run every step and check, then roll back."),
    click.option("--allow-destructive", is_flag=True, help="Allow steps that delete data (dropped objects/fields)."),
    click.option("-m", "--message", default="", help="What the change is for (kept with the version)."),
]


def change_options(func):
    for option in reversed(_change_options):
        func = option(func)
    return func


@click.command("install")
@click.argument("packages", nargs=-1, required=True, type=click.Path(), metavar="DIR|FILE.tpkg...")
@click.option("--allow-unsigned", is_flag=True,
              help="Install archives that are unsigned or signed by a key this org does not trust.")
@click.option("--purge-deprecated", is_flag=True,
              help="Drop what an upgraded package no longer ships, and what it deprecated before, instead of "
                   "keeping it deprecated (destructive: with --allow-destructive).")
@change_options
@database_option
@_handle_errors
def install(ctx, packages, allow_unsigned, purge_deprecated, check_only, allow_destructive, message):
    """Install or upgrade packages as one version: package directories (each with a package.yaml)
    and archives from `tessera package build` (every file's hash and the signature are checked;
    the signer must be trusted: `tessera package trust`)."""
    from ..packaging.installer import load_sources
    from ..packaging.reader import ArchiveRefused
    try:
        loaded = load_sources(ctx.engine, list(packages), allow_unsigned=allow_unsigned)
    except ArchiveRefused as exc:
        fail(f"{exc}; nothing was installed")
    for _source, where in loaded:
        click.echo(f"Package {where}")
    changes = open_services(ctx).changes    # with the steps of the layers above: data patches, seed data
    _report(changes.install_packages([source for source, _ in loaded], author=_author(), message=message,
                                           check_only=check_only, allow_destructive=allow_destructive,
                                           purge=purge_deprecated))


@click.command("uninstall")
@click.argument("package_names", nargs=-1, required=True)
@change_options
@database_option
@_handle_errors
def uninstall(ctx, package_names, check_only, allow_destructive, message):
    """Remove installed packages (by name) as one version; dropping their objects' data is
    destructive (--allow-destructive)."""
    _report(_service(ctx).uninstall_packages(list(dict.fromkeys(package_names)), author=_author(), message=message,
                                             check_only=check_only, allow_destructive=allow_destructive))


@click.command("packages")
@click.option("--deprecated", is_flag=True,
              help="List what installed packages no longer ship but the database keeps (tessera package purge).")
@database_option
def packages(ctx, deprecated):
    """List the installed packages."""
    active = _service(ctx).active()
    if deprecated:
        _print_deprecated(ctx, active.snapshot if active else None)
        return
    pkgs = (active.snapshot.get("packages") or []) if active else []
    if not pkgs:
        click.echo("No packages installed.")
        return
    rows = [(p["manifest"]["name"], str(p["manifest"]["version"]), p["manifest"].get("label", "")) for p in pkgs]
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    for name, version, label in sorted(rows):
        click.echo(f"{name.ljust(width)}  {version.ljust(vwidth)}  {label}")


def _print_deprecated(ctx, snapshot) -> None:
    from ..changes.deprecation_steps import deprecated_components
    rows = deprecated_components(ctx.engine, snapshot)
    if not rows:
        click.echo("No deprecated components.")
        return
    for row in rows:
        unit = "record" if row.folder == "objects" else "value"
        kept = "" if row.kept is None else f"  {row.kept} {unit}{'s' if row.kept != 1 else ''} kept"
        kind = "field" if row.folder == "fields" else row.folder[:-1].replace("_", " ")
        click.echo(f"{row.package}  {kind} {row.purge_name}  deprecated since {row.since}{kept}")


@click.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
@database_option
def export(ctx, directory):
    """Write the org layer (the org's own metadata) to DIRECTORY, plus packages.lock.yaml."""
    written = _service(ctx).export_org(directory)
    for path in written:
        click.echo(str(path))
    click.echo(f"Wrote {len(written)} file{'s' if len(written) != 1 else ''}.")


@click.command("apply")
@click.argument("directory", type=click.Path(file_okay=False))
@change_options
@database_option
@_handle_errors
def apply(ctx, directory, check_only, allow_destructive, message):
    """Make DIRECTORY (in the format `export` writes) the org layer. When DIRECTORY has a
    packages.lock.yaml, the packages it names must be installed at those versions."""
    from ..meta.source import load_org, read_lock
    org, lock = load_org(directory), read_lock(directory)
    _report(_service(ctx).apply_org(org, author=_author(), message=message, source="cli", check_only=check_only,
                                    allow_destructive=allow_destructive, lock=lock))


@click.command("versions")
@database_option
def versions(ctx):
    """List metadata versions, newest first (* = active)."""
    listed = _service(ctx).versions()
    if not listed:
        click.echo("No versions yet.")
        return
    for v in listed:
        mark = "*" if v.active else " "
        when = v.created_at.strftime("%Y-%m-%d %H:%M:%S")
        parent = f"parent {v.parent}" if v.parent else "first"
        click.echo(f"{mark} {str(v.number).rjust(4)}  {when}  {v.source.ljust(8)}  {v.author}  ({parent})  {v.message}".rstrip())


@click.command("diff")
@click.argument("a", type=int)
@click.argument("b", type=int, required=False)
@database_option
@_handle_errors
def diff(ctx, a, b):
    """The steps that take version A to version B (default: the active version)."""
    _print_plan(_service(ctx).diff(a, b))


@click.command("rollback")
@click.argument("number", type=int)
@change_options
@database_option
@_handle_errors
def rollback(ctx, number, check_only, allow_destructive, message):
    """Make version NUMBER's metadata active again, as a new version."""
    _report(_service(ctx).rollback(number, author=_author(), message=message, check_only=check_only,
                                   allow_destructive=allow_destructive))


COMMANDS = [install, uninstall, packages, export, apply, versions, diff, rollback]

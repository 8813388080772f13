"""`tessera deploy` and `tessera deploys`: metadata from a sandbox into an org, with history and undo.

    tessera deploy SOURCE --to TARGET [--check-only] [--delete folder/name ...]
    tessera deploy --validated ID --to TARGET
    tessera deploy undo ID --to TARGET [--include-later]
    tessera deploy show ID --to TARGET
    tessera deploys --database TARGET
"""
from __future__ import annotations

import functools

import click

from .context import CliContext, fail
from .metadata_commands import _author, _handle_errors, _report, change_options


def _deploy_errors(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from ..deploys import DeployError
        try:
            return func(*args, **kwargs)
        except DeployError as exc:
            fail(f"{exc}; nothing was changed")
    return wrapper


def _service(url):
    from ..changes import ChangeService
    from ..deploys import DeployService
    return DeployService(ChangeService(CliContext(url).engine))


@click.command("deploy")
@click.argument("args", nargs=-1, metavar="SOURCE | undo ID | show ID")
@click.option("--to", "target", metavar="URL", envvar="TESSERA_DATABASE_URL",
              help="The org to deploy into (default: $TESSERA_DATABASE_URL, else sqlite:///tessera.db).")
@click.option("--validated", "validated_id", type=int, metavar="ID",
              help="Apply the deploy validated earlier with --check-only (its data checks are skipped "
                   "while the target is still on the version it was validated against).")
@click.option("--delete", "deletes", multiple=True, metavar="FOLDER/NAME",
              help="A component of the target's org layer to delete (e.g. objects/invoice); repeatable.")
@click.option("--include-later", is_flag=True, help="undo: also undo the changes made after the deploy.")
@change_options
@_deploy_errors
@_handle_errors
def deploy(args, target, validated_id, deletes, include_later, check_only, allow_destructive, message):
    """Deploy the org layer of SOURCE (a database URL, or a directory `tessera export` wrote) into the
    org at --to: the source's components are added or updated, components only the target has are
    kept (delete them with --delete), through the change pipeline as one new version. --check-only
    leaves a validated deploy to apply later with --validated ID. `deploy undo ID` returns the org to
    the version before deploy ID; `deploy show ID` prints a deploy's record and plan."""
    service = _service(target)
    if args[:1] == ("undo",) or args[:1] == ("show",):
        if len(args) != 2 or not args[1].isdigit():
            fail(f"usage: tessera deploy {args[0]} ID --to URL")
        if args[0] == "show":
            _show(service, int(args[1]))
            return
        outcome = service.undo(int(args[1]), author=_author(), message=message, check_only=check_only,
                               allow_destructive=allow_destructive, include_later=include_later)
        _report(outcome.result)
        if not check_only:
            click.echo(f"Deploy #{args[1]} undone (recorded as deploy #{outcome.deploy_id}).")
        return
    if validated_id is not None:
        if args:
            fail("give either SOURCE or --validated ID, not both")
        outcome = service.run_validated(validated_id, author=_author(), message=message,
                                        allow_destructive=allow_destructive)
        if outcome.rechecked:
            click.echo("The target changed since the validation: its data was checked again.")
    else:
        if len(args) != 1:
            fail("give one SOURCE (a database URL or an export directory), or --validated ID")
        from ..deploys import read_source
        outcome = service.deploy(read_source(args[0]), author=_author(), message=message, check_only=check_only,
                                 allow_destructive=allow_destructive, deletes=list(deletes))
    _report(outcome.result)
    if check_only:
        click.echo(f"Validated deploy #{outcome.deploy_id}: apply it with "
                   f"`tessera deploy --validated {outcome.deploy_id} --to ...`")
    else:
        click.echo(f"Deploy #{outcome.deploy_id} {outcome.status}.")


def _show(service, deploy_id: int) -> None:
    row = service.get(deploy_id)
    if row is None:
        fail(f"there is no deploy #{deploy_id}")
    click.echo(f"Deploy #{row['id']} ({row['kind']}): {row['status']}")
    click.echo(f"  from:    {row['source']}")
    click.echo(f"  by:      {row['author']} at {row['created_at']:%Y-%m-%d %H:%M:%S}"
               + (f", {row['duration_ms']} ms" if row["duration_ms"] is not None else ""))
    click.echo(f"  version: {row['base_version']} → {row['result_version'] if row['result_version'] is not None else '-'}")
    if row["message"]:
        click.echo(f"  message: {row['message']}")
    if row["deletes"]:
        click.echo(f"  deletes: {', '.join(row['deletes'])}")
    steps = row["plan"] or []
    click.echo(f"Plan ({len(steps)} step{'s' if len(steps) != 1 else ''}):" if steps else "Plan: no changes.")
    for step in steps:
        click.echo("  " + f"[{step['safety']}]".ljust(16) + step["step"])
        for note in step.get("notes") or []:
            click.echo(f"      {note}")
    if row["error"]:
        click.echo("Error:")
        for line in row["error"].splitlines():
            click.echo(f"  {line}")


@click.command("deploys")
@click.option("--database", "database", metavar="URL", envvar="TESSERA_DATABASE_URL",
              help="The org (default: $TESSERA_DATABASE_URL, else sqlite:///tessera.db).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1))
def deploys(database, limit):
    """The deploy history of an org, newest first (details: `tessera deploy show ID`)."""
    rows = _service(database).history(limit)
    if not rows:
        click.echo("No deploys yet.")
        return
    for r in rows:
        versions = f"v{r['base_version']}→v{r['result_version']}" if r["result_version"] is not None else f"v{r['base_version']}"
        took = f"{r['duration_ms']} ms" if r["duration_ms"] is not None else ""
        click.echo(f"#{str(r['id']).ljust(4)} {r['created_at']:%Y-%m-%d %H:%M:%S}  {r['kind'].ljust(10)} "
                   f"{r['status'].ljust(11)} {versions.ljust(10)} {took.rjust(9)}  {r['author']}  {r['source']}"
                   + (f"  — {r['message']}" if r["message"] else ""))


COMMANDS = [deploy, deploys]

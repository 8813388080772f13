"""`tessera init`, `tessera serve` and `tessera token ...`."""
from __future__ import annotations

import os
from importlib import import_module

import click

from .context import database_option, fail, open_services


def _bootstrap(services):
    """bootstrap(), with a weak TESSERA_ADMIN_PASSWORD (or another refusal) as a clear error."""
    from ..bootstrap import bootstrap
    from ..records.errors import RecordError
    try:
        return bootstrap(services)
    except RecordError as exc:
        problems = "; ".join(exc.fields.get("password") or [])
        if problems:
            fail(f"TESSERA_ADMIN_PASSWORD is refused by the password policy: it {problems}")
        fail(exc.message)


def _print_bootstrap(report):
    if report.installed:
        click.echo(f"Installed packages: {', '.join(report.installed)}")
    if report.admin_created:
        if report.admin_password:
            click.echo(f"Created user 'admin' with password: {report.admin_password}")
            click.echo("  (shown once; set TESSERA_ADMIN_PASSWORD to choose it)")
        else:
            click.echo("Created user 'admin' (password from TESSERA_ADMIN_PASSWORD)")
    elif os.environ.get("TESSERA_ADMIN_PASSWORD"):
        # it only ever sets the first password: say so rather than let the admin think it changed
        click.echo("Note: TESSERA_ADMIN_PASSWORD is ignored: user 'admin' already exists in this database "
                   "(change it with `tessera user set-password admin` or in Setup → Users)", err=True)


@click.command("init")
@database_option
def init(ctx):
    """Create the database: platform tables, core package, stock apps and the admin user."""
    services = open_services(ctx)
    report = _bootstrap(services)
    _print_bootstrap(report)
    click.echo(f"Database ready: {ctx.url} (metadata version {services.changes.active_number()})")


@click.command("serve")
@database_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--worker/--no-worker", "with_worker", default=True, show_default=True,
              help="Run queued jobs in a worker thread of this process (run `tessera worker` instead to scale out).")
def serve(ctx, host, port, with_worker):
    """Initialize the database if needed and serve the web app and API."""
    from ..web.app import create_app
    services = open_services(ctx)
    _print_bootstrap(_bootstrap(services))
    from ..environment import EnvironmentSettingError
    try:
        app = create_app(services=services)
    except EnvironmentSettingError as exc:
        fail(str(exc))
    worker = _start_worker(services) if with_worker else None
    click.echo(f"Tessera is running at http://{host}:{port}/  (API: http://{host}:{port}/api/v1/)")
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        if worker is not None:   # let running jobs finish (or be released) before the process ends
            worker.stop()
            worker.thread.join(timeout=worker.shutdown_grace + 2)


def _start_worker(services):
    """One in-process worker thread, so the embedded setup runs its jobs with nothing else to start."""
    import threading

    from ..automation import Worker, load_handler_modules
    from ..environment import EnvironmentSettingError
    import_module("tessera.dataio.jobs")   # registers the import and export job handlers
    try:
        load_handler_modules()
    except (ImportError, EnvironmentSettingError) as exc:
        fail(str(exc))
    worker = Worker(services, concurrency=1, shutdown_grace=5.0)
    worker.thread = threading.Thread(target=worker.run, name="tessera-worker", daemon=True)
    worker.thread.start()
    click.echo(f"Job worker running in this process ({worker.owner}); --no-worker to leave jobs to `tessera worker`")
    return worker


@click.group("token")
def token():
    """API tokens (Authorization: Bearer TOKEN)."""


@token.command("create")
@database_option
@click.option("--user", "username", required=True, help="The user the token acts as.")
@click.option("--name", default="", help="A label to recognize the token by.")
@click.option("--expires-days", default=90, show_default=True, type=click.IntRange(0),
              help="Days until it expires (0: never).")
def token_create(ctx, username, name, expires_days):
    """Create a token and print it (shown once; only its hash is stored)."""
    services = open_services(ctx, require_ready=True)
    user = services.identity.find_user(username)
    if user is None:
        fail(f"there is no user '{username}'")
    if user.get("active") is False:
        fail(f"user '{username}' is inactive")
    import uuid
    token_id, secret = services.identity.tokens.create(uuid.UUID(user["id"]), name=name,
                                                       expires_in_days=expires_days or None)
    click.echo(secret)
    click.echo(f"token id: {token_id} (revoke with: tessera token revoke {token_id})", err=True)


@token.command("revoke")
@database_option
@click.argument("token_id")
def token_revoke(ctx, token_id):
    """Revoke a token by its id."""
    services = open_services(ctx, require_ready=True)
    if not services.identity.tokens.revoke(token_id):
        fail(f"there is no active token '{token_id}'")
    click.echo(f"revoked {token_id}")


@token.command("list")
@database_option
def token_list(ctx):
    """List tokens (ids, users, expiry; never secrets)."""
    services = open_services(ctx, require_ready=True)
    for info in services.identity.tokens.list():
        state = "revoked" if info.revoked_at else "active"
        expires = info.expires_at.date().isoformat() if info.expires_at else "never"
        click.echo(f"{info.id}  {info.user_id}  {state:8} expires {expires}  {info.name}")


COMMANDS = [init, serve, token]

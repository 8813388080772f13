"""`tessera init`, `tessera serve` and `tessera token ...`."""
from __future__ import annotations

import os
from importlib import import_module

import click

from .context import database_option, fail, open_services

DEFAULT_THREADS = 4           # per worker process: requests mostly wait on the database


def default_workers(cpus: int | None = None) -> int:
    """One process per core (at least 2, so one slow request never holds up the rest; at most 8:
    each holds a Runtime, and on SQLite more writers only queue for the one write lock)."""
    return max(2, min(cpus or os.cpu_count() or 1, 8))


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
@click.option("--workers", type=click.IntRange(1, 64), metavar="N",
              help="HTTP worker processes (default: one per CPU core, 2 to 8).")
@click.option("--threads", default=DEFAULT_THREADS, show_default=True, type=click.IntRange(1, 64),
              help="Threads per worker process.")
@click.option("--forwarded-allow-ips", "forwarded_allow_ips", envvar="TESSERA_FORWARDED_ALLOW_IPS", metavar="IPS",
              help="Proxies whose X-Forwarded-For/-Proto/-Host/-Port are believed (IPs or networks, "
                   "comma-separated; '*' for any). Default: $TESSERA_FORWARDED_ALLOW_IPS, else none.")
@click.option("--worker/--no-worker", "with_worker", default=True, show_default=True,
              help="Run queued jobs in one job worker process (run `tessera worker` instead to scale out).")
@click.option("--dev", is_flag=True,
              help="Flask's development server (one process, the job worker as a thread) for contributors.")
def serve(ctx, host, port, workers, threads, forwarded_allow_ips, with_worker, dev):
    """Initialize the database if needed and serve the web app and API (gunicorn; --dev: Flask's server)."""
    from ..environment import EnvironmentSettingError
    from ..logs import configure_logging
    try:
        configure_logging()
    except EnvironmentSettingError as exc:
        fail(str(exc))
    if not dev:
        _share_metrics_between_workers()
    from ..web.app import create_app
    services = open_services(ctx)
    _print_bootstrap(_bootstrap(services))
    try:
        app = create_app(services=services, forwarded_allow_ips=forwarded_allow_ips)
    except EnvironmentSettingError as exc:
        fail(str(exc))
    running = f"Tessera is running at http://{host}:{port}/  (API: http://{host}:{port}/api/v1/)"
    if dev:
        _serve_dev(app, services, host, port, with_worker, running)
        return
    from ..web.server import JobWorkerProcess, TesseraServer
    job_worker = JobWorkerProcess(ctx.url) if with_worker else None
    workers = workers or default_workers()
    click.echo(f"Serving with gunicorn: {workers} worker process(es) × {threads} thread(s)"
               + ("; one job worker process (--no-worker to leave jobs to `tessera worker`)" if with_worker else ""))
    TesseraServer(app, services.engine, host=host, port=port, workers=workers, threads=threads,
                  job_worker=job_worker, on_ready=lambda: click.echo(running)).run()


def _share_metrics_between_workers() -> None:
    """/metrics counts every gunicorn worker: prometheus-client's multiprocess mode keeps each
    process's counters in files of one directory, read together at a scrape. Set before
    prometheus-client is first imported (it chooses its value store then); a fresh directory per
    server, removed when it stops, unless the operator set PROMETHEUS_MULTIPROC_DIR."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    import atexit
    import shutil
    import tempfile
    directory, server_pid = tempfile.mkdtemp(prefix="tessera-metrics-"), os.getpid()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory

    def remove():   # forked workers inherit this handler: only the server's own exit removes it
        if os.getpid() == server_pid:
            shutil.rmtree(directory, ignore_errors=True)
    atexit.register(remove)


def _serve_dev(app, services, host, port, with_worker, running):
    from werkzeug.serving import WSGIRequestHandler

    class Handler(WSGIRequestHandler):
        def version_string(self):   # werkzeug's names its version and Python's
            return "Tessera"

    worker = _start_worker(services) if with_worker else None
    click.echo(running)
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False, request_handler=Handler)
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

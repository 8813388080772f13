"""`tessera worker` (run jobs) and `tessera jobs` (look at and fix the queue)."""
from __future__ import annotations

import logging

from importlib import import_module

import click

from .context import database_option, fail, open_services

_STATUSES = ("ready", "running", "done", "retry", "dead", "cancelled")


@click.command("worker")
@database_option
@click.option("--concurrency", "-c", default=4, show_default=True, type=click.IntRange(1, 256),
              help="Jobs run at once (threads).")
@click.option("--queue", "queues", multiple=True, metavar="NAME",
              help="Queue to take jobs from; repeat for several (default: default).")
@click.option("--lease", default=30.0, show_default=True, type=click.FloatRange(0.1),
              help="Seconds a claimed job stays leased without a heartbeat before another worker may take it.")
@click.option("--poll-interval", default=0.5, show_default=True, type=click.FloatRange(0.01),
              help="Seconds between polls when the queue is empty.")
def worker(ctx, concurrency, queues, lease, poll_interval):
    """Run queued jobs until SIGTERM or Ctrl-C (running jobs finish, or are released).

    Handlers come from the modules named in $TESSERA_JOB_MODULES (comma-separated) and from the
    `tessera.jobs` entry points of installed packages."""
    from ..automation import load_handler_modules, registry, run_worker
    import_module("tessera.dataio.jobs")   # registers the import and export job handlers
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # pycasbin logs every policy line at INFO while building an enforcer (~200 KB with the stock
    # apps), alembic its plugins: neither says anything about jobs
    for noisy in ("casbin", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        modules = load_handler_modules()
    except ImportError as exc:
        fail(str(exc))
    services = open_services(ctx)
    queues = queues or ("default",)
    click.echo(f"worker started: {concurrency} thread(s), queue(s) {', '.join(queues)}, "
               f"{len(registry.handlers)} job kind(s) from {', '.join(modules) or 'no modules'}", err=True)
    stats = run_worker(services, concurrency=concurrency, queues=queues, lease=lease, poll_interval=poll_interval,
                       install_signal_handlers=True)
    click.echo(f"worker stopped: {stats.completed} done, {stats.failed} failed, {stats.released} released", err=True)


@click.command("jobs")
@database_option
@click.option("--status", type=click.Choice(_STATUSES), help="Only jobs in this state.")
@click.option("--queue", help="Only jobs of this queue.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--requeue", "requeue_id", type=int, metavar="ID", help="Run a dead or cancelled job again (attempts reset).")
@click.option("--cancel", "cancel_id", type=int, metavar="ID", help="Cancel a waiting or dead job.")
def jobs(ctx, status, queue, limit, requeue_id, cancel_id):
    """List the job queue, newest first; or requeue / cancel one job."""
    from ..automation import QueueError, cancel, count_by_status, list_jobs, requeue
    from ..storage.engine import begin_read, begin_write
    if requeue_id is not None and cancel_id is not None:
        fail("give --requeue or --cancel, not both")
    services = open_services(ctx)
    if requeue_id is not None or cancel_id is not None:
        try:
            with begin_write(services.engine) as conn:
                job = requeue(conn, requeue_id) if requeue_id is not None else cancel(conn, cancel_id)
        except QueueError as exc:
            fail(str(exc))
        click.echo(f"job {job.id} ({job.kind}) is {job.status}")
        return
    with begin_read(services.engine) as conn:
        listed = list_jobs(conn, status=status, queue=queue, limit=limit)
        counts = count_by_status(conn)
    click.echo("  ".join(f"{s}: {counts.get(s, 0)}" for s in _STATUSES))
    if not listed:
        click.echo("no jobs" + (f" with status {status}" if status else ""))
        return
    rows = [("ID", "QUEUE", "KIND", "STATUS", "TRIES", "RUN AT (UTC)", "LAST ERROR")]
    for job in listed:
        error = (job.last_error or "").strip().splitlines()
        rows.append((str(job.id), job.queue, job.kind, job.status, f"{job.attempts}/{job.max_attempts}",
                     job.run_at.strftime("%Y-%m-%d %H:%M:%S"), (error[-1] if error else "")[:80]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        click.echo("  ".join([c.ljust(w) for c, w in zip(row, widths)] + [row[-1]]).rstrip())


COMMANDS = [worker, jobs]

"""`tessera runs`: the workflow run log, newest first; `tessera runs --retry ID` retries a failed
run from its failed step (automation/retry.py)."""
from __future__ import annotations

import uuid

import click

from .context import database_option, fail, open_services


@click.command("runs")
@click.option("--workflow", help="Only runs of this workflow.")
@click.option("--object", "object_name", help="Only runs on records of this object.")
@click.option("--record", help="Only runs on this record (an id).")
@click.option("--status", type=click.Choice(["succeeded", "failed", "waiting", "cancelled"]),
              help="Only runs with this outcome (waiting: paused by a wait action).")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--steps", is_flag=True, help="Also print each run's steps.")
@click.option("--retry", "retry_id", metavar="ID",
              help="Retry this failed run from its failed step (under the active metadata) and print the new run.")
@database_option
def runs(ctx, workflow, object_name, record, status, limit, steps, retry_id):
    """List workflow runs: when, workflow, record, outcome, metadata version, error."""
    from ..automation import runlog
    if retry_id is not None:
        _retry(ctx, retry_id, steps)
        return
    record_id = None
    if record is not None:
        try:
            record_id = uuid.UUID(record)
        except ValueError:
            fail(f"--record: '{record}' is not a record id")
    services = open_services(ctx, require_ready=True)
    found = runlog.runs(services.engine, workflow=workflow, object_name=object_name, record_id=record_id,
                        status=status, limit=limit)
    if not found:
        click.echo("No workflow runs.")
        return
    for run in found:
        _echo_run(run, steps)


def _retry(ctx, retry_id: str, steps: bool) -> None:
    from ..automation.retry import retry_run
    from ..records.errors import RecordError
    from ..security.actor import SYSTEM
    services = open_services(ctx, require_ready=True)
    try:
        outcome = retry_run(services, SYSTEM, retry_id)
    except RecordError as exc:
        fail(exc.message)
    _echo_run(outcome["run"], steps)
    if outcome["run"]["status"] != "succeeded":
        raise SystemExit(1)


def _echo_run(run: dict, steps: bool) -> None:
    when = run["started_at"][:19].replace("T", " ")
    line = (f"{when}  {run['status'].ljust(9)}  v{run['version']}  {run['workflow']}  "
            f"{run['event']} {run['object']} {run['record_id'] or ''}")
    click.echo(line.rstrip())
    click.echo(f"    run {run['id']}" + (f"  retry of {run['retry_of']}" if run.get("retry_of") else "")
               + (f"  retried by {run['retried_by']}" if run.get("retried_by") else ""))
    if run.get("resume_at"):
        click.echo(f"    resumes at {run['resume_at'][:19].replace('T', ' ')} UTC")
    if run["error"]:
        where = f" at {run['failed_step']}" if run.get("failed_step") else ""
        click.echo(f"    {run['status']}{where}: {run['error']}")
    if steps:
        for step in run["steps"]:
            detail = f"  {step['detail']}" if step.get("detail") else ""
            click.echo(f"    {step['step']}  {step['label']}  {step['status']}{detail}")


COMMANDS = [runs]

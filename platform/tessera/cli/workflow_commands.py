"""`tessera runs`: the workflow run log, newest first."""
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
@database_option
def runs(ctx, workflow, object_name, record, status, limit, steps):
    """List workflow runs: when, workflow, record, outcome, metadata version, error."""
    from ..automation import runlog
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
        when = run["started_at"][:19].replace("T", " ")
        line = (f"{when}  {run['status'].ljust(9)}  v{run['version']}  {run['workflow']}  "
                f"{run['event']} {run['object']} {run['record_id'] or ''}")
        click.echo(line.rstrip())
        if run.get("resume_at"):
            click.echo(f"    resumes at {run['resume_at'][:19].replace('T', ' ')} UTC")
        if run["error"]:
            click.echo(f"    error: {run['error']}")
        if steps:
            for step in run["steps"]:
                detail = f"  {step['detail']}" if step.get("detail") else ""
                click.echo(f"    {step['step']}  {step['label']}  {step['status']}{detail}")


COMMANDS = [runs]

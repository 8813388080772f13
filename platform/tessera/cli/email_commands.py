"""`tessera emails`: the email outbox, newest first."""
from __future__ import annotations

import click

from .context import database_option, open_services


@click.command("emails")
@click.option("--status", type=click.Choice(["queued", "sent", "failed"]), help="Only messages in this state.")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--body", is_flag=True, help="Also print each message's text body.")
@database_option
def emails(ctx, status, limit, body):
    """List the email outbox: when, status, attempts, recipients, subject, last error."""
    from ..automation import email_outbox
    services = open_services(ctx, require_ready=True)
    found = email_outbox.outbox(services.engine, status=status, limit=limit)
    if not found:
        click.echo("No emails." if status is None else f"No {status} emails.")
        return
    for mail in found:
        when = mail["created_at"][:19].replace("T", " ")
        recipients = ", ".join(mail["to"]) + (f" (cc {', '.join(mail['cc'])})" if mail["cc"] else "")
        click.echo(f"{when}  {mail['status'].ljust(6)}  tries {mail['attempts']}  {mail['id']}  to {recipients}")
        click.echo(f"    {mail['subject']}  [{mail['template']}" + (f" by workflow {mail['workflow']}" if mail["workflow"] else "")
                   + (f", job {mail['job_id']}" if mail["job_id"] is not None else "") + "]")
        if mail["last_error"]:
            click.echo(f"    error: {mail['last_error'].splitlines()[-1]}")
        if body:
            for line in mail["text"].splitlines():
                click.echo(f"    | {line}")


COMMANDS = [emails]

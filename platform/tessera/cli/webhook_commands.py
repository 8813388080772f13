"""`tessera credential …` (named credentials) and `tessera webhooks` (the delivery log, replay)."""
from __future__ import annotations

import os

import click

from .context import database_option, fail, open_services


@click.group("credential")
def credential():
    """Named credentials: secrets workflows refer to by name (never exported with metadata)."""


@credential.command("set")
@database_option
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(["webhook_signing", "http_bearer", "basic"]),
              help="What the secret is for.")
@click.option("--secret-from-env", "env_var", metavar="VAR",
              help="Read the secret from this environment variable (default: generate one and print it once).")
def credential_set(ctx, name, kind, env_var):
    """Create or rotate a credential. A generated secret is printed once; it is never shown again."""
    from ..automation.credentials import CredentialError, set_credential
    secret = None
    if env_var is not None:
        secret = os.environ.get(env_var)
        if not secret:
            fail(f"environment variable {env_var} is not set or empty")
    services = open_services(ctx)
    try:
        generated, created = set_credential(services.engine, name, kind, secret)
    except CredentialError as exc:
        fail(str(exc))
    if generated is not None:
        click.echo(generated)
        click.echo("(the secret is shown once: give it to the receiving side now)", err=True)
    click.echo(f"credential '{name}' ({kind}) {'created' if created else 'rotated'}", err=True)


@credential.command("list")
@database_option
def credential_list(ctx):
    """List credentials: names, kinds and dates (never secrets)."""
    from ..automation.credentials import list_credentials
    found = list_credentials(open_services(ctx).engine)
    if not found:
        click.echo("no credentials")
    for info in found:
        rotated = f"  rotated {info.rotated_at:%Y-%m-%d %H:%M}" if info.rotated_at else ""
        click.echo(f"{info.name}  {info.kind}  created {info.created_at:%Y-%m-%d %H:%M}{rotated}")


@credential.command("delete")
@database_option
@click.argument("name")
def credential_delete(ctx, name):
    """Delete a credential (workflows naming it fail until it exists again)."""
    from ..automation.credentials import delete_credential
    if not delete_credential(open_services(ctx).engine, name):
        fail(f"there is no credential '{name}'")
    click.echo(f"deleted credential '{name}'")


@click.command("webhooks")
@database_option
@click.option("--status", type=click.Choice(["pending", "delivered", "failed", "disabled"]),
              help="Only deliveries in this state.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--show", "show_id", metavar="ID", help="One delivery: its request body and every attempt.")
@click.option("--replay", "replay_id", metavar="ID", help="Send a delivery again (the same webhook-id).")
@click.option("--enable", "enable_url", metavar="URL", help="Re-enable an endpoint disabled by a 410 answer.")
def webhooks(ctx, status, limit, show_id, replay_id, enable_url):
    """The webhook delivery log, newest first; or show, replay one delivery, or re-enable an endpoint."""
    import json

    from ..automation import webhooks as wh
    if sum(x is not None for x in (show_id, replay_id, enable_url)) > 1:
        fail("give one of --show, --replay, --enable")
    services = open_services(ctx)
    if replay_id is not None:
        try:
            job_id = wh.replay(services.engine, replay_id)
        except (LookupError, wh.WebhookError) as exc:
            fail(str(exc))
        click.echo(f"delivery {replay_id} queued again (job {job_id})")
        return
    if enable_url is not None:
        if not wh.enable_endpoint(services.engine, enable_url):
            fail(f"the endpoint {enable_url} is not disabled")
        click.echo(f"enabled {enable_url}")
        return
    if show_id is not None:
        found = wh.get_delivery(services.engine, show_id)
        if found is None:
            fail(f"there is no webhook delivery '{show_id}'")
        click.echo(json.dumps(found, indent=2))
        return
    listed = wh.list_deliveries(services.engine, status=status, limit=limit)
    for endpoint in wh.disabled_endpoints(services.engine):
        click.echo(f"disabled endpoint: {endpoint['url']}  since {endpoint['disabled_at']}  ({endpoint['reason']})")
    if not listed:
        click.echo("no webhook deliveries" + (f" with status {status}" if status else ""))
        return
    for d in listed:
        code = d["last_status_code"] or "-"
        error = (d["last_error"] or "").splitlines()
        click.echo(f"{d['created_at'][:19].replace('T', ' ')}  {d['id']}  {d['status']:9}  tries {d['attempts']}  "
                   f"HTTP {code}  {d['event']}  {d['url']}" + (f"  {error[0][:100]}" if error else ""))


COMMANDS = [credential, webhooks]

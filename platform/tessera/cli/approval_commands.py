"""`tessera approvals`: approval requests, and answering them from the shell (as --user)."""
from __future__ import annotations

import click

from .context import database_option, fail, open_services


@click.command("approvals")
@click.option("--pending", is_flag=True, help="Only the requests waiting for --user's answer.")
@click.option("--status", type=click.Choice(["pending", "approved", "rejected", "recalled"]),
              help="Only requests with this status.")
@click.option("--object", "object_name", help="Only requests for records of this object.")
@click.option("--approve", "approve_id", metavar="ID", help="Approve this request's current step.")
@click.option("--reject", "reject_id", metavar="ID", help="Reject this request.")
@click.option("--recall", "recall_id", metavar="ID", help="Recall this request (its submitter, or an admin).")
@click.option("--comment", default="", help="A comment for --approve, --reject or --recall.")
@click.option("--user", "username", default="admin", show_default=True, help="Act and list as this user.")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@database_option
def approvals(ctx, pending, status, object_name, approve_id, reject_id, recall_id, comment, username, limit):
    """List approval requests (newest first), or approve, reject or recall one."""
    from ..records.errors import RecordError
    chosen = [(d, i) for d, i in (("approve", approve_id), ("reject", reject_id), ("recall", recall_id)) if i]
    if len(chosen) > 1:
        fail("give one of --approve, --reject and --recall")
    services = open_services(ctx, require_ready=True)
    user = services.identity.find_user(username)
    if user is None or user.get("active") is False:
        fail(f"there is no active user '{username}'")
    actor = services.identity.actor_for_user(user)
    try:
        if chosen:
            decision, request_id = chosen[0]
            request = services.approvals.decide(actor, request_id, decision, comment)
            click.echo(f"{request['id']}: {request['status']}"
                       + (f" (step {request['step']}: {request['step_label']})" if request["status"] == "pending" else ""))
            return
        found = services.approvals.list(actor, object_name=object_name, status=status, mine=pending, limit=limit)
    except RecordError as exc:
        fail(exc.message)
    if not found:
        click.echo("No approval requests.")
        return
    for request in found:
        click.echo(_line(services, request))


def _line(services, request) -> str:
    from ..records.errors import RecordError
    from ..security.actor import SYSTEM
    when = request["submitted_at"][:19].replace("T", " ")
    step = f"step {request['step']} ({request['step_label']})" if request["status"] == "pending" else ""
    name = request["record_name"] or ""
    try:
        submitter = services.records.get(SYSTEM, "user", request["submitter"], fields=["username"])["username"]
    except RecordError:
        submitter = request["submitter"]
    return (f"{when}  {request['id']}  {request['status'].ljust(8)}  {request['process']}  "
            f"{request['object']} {request['record_id']}" + (f" “{name}”" if name else "")
            + f"  by {submitter}" + (f"  {step}" if step else "")).rstrip()


COMMANDS = [approvals]

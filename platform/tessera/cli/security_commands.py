"""`tessera user ...` and `tessera policy ...`."""
from __future__ import annotations

from pathlib import Path

import click

from .context import database_option, fail, open_services


def _runtime(services):
    return services.runtimes.current()


def _require_user(services, username):
    user = services.identity.find_user(username)
    if user is None:
        fail(f"there is no user '{username}'")
    return user


@click.group("user")
def user():
    """Users: create, list, deactivate, unlock, set a password, the password policy."""


@user.command("create")
@database_option
@click.argument("username")
@click.option("--profile", required=True, help="Profile API name, e.g. sales_rep.")
@click.option("--role", default=None, help="Role API name, e.g. sales_manager.")
@click.option("--permission-set", "permission_sets", multiple=True, help="Permission set (or group) API name; repeatable.")
@click.option("--password", default=None, help="Password (default: generated and printed once).")
@click.option("--email", default=None)
@click.option("--first-name", default=None)
@click.option("--last-name", default=None)
def user_create(ctx, username, profile, role, permission_sets, password, email, first_name, last_name):
    """Create a user with a profile, an optional role and permission sets."""
    from ..records.errors import RecordError
    from ..security.actor import SYSTEM
    services = open_services(ctx, require_ready=True)
    md = _runtime(services).metadata
    if profile not in md.profiles:
        fail(f"there is no profile '{profile}' (profiles: {', '.join(sorted(md.profiles))})")
    if role and role not in md.roles:
        fail(f"there is no role '{role}' (roles: {', '.join(sorted(md.roles)) or 'none'})")
    kinds = []
    for ps in permission_sets:
        if ps in md.permission_sets:
            kinds.append("permission_set")
        elif ps in md.permission_set_groups:
            kinds.append("permission_set_group")
        else:
            fail(f"there is no permission set or permission set group '{ps}' (permission sets: "
                 f"{', '.join(sorted(md.permission_sets)) or 'none'}; permission set groups: "
                 f"{', '.join(sorted(md.permission_set_groups)) or 'none'})")
    fields = {k: v for k, v in dict(email=email, first_name=first_name, last_name=last_name or username,
                                     profile=profile, role=role).items() if v is not None}
    try:
        created, generated = services.identity.create_user(username, password=password, **fields)
        for ps, kind in zip(permission_sets, kinds):
            services.records.create(SYSTEM, "permission_set_assignment",
                                    {"user": created["id"], "permission_set": ps, "kind": kind})
    except RecordError as exc:
        detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in exc.fields.items())
        fail(f"{exc.message}" + (f" ({detail})" if detail and detail not in exc.message else ""))
    click.echo(f"Created user '{username}' (profile {profile}" + (f", role {role}" if role else "") + ")")
    if generated:
        click.echo(f"Password: {generated}")


@user.command("list")
@database_option
def user_list(ctx):
    """List users with their profile, role and status."""
    from ..security.actor import SYSTEM
    services = open_services(ctx, require_ready=True)
    cursor = None
    while True:
        page = services.records.query(SYSTEM, "user", fields="username,profile,role,active", sort="username",
                                      limit=500, cursor=cursor)
        for u in page.records:
            status = "active" if u["active"] is not False else "inactive"
            click.echo(f"{u['username']:24} {u['profile'] or '-':24} {u['role'] or '-':20} {status}")
        cursor = page.next_cursor
        if not cursor:
            break


@user.command("deactivate")
@database_option
@click.argument("username")
def user_deactivate(ctx, username):
    """Deactivate a user: sign-in and tokens stop working; their records stay."""
    from ..security.actor import SYSTEM
    services = open_services(ctx, require_ready=True)
    found = _require_user(services, username)
    from ..records.errors import RecordError
    try:   # audited there; refused when it would leave no administrator
        services.records.update(SYSTEM, "user", found["id"], {"active": False})
    except RecordError as exc:
        fail(exc.message)
    click.echo(f"Deactivated '{username}' (sessions ended, API tokens revoked)")


@user.command("unlock")
@database_option
@click.argument("username")
def user_unlock(ctx, username):
    """Clear the sign-in throttling of a user (every address); audited as user.unlock."""
    from ..security.actor import SYSTEM
    services = open_services(ctx, require_ready=True)
    _require_user(services, username)
    cleared = services.identity.unlock(username, actor=SYSTEM)
    click.echo(f"Unlocked '{username}'" + (f" ({cleared} throttling counter{'s' if cleared != 1 else ''} cleared)"
                                           if cleared else " (it was not throttled)"))


@user.command("set-password")
@database_option
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The new password (prompted when not given); the password policy applies.")
def user_set_password(ctx, username, password):
    """Set a user's password (ends their browser sessions); audited as user.reset_password."""
    import uuid
    from ..records.errors import RecordError
    from ..security.actor import SYSTEM
    services = open_services(ctx, require_ready=True)
    found = _require_user(services, username)
    try:
        services.identity.set_password(uuid.UUID(found["id"]), password, actor=SYSTEM)
    except RecordError as exc:
        fail("password " + "; ".join(exc.fields.get("password") or [exc.message]))
    click.echo(f"Password of '{username}' set")


@user.command("password-policy")
@database_option
@click.option("--min-length", type=int, default=None, help="Minimum length (8-128; default 8).")
@click.option("--min-score", type=int, default=None, help="Minimum zxcvbn strength score (0-4; default 3).")
def user_password_policy(ctx, min_length, min_score):
    """Show the password policy, or change its minimums (org settings)."""
    from ..security import password_policy
    services = open_services(ctx, require_ready=True)
    try:
        policy = password_policy.save(services.engine, min_length=min_length, min_score=min_score) \
            if min_length is not None or min_score is not None else password_policy.load(services.engine)
    except ValueError as exc:
        fail(str(exc))
    click.echo(f"minimum length {policy.min_length}, minimum strength score {policy.min_score} of 4 "
               f"(zxcvbn); passwords may not contain the username")


@click.group("policy")
def policy():
    """Access policy: export the Casbin files, explain a decision."""


@policy.command("export")
@database_option
@click.argument("directory", type=click.Path(file_okay=False))
def policy_export(ctx, directory):
    """Write model.conf and policy.csv (stock pycasbin loads them; active users included as
    `user:NAME`, with commas, quotes, brackets, parentheses and whitespace in NAME percent-encoded)."""
    import csv
    from ..security.actor import SYSTEM
    from ..security.policy import MODEL_TEXT, policy_rules, user_subject
    services = open_services(ctx, require_ready=True)
    md = _runtime(services).metadata
    p_rules, g_rules = policy_rules(md)
    cursor = None
    while True:
        page = services.records.query(SYSTEM, "user", fields="username,active", limit=500, cursor=cursor)
        for u in page.records:
            if u["active"] is False:
                continue
            actor = services.identity.actor_for_user(services.identity.find_user(u["username"]))
            subject = user_subject(actor.username)  # usernames are free text: made safe for the file
            if actor.profile:
                g_rules.append([subject, f"profile:{actor.profile}"])
            g_rules += [[subject, f"permission_set:{ps}"] for ps in actor.permission_sets]
            g_rules += [[subject, f"permission_set_group:{g}"] for g in actor.permission_set_groups]
        cursor = page.next_cursor
        if not cursor:
            break
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.conf").write_text(MODEL_TEXT, encoding="utf-8")
    with open(out / "policy.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for rule in p_rules:
            writer.writerow(["p", *rule])
        for rule in g_rules:
            writer.writerow(["g", *rule])
    click.echo(f"Wrote {out / 'model.conf'} and {out / 'policy.csv'} ({len(p_rules)} policies, {len(g_rules)} role links)")


@policy.command("explain")
@database_option
@click.argument("username")
@click.argument("object_name", metavar="OBJECT")
@click.argument("action", type=click.Choice(["create", "read", "edit", "delete", "view_all", "modify_all"]))
@click.option("--field", default=None, help="Explain a field right (read or edit).")
@click.option("--record", "record_id", default=None, help="Explain access to one record.")
def policy_explain(ctx, username, object_name, action, field, record_id):
    """Say whether USER may ACTION on OBJECT (a field or a record), and why.

    Exit status: 0 when allowed, 3 when not (so scripts can test it), 1 on errors."""
    from ..records.coerce import parse_id
    from ..security.explain import explain
    services = open_services(ctx, require_ready=True)
    rt = _runtime(services)
    if object_name not in rt.objects:
        fail(f"there is no object '{object_name}'")
    if field and field not in rt.objects[object_name].obj.fields:
        fail(f"'{object_name}' has no field '{field}'")
    if field and action not in ("read", "edit"):
        fail("field rights are read or edit")
    if record_id and action == "create":
        fail("--record explains access to an existing record: use it with read, edit, delete, view_all or modify_all")
    rid = None
    if record_id:
        try:
            rid = parse_id(record_id)
        except ValueError as exc:
            fail(str(exc))
    found = _require_user(services, username)
    actor = services.identity.actor_for_user(found)
    allowed, lines = explain(rt, services.engine, actor, object_name, action, field=field, record_id=rid)
    if found.get("active") is False:  # refused everywhere (sign-in, tokens), whatever the rights say
        allowed, lines = False, [f"{username} is inactive: inactive users are refused everywhere; "
                                 f"while active, the answer would be:", *lines]
    click.echo(("yes" if allowed else "no") + f": {username} " + ("may" if allowed else "may not")
               + f" {action} {object_name}" + (f".{field}" if field else "") + (f" {record_id}" if record_id else ""))
    for line in lines:
        click.echo(f"  {line}")
    raise SystemExit(0 if allowed else 3)


COMMANDS = [user, policy]

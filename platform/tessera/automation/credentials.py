"""Named credentials: secrets that metadata refers to by name (`credential: crm_hooks`), kept in
this database's `tessera_named_credential` table and never in metadata — so an export, a package
or a deploy to another org never carries them, and each org holds its own.

Kinds: webhook_signing (a Standard Webhooks key, `whsec_` + base64 of 24–64 random bytes),
http_bearer (a token sent as `Authorization: Bearer …`), basic (`user:password`).

The secret is stored as given, not encrypted: whoever reads this database can read it, as they
can read every record, session and queued job — encrypting it with a key kept in the same database
would only look safer. What this module guarantees is that a secret never leaves it except to
sign or authenticate a request: listings show names, kinds and dates only, and a generated secret
is returned once, to be printed once.
"""
from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import named_credentials as table

KINDS = ("webhook_signing", "http_bearer", "basic")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")     # a metadata name: workflows refer to it
SIGNING_PREFIX = "whsec_"
MAX_SECRET = 4000


class CredentialError(Exception):
    code = "credential_error"


@dataclass(frozen=True)
class CredentialInfo:
    name: str
    kind: str
    created_at: datetime
    rotated_at: datetime | None


def generate_secret(kind: str) -> str:
    if kind == "webhook_signing":   # 32 bytes: the middle of the spec's 24–64
        return SIGNING_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
    if kind == "http_bearer":
        return secrets.token_urlsafe(32)
    raise CredentialError(f"a {kind} credential cannot be generated: give its secret (--secret-from-env VAR)")


def check_secret(kind: str, secret: str) -> None:
    if kind not in KINDS:
        raise CredentialError(f"'{kind}' is not a credential kind (one of: {', '.join(KINDS)})")
    if not isinstance(secret, str) or not secret or len(secret) > MAX_SECRET:
        raise CredentialError(f"the secret must be a non-empty text of at most {MAX_SECRET} characters")
    if kind == "webhook_signing":
        key = secret[len(SIGNING_PREFIX):] if secret.startswith(SIGNING_PREFIX) else None
        try:
            raw = base64.b64decode(key, validate=True) if key else b""
        except ValueError:
            raw = b""
        if not 24 <= len(raw) <= 64:
            raise CredentialError("a webhook_signing secret is 'whsec_' followed by the base64 of 24 to 64 "
                                  "random bytes (leave the secret out to have one generated)")
    if kind == "basic" and ":" not in secret:
        raise CredentialError("a basic credential's secret is 'user:password'")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise CredentialError(f"'{name}' is not a credential name (lowercase letters, digits and _, "
                              "starting with a letter, at most 40 characters)")


def set_credential(engine, name: str, kind: str, secret: str | None = None) -> tuple[str | None, bool]:
    """Create or rotate `name`. Without `secret` one is generated and returned (show it once);
    returns (generated secret or None, created?)."""
    _check_name(name)
    generated = None
    if secret is None:
        if kind not in KINDS:
            check_secret(kind, "")
        secret = generated = generate_secret(kind)
    check_secret(kind, secret)
    now = datetime.now(timezone.utc)
    with begin_write(engine) as conn:
        existing = conn.execute(select(table.c.kind).where(table.c.name == name)).first()
        if existing is None:
            conn.execute(insert(table).values(name=name, kind=kind, secret=secret, created_at=now))
        else:
            if existing.kind != kind:
                raise CredentialError(f"credential '{name}' is a {existing.kind} credential, not {kind}: "
                                      "delete it first to change its kind")
            conn.execute(update(table).where(table.c.name == name).values(secret=secret, rotated_at=now))
    return generated, existing is None


def create_credential(engine, name: str, kind: str, secret: str) -> None:
    """Add a credential with the secret given; refuses a name that exists (rotate it instead)."""
    _check_name(name)
    check_secret(kind, secret)
    taken = CredentialError(f"there is a credential '{name}' already: rotate it to change its secret")
    try:
        with begin_write(engine) as conn:
            if conn.execute(select(table.c.name).where(table.c.name == name)).first() is not None:
                raise taken
            conn.execute(insert(table).values(name=name, kind=kind, secret=secret,
                                              created_at=datetime.now(timezone.utc)))
    except IntegrityError:      # created by someone else between the check and the insert
        raise taken from None


def rotate_credential(engine, name: str, secret: str) -> None:
    """Replace the secret of an existing credential (its kind stays)."""
    with begin_write(engine) as conn:
        kind = conn.execute(select(table.c.kind).where(table.c.name == name)).scalar()
        if kind is None:
            raise CredentialError(f"there is no credential '{name}'")
        check_secret(kind, secret)
        conn.execute(update(table).where(table.c.name == name)
                     .values(secret=secret, rotated_at=datetime.now(timezone.utc)))


def get_credential(engine, name: str) -> CredentialInfo | None:
    with begin_read(engine) as conn:
        r = conn.execute(select(table.c.name, table.c.kind, table.c.created_at, table.c.rotated_at)
                         .where(table.c.name == name)).first()
    return CredentialInfo(r.name, r.kind, r.created_at, r.rotated_at) if r is not None else None


def references(md) -> dict[str, list[str]]:
    """{credential name: the workflows (and approval processes, as `approval:<name>`) of the
    metadata `md` whose actions name it} — what deleting the credential would break."""
    found: dict[str, list[str]] = {}

    def walk(owner: str, items) -> None:
        for action in items or ():
            if not isinstance(action, Mapping):
                continue
            if action.get("type") == "webhook" and action.get("credential"):
                users = found.setdefault(action["credential"], [])
                if owner not in users:
                    users.append(owner)
            walk(owner, action.get("then"))
            walk(owner, action.get("else"))

    for name, comp in sorted(md.workflows.items()):
        walk(name, comp.get("actions"))
    for name, comp in sorted(md.approval_processes.items()):
        for key in ("on_approve", "on_reject", "on_recall"):
            walk(f"approval:{name}", comp.get(key))
    return found


def list_credentials(engine) -> list[CredentialInfo]:
    with begin_read(engine) as conn:
        rows = conn.execute(select(table.c.name, table.c.kind, table.c.created_at, table.c.rotated_at)
                            .order_by(table.c.name)).all()
    return [CredentialInfo(r.name, r.kind, r.created_at, r.rotated_at) for r in rows]


def delete_credential(engine, name: str) -> bool:
    with begin_write(engine) as conn:
        return conn.execute(delete(table).where(table.c.name == name)).rowcount > 0


def exists(conn, name: str, kind: str) -> bool:
    return conn.execute(select(table.c.name).where(table.c.name == name, table.c.kind == kind)).first() is not None


def secret_of(conn, name: str, kind: str) -> str:
    """The secret, for signing or authenticating a request (never for showing)."""
    row = conn.execute(select(table.c.kind, table.c.secret).where(table.c.name == name)).first()
    if row is None:
        raise CredentialError(f"there is no credential '{name}' (create it: tessera credential set {name} --kind {kind})")
    if row.kind != kind:
        raise CredentialError(f"credential '{name}' is a {row.kind} credential; a {kind} credential is needed")
    return row.secret

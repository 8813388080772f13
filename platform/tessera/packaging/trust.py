"""The org's trusted package-signing keys (platform table `tessera_trusted_key`).

A key is trusted by its id (sha256 of the raw public key) under a label the admin chooses: the
signer name inside an archive is only a claim and decides nothing. Adding and removing a key are
audited (`package.trust` / `package.untrust`), in the same transaction as the change.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, insert, select

from ..security import audit
from ..storage.engine import begin_read, begin_write
from ..storage.platform_schema import ensure_platform_tables
from ..storage.platform_tables import trusted_keys
from .signing import fingerprint, key_id

LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,79}$")


class TrustError(ValueError):
    """A trust change that cannot be made; the message says why."""


@dataclass(frozen=True)
class TrustedKey:
    label: str
    key_id: str
    added_at: datetime
    added_by: str

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key_id)


def _key(row) -> TrustedKey:
    at = row.added_at if row.added_at.tzinfo else row.added_at.replace(tzinfo=timezone.utc)
    return TrustedKey(row.label, row.key_id, at, row.added_by)


def trust(engine, raw_public: bytes, label: str, *, by: str, actor=None) -> TrustedKey:
    if not LABEL.match(label or ""):
        raise TrustError(f"'{label}' is not a label: 1 to 80 letters, digits, '_', '.', '@' or '-', "
                         "starting with a letter or digit")
    ensure_platform_tables(engine)
    kid = key_id(raw_public)
    with begin_write(engine) as conn:
        for row in conn.execute(select(trusted_keys).where((trusted_keys.c.label == label)
                                                           | (trusted_keys.c.key_id == kid))):
            if row.key_id == kid:
                raise TrustError(f"the key {fingerprint(kid)} is already trusted as '{row.label}'")
            raise TrustError(f"the label '{label}' is already used by key {fingerprint(row.key_id)} "
                             "(untrust it first, or choose another label)")
        now = datetime.now(timezone.utc)
        conn.execute(insert(trusted_keys).values(label=label, key_id=kid, added_at=now, added_by=by[:120],
                                                 public_key=base64.b64encode(raw_public).decode("ascii")))
        audit.record(conn, actor, "package.trust", label, {"key_id": kid, "by": by})
    return TrustedKey(label, kid, now, by)


def untrust(engine, label: str, *, by: str, actor=None) -> TrustedKey:
    ensure_platform_tables(engine)
    with begin_write(engine) as conn:
        row = conn.execute(select(trusted_keys).where(trusted_keys.c.label == label)).first()
        if row is None:
            known = conn.execute(select(trusted_keys.c.label).order_by(trusted_keys.c.label)).scalars().all()
            raise TrustError(f"no trusted key is labelled '{label}'"
                             + (f" (trusted: {', '.join(known)})" if known else " (no key is trusted)"))
        conn.execute(delete(trusted_keys).where(trusted_keys.c.label == label))
        audit.record(conn, actor, "package.untrust", label, {"key_id": row.key_id, "by": by})
    return _key(row)


def trusted(engine) -> list[TrustedKey]:
    ensure_platform_tables(engine)
    with begin_read(engine) as conn:
        return [_key(r) for r in conn.execute(select(trusted_keys).order_by(trusted_keys.c.label))]


def label_of(engine, kid: str) -> str | None:
    """The label under which the key `kid` is trusted, or None."""
    ensure_platform_tables(engine)
    with begin_read(engine) as conn:
        return conn.execute(select(trusted_keys.c.label).where(trusted_keys.c.key_id == kid)).scalar()

"""Key rotation: re-encrypt every value not under the primary key; count values per key.

After a new primary key is configured (a new first line of TESSERA_ENCRYPTION_KEY_FILE, the old
keys kept below it) every worker writes new values under it and still reads the old ones.
`tessera keys rotate` enqueues the job `encryption.rotate`, which walks each encrypted field in
batches of BATCH rows, each batch its own short transaction: a large table never holds one long
lock, a stopped job loses at most one batch, and a run again (or two at once) finds only what is
left — each UPDATE names the exact ciphertext it read, so a value written meanwhile (already under
the primary key) is never overwritten with an older one. The job logs each batch;
`tessera keys status` counts what remains under each key (the job's progress).

Rotation is storage maintenance below the record service, like the change pipeline's
conversions: the values do not change (no history, no workflows, no new row_version), only
their ciphertext does.
"""
from __future__ import annotations

import logging

from sqlalchemy import Text, and_, func, not_, select, type_coerce, update

from ..storage.engine import begin_read, begin_write
from .cipher import MODE_CODES, PREFIX, decrypt, encrypt
from .keys import encrypted_fields, required_keyring

KIND = "encryption.rotate"
BATCH = 500
log = logging.getLogger(__name__)


def _stored(table, name):
    return type_coerce(table.c[name], Text())


def _fields(runtime):
    md = runtime.metadata
    for obj_name, field_name in encrypted_fields(md):
        yield runtime.objects[obj_name].table, md.objects[obj_name].fields[field_name]


def key_counts(services) -> list[dict]:
    """Per encrypted field: values per key id (keys of the keyring, then `other` for values under
    keys it does not hold) and how many are in another mode than the field's."""
    keyring = required_keyring()
    out = []
    with begin_read(services.engine) as conn:
        for table, field in _fields(services.runtimes.current()):
            raw = _stored(table, field.name)
            filled = and_(raw.isnot(None), raw != "")
            total = conn.execute(select(func.count()).where(filled)).scalar_one()
            per_key = {}
            for key in keyring.keys:
                per_key[key.id] = conn.execute(select(func.count()).where(
                    raw.startswith(f"{PREFIX}:{key.id}:", autoescape=True))).scalar_one()
            other = total - sum(per_key.values())
            current = f"{PREFIX}:{keyring.primary.id}:{MODE_CODES[field.encryption_mode]}:"
            stale = conn.execute(select(func.count()).where(filled, not_(raw.startswith(current, autoescape=True)))
                                 ).scalar_one()
            out.append({"field": f"{table.name[4:]}.{field.name}", "mode": field.encryption_mode, "total": total,
                        "keys": per_key, "other": other, "to_rotate": stale})
    return out


def rotate(services, *, batch: int = BATCH) -> int:
    """Re-encrypt every value not under the primary key (or in another mode than its field's);
    returns how many were rewritten."""
    keyring = required_keyring()
    done = 0
    for table, field in _fields(services.runtimes.current()):
        raw = _stored(table, field.name)
        current = f"{PREFIX}:{keyring.primary.id}:{MODE_CODES[field.encryption_mode]}:"
        stale = and_(raw.isnot(None), raw != "", not_(raw.startswith(current, autoescape=True)))
        after_id = None
        while True:
            with begin_write(services.engine) as conn:
                stmt = select(table.c.id, raw).where(stale).order_by(table.c.id).limit(batch)
                if after_id is not None:   # values that cannot be rotated (unknown key) are passed over
                    stmt = stmt.where(table.c.id > after_id)
                rows = conn.execute(stmt).all()
                for rid, text in rows:
                    new = encrypt(keyring, field.encryption_mode, decrypt(keyring, text))
                    done += conn.execute(update(table).where(table.c.id == rid, raw == text)
                                         .values({field.name: type_coerce(new, Text())})).rowcount
            if len(rows) < batch:
                break
            after_id = rows[-1][0]
            log.info("key rotation: %s.%s: %d values re-encrypted so far", table.name, field.name, done)
    log.info("key rotation done: %d values re-encrypted under key %r", done, keyring.primary.id)
    return done


def run_rotation(payload, context) -> None:
    rotate(context.services, batch=int((payload or {}).get("batch") or BATCH))

"""Copy-on-select fields kept in sync (`keep_in_sync: true`, records/copies.py).

When a record whose field is copied elsewhere changes that field, a `records.copy_sync` job is
enqueued in the write's transaction (so it exists exactly when the change commits). The job reads
the source's current value and updates, through the record service as the system, every record
whose lookup points at the source and whose copy differs — so their own workflows, validation and
history run as for any write. At-least-once and idempotent: a second run finds nothing to change.
"""
from __future__ import annotations

from ..records.errors import NotFound
from ..security.actor import SYSTEM
from .handlers import register
from .queue import enqueue

KIND = "records.copy_sync"
_PAGE = 200


def wants(runtime, object_name: str) -> bool:
    return bool(runtime.copy_followers.get(object_name))


def plan(ctx, values: dict, prior: dict | None) -> None:
    """After an update of a source record: a job when a field that copies follow has changed."""
    followers = ctx.runtime.copy_followers.get(ctx.object_name)
    if not followers or prior is None:
        return
    changed = sorted({f.source_field for f in followers if values.get(f.source_field) != prior.get(f.source_field)})
    if changed:
        enqueue(ctx.conn, KIND, {"object": ctx.object_name, "id": str(values["id"]), "fields": changed},
                version=ctx.runtime.version)


@register(KIND)
def sync_copies(payload, context) -> dict:
    records = context.services.records
    runtime = records.runtime()
    source_object, source_id = payload["object"], payload["id"]
    fields = set(payload.get("fields") or ())
    followers = [f for f in runtime.copy_followers.get(source_object, ()) if f.source_field in fields]
    if not followers:
        return {"updated": 0}     # the metadata changed since: nothing follows these fields any more
    try:
        source = records.get(SYSTEM, source_object, source_id)
    except NotFound:
        return {"updated": 0}     # deleted meanwhile: its lookups were cleared or cascaded
    updated = 0
    for follower in followers:
        value = source.get(follower.source_field)
        cursor = None
        while True:
            page = records.query(SYSTEM, follower.object, filter=f"{follower.lookup} == '{source_id}'",
                                 fields=["id", follower.field], limit=_PAGE, cursor=cursor)
            for record in page.records:
                if record.get(follower.field) != value:
                    records.update(SYSTEM, follower.object, record["id"], {follower.field: value})
                    updated += 1
            cursor = page.next_cursor
            if cursor is None:
                break
    return {"updated": updated}

"""Files go with what they belong to (a cleanup hook of the record service's delete and update).

Before a record's DELETE: its attachment links (and those of the records an on_delete cascade
deletes with it) are removed, and the files they linked, with the files its file fields hold,
become candidates. After the DELETE, in the same transaction: a candidate that nothing links or
references any more is deleted (its row and field history). Its blob is deleted only after the
transaction commits, and only if no file row still names it then — so a rollback loses nothing
(the worst case, a crash between commit and blob delete, leaves an unreferenced blob, never a
record without content).
"""
from __future__ import annotations

from sqlalchemy import delete, select

from ..records import history
from ..storage.engine import begin_read
from ..meta.fieldtypes import FILE_TYPES
from ..storage.platform_tables import file_links

MAX_CASCADE_DEPTH = 10


def file_fields(rt) -> list[tuple[str, str]]:
    """(object, field) of every file (or image) field of the Runtime."""
    return [(name, f.name) for name, cobj in rt.objects.items()
            for f in cobj.obj.stored_fields if f.type in FILE_TYPES]


class FileCleanup:
    def __init__(self, engine, store, runtime_source):
        self.engine = engine
        self.store = store
        self.runtime = runtime_source   # callable -> the current Runtime

    # the cleanup hook interface (records/service.py) ---------------------------------------
    def before_delete(self, conn, rt, cobj, ids):
        if "file" not in rt.objects:
            return None
        candidates: set = set()
        self._unlink(conn, rt, cobj, ids, candidates, 0)
        keys = []
        if cobj.name == "file":   # a file deleted itself: its links go, its blob after commit
            conn.execute(delete(file_links).where(file_links.c.file_id.in_(ids)))
            keys = self._keys(conn, rt, ids)
            candidates.difference_update(ids)
        return lambda conn: self._after_delete(conn, rt, candidates, keys)

    def after_update(self, conn, rt, cobj, current, changes):
        """A file field cleared or given another file lets its former file go, if unused."""
        released = [current[f.name] for f in cobj.obj.stored_fields
                    if f.type in FILE_TYPES and f.name in changes and current.get(f.name) is not None
                    and changes[f.name] != current[f.name]]
        if not released:
            return None
        orphans = self.orphans(conn, rt, released)
        keys = self.delete_files(conn, rt, orphans) if orphans else []
        return (lambda: self.collect(keys)) if keys else None

    def _unlink(self, conn, rt, cobj, ids, candidates, depth):
        links = file_links
        where = (links.c.object == cobj.name) & links.c.record_id.in_(ids)
        candidates.update(conn.execute(select(links.c.file_id).where(where)).scalars())
        conn.execute(delete(links).where(where))
        for f in cobj.obj.stored_fields:
            if f.type in FILE_TYPES:
                t = cobj.table
                candidates.update(v for v in conn.execute(select(t.c[f.name]).where(t.c.id.in_(ids))).scalars()
                                  if v is not None)
        if depth >= MAX_CASCADE_DEPTH:
            return
        for child_name, field in cobj.cascaded_by:
            child = rt.objects[child_name]
            t = child.table.alias()
            self._unlink(conn, rt, child, select(t.c.id).where(t.c[field].in_(ids)), candidates, depth + 1)

    def _after_delete(self, conn, rt, candidates, keys):
        orphans = self.orphans(conn, rt, candidates)
        if orphans:
            keys = keys + self.delete_files(conn, rt, orphans)
        return (lambda: self.collect(keys)) if keys else None

    # -------------------------------------------------------------------------------------
    def orphans(self, conn, rt, file_ids) -> list:
        """The files of `file_ids` that no link and no file field refers to."""
        left = set(file_ids)
        if not left:
            return []
        left.difference_update(conn.execute(select(file_links.c.file_id).where(file_links.c.file_id.in_(left)))
                               .scalars())
        for object_name, field in file_fields(rt):
            if not left:
                break
            column = rt.objects[object_name].table.c[field]
            left.difference_update(conn.execute(select(column).where(column.in_(left))).scalars())
        return sorted(left, key=str)

    def delete_files(self, conn, rt, file_ids) -> list[str]:
        """Delete file rows (and their history) in `conn`'s transaction; their blobs' keys."""
        cobj = rt.objects["file"]
        keys = self._keys(conn, rt, file_ids)
        history.delete_for_records(conn, rt, cobj, list(file_ids))
        conn.execute(delete(cobj.table).where(cobj.table.c.id.in_(list(file_ids))))
        return keys

    def _keys(self, conn, rt, file_ids) -> list[str]:
        t = rt.objects["file"].table
        return [k for k in conn.execute(select(t.c.storage_key).where(t.c.id.in_(file_ids))).scalars() if k]

    def collect(self, keys) -> None:
        """After commit: delete the blobs of `keys` that no file row names (checked again in a
        fresh transaction, so a rolled-back delete keeps its blob)."""
        if not keys:
            return
        cobj = self.runtime().objects.get("file")
        if cobj is None:
            return
        t = cobj.table
        with begin_read(self.engine) as conn:
            kept = set(conn.execute(select(t.c.storage_key).where(t.c.storage_key.in_(keys))).scalars())
        for key in keys:
            if key not in kept:
                self.store.delete(key)

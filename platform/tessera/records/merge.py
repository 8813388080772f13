"""Merging duplicates: `RecordService.merge(actor, object, master, duplicates, values)`, in one
transaction (issue 17).

  1. load       the master and each duplicate, locked: the actor must be able to edit the master and
                delete the duplicates (404 / 403 otherwise); approval locks are honoured
  2. re-parent  every lookup and master-detail field of any object that points to a duplicate now
                points to the master (a self-lookup of the master itself to a duplicate is cleared:
                a record is not its own parent); a hierarchy is checked for cycles afterwards.
                Tracked lookups get a history entry; their rows' duplicate keys follow
  3. related    activities and other records related to a duplicate (related_to) move to the master,
                and so do its attachments
  4. history    the duplicates' field history moves to the master: nothing of what happened to them
                is lost with them
  5. delete     the duplicates, through the record service's delete (its checks, automation, keys,
                search index) — nothing refers to them any more
  6. values     the master takes `values` (fields chosen from the duplicates, as a PATCH body)
                through the record service's update; block duplicate rules that allow an override
                do not stand in the way (the merge is what resolves them)

Children are re-parented as a foreign key's on_delete would treat them: whoever may merge the
parents moves them, whether or not they may edit each child (Salesforce's merge does the same).
"""
from __future__ import annotations

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..dedupe import maintain as duplicate_keys
from ..meta.related import column_names
from ..security.actor import Actor
from ..storage.engine import retry_on_stale_statements
from ..storage.platform_tables import field_history, file_links
from . import hierarchy, history
from .errors import ValidationFailed
from .reads import _now
from .write_checks import _integrity_error

MAX_MERGED = 10   # duplicates merged into one master at once


class RecordMerge:
    @retry_on_stale_statements
    def merge(self, actor: Actor, object_name: str, master_id, duplicate_ids, values: dict | None = None) -> dict:
        """{"record": the master as the API shows it, "merged": [duplicate ids], "moved": {what: count}}."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        self._access(rt, actor, object_name, "edit")
        access = self._access(rt, actor, object_name, "delete")
        if not isinstance(duplicate_ids, list) or not 1 <= len(duplicate_ids) <= MAX_MERGED:
            raise ValidationFailed(f"duplicates: a list of 1 to {MAX_MERGED} record ids",
                                   fields={"duplicates": [f"give 1 to {MAX_MERGED} record ids"]})
        if values is not None and not isinstance(values, dict):
            raise ValidationFailed("values: expected a JSON object of field values",
                                   fields={"values": ["expected a JSON object of field values"]})
        mid = self._parse_record_id(master_id)
        dups = [self._parse_record_id(d) for d in duplicate_ids]
        if len(set(dups)) != len(dups) or mid in dups:
            raise ValidationFailed("duplicates: each record once, and not the master",
                                   fields={"duplicates": ["each record once, and not the master"]})
        now = _now()
        with self._write() as conn, self.on_connection(conn):
            if cobj.obj.hierarchy_field is not None:
                hierarchy.lock(conn, object_name)   # before any row lock (records/hierarchy.py)
            self._current_for_write(conn, access, cobj, mid, master_id)
            for rid, raw in zip(dups, duplicate_ids):
                self._current_for_write(conn, access, cobj, rid, raw)
            if self.locks is not None:
                self.locks.check(conn, rt, object_name, mid, actor, "update")
                for rid in dups:
                    self.locks.check(conn, rt, object_name, rid, actor, "delete")
            moved = self._reparent(conn, rt, cobj, mid, dups, actor, now)
            moved.update(self._move_related(conn, rt, cobj, mid, dups))
            h = field_history
            conn.execute(update(h).where(h.c.object == object_name, h.c.record_id.in_(dups)).values(record_id=mid))
            for rid in dups:
                self.delete(actor, object_name, rid)
            if values:
                self.update(actor, object_name, mid, values, allow_duplicates=True)
            record = self._load_full(conn, rt, cobj, mid, access=access)
        return {"record": record, "merged": [str(d) for d in dups], "moved": moved}

    def _reparent(self, conn, rt, cobj, mid, dups, actor, now) -> dict:
        moved = {}
        merged = [mid, *dups]
        for child in rt.objects.values():
            for fname, target in child.relations.items():
                if target != cobj.name:
                    continue
                t = child.table
                pointing = t.c[fname].in_(dups)
                if child.name == cobj.name:
                    # the master's own pointer to a duplicate is cleared; the duplicates go anyway
                    own = conn.execute(select(t).where(t.c.id == mid, pointing)).mappings().first()
                    if own is not None:
                        conn.execute(update(t).where(t.c.id == mid).values(
                            {fname: None, "updated_at": now, "updated_by": actor.user_id,
                             "row_version": t.c.row_version + 1}))
                        history.record_changes(conn, child, own, {fname: None}, actor, now)
                        if duplicate_keys.touches(child, {fname}):
                            duplicate_keys.written(conn, child, [{**own, fname: None}])
                    pointing = and_(pointing, t.c.id.not_in(merged))
                rows = conn.execute(select(t).where(pointing)).mappings().all()
                if not rows:
                    continue
                ids = [r["id"] for r in rows]
                try:
                    conn.execute(update(t).where(t.c.id.in_(ids)).values(
                        {fname: mid, "updated_at": now, "updated_by": actor.user_id,
                         "row_version": t.c.row_version + 1}))
                except IntegrityError as exc:
                    raise _integrity_error(exc, child) from None
                for row in rows:
                    history.record_changes(conn, child, row, {fname: mid}, actor, now)
                if duplicate_keys.touches(child, {fname}):
                    duplicate_keys.written(conn, child, [{**row, fname: mid} for row in rows])
                if child.obj.hierarchy_field is not None and child.obj.hierarchy_field.name == fname:
                    hierarchy.check_written(conn, child, ids)
                moved[f"{child.name}.{fname}"] = len(ids)
        return moved

    def _move_related(self, conn, rt, cobj, mid, dups) -> dict:
        moved = {}
        for child_name, field, _action in rt.related_referrers.get(cobj.name, ()):
            t = rt.objects[child_name].table
            object_column, id_column = column_names(field)
            result = conn.execute(update(t).where(t.c[object_column] == cobj.name, t.c[id_column].in_(dups))
                                  .values({id_column: mid}))
            if result.rowcount:
                moved[f"{child_name}.{field}"] = result.rowcount
        links = file_links
        mine = select(links.c.file_id).where(links.c.object == cobj.name, links.c.record_id == mid)
        theirs = conn.execute(select(links).where(links.c.object == cobj.name, links.c.record_id.in_(dups),
                                                  links.c.file_id.not_in(mine))).mappings().all()
        new_links = {r["file_id"]: {**r, "record_id": mid} for r in theirs}   # a file of two duplicates: once
        if new_links:
            conn.execute(insert(links), list(new_links.values()))
            moved["attachments"] = len(new_links)
        conn.execute(delete(links).where(links.c.object == cobj.name, links.c.record_id.in_(dups)))
        return moved

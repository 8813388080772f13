"""Uploads, attachments and downloads: files are records of the core `file` object (created and
deleted through the record service), their contents in the blob store (files/blobs.py), their
attachments links in `tessera_file_link` (storage/platform_tables.py).

Access to an attachment is exactly its parent record's: whoever may read the record may list and
download its attachments; whoever may edit it may attach and detach. A file held by a file field
is readable by whoever may read that field of a record holding it. Otherwise a file is a record
like any other (its owner, the file object's permissions and sharing).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, insert, select

from ..records.errors import BadQuery, Forbidden, NotFound, RecordError
from ..records.coerce import parse_id
from ..security.actor import SYSTEM
from ..storage.engine import begin_read, begin_write
from ..meta.fieldtypes import FILE_TYPES
from ..storage.platform_tables import file_links
from .blobs import DEFAULT_MAX_BYTES
from .cleanup import FileCleanup, file_fields
from .names import safe_name
from .sniff import INLINE, check_accept, check_claim, sniff

FILE_FIELDS = "id,name,content_type,size,checksum,description,owner,created_at"
MAX_ATTACHMENTS = 500   # listed per record


@dataclass
class Download:
    record: dict          # the file record (name, content_type, size, checksum…)
    stream: object        # a binary file object: the caller closes it

    @property
    def inline(self) -> bool:
        return self.record.get("content_type") in INLINE


class FileService:
    def __init__(self, engine, records, store, *, max_bytes: int = DEFAULT_MAX_BYTES):
        self.engine = engine
        self.records = records
        self.store = store
        self.max_bytes = max_bytes
        self.cleanup = FileCleanup(engine, store, records.runtime)

    def install(self) -> "FileService":
        self.records.cleanup_hooks.append(self.cleanup)
        return self

    # -- parents -------------------------------------------------------------------------------
    def parent_access(self, actor, object_name: str, record_id, action: str = "read") -> str:
        """Check `actor` may read (list, download) or edit (attach, detach) the record's
        attachments: 404 if they cannot see the record, 403 if they may not edit it."""
        rt = self.records.runtime()
        cobj = rt.objects.get(object_name) if isinstance(object_name, str) else None
        if cobj is None:
            raise NotFound(f"there is no object '{object_name}'")
        if not cobj.obj.attachments:
            raise NotFound(f"{object_name} records take no attachments")
        level = self.records.access_level(actor, object_name, record_id)   # 404 when not visible
        if action == "edit":
            if not rt.security.access_for(actor).can(object_name, "edit") or level not in ("edit", "full"):
                raise Forbidden(f"you may not edit {object_name} '{record_id}', so you may not change its attachments")
            if self.records.locks is not None:
                with begin_read(self.engine) as conn:
                    self.records.locks.check(conn, rt, object_name, parse_id(str(record_id)), actor, "edit")
        return level

    # -- upload --------------------------------------------------------------------------------
    def upload(self, actor, stream, filename: str | None, *, claimed_type: str | None = None,
               description: str | None = None, attach_to: tuple[str, object] | None = None,
               for_field: tuple[str, str] | None = None) -> dict:
        """Store one uploaded file and create its `file` record (attached to `attach_to`, an
        (object, record id), when given). Checks come before the content is kept; anything
        refused after it was written deletes it again: nothing is half-stored."""
        name = safe_name(filename)
        accept = self._field_accept(actor, for_field) if for_field else None
        if attach_to is not None:
            self.parent_access(actor, attach_to[0], attach_to[1], "edit")
        stored = self.store.put(stream, self.max_bytes)
        try:
            content_type = sniff(stored.head, name)
            check_claim(content_type, claimed_type, name)
            if for_field:
                check_accept(content_type, accept, for_field[1])
            data = {"name": name}
            if description:
                data["description"] = description
            platform = {"content_type": content_type, "size": stored.size, "storage_key": stored.key,
                        "checksum": stored.sha256}
            if attach_to is None and for_field is None:
                return public(self.records.create(actor, "file", data, platform_values=platform))
            # attaching, or filling a file field, is the parent's business: no right on the file
            # object is needed (the file is the actor's own, which lets them set the field to it)
            if actor.user_id is not None:
                data["owner"] = str(actor.user_id)
                platform.update(created_by=actor.user_id, updated_by=actor.user_id)
            with begin_write(self.engine) as conn, self.records.on_connection(conn):
                record = self.records.create(SYSTEM, "file", data, platform_values=platform)
                if attach_to is not None:
                    conn.execute(insert(file_links).values(
                        file_id=parse_id(record["id"]), object=attach_to[0], record_id=parse_id(str(attach_to[1])),
                        created_at=datetime.now(timezone.utc), created_by=actor.user_id))
            return public(record)
        except BaseException:
            self.store.delete(stored.key)
            raise

    def _field_accept(self, actor, for_field):
        object_name, field_name = for_field
        rt = self.records.runtime()
        cobj = rt.objects.get(object_name)
        field = cobj.obj.fields.get(field_name) if cobj is not None else None
        if field is None or field.type not in FILE_TYPES:
            raise BadQuery(f"'{object_name}.{field_name}' is not a file or image field")
        access = rt.security.access_for(actor)
        if not (access.can(object_name, "create") or access.can(object_name, "edit")) \
                or not access.can_edit_field(object_name, field_name):
            raise Forbidden(f"you may not set {object_name}.{field_name}")
        return field.options.get("accept")

    # -- attachments ---------------------------------------------------------------------------
    def attachments(self, actor, object_name: str, record_id) -> list[dict]:
        """The files attached to a record, newest first."""
        self.parent_access(actor, object_name, record_id, "read")
        rid = parse_id(str(record_id))
        with begin_read(self.engine) as conn:
            rows = conn.execute(select(file_links.c.file_id).where(
                file_links.c.object == object_name, file_links.c.record_id == rid)
                .order_by(file_links.c.created_at.desc()).limit(MAX_ATTACHMENTS)).scalars().all()
        if not rows:
            return []
        ids = [str(r) for r in rows]
        found = self.records.query(SYSTEM, "file", filter="id in [" + ", ".join(f"'{i}'" for i in ids) + "]",
                                   fields=FILE_FIELDS, limit=MAX_ATTACHMENTS).records
        by_id = {r["id"]: r for r in found}
        return [by_id[i] for i in ids if i in by_id]

    def detach(self, actor, object_name: str, record_id, file_id) -> None:
        """Remove an attachment; the file goes too unless something else still links or holds it."""
        self.parent_access(actor, object_name, record_id, "edit")
        fid, rid = _file_id(file_id), parse_id(str(record_id))
        rt = self.records.runtime()
        keys = []
        with begin_write(self.engine) as conn:
            gone = conn.execute(delete(file_links).where(
                file_links.c.file_id == fid, file_links.c.object == object_name, file_links.c.record_id == rid))
            if gone.rowcount == 0:
                raise NotFound(f"file '{file_id}' is not attached to {object_name} '{record_id}'")
            orphans = self.cleanup.orphans(conn, rt, [fid])
            if orphans:
                keys = self.cleanup.delete_files(conn, rt, orphans)
        self.cleanup.collect(keys)

    def delete(self, actor, file_id) -> None:
        """Delete a file record (the actor's rights on files): its links and content go with it."""
        self.records.delete(actor, "file", str(_file_id(file_id)))

    # -- download ------------------------------------------------------------------------------
    def describe(self, actor, file_id) -> dict | None:
        """The file record (name, type, size…) if `actor` may read it, else None."""
        try:
            fid = _file_id(file_id)
        except NotFound:
            return None
        return self._readable_file(actor, fid)

    def open(self, actor, file_id) -> Download:
        """The file and its content, if `actor` may read it (else 404: a file the actor may not
        see does not exist for them)."""
        record = self._readable_file(actor, _file_id(file_id))
        if record is None:
            raise NotFound(f"file '{file_id}' was not found")
        key = record.get("storage_key")
        try:
            if not key:
                raise FileNotFoundError(key)
            stream = self.store.open(key)
        except FileNotFoundError:
            raise NotFound(f"file '{file_id}' has no content (it was not uploaded)") from None
        return Download(record, stream)

    def _readable_file(self, actor, fid) -> dict | None:
        fields = FILE_FIELDS + ",storage_key"
        try:
            return self.records.get(actor, "file", str(fid), fields=fields)
        except RecordError:
            pass
        with begin_read(self.engine) as conn:
            parents = conn.execute(select(file_links.c.object, file_links.c.record_id)
                                   .where(file_links.c.file_id == fid).limit(50)).all()
        allowed = any(self._may_read(actor, obj, rid) for obj, rid in parents)
        if not allowed:
            allowed = any(self._holds(actor, obj, field, fid) for obj, field in file_fields(self.records.runtime()))
        if not allowed:
            return None
        try:
            return self.records.get(SYSTEM, "file", str(fid), fields=fields)
        except NotFound:
            return None

    def _may_read(self, actor, object_name, record_id) -> bool:
        try:
            self.parent_access(actor, object_name, record_id, "read")
        except RecordError:
            return False
        return True

    def _holds(self, actor, object_name, field, fid) -> bool:
        """Can `actor` read `field` of a record of `object_name` that holds the file?"""
        rt = self.records.runtime()
        access = rt.security.access_for(actor)
        if not access.can(object_name, "read") or not access.can_read_field(object_name, field):
            return False
        try:
            found = self.records.query(actor, object_name, filter=f"{field} == '{fid}'", fields="id", limit=1)
        except RecordError:
            return False
        return bool(found.records)


def public(record: dict) -> dict:
    """A file record as the file routes show it: without where the content is kept."""
    return {k: v for k, v in record.items() if k != "storage_key" and not k.startswith("_")}


def _file_id(value):
    try:
        return parse_id(str(value))
    except ValueError:
        raise NotFound(f"file '{value}' was not found") from None

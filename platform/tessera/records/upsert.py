"""Upsert by an external id: create the record whose key is new, update the one that has it.

A part of RecordService (records/service.py). One transaction: find the key (under the caller's
sharing), then update that record or create one with the key. Two upserts of the same new key at
once cannot both create it: the field's unique index refuses the second INSERT (on PostgreSQL it
waits for the first to commit), whose savepoint is rolled back, and it updates the record the first
one created instead — on SQLite the write lock makes the second simply find it.
"""
from __future__ import annotations

from sqlalchemy import select

from ..security.actor import Actor
from ..storage.engine import retry_on_stale_statements
from .coerce import coercer_for
from .errors import Conflict, NotFound, StaleVersion, ValidationFailed


class RecordUpserts:
    @retry_on_stale_statements
    def upsert(self, actor: Actor, object_name: str, key_field: str, key_value, data: dict, *,
               expected_version: int | None = None, must_exist: bool = False) -> tuple[dict, bool]:
        """(the record as the API shows it, True when it was created). `key_value` is text (a URL
        segment); `data` must not give the key another value. `expected_version` guards an update;
        `must_exist`: a conditional request (If-Match) that may only update."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        field = cobj.obj.fields.get(key_field) if isinstance(key_field, str) else None
        if field is None or not field.external_id:
            keys = [f.name for f in cobj.obj.fields.values() if f.external_id]
            raise NotFound(f"'{key_field}' is not an external id field of {object_name} "
                           f"({'external ids: ' + ', '.join(keys) if keys else 'it has none'})",
                           details={"field": key_field, "external_ids": keys})
        if not isinstance(data, dict):
            raise ValidationFailed("expected a JSON object of field values")
        key = self._upsert_key(cobj, field, key_value)
        data = dict(data)
        if key_field in data:
            given = data.pop(key_field)
            try:
                same = given not in (None, "") and self._upsert_key(cobj, field, given, from_text=False) == key
            except ValidationFailed:
                same = False
            if not same:
                message = f"the record's {key_field} is '{key}' (the URL's key): an upsert cannot change it"
                raise ValidationFailed(f"{key_field}: {message}", fields={key_field: [message]})
        access = rt.security.access_for(actor)
        with self._write() as conn, self.on_connection(conn):
            record_id = self._find_by_key(conn, access, cobj, key_field, key)
            if record_id is None and must_exist:
                raise StaleVersion(f"there is no {object_name} with {key_field} '{key}' to update (If-Match was sent)")
            if record_id is None:
                try:
                    with conn.begin_nested():
                        return self.create(actor, object_name, {**data, key_field: key}), True
                except Conflict as exc:
                    if key_field not in exc.fields:
                        raise
                    # a concurrent upsert created it: update it (if the caller may see it)
                    record_id = self._find_by_key(conn, access, cobj, key_field, key)
                    if record_id is None:
                        raise
            return self.update(actor, object_name, record_id, data, expected_version=expected_version), False

    @staticmethod
    def _upsert_key(cobj, field, value, from_text=True):
        coerce = cobj.coercers.get(field.name) or coercer_for(field)
        try:
            key = coerce(value, from_text) if value not in (None, "") else None
        except ValueError as exc:
            raise ValidationFailed(f"{field.name}: {exc}", fields={field.name: [str(exc)]}) from None
        if key is None:
            raise ValidationFailed(f"{field.name}: the key needs a value", fields={field.name: ["the key needs a value"]})
        return key

    @staticmethod
    def _find_by_key(conn, access, cobj, key_field, key):
        t = cobj.table
        if not access.can(cobj.name, "read"):
            return None
        scope = access.visible(cobj.name, t, conn.dialect.name)
        stmt = select(t.c.id).where(t.c[key_field] == key)
        return conn.execute(stmt.where(scope) if scope is not None else stmt).scalar()

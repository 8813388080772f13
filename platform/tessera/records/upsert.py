"""Upsert by an external id: create the record whose key is new, update the one that has it.

A part of RecordService (records/service.py). One transaction: find the key (under the caller's
sharing), then update that record or create one with the key. Two upserts of the same new key at
once cannot both create it: the field's unique index refuses the second INSERT (on PostgreSQL it
waits for the first to commit), whose savepoint is rolled back, and it updates the record the first
one created instead — on SQLite the write lock makes the second simply find it.

The REST API upserts by external ids only (`PUT /records/{object}/by/{field}/{value}`); workflow
actions (automation: upsert_record, update_record with match) may also key on any other unique
field (`by_unique=True`): the unique index is what makes "the record with this key" one record.
"""
from __future__ import annotations

from sqlalchemy import select

from ..security.actor import Actor
from ..storage.engine import retry_on_stale_statements
from .coerce import coercer_for
from .errors import BulkFailed, Conflict, DuplicatesFound, Forbidden, NotFound, RecordError, StaleVersion, ValidationFailed


class RecordUpserts:
    @retry_on_stale_statements
    def upsert(self, actor: Actor, object_name: str, key_field: str, key_value, data: dict, *,
               expected_version: int | None = None, must_exist: bool = False, on_create: dict | None = None,
               by_unique: bool = False, key_from_text: bool = True, allow_duplicates: bool = False) -> tuple[dict, bool]:
        """(the record as the API shows it, True when it was created). `key_value` is text (a URL
        segment) unless `key_from_text` is False (JSON-like input); `data` must not give the key
        another value. `expected_version` guards an update; `must_exist`: a conditional request
        (If-Match) that may only update. `on_create`: values given only when it is created.
        `by_unique`: any unique field may be the key, not only external ids. `allow_duplicates`: as
        create's and update's (records/duplicates.py)."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        field = self._external_id(cobj, key_field, by_unique=by_unique)
        if not isinstance(data, dict):
            raise ValidationFailed("expected a JSON object of field values")
        key = self._upsert_key(cobj, field, key_value, from_text=key_from_text)
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
        self._check_key_readable(access, object_name, key_field)
        with self._write() as conn, self.on_connection(conn):
            record_id = self._find_by_key(conn, access, cobj, key_field, key)
            if record_id is None and must_exist:
                # bad input is a 422 whatever the precondition: the body is checked before it is refused
                _values, errors = self._coerce_input(cobj, data, False)
                if errors:
                    raise ValidationFailed("invalid input: " + ", ".join(f"{name}: {'; '.join(messages)}"
                                                                         for name, messages in errors.items()),
                                           fields=errors)
                raise StaleVersion(f"there is no {object_name} with {key_field} '{key}' to update (If-Match was sent)")
            if record_id is None:
                try:
                    with conn.begin_nested():
                        return self.create(actor, object_name, {**(on_create or {}), **data, key_field: key},
                                           allow_duplicates=allow_duplicates), True
                except Conflict as exc:
                    if key_field not in exc.fields or isinstance(exc, DuplicatesFound):
                        raise
                    # a concurrent upsert created it: update it (if the caller may see it)
                    record_id = self._find_by_key(conn, access, cobj, key_field, key)
                    if record_id is None:
                        raise
            return self.update(actor, object_name, record_id, data, expected_version=expected_version,
                               allow_duplicates=allow_duplicates), False

    def id_by_key(self, actor: Actor, object_name: str, key_field: str, key_value, *, from_text: bool = True):
        """The id of the record whose unique field `key_field` is `key_value` among those `actor`
        may see (None: there is none); NotFound when the field is not unique, ValidationFailed
        when the key is blank or not of the field's type."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        field = self._external_id(cobj, key_field, by_unique=True)
        key = self._upsert_key(cobj, field, key_value, from_text=from_text)
        access = rt.security.access_for(actor)
        self._check_key_readable(access, object_name, key_field)
        with self._read() as conn:
            return self._find_by_key(conn, access, cobj, key_field, key)

    @staticmethod
    def _upsert_key(cobj, field, value, from_text=True):
        coerce = cobj.coercers.get(field.name) or coercer_for(field) or _as_text   # an autonumber: its text
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

    @retry_on_stale_statements
    def bulk_upsert(self, actor: Actor, object_name: str, rows: list, key_field: str, *, from_text: bool = False,
                    progress=None, by_unique: bool = False, must_exist: bool = False,
                    allow_duplicates: bool = False) -> tuple[list[str], list[str]]:
        """All or nothing, like bulk_create: rows whose key exists (among the records the actor may
        see) update that record, the others are created in one bulk create. Any failing row saves
        nothing and every failure is reported by row index. From text (CSV import), a blank cell of
        an updated row leaves the field as it is. Returns (created ids, updated ids).
        `by_unique`: any unique field may be the key; `must_exist`: update only (a row whose key
        names no record fails)."""
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        field = self._external_id(cobj, key_field, by_unique=by_unique)
        if not isinstance(rows, list):
            raise ValidationFailed("expected a JSON array of records")
        failures: dict[int, dict] = {}
        keyed, seen = [], {}
        for index, row in enumerate(rows):
            if not isinstance(row, dict):
                failures[index] = {"fields": {"_record": ["expected a JSON object of field values"]}}
                continue
            try:
                key = self._upsert_key(cobj, field, row.get(key_field), from_text=from_text)
            except ValidationFailed as exc:
                failures[index] = {"fields": exc.fields}
                continue
            if key in seen:
                failures[index] = {"fields": {key_field: [f"duplicates row {seen[key] + 1} (the same key)"]}}
                continue
            seen[key] = index
            keyed.append((index, key, row))
        access = rt.security.access_for(actor)
        self._check_key_readable(access, object_name, key_field)
        created, updated = [], []
        with self._write() as conn, self.on_connection(conn):
            existing = self._ids_by_key(conn, access, cobj, key_field, [key for _, key, _ in keyed])
            creates = [(index, row) for index, key, row in keyed if key not in existing]
            if must_exist:
                for index, row in creates:
                    failures[index] = {"fields": {key_field: [
                        f"there is no {object_name} with {key_field} '{row.get(key_field)}' to update"]}}
                creates = []
            for index, key, row in keyed:
                if key not in existing:
                    continue
                changes = {name: value for name, value in row.items() if name != key_field
                           and not (from_text and value == "")}
                try:
                    with conn.begin_nested():
                        self.update(actor, object_name, existing[key], changes, from_text=from_text,
                                    allow_duplicates=allow_duplicates)
                    updated.append(str(existing[key]))
                except RecordError as exc:
                    failures[index] = {"fields": exc.fields or {"_record": [exc.message]},
                                       **({"duplicates": exc.details["duplicates"]} if isinstance(exc, DuplicatesFound) else {})}
            if progress:
                progress(len(rows) - len(creates))
            if creates:
                try:
                    with conn.begin_nested():
                        created = self.bulk_create(
                            actor, object_name, [row for _, row in creates], from_text=from_text,
                            allow_duplicates=allow_duplicates,
                            progress=(lambda n: progress(len(rows) - len(creates) + n)) if progress else None)
                except BulkFailed as exc:
                    for failure in exc.details["rows"]:
                        failures[creates[failure["index"]][0]] = {k: v for k, v in failure.items() if k != "index"}
            if failures:
                raise BulkFailed([{"index": index, **failures[index]} for index in sorted(failures)])
        return created, updated

    def _external_id(self, cobj, key_field, by_unique: bool = False):
        field = cobj.obj.fields.get(key_field) if isinstance(key_field, str) else None
        if by_unique and field is not None and field.unique and field.stored:
            return field
        if field is None or not field.external_id:
            keys = [f.name for f in cobj.obj.fields.values() if f.external_id]
            raise NotFound(f"'{key_field}' is not an external id field of {cobj.name} "
                           f"({'external ids: ' + ', '.join(keys) if keys else 'it has none'})",
                           details={"field": key_field, "external_ids": keys})
        return field

    @staticmethod
    def _check_key_readable(access, object_name, key_field):
        """Matching by a key is reading it: a caller who may not read the field may not upsert by it."""
        if not access.can_read_field(object_name, key_field):
            raise Forbidden(f"you cannot read {object_name}.{key_field}, so you cannot upsert by it",
                            fields={key_field: ["you do not have permission to read this field"]})

    @staticmethod
    def _ids_by_key(conn, access, cobj, key_field, keys) -> dict:
        t = cobj.table
        if not keys or not access.can(cobj.name, "read"):
            return {}
        scope = access.visible(cobj.name, t, conn.dialect.name)
        out = {}
        for start in range(0, len(keys), 500):
            stmt = select(t.c[key_field], t.c.id).where(t.c[key_field].in_(keys[start:start + 500]))
            out.update((key, rid) for key, rid in conn.execute(stmt.where(scope) if scope is not None else stmt))
        return out


def _as_text(value, _from_text):
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value
